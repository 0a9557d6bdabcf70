"""The demo page the local stack serves at `/`, driven in headless Chromium as three people in
their own browsers: carol sets up an approval flow, alice raises and submits payment requests, bob
approves one and rejects another, and alice's page shows each decision arrive over the WebSocket
without a reload; then alice uploads an invoice PDF and both pages watch it parse. Ends with a
screenshot of alice's page (`demo.png` in the test's tmp dir, and at `$PAYREQ_DEMO_SCREENSHOT` when
set: `docs/demo.png` is made that way)."""

from __future__ import annotations

import os
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from support import browser
from support.local_stack import SESSION_COOKIE

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, ConsoleMessage, Locator, WebSocket

    from support.local_stack import LocalStack

LIVE_MS = 15_000  # a change reaches another browser in well under a second; this is the give-up point
LAPTOPS, CHAIRS = "Laptops for the design team", "Chairs for the Lisbon office"
FLOW = "Team lead: Bob"
DEMO_FLOW = "Demo: approver, then finance"  # seeded: bob or carol approve, then carol from 1000


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = browser.launch(playwright)
        yield launched
        launched.close()


class DemoPage:
    """One person's browser on the demo page, in the words the page shows them."""

    def __init__(self, chromium: Browser, url: str, person: str, *, fake_clock: bool = False) -> None:
        self.page: Page = chromium.new_context().new_page()
        self.errors: list[str] = []
        self.sent: list[str] = []  # the WebSocket's frames, each way
        self.received: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", self._console)
        self.page.on("websocket", self._websocket)
        if fake_clock:
            self.page.clock.install()  # time runs as usual until a test moves it on
        self.page.goto(url)
        self.page.get_by_label("Person").select_option(label=person)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_role("status")).to_contain_text("connected", timeout=LIVE_MS)
        # Survives only as long as the page is never reloaded.
        self.page.evaluate("window.sameDocument = true")

    def _console(self, message: ConsoleMessage) -> None:
        # A blocked fetch (CORS) or a failed request shows only here. The page's first request asks
        # who is signed in, and the browser logs its 401 for someone who is not yet: that one is fine.
        if message.type == "error" and "status of 401" not in message.text:
            self.errors.append(message.text)

    def _websocket(self, socket: WebSocket) -> None:
        socket.on("framesent", lambda payload: self.sent.append(str(payload)))
        socket.on("framereceived", lambda payload: self.received.append(str(payload)))

    def create_flow(self, name: str, approver: str) -> None:
        form = self.page.locator("#new-flow")
        form.get_by_label("Name").fill(name)
        form.get_by_label("Approver").select_option(label=approver)
        form.get_by_role("button", name="Create flow").click()
        expect(self.page.locator("#flow-list")).to_contain_text(name)

    def request_row(self, title: str) -> Locator:
        return self.page.locator("#pr-rows tr", has_text=title).first  # the newest

    def raise_request(self, title: str, amount: str, flow: str) -> str:
        """Creates and submits a payment request; its number."""
        form = self.page.locator("#new-pr")
        form.get_by_label("Title").fill(title)
        form.get_by_label("Payee").fill("ACME Hardware")
        form.get_by_label("Amount").fill(amount)
        form.get_by_label("Currency").fill("EUR")
        form.get_by_label("Approval flow").select_option(label=flow)
        form.get_by_role("button", name="Create draft").click()
        row = self.request_row(title)
        expect(row).to_have_attribute("data-status", "draft")
        number = row.locator("th").inner_text()
        row.get_by_role("button", name=f"Submit {number}").click()
        expect(row).to_have_attribute("data-status", "pending")
        return number

    def invoice_row(self, text: str) -> Locator:
        return self.page.locator("#invoice-rows tr", has_text=text)

    def cookie(self) -> str:
        """The page's session, as a Cookie header for calls made beside it."""
        [session] = [c for c in self.page.context.cookies() if c["name"] == SESSION_COOKIE]
        return f"{SESSION_COOKIE}={session['value']}"

    def was_never_reloaded(self) -> bool:
        return bool(self.page.evaluate("window.sameDocument === true"))


def test_the_page_is_served_beside_the_api_never_instead_of_it(stack: LocalStack) -> None:
    with stack.client() as client:
        page = client.get("/")
        script = client.get("/demo/app.js")
        unknown = client.get("/demo/secrets.txt")
        escaped = client.get("/demo/../gateway.py")
        api = client.get("/api/v1/me")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<title>Payreq demo</title>" in page.text
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert unknown.status_code == escaped.status_code == 404
    assert api.status_code == 401  # still the API, behind its authorizer


# What each demo user's browser offers: the forms they may use shown, the others hidden.
FORMS = {
    "Alice Requester — alice@example.com": {"#new-pr": True, "#upload": True, "#new-flow": False},
    "Bob Approver — bob@example.com": {"#new-pr": False, "#upload": False, "#new-flow": False},
}


@pytest.mark.parametrize("person", list(FORMS))
def test_each_person_sees_only_the_forms_they_may_use(stack: LocalStack, chromium: Browser, person: str) -> None:
    # When someone signs in on the demo page
    page = DemoPage(chromium, stack.api_url, person).page

    # Then the forms their permissions allow are there, and the others are not shown at all
    for form, shown in FORMS[person].items():
        if shown:
            expect(page.locator(form)).to_be_visible()
        else:
            expect(page.locator(form)).to_be_hidden()


