"""Races, over real HTTP through the local stack: fifty people (or one person fifty times) approving
at once, payments that together would overpay, concurrent duplicates of one Idempotency-Key, and
the audit chain all of it was appended to. Nothing lost, nothing doubled."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from reliability.people import EVERY_PERMISSION, assert_envelope

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

    from reliability.conftest import Figures
    from reliability.people import People, Person

WAYS = 50
REQUESTER = ("pr.read", "pr.write")
APPROVER = ("pr.read", "pr.approve")


def at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def raised(people: People, requester: Person, steps: list[dict[str, Any]], amount: str = "1250.00") -> str:
    created = people.http.post(
        "/api/v1/prs",
        headers=requester.headers,
        json={"title": "Race", "payee": "ACME", "amount": amount, "currency": "EUR", "approvalFlow": steps},
    )
    assert created.status_code == 201, created.text
    submitted = people.http.post(f"/api/v1/prs/{created.json()['id']}/submit", headers=requester.headers, json={})
    assert submitted.status_code == 200, submitted.text
    return str(created.json()["id"])


def approvals_in_database(people: People, pr_id: str) -> int:
    with people.database() as connection:
        row = connection.execute(
            "SELECT count(*) FROM approvals WHERE payment_request_id = %s AND voided_at IS NULL",
            (pr_id,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def approve(
    people: People, approver: Person, pr_id: str, *, if_match: str | None = None
) -> Callable[[], httpx.Response]:
    """The approver reads the request now (unless `if_match` says what they read before) and the
    returned call approves that version, as a person's click does."""
    read = if_match or people.http.get(f"/api/v1/prs/{pr_id}", headers=approver.headers).headers["etag"]
    headers = {**approver.headers, "If-Match": read}
    return lambda: people.http.post(f"/api/v1/prs/{pr_id}/approve", headers=headers, json={})


def test_fifty_distinct_approvers_of_an_allof_step_all_count(people: People, figures: Figures) -> None:
    # Given a request whose one step needs all fifty approvers
    requester = people.browser("requester", REQUESTER)
    approvers = [people.browser("approver", APPROVER) for _ in range(WAYS)]
    pr_id = raised(people, requester, [{"name": "Board", "mode": "allof", "approvers": [a.id for a in approvers]}])

    # When all fifty, each having read the same version, approve at once
    seen = people.http.get(f"/api/v1/prs/{pr_id}", headers=requester.headers).headers["etag"]
    answers = at_once([approve(people, approver, pr_id, if_match=seen) for approver in approvers])

    # Then every approval counted once (others' approvals in between do not make a read stale)
    # and the request is approved
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {200: WAYS}, [a.text for a in answers][:3]
    final = people.http.get(f"/api/v1/prs/{pr_id}", headers=requester.headers).json()
    assert final["status"] == "approved"
    recorded = approvals_in_database(people, pr_id)
    assert recorded == WAYS
    figures.record(
        "race: 50 approvers, allof",
        requests=len(answers),
        approvals=recorded,
        lost=max(statuses[200] - recorded, 0),
        doubled=max(recorded - statuses[200], 0),
    )


def test_an_approval_of_terms_changed_since_they_were_read_is_refused(people: People, figures: Figures) -> None:
    # Given ten approvers of one all-of step read the request at 1,250.00 to ACME
    requester = people.browser("requester", REQUESTER)
    approvers = [people.browser("approver", APPROVER) for _ in range(10)]
    pr_id = raised(people, requester, [{"name": "Board", "mode": "allof", "approvers": [a.id for a in approvers]}])
    clicks = [approve(people, approver, pr_id) for approver in approvers]
    # ... and the requester then raises the amount and changes the payee
    current = people.http.get(f"/api/v1/prs/{pr_id}", headers=requester.headers)
    edited = people.http.patch(
        f"/api/v1/prs/{pr_id}",
        headers={**requester.headers, "If-Match": current.headers["etag"]},
        json={"amount": "99999.00", "payee": "Mallory Ltd"},
    )
    assert edited.status_code == 200, edited.text

    # When all ten approve what they read, at once
    answers = at_once(clicks)

    # Then every approval is refused and none is recorded
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {412: 10}, [a.text for a in answers][:2]
    for refused in answers:
        assert_envelope(refused)
    recorded = approvals_in_database(people, pr_id)
    assert recorded == 0
    figures.record(
        "race: 10 approvals of stale terms", requests=len(answers), refused_412=statuses[412], recorded=recorded
    )


def test_fifty_approvers_of_an_anyof_step_one_wins(people: People, figures: Figures) -> None:
    requester = people.browser("requester", REQUESTER)
    approvers = [people.browser("approver", APPROVER) for _ in range(WAYS)]
    pr_id = raised(people, requester, [{"name": "Any", "mode": "anyof", "approvers": [a.id for a in approvers]}])

    answers = at_once([approve(people, approver, pr_id) for approver in approvers])

    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {200: 1, 409: WAYS - 1}, statuses
    for refused in (answer for answer in answers if answer.status_code == 409):
        assert_envelope(refused)
    recorded = approvals_in_database(people, pr_id)
    assert recorded == 1
    figures.record(
        "race: 50 approvers, anyof",
        requests=len(answers),
        accepted=statuses[200],
        refused_409=statuses[409],
        doubled=max(recorded - statuses[200], 0),
    )


