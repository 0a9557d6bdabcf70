"""Every audit event is chained to the one before it: concurrent writers never fork the chain, and
any edit or removal is found by `verify`, which names the first broken row."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from integration.audit.conftest import append, tamper
from payreq.audit import record_change, record_security_event
from payreq.audit_chain import verify_chain
from payreq.context import RequestContext
from payreq.db import transaction
from payreq.db.engine import engine_from_url
from payreq.db.schema import audit_events
from payreq_cli import main as payreq_cli

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from payreq.audit_chain import ChainReport

WRITERS = 20
APPENDS = 100


def verify(engine: Engine) -> ChainReport:
    with engine.connect() as connection:
        return verify_chain(connection, batch_size=7)  # small batches: the walk crosses batch edges


def row_id_at(connection: Connection, seq: int) -> int:
    return int(connection.execute(select(audit_events.c.id).where(audit_events.c.seq == seq)).scalar_one())


def test_concurrent_appends_from_separate_connections_form_one_unbroken_chain(database_url: str) -> None:
    # Given writers on separate connections, released at once
    engine = engine_from_url(database_url, pool_size=WRITERS)
    start = threading.Barrier(WRITERS)

    def write(n: int) -> None:
        if n < WRITERS:
            start.wait()
        with transaction(engine) as connection:
            context = RequestContext(request_id=f"req-{n}", source_ip="192.0.2.7")
            record_change(connection, context, action="thing.updated", entity_type="thing", entity_id=n, after={"n": n})

    # When they append 100 events concurrently
    try:
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            list(pool.map(write, range(APPENDS)))
        elapsed = time.perf_counter() - began

        # Then the chain holds all of them, numbered 1..100 without gaps, and verifies
        report = verify(engine)
        with engine.connect() as connection:
            seqs = connection.scalars(select(audit_events.c.seq).order_by(audit_events.c.seq)).all()
    finally:
        engine.dispose()
    assert seqs == list(range(1, APPENDS + 1))
    assert report.intact and report.checked == APPENDS
    print(f"\n{APPENDS} concurrent appends from {WRITERS} connections: {elapsed * 1000:.0f} ms")


def test_a_rolled_back_append_leaves_no_gap(engine: Engine) -> None:
    context = RequestContext(request_id="req-1")
    with transaction(engine) as connection:
        record_security_event(connection, context, "logout")
    with pytest.raises(RuntimeError), transaction(engine) as connection:
        record_security_event(connection, context, "logout")
        raise RuntimeError("the change failed after its audit event was written")
    with transaction(engine) as connection:
        record_security_event(connection, context, "logout")

    with engine.connect() as connection:
        assert connection.scalars(select(audit_events.c.seq).order_by(audit_events.c.seq)).all() == [1, 2]
    assert verify(engine).intact


@pytest.fixture
def fifty_events(engine: Engine) -> None:
    with transaction(engine) as connection:
        for n in range(50):
            append(connection, entity_id=str(n), after={"amount": f"{n}.00", "ratio": n / 7})


@pytest.mark.usefixtures("fifty_events")
def test_editing_one_events_payload_is_found_and_the_row_named(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an intact chain
    assert verify(engine).checked == 50
    with engine.connect() as connection:
        edited = row_id_at(connection, 37)

    # When someone with the owner's rights edits one event's payload, bypassing the trigger
    tamper(engine, """UPDATE audit_events SET after = '{"amount": "9999.00"}' WHERE id = :id""", id=edited)

    # Then verify names that row, having checked the 36 before it
    report = verify(engine)
    assert report.first_broken is not None
    assert (report.first_broken.row_id, report.first_broken.reason, report.checked) == (edited, "hash_mismatch", 36)
    # ...and as the operator's command line says it: one line, exit status 1
    assert payreq_cli(["audit", "verify"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"payreq: error: audit chain broken at row id {edited} (seq 37") and "\n" not in error


@pytest.mark.usefixtures("fifty_events")
def test_rewriting_an_events_hash_to_match_is_found_at_the_next_link(engine: Engine) -> None:
    with engine.connect() as connection:
        edited, following = row_id_at(connection, 20), row_id_at(connection, 21)
    # The attacker recomputes the edited event's own hash, but not every hash after it
    tamper(
        engine,
        "UPDATE audit_events SET hash = sha256(hash) WHERE id = :id",
        id=edited,
    )

    report = verify(engine)

    assert report.first_broken is not None
    assert report.first_broken.row_id in {edited, following}
    assert report.checked in {19, 20}


@pytest.mark.usefixtures("fifty_events")
def test_removing_an_event_is_found_as_a_gap(engine: Engine) -> None:
    with engine.connect() as connection:
        after_removed = row_id_at(connection, 11)
    tamper(engine, "DELETE FROM audit_events WHERE seq = 10")

    report = verify(engine)

    assert report.first_broken is not None
    assert (report.first_broken.row_id, report.first_broken.reason) == (after_removed, "sequence_gap")
    assert report.first_broken.describe().startswith(f"row id {after_removed} (seq 11")
    assert report.checked == 9


@pytest.mark.usefixtures("fifty_events")
def test_an_intact_chain_verifies_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert payreq_cli(["audit", "verify"]) == 0
    assert capsys.readouterr().out.startswith("audit chain intact: 50 events, head seq 50 hash ")


def test_what_is_hashed_at_insert_is_what_the_stored_row_gives_back(engine: Engine) -> None:
    # Given values JSONB, timestamps and text are known to normalise
    awkward = {
        "big": 1e20,
        "tiny": 1.5e-7,
        "negative_zero": -0.0,
        3: "integer key",
        "unicode": "Zoë — 東京 🚀",
        "nested": [{"b": 1, "a": [0.1, 2, None, True]}],
        "precise": 0.30000000000000004,
    }
    with transaction(engine) as connection:
        record_change(
            connection,
            RequestContext(request_id="req-ü", user_agent="Mozilla/5.0 «test»", source_ip="2001:db8::1"),
            action="thing.updated",
            entity_type="thing",
            entity_id="ü-1",
            before={"x": awkward},
            after={"x": None},
        )

    # Then the chain verifies from the row as stored
    assert verify(engine).intact


def test_verifying_1000_events_takes_little_time(engine: Engine) -> None:
    with transaction(engine) as connection:
        for n in range(1000):
            append(connection, entity_id=str(n), before={"status": "draft"}, after={"status": "pending", "n": n})
    with engine.connect() as connection:
        began = time.perf_counter()
        report = verify_chain(connection)
        elapsed = time.perf_counter() - began
        total = connection.scalar(select(func.count()).select_from(audit_events))
    assert report.intact and report.checked == total == 1000
    print(f"\nverify: {elapsed * 1000:.0f} ms per 1,000 events")
