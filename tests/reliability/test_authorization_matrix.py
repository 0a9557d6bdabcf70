"""Every route, against every way of being refused, over real HTTP: no credentials, an expired session, a
revoked token, a token lacking the route's scope, another user's object where ownership matters,
and invoice status changes (verifying without `invoice.verify`, or one's own invoice; `paid`, which
only payments set, is no value of the route: 422). Each answer is the designed 401/403 (never 200
or 500) in the error envelope, and each denial is a security event under the request's id."""

from __future__ import annotations

import importlib
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from reliability.people import EVERY_PERMISSION, Person, assert_envelope, refusals_counted, security_events_for

if TYPE_CHECKING:
    from reliability.conftest import Figures
    from reliability.people import People

FUNCTION_PACKAGES = ("pr_api", "invoice_api", "payment_api", "auth_api", "audit_api", "sync_api", "webhooks_api")
# A route that needs no permission (`authorize(None)`) admits any signed-in caller.
ANY_SIGNED_IN = None


@dataclass(frozen=True)
class GuardedRoute:
    method: str
    path: str  # OpenAPI form: /api/v1/prs/{pr_id}
    permission: str | None

    def concrete(self) -> str:
        """The path with every parameter a well-formed id nobody has."""
        path = self.path
        while "{" in path:
            start, end = path.index("{"), path.index("}")
            path = path[:start] + str(uuid.uuid4()) + path[end + 1 :]
        return path


def guarded_routes() -> list[GuardedRoute]:
    """Each function's routes behind `authorize(...)`, read from the resolvers themselves, so a new
    route joins the matrix without anyone listing it."""
    found = []
    for package in FUNCTION_PACKAGES:
        app = importlib.import_module(f"{package}.handler").app
        for route in [*app._static_routes, *app._dynamic_routes]:
            guards = [m for m in route.middlewares if hasattr(m, "required_permission")]
            if guards:
                found.append(GuardedRoute(route.method, route.openapi_path, guards[0].required_permission))
    return sorted(found, key=lambda route: (route.path, route.method))


ROUTES = guarded_routes()


def call(people: People, route: GuardedRoute, headers: dict[str, str]) -> Any:
    body: dict[str, Any] | None = {} if route.method in ("POST", "PATCH", "PUT") else None
    return people.http.request(route.method, route.concrete(), headers=headers, json=body)


@dataclass
class Denials:
    request_ids: list[str]
    counted_before: tuple[int, int]
    sent: int = 0

    def expect(self, response: Any, status: int, where: str) -> None:
        self.sent += 1
        assert response.status_code == status, (where, response.status_code, response.text[:300])
        self.request_ids.append(assert_envelope(response)["requestId"])


@pytest.fixture(scope="module")
def denials(people: People) -> Denials:
    return Denials([], refusals_counted(people))


@pytest.fixture(scope="module")
def expired_session(people: People) -> Person:
    person = people.browser("expired")
    with people.database() as connection:
        connection.execute(
            "UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE user_id = %s", (person.id,)
        )
    return person


@pytest.fixture(scope="module")
def revoked_token(people: People) -> Person:
    # Revoked by its owner's browser (the sessions test revokes one in use: refused at once too).
    owner = people.browser("revoked")
    issued = people.http.post("/api/v1/tokens", headers=owner.headers, json={"name": "leaked", "scopes": ["pr.read"]})
    assert issued.status_code == 201, issued.text
    token = issued.json()
    revoked = people.http.post(f"/api/v1/tokens/{token['id']}/revoke", headers=owner.headers, json={})
    assert revoked.status_code == 200, revoked.text
    return Person(owner.email, owner.id, {"Authorization": f"Bearer {token['token']}"})


def test_the_matrix_covers_every_guarded_route_of_the_openapi_document(stack: Any) -> None:
    served = stack.client().get("/openapi.json").json()["paths"]
    secured = {
        (method.upper(), path)
        for path, item in served.items()
        for method, operation in item.items()
        if operation.get("security")
    }
    assert secured == {(route.method, route.path) for route in ROUTES}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_no_credentials_expired_session_and_revoked_token_are_401(
    people: People, route: GuardedRoute, expired_session: Person, revoked_token: Person, denials: Denials
) -> None:
    denials.expect(call(people, route, {}), 401, "no credentials")
    denials.expect(call(people, route, expired_session.headers), 401, "expired session")
    denials.expect(call(people, route, revoked_token.headers), 401, "revoked token")


SCOPED = [route for route in ROUTES if route.permission is not ANY_SIGNED_IN]


