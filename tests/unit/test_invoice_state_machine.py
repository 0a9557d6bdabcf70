"""The invoice state machine, every status x every target, by a person and by the parser; and who
counts as having had a hand in an invoice (and so may not verify it).

The table below is the specification (docs/architecture.md, "Invoice states"), written out here on
its own rather than read from `rules`, so a change to the rules must change it too."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime

import pytest

from invoice_api import rules
from invoice_api.models import StatusChange
from payreq.errors import Conflict

STATUSES = ("received", "parsed", "parse_failed", "verified", "paid", "rejected")
ACTORS = ("person", "parser")
# (status now, who acts) -> where they may take it. Anything not listed is refused; `paid` is
# nobody's here (payments set it).
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("received", "parser"): {"parsed", "parse_failed"},
    ("received", "person"): {"verified", "rejected"},
    ("parse_failed", "parser"): {"parsed"},
    ("parse_failed", "person"): {"verified", "rejected"},
    ("parsed", "person"): {"verified", "rejected"},
    ("verified", "person"): {"rejected"},
}
CASES = list(itertools.product(STATUSES, STATUSES, ACTORS))


def test_the_rules_know_every_status_and_no_other() -> None:
    assert set(rules.TRANSITIONS) == set(STATUSES) == set(rules.STATUSES)


@pytest.mark.parametrize(("current", "target", "actor"), CASES, ids=lambda value: str(value))
def test_transition(current: str, target: str, actor: rules.Actor) -> None:
    allowed = target in ALLOWED.get((current, actor), set())

    assert rules.allows(current, target, by=actor) is allowed
    if allowed:
        rules.ensure_transition(current, target, by=actor)
    else:
        with pytest.raises(Conflict) as refused:
            rules.ensure_transition(current, target, by=actor)
        assert refused.value.code == "invalid_transition"
        targets = ", ".join(sorted(ALLOWED.get((current, actor), set()))) or "nothing"
        assert refused.value.details[0]["message"] == f"{current} may become: {targets}"


def test_a_person_can_ask_the_status_route_only_for_what_people_may_set() -> None:
    people_set = set().union(*(targets for (_, actor), targets in ALLOWED.items() if actor == "person"))
    route_takes = set(StatusChange.model_fields["status"].annotation.__args__)  # type: ignore[union-attr]

    assert route_takes == people_set == {"verified", "rejected"}


def test_the_makers_are_the_creator_who_entered_values_and_who_added_files() -> None:
    creator, editor, uploader, stranger = (uuid.uuid4() for _ in range(4))
    sources = {
        "vendor": {"by": "person", "userId": str(editor), "at": "2026-12-01T10:00:00+00:00"},
        "total": {"by": "parser", "confidence": 0.97},
    }

    makers = rules.makers(creator, sources, [uploader])

    assert makers == {creator, editor, uploader}
    assert stranger not in makers


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("uploaded", [False, True])
def test_an_attachment_takes_one_file_while_its_invoice_is_open(status: str, uploaded: bool) -> None:
    uploaded_at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC) if uploaded else None

    takes = rules.takes_file(status, uploaded_at)

    assert takes is (not uploaded and status in {"received", "parsed", "parse_failed"})