def test_one_approver_fifty_times_counts_once(people: People, figures: Figures) -> None:
    # Given a step that needs alice and bob
    requester = people.browser("requester", REQUESTER)
    alice, bob = people.browser("alice", APPROVER), people.browser("bob", APPROVER)
    pr_id = raised(people, requester, [{"name": "Both", "mode": "allof", "approvers": [alice.id, bob.id]}])

    # When alice's approval arrives fifty times at once
    answers = at_once([approve(people, alice, pr_id) for _ in range(WAYS)])

    # Then it counts once: the request still waits for bob
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {200: 1, 409: WAYS - 1}, statuses
    recorded = approvals_in_database(people, pr_id)
    assert recorded == 1
    assert people.http.get(f"/api/v1/prs/{pr_id}", headers=requester.headers).json()["status"] == "pending"
    figures.record(
        "race: 1 approver x50",
        requests=len(answers),
        accepted=statuses[200],
        refused_409=statuses[409],
        doubled=max(recorded - statuses[200], 0),
    )


def test_concurrent_payments_never_overpay(people: People, figures: Figures) -> None:
    # Given an approved request for 100.00 EUR
    requester = people.browser("requester", REQUESTER)
    approver = people.browser("approver", APPROVER)
    treasurer = people.browser("treasurer", ("pr.read", "payment.read", "payment.write"))
    pr_id = raised(people, requester, [{"name": "One", "mode": "anyof", "approvers": [approver.id]}], amount="100.00")
    assert approve(people, approver, pr_id)().status_code == 200

    # When twenty payments of 40.00 are recorded at once
    def pay() -> httpx.Response:
        return people.http.post(
            f"/api/v1/prs/{pr_id}/payments", headers=treasurer.headers, json={"amount": "40.00", "currency": "EUR"}
        )

    answers = at_once([pay for _ in range(20)])

    # Then exactly two fit, the rest are refused as overpayments, and the books agree
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {201: 2, 409: 18}, statuses
    assert {assert_envelope(a)["code"] for a in answers if a.status_code == 409} == {"overpayment"}
    with people.database() as connection:
        row = connection.execute(
            "SELECT coalesce(sum(amount), 0) FROM payments WHERE payment_request_id = %s AND voided_at IS NULL",
            (pr_id,),
        ).fetchone()
    assert row is not None
    paid = Decimal(row[0])
    assert paid == Decimal("80.00")
    figures.record(
        "race: 20 payments of 40 on 100",
        requests=len(answers),
        recorded=statuses[201],
        refused=statuses[409],
        overpaid=str(max(paid - Decimal("100.00"), Decimal("0.00"))),
    )


def test_concurrent_duplicates_of_an_idempotency_key(people: People, figures: Figures) -> None:
    # Given one request to create, sent twenty times at once with the same Idempotency-Key
    requester = people.browser("requester", EVERY_PERMISSION)
    approver = people.browser("approver", APPROVER)
    title = f"Idempotent {uuid.uuid4()}"
    headers = {**requester.headers, "Idempotency-Key": str(uuid.uuid4())}
    body = {
        "title": title,
        "payee": "ACME",
        "amount": "10.00",
        "currency": "EUR",
        "approvalFlow": [{"name": "One", "mode": "anyof", "approvers": [approver.id]}],
    }

    answers = at_once([lambda: people.http.post("/api/v1/prs", headers=headers, json=body) for _ in range(20)])

    # Then one created it; a duplicate in flight is 409, one after it replays the same 201
    statuses = Counter(answer.status_code for answer in answers)
    assert set(statuses) <= {201, 409} and statuses[201] >= 1, statuses
    assert len({answer.json()["id"] for answer in answers if answer.status_code == 201}) == 1
    for refused in (answer for answer in answers if answer.status_code == 409):
        assert_envelope(refused)
    with people.database() as connection:
        row = connection.execute("SELECT count(*) FROM payment_requests WHERE title = %s", (title,)).fetchone()
    assert row is not None
    created = int(row[0])
    assert created == 1
    figures.record(
        "race: 20 duplicates, one Idempotency-Key",
        requests=len(answers),
        created=created,
        replayed=statuses[201] - created,
        refused_409=statuses[409],
        doubled=created - 1,
    )


def test_the_audit_chain_is_intact_after_the_races(people: People, figures: Figures) -> None:
    auditor = people.browser("auditor", ("audit.read",))
    # The anchor job, as its schedule runs it, against the stack's own bucket (now, not in an hour)
    anchored = people.http.post("/_local/schedules/AuditAnchorFunction")
    assert anchored.status_code == 200, anchored.text

    verification = people.http.get("/api/v1/audit-events/verify", headers=auditor.headers)

    assert verification.status_code == 200, verification.text
    report = verification.json()
    assert report["intact"], report
    # The head still is what was anchored (the job's summaries of closed refusal windows included)
    assert report["anchor"]["status"] == "matches", report["anchor"]
    figures.record(
        "audit chain after concurrent appends",
        events_checked=report["checked"],
        broken=0 if report["intact"] else 1,
        anchor=report["anchor"]["status"],
        anchored_seq=report["anchor"]["anchorSeq"],
    )