@pytest.mark.parametrize("route", SCOPED, ids=lambda r: f"{r.method} {r.path}")
def test_a_token_or_session_lacking_the_scope_is_403(people: People, route: GuardedRoute, denials: Denials) -> None:
    others = tuple(permission for permission in EVERY_PERMISSION if permission != route.permission)
    lacking_token = people.cli("scopeless", permissions=others)
    lacking_session = people.browser("scopeless", permissions=others)

    denials.expect(call(people, route, lacking_token.headers), 403, "token lacking the scope")
    denials.expect(call(people, route, lacking_session.headers), 403, "session lacking the permission")


def test_another_users_objects_are_refused(people: People, denials: Denials) -> None:
    # Given rita's draft payment request and her API token
    rita = people.browser("rita")
    mallory = people.browser("mallory")
    created = people.http.post(
        "/api/v1/prs",
        headers=rita.headers,
        json={
            "title": "Desks",
            "payee": "ACME",
            "amount": "100.00",
            "currency": "EUR",
            "approvalFlow": [{"name": "Manager", "mode": "anyof", "approvers": [mallory.id]}],
        },
    )
    assert created.status_code == 201, created.text
    pr = created.json()
    ritas_token = people.cli("rita-cli")
    # ... with an invoice of hers linked, and an invoice of mallory's at hand
    ritas_invoice, mallorys_invoice = (
        people.http.post("/api/v1/invoices", headers=who.headers, json={"currency": "EUR"}).json()["id"]
        for who in (rita, mallory)
    )
    linked = people.http.post(
        f"/api/v1/prs/{pr['id']}/invoices", headers=rita.headers, json={"invoiceId": ritas_invoice}
    )
    assert linked.status_code == 200, linked.text
    pr = linked.json()

    # When mallory, with every ordinary permission (not pr.manage), edits, submits or cancels rita's
    # request, links or unlinks its invoices, or revokes her token
    for method, path, body, headers in (
        ("PATCH", f"/api/v1/prs/{pr['id']}", {"title": "Mine now"}, {"If-Match": linked.headers["etag"]}),
        ("POST", f"/api/v1/prs/{pr['id']}/submit", {}, {}),
        ("POST", f"/api/v1/prs/{pr['id']}/cancel", {}, {}),
        ("POST", f"/api/v1/prs/{pr['id']}/invoices", {"invoiceId": mallorys_invoice}, {}),
        ("DELETE", f"/api/v1/prs/{pr['id']}/invoices/{ritas_invoice}", None, {}),
    ):
        response = people.http.request(method, path, headers={**mallory.headers, **headers}, json=body)
        # Then each is refused as not hers
        denials.expect(response, 403, f"mallory {method} {path}")
    revoke = people.http.post(f"/api/v1/tokens/{ritas_token.session}/revoke", headers=mallory.headers, json={})
    # (a token that is not yours does not exist for you: 404, and the token still works)
    assert revoke.status_code == 404, revoke.text
    assert_envelope(revoke)
    assert people.http.get("/api/v1/me", headers=ritas_token.headers).status_code == 200
    after = people.http.get(f"/api/v1/prs/{pr['id']}", headers=rita.headers).json()
    assert (after["title"], after["status"], after["version"]) == ("Desks", "draft", pr["version"])
    assert [invoice["id"] for invoice in after["invoices"]] == [ritas_invoice]