def test_the_live_connection_pings_so_an_idle_socket_stays_open(stack: LocalStack, chromium: Browser) -> None:
    # Given bob's page, connected and then left alone
    bob = DemoPage(chromium, stack.api_url, "Bob Approver — bob@example.com", fake_clock=True)

    # When six minutes pass with nothing to say (API Gateway closes a socket idle for ten)
    bob.page.clock.fast_forward("06:00")

    # Then the page has pinged, and the API answered
    deadline = time.monotonic() + LIVE_MS / 1000
    while not any('"pong"' in frame for frame in bob.received) and time.monotonic() < deadline:
        bob.page.wait_for_timeout(100)
    assert any('"ping"' in frame for frame in bob.sent)
    assert any('"pong"' in frame for frame in bob.received)
    expect(bob.page.get_by_role("status")).to_contain_text("connected")
    assert bob.errors == []


def test_an_approval_in_one_browser_appears_live_in_the_other(
    stack: LocalStack, chromium: Browser, tmp_path: Path
) -> None:
    from unit.invoice_pdfs import ruled_table

    started = time.monotonic()
    # Given an approval flow in which bob approves, made by carol on the page
    carol = DemoPage(chromium, stack.api_url, "Carol Finance — carol@example.com")
    carol.create_flow(FLOW, "Bob Approver (bob@example.com)")
    # and alice and bob, each signed in on the demo page in their own browser
    alice = DemoPage(chromium, stack.api_url, "Alice Requester — alice@example.com")
    bob = DemoPage(chromium, stack.api_url, "Bob Approver — bob@example.com")

    # When alice raises two requests, and bob, who sees them arrive, approves one and rejects the other
    laptops = alice.raise_request(LAPTOPS, "1250.00", FLOW)
    chairs = alice.raise_request(CHAIRS, "480.00", FLOW)
    expect(bob.request_row(CHAIRS)).to_have_attribute("data-status", "pending", timeout=LIVE_MS)
    clicked = time.monotonic()
    bob.page.get_by_role("button", name=f"Approve {laptops}").click()
    # Then alice's page shows each decision without a reload
    expect(alice.request_row(LAPTOPS)).to_have_attribute("data-status", "approved", timeout=LIVE_MS)
    approval_seen = time.monotonic() - clicked
    bob.page.get_by_role("button", name=f"Reject {chairs}").click()
    expect(alice.request_row(CHAIRS)).to_have_attribute("data-status", "rejected", timeout=LIVE_MS)
    expect(alice.request_row(LAPTOPS).get_by_text("approved")).to_be_visible()
    # and bob has nothing left to decide
    expect(bob.request_row(LAPTOPS).get_by_role("button")).to_have_count(0)
    expect(bob.request_row(CHAIRS).get_by_role("button")).to_have_count(0)

    # When alice uploads an invoice PDF
    pdf = tmp_path / "March invoice.pdf"
    pdf.write_bytes(ruled_table().pdf)
    alice.page.get_by_label("Invoice PDF").set_input_files(pdf)
    alice.page.get_by_role("button", name="Upload and parse").click()
    expect(alice.page.get_by_label("Invoice PDF")).to_have_value("")  # the form clears once the bucket took it

    # Then both pages watch it parse into a total
    for person in (alice, bob):
        parsed = person.invoice_row("814.80")
        expect(parsed).to_have_attribute("data-status", "parsed", timeout=LIVE_MS)
    expect(alice.page.get_by_role("alert")).to_contain_text("parsed: ACME Hardware Ltd, 814.80 GBP")
    assert alice.was_never_reloaded() and bob.was_never_reloaded()
    assert alice.errors == bob.errors == carol.errors == []

    screenshot = _screenshot(alice.page, tmp_path)
    print(
        f"\ndemo page: bob's approval showed on alice's page {approval_seen:.2f}s after his click, "
        f"whole walk {time.monotonic() - started:.1f}s, screenshot {screenshot}"
    )


def _screenshot(page: Page, tmp_path: Path) -> Path:
    page.mouse.move(0, 0)  # no hover effect in the picture
    path = tmp_path / "demo.png"
    page.screenshot(path=path, full_page=True, animations="disabled")
    stable = os.environ.get("PAYREQ_DEMO_SCREENSHOT")
    if stable:
        shutil.copyfile(path, stable)
    return Path(stable) if stable else path


def test_a_delegate_approves_from_the_page_and_the_requester_sees_for_whom(
    stack: LocalStack, chromium: Browser
) -> None:
    # Given a flow only bob approves, and bob, away, who has delegated his approvals to carol
    carol = DemoPage(chromium, stack.api_url, "Carol Finance — carol@example.com")
    carol.create_flow("Bob only", "Bob Approver (bob@example.com)")
    bob = {"Cookie": stack.session_cookie("bob@example.com", ["pr.read", "pr.approve"]), "X-Requested-With": "e2e"}
    with stack.client() as api:
        carol_id = api.get("/api/v1/me", headers={"Cookie": carol.cookie()}).json()["id"]
        ends = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        made = api.post("/api/v1/delegations", headers=bob, json={"delegateId": carol_id, "endsAt": ends})
        assert made.status_code == 201, made.text
    try:
        # When alice raises a request on that flow, and carol approves it from her page
        alice = DemoPage(chromium, stack.api_url, "Alice Requester — alice@example.com")
        number = alice.raise_request("Monitors for the support desk", "400.00", "Bob only")
        carol.request_row("Monitors for the support desk").get_by_role("button", name=f"Approve {number}").click(
            timeout=LIVE_MS
        )

        # Then alice's page shows, without a reload, for whom it was approved
        row = alice.request_row("Monitors for the support desk")
        expect(row).to_contain_text("approved on behalf of Bob Approver", timeout=LIVE_MS)
        assert alice.was_never_reloaded() and alice.errors == [] and carol.errors == []
    finally:
        # (bob's delegation ends here, so the other tests see the demo users as they were)
        with stack.client() as api:
            api.post(f"/api/v1/delegations/{made.json()['id']}/revoke", headers=bob, json={})
