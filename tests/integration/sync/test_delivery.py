"""A change made by a flow reaches, after commit, the subscribed connections allowed to read it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import delete, func, select, text, update

from integration.sync.conftest import SCHEDULED, Crew, Sockets
from payreq import broadcast
from payreq.db import transaction
from payreq.db.schema import outbox, outbox_deliveries, sync_topics, user_permissions, ws_connections
from payreq.outbox import publish_change
from support.connections_endpoint import Answer, ConnectionsEndpoint
from support.team import decide, raise_request, submitted

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

pytestmark = pytest.mark.usefixtures("management")


def flow(team: Crew) -> list[dict[str, Any]]:
    return team.flow()


def test_a_pr_change_reaches_subscribers_who_may_read_it_and_no_one_else(
    team: Crew, sockets: Sockets, broadcast_now: Callable[..., dict[str, Any]], engine: Engine
) -> None:
    # Given subscribers: the requester on the collection, alice on the collection and (later) the
    # request itself, bob whose pr.read is withdrawn after subscribing, carol without pr.read
    requester = sockets.subscribed(team.requester.browser, "prs")
    alice = sockets.subscribed(team.alice.browser, "prs")
    bob = sockets.subscribed(team.bob.browser, "prs")
    carol, _ = sockets.connect(team.carol.browser)
    refused = sockets.send(carol, "subscribe", topics=["prs", "invoices"])
    assert (refused["topics"], refused["refused"]) == (["invoices"], ["prs"])
    with transaction(engine) as connection:
        connection.execute(
            delete(user_permissions).where(
                user_permissions.c.user_id == uuid.UUID(team.bob.id), user_permissions.c.permission == "pr.read"
            )
        )

    # When the requester raises a request and the broadcaster runs
    created = raise_request(team.requester, flow(team))
    assert created.status == 201
    result = broadcast_now()

    # Then the two readers hear it, once, in the documented shape; bob and carol hear nothing
    assert (result["events"], result["sent"]) == (1, 2)
    for connection_id in (requester, alice):
        (message,) = sockets.changes(connection_id)
        assert message == {
            "type": "change",
            "entity": "pr",
            "id": created.body["id"],
            "version": created.body["version"],
            "op": "created",
            "at": message["at"],
            "eventId": message["eventId"],
            "cursor": message["cursor"],
            "seq": {"prs": 1},
        }
    assert sockets.changes(bob) == [] and sockets.changes(carol) == []

    # And a subscription to the request itself numbers that topic on its own
    sockets.send(alice, "subscribe", topics=[f"pr:{created.body['id']}"])
    assert team.requester.browser.post(f"/api/v1/prs/{created.body['id']}/submit").status == 200
    broadcast_now()
    latest = sockets.changes(alice)[-1]
    assert (latest["op"], latest["seq"]) == ("updated", {"prs": 2, f"pr:{created.body['id']}": 2})
    assert sockets.changes(requester)[-1]["seq"] == {"prs": 2}


def test_a_rolled_back_change_sends_nothing(
    team: Crew, sockets: Sockets, broadcast_now: Callable[..., dict[str, Any]], engine: Engine
) -> None:
    listener = sockets.subscribed(team.requester.browser, "prs")

    with pytest.raises(RuntimeError), transaction(engine) as connection:
        publish_change(connection, entity="pr", entity_id=uuid.uuid4(), op="created", version=1)
        raise RuntimeError("the flow fails after announcing")
    # (a flow refused by its rules rolls back too: alice may not approve a draft)
    pr_id = raise_request(team.requester, flow(team)).body["id"]
    broadcast_now()
    assert decide(team.alice, pr_id, "approve").status == 409

    assert broadcast_now()["events"] == 0
    assert [m["op"] for m in sockets.changes(listener)] == ["created"]
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(outbox)) == 1


def test_a_gone_connection_is_deleted_and_the_others_still_hear(
    team: Crew,
    sockets: Sockets,
    broadcast_now: Callable[..., dict[str, Any]],
    engine: Engine,
    management: ConnectionsEndpoint,
) -> None:
    first = sockets.subscribed(team.requester.browser, "prs")
    stale = sockets.subscribed(team.alice.browser, "prs")
    last = sockets.subscribed(team.bob.browser, "prs")
    management.answer = lambda connection_id, data: Answer(410) if connection_id == stale else None
    raise_request(team.requester, flow(team))
    result = broadcast_now()

    assert (result["sent"], result["gone"]) == (2, 1)
    assert len(sockets.changes(first)) == len(sockets.changes(last)) == 1
    with engine.connect() as connection:
        remaining = set(connection.scalars(select(ws_connections.c.connection_id)))
    assert remaining == {first, last}


def test_throttled_posts_are_retried_with_backoff(
    team: Crew, sockets: Sockets, broadcast_now: Callable[..., dict[str, Any]], management: ConnectionsEndpoint
) -> None:
    listener = sockets.subscribed(team.requester.browser, "prs")
    refusals = [2]

    def answer(connection_id: str, data: bytes) -> Answer | None:
        if refusals[0] > 0:
            refusals[0] -= 1
            return Answer(429)
        return None

    management.answer = answer
    raise_request(team.requester, flow(team))
    result = broadcast_now()

    assert (result["sent"], result["throttled"], result["failed"]) == (1, 2, 0)
    assert len(sockets.changes(listener)) == 1


def test_the_sweep_delivers_a_row_left_undelivered_exactly_once_per_connection(
    team: Crew, sockets: Sockets, broadcast_now: Callable[..., dict[str, Any]], engine: Engine
) -> None:
    # Given a change whose trigger was lost (committed; no broadcaster ran)
    listeners = [sockets.subscribed(member.browser, "prs") for member in (team.requester, team.alice)]
    raise_request(team.requester, flow(team))

    # When the schedule sweeps, twice
    first, second = broadcast_now(SCHEDULED), broadcast_now(SCHEDULED)

    # Then each connection heard it exactly once, and the row is marked delivered
    assert (first["events"], first["sent"], second["events"], second["sent"]) == (1, 2, 0, 0)
    assert [len(sockets.changes(listener)) for listener in listeners] == [1, 1]
    with engine.connect() as connection:
        assert connection.scalar(select(outbox.c.dispatched_at)) is not None


def test_the_sweep_deletes_expired_connections(
    team: Crew, sockets: Sockets, broadcast_now: Callable[..., dict[str, Any]], engine: Engine
) -> None:
    expired = sockets.subscribed(team.requester.browser, "prs")
    live = sockets.subscribed(team.alice.browser, "prs")
    with transaction(engine) as connection:
        connection.execute(
            update(ws_connections)
            .where(ws_connections.c.connection_id == expired)
            .values(expires_at=func.now() - func.make_interval(0, 0, 0, 0, 0, 1))
        )
    raise_request(team.requester, flow(team))

    result = broadcast_now(SCHEDULED)

    assert (result["sent"], result["expiredConnections"]) == (1, 1)
    assert sockets.changes(expired) == [] and len(sockets.changes(live)) == 1
    with engine.connect() as connection:
        assert set(connection.scalars(select(ws_connections.c.connection_id))) == {live}


def test_two_requests_in_one_batch_and_unsubscribe(
    team: Crew, sockets: Sockets, broadcast_now: Callable[..., dict[str, Any]]
) -> None:
    listener = sockets.subscribed(team.requester.browser, "prs")
    first = submitted(team.requester, flow(team))
    assert sockets.send(listener, "unsubscribe", topics=["prs"]) == {"type": "unsubscribed", "topics": []}
    raise_request(team.requester, flow(team))
    assert broadcast_now()["sent"] == 0  # unsubscribed before the broadcaster ran

    assert sockets.changes(listener) == []
    assert first


def test_one_connection_hears_a_requests_changes_in_the_order_they_were_made(
    team: Crew, sockets: Sockets, broadcast_now: Callable[..., dict[str, Any]]
) -> None:
    # Given a subscriber, and four changes to one request waiting in a single batch
    listener = sockets.subscribed(team.alice.browser, "prs")
    pr_id = raise_request(team.requester, flow(team)).body["id"]
    requester = team.requester.browser
    requester.post(f"/api/v1/prs/{pr_id}/submit")
    requester.patch(f"/api/v1/prs/{pr_id}", json_body={"title": "Renamed"}, headers={"If-Match": '"2"'})
    requester.post(f"/api/v1/prs/{pr_id}/cancel")

    # When the broadcaster delivers them (posting to many connections in parallel)
    broadcast_now()

    # Then this connection heard them one after another, as they happened
    heard = [(message["version"], message["seq"]["prs"]) for message in sockets.changes(listener)]
    assert heard == [(1, 1), (2, 2), (3, 3), (4, 4)]


def test_a_403_from_connections_is_a_failure_retried_later_not_a_delivery(
    team: Crew,
    sockets: Sockets,
    broadcast_now: Callable[..., dict[str, Any]],
    engine: Engine,
    management: ConnectionsEndpoint,
) -> None:
    # Given two subscribers, and API Gateway refusing posts to one of them with 403 (as a private-DNS
    # execute-api endpoint in the VPC, or a missing ManageConnections permission, would)
    heard = sockets.subscribed(team.requester.browser, "prs")
    refused = sockets.subscribed(team.alice.browser, "prs")
    refusing = [True]
    management.answer = lambda connection_id, data: Answer(403) if refusing[0] and connection_id == refused else None
    raise_request(team.requester, flow(team))

    # When the broadcaster runs
    first = broadcast_now()

    # Then the refused post counts as failed, the row stays undelivered with a retry due, and the
    # connection is kept (a 403 says nothing about the connection)
    assert (first["sent"], first["failed"], first["retrying"], first["gone"]) == (1, 1, 1, 0)
    assert sockets.changes(refused) == []
    with engine.connect() as connection:
        row = connection.execute(
            select(outbox_deliveries.c.delivered_at, outbox_deliveries.c.claimed_until, outbox_deliveries.c.attempts)
        ).one()
        assert row.delivered_at is None and row.claimed_until is not None and row.attempts == 1
        assert refused in set(connection.scalars(select(ws_connections.c.connection_id)))

    # And a pass before the retry is due leaves it alone
    assert broadcast_now(SCHEDULED)["events"] == 0

    # When API Gateway accepts posts again and the retry is due, the sweep delivers it
    refusing[0] = False
    with transaction(engine) as connection:
        connection.execute(update(outbox_deliveries).values(claimed_until=func.now()))
    second = broadcast_now(SCHEDULED)

    # Then the refused connection hears the change, with the same event id and seq as the other one
    # did (which hears it again: at-least-once, and eventId lets it drop the duplicate)
    assert (second["events"], second["sent"], second["failed"]) == (1, 2, 0)
    (late,) = sockets.changes(refused)
    early = sockets.changes(heard)
    assert [message["eventId"] for message in early] == [late["eventId"]] * 2
    assert late["seq"] == early[0]["seq"] == {"prs": 1}
    with engine.connect() as connection:
        assert connection.scalar(select(outbox_deliveries.c.delivered_at)) is not None


def test_a_row_whose_posts_keep_failing_is_given_up_after_the_last_attempt(
    team: Crew,
    sockets: Sockets,
    broadcast_now: Callable[..., dict[str, Any]],
    engine: Engine,
    management: ConnectionsEndpoint,
) -> None:
    # Given a subscriber API Gateway always refuses
    sockets.subscribed(team.requester.browser, "prs")

    management.answer = lambda connection_id, data: Answer(403)
    raise_request(team.requester, flow(team))

    # When every retry comes due and fails
    outcomes = []
    for _ in range(broadcast.MAX_ATTEMPTS):
        outcomes.append(broadcast_now(SCHEDULED))
        with transaction(engine) as connection:
            connection.execute(update(outbox_deliveries).values(claimed_until=func.now()))

    # Then it was tried MAX_ATTEMPTS times, and then marked done so it stops costing passes
    assert [outcome["failed"] for outcome in outcomes] == [1] * broadcast.MAX_ATTEMPTS
    assert [outcome["abandoned"] for outcome in outcomes] == [0] * (broadcast.MAX_ATTEMPTS - 1) + [1]
    assert broadcast_now(SCHEDULED)["events"] == 0


def test_no_database_lock_or_transaction_is_held_while_posting(
    team: Crew,
    sockets: Sockets,
    broadcast_now: Callable[..., dict[str, Any]],
    engine: Engine,
    management: ConnectionsEndpoint,
) -> None:
    # Given a subscriber, and a post that looks at the database while API Gateway "is slow"
    sockets.subscribed(team.requester.browser, "prs")
    raise_request(team.requester, flow(team))
    seen = []

    def answer(connection_id: str, data: bytes) -> Answer | None:
        with engine.connect() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '100ms'"))
            # the outbox row and the topic counter can be locked by someone else right now...
            connection.execute(select(outbox.c.id).with_for_update(nowait=True)).all()
            connection.execute(select(sync_topics.c.seq).with_for_update(nowait=True)).all()
            # ...and no session of this database is inside a transaction but ours
            seen.append(
                connection.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
                    )
                )
            )
            connection.rollback()
        return None

    management.answer = answer

    # When the broadcaster posts
    result = broadcast_now()

    # Then it delivered while holding nothing
    assert result["sent"] == 1
    assert seen == [0]


def test_a_payment_method_change_reaches_its_readers_and_warns_of_nothing(
    signed_in: Callable[..., Any],
    sockets: Sockets,
    broadcast_now: Callable[..., dict[str, Any]],
    captured_logs: Any,
) -> None:
    # Given a treasurer listening to payments (payment methods included)
    treasurer = signed_in("tess@example.com", ("payment.read", "payment.write"))
    listener = sockets.subscribed(treasurer, "payments")

    # When a payment method is added and the broadcaster runs
    added = treasurer.post(
        "/api/v1/payment-methods",
        json_body={"payee": "ACME", "type": "other", "label": "Cash desk", "details": {"description": "Cash"}},
    )
    assert added.status == 201, added.body
    broadcast_now()

    # Then the treasurer hears it, and the log has no warning about an entity nobody may read
    assert [(m["entity"], m["id"]) for m in sockets.changes(listener)] == [("payment_method", added.body["id"])]
    assert "unknown entity" not in captured_logs.getvalue()


def test_metrics_are_printed_only_for_a_pass_that_delivered_something(
    team: Crew, broadcast_now: Callable[..., dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given nothing to deliver, the sweep prints no metrics line
    broadcast_now(SCHEDULED)
    assert "SyncEventsDelivered" not in capsys.readouterr().out

    # When a change is delivered
    raise_request(team.requester, flow(team))
    broadcast_now()

    # Then its pass is counted
    assert "SyncEventsDelivered" in capsys.readouterr().out