def test_delegations_are_their_delegators_to_revoke_and_their_delegates_to_use(
    people: People, denials: Denials
) -> None:
    # Given rita's delegation to dave, a request of sam's that rita approves, and mallory, who holds
    # every ordinary permission but users.admin
    ordinary = tuple(p for p in EVERY_PERMISSION if p != "users.admin")
    rita, dave, sam = (people.browser(name, ordinary) for name in ("rita", "dave", "sam"))
    mallory = people.browser("mallory", ordinary)
    made = people.http.post(
        "/api/v1/delegations",
        headers=rita.headers,
        json={"delegateId": dave.id, "endsAt": "2099-01-01T00:00:00Z", "startsAt": "2098-06-01T00:00:00Z"},
    )
    assert made.status_code == 201, made.text
    delegation = made.json()
    pr = people.http.post(
        "/api/v1/prs",
        headers=sam.headers,
        json={
            "title": "Chairs",
            "payee": "ACME",
            "amount": "80.00",
            "currency": "EUR",
            "approvalFlow": [{"name": "Manager", "mode": "anyof", "approvers": [rita.id]}],
        },
    ).json()
    submitted = people.http.post(f"/api/v1/prs/{pr['id']}/submit", headers=sam.headers, json={})
    assert submitted.status_code == 200, submitted.text

    # When dave (the delegate) revokes it, mallory reads or revokes it, and dave and mallory approve
    # on rita's behalf (dave's delegation starts only in 2098)
    revoke = f"/api/v1/delegations/{delegation['id']}/revoke"
    by_delegate = people.http.post(revoke, headers=dave.headers, json={})
    unseen = people.http.get(f"/api/v1/delegations/{delegation['id']}", headers=mallory.headers)
    by_stranger = people.http.post(revoke, headers=mallory.headers, json={})
    on_behalf = [
        people.http.post(
            f"/api/v1/prs/{pr['id']}/approve",
            headers={**who.headers, "If-Match": submitted.headers["etag"]},
            json={"onBehalfOf": rita.id},
        )
        for who in (dave, mallory)
    ]

    # Then the revocation by the delegate and the decisions are refused (audited); to mallory the
    # delegation does not exist; and it stands, and the request waits for rita
    denials.expect(by_delegate, 403, "the delegate revokes")
    assert assert_envelope(by_delegate)["code"] == "not_delegator"
    assert (unseen.status_code, by_stranger.status_code) == (404, 404)
    for refused in on_behalf:
        denials.expect(refused, 403, "approve on behalf without an active delegation")
        assert assert_envelope(refused)["code"] == "not_delegated"
    still = people.http.get(f"/api/v1/delegations/{delegation['id']}", headers=rita.headers).json()
    assert (still["status"], still["version"]) == ("scheduled", 1)
    after = people.http.get(f"/api/v1/prs/{pr['id']}", headers=sam.headers).json()
    assert (after["status"], after["steps"][0]["approvals"]) == ("pending", [])


def test_invoice_status_changes_need_a_checker_and_never_set_paid(people: People, denials: Denials) -> None:
    # Given an invoice rita entered, a clerk who may write invoices but not verify them, and vera, who may
    rita, vera = people.browser("rita"), people.browser("vera")
    clerk = people.browser("clerk", tuple(p for p in EVERY_PERMISSION if p != "invoice.verify"))
    entered = people.http.post(
        "/api/v1/invoices",
        headers=rita.headers,
        json={"number": f"M-{uuid.uuid4().hex[:8]}", "vendor": "Matrix Supplies", "currency": "EUR", "total": "90.00"},
    )
    assert entered.status_code == 201, entered.text
    path = f"/api/v1/invoices/{entered.json()['id']}/status"

    def decide(person: Person, status: str) -> Any:
        read = people.http.get(f"/api/v1/invoices/{entered.json()['id']}", headers=person.headers)
        headers = {**person.headers, "If-Match": read.headers["etag"]}
        return people.http.post(path, headers=headers, json={"status": status})

    # When the clerk verifies it, and rita verifies her own
    without_permission, own = decide(clerk, "verified"), decide(rita, "verified")
    # And vera verifies it, then marks it paid with no payment
    verified, paid = decide(vera, "verified"), decide(vera, "paid")

    # Then the first two are refused (audited), vera's verification stands, and `paid` is no value of this route
    denials.expect(without_permission, 403, "verify without invoice.verify")
    denials.expect(own, 403, "verify one's own invoice")
    assert (assert_envelope(without_permission)["code"], assert_envelope(own)["code"]) == ("forbidden", "maker_checker")
    assert verified.status_code == 200, verified.text
    assert (paid.status_code, assert_envelope(paid)["code"]) == (422, "validation_error")
    after = people.http.get(f"/api/v1/invoices/{entered.json()['id']}", headers=rita.headers).json()
    assert (after["status"], after["version"]) == ("verified", verified.json()["version"])


def test_every_denial_is_counted_and_the_chain_gets_one_event_per_window(
    people: People, denials: Denials, figures: Figures
) -> None:
    # (runs after the matrix above in this module)
    assert denials.sent > 0
    counted_before, events_before = denials.counted_before
    counted_after, events_after = refusals_counted(people)
    # The denials whose request ids have an event of their own: the first of each window
    first_of_window = security_events_for(people, denials.request_ids)
    figures.record(
        "authorization matrix",
        routes=len(ROUTES),
        denials=denials.sent,
        counted=counted_after - counted_before,
        chain_events=events_after - events_before,
        uncounted=denials.sent - (counted_after - counted_before),
    )
    assert counted_after - counted_before == denials.sent
    assert 0 < len(first_of_window) <= events_after - events_before < denials.sent
