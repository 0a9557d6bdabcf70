"""Contention: 50 approvers of one all-of step press "approve" at the same moment.

Each approver is a separate process with its own database connection, as 50 warm Lambda
containers are: a parent imports the handler once (no connection open) and forks the 50; each
serves one read (connecting, compiling its statements), then all are released together from a
barrier. Every approval must be recorded and the request approved exactly once."""

from __future__ import annotations

import multiprocessing
import time
from typing import TYPE_CHECKING, Any

from bench import dataset, endpoints, targets
from bench.measure import Summary, run_child

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def measure(engine: Engine, database_url: str, *, approvers: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from payreq.db import transaction
    from payreq.db.schema import approvals, payment_requests

    results: dict[str, Any] = {}
    for label, target in (("payreq", targets.payreq("PrFunction", database_url)), ("peer", targets.peer(database_url))):
        requester = dataset.people(engine, 1, ("pr.read", "pr.write"))[0]
        people = dataset.people(engine, approvers)
        with transaction(engine) as connection:
            pr_id = dataset.submitted(
                connection, requester, [{"name": "Board", "mode": "allof", "approvers": [p.id for p in people]}]
            )
        fake = dataset.Dataset(requester, requester, requester, pr_id, [])
        events = [endpoints.approve(fake, pr_id, person) for person in people]
        # Each container first reads the request, as its approver would before deciding.
        warmups = [endpoints.as_user(person, "GET", f"/api/v1/prs/{pr_id}") for person in people]
        measured, _ = run_child("contend", target, {"events": events, "warmups": warmups}, timeout=600)
        with engine.connect() as connection:
            recorded = connection.scalar(select(func.count()).where(approvals.c.payment_request_id == pr_id))
            status = connection.scalar(select(payment_requests.c.status).where(payment_requests.c.id == pr_id))
        latencies = Summary.of(measured["latencies_ms"])
        results[label] = {
            "total_ms": measured["total_ms"],
            "p50_ms": latencies.median,
            "p99_ms": latencies.p99,
            "statuses": measured["statuses"],
            "outcome": f"{recorded}/{approvers} approvals, {status}",
        }
        if recorded != approvers or status != "approved" or set(measured["statuses"]) != {"200"}:
            raise RuntimeError(f"{label}: lost or refused approvals: {results[label]} {measured.get('errors')}")
    return results


def contend(spec: dict[str, Any]) -> dict[str, Any]:
    """In the child: fork one process per event, release them together, time each."""
    import importlib

    from bench.child import Context, status_of

    handler = importlib.import_module(spec["module"]).lambda_handler
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(spec["events"]) + 1)
    answers = context.Queue()

    def approve(event: dict[str, Any], warmup: dict[str, Any]) -> None:
        handler(warmup, Context())  # a warm container: connected, statements compiled
        barrier.wait()
        started = time.perf_counter()
        response = handler(event, Context())
        answers.put((started, time.perf_counter(), status_of(response)))

    workers = [
        context.Process(target=approve, args=(event, warmup))
        for event, warmup in zip(spec["events"], spec["warmups"], strict=True)
    ]
    for worker in workers:
        worker.start()
    barrier.wait()
    released = time.perf_counter()
    outcomes = [answers.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join()
    statuses: dict[int, int] = {}
    for _, _, status in outcomes:
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "total_ms": (max(finished for _, finished, _ in outcomes) - released) * 1000,
        "latencies_ms": [(finished - started) * 1000 for started, finished, _ in outcomes],
        "statuses": statuses,
    }
