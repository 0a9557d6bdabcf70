"""Hostile input over real HTTP: oversized and deeply nested bodies, wrong content types, unicode
edge cases in every text field, SQL-injection and path-traversal strings in filters and file names,
and the hostile-PDF set through the bucket's trigger. Every answer is the envelope (or the invoice
ends `parse_failed` with a reason), in bounded time, and the workers stay within their memory."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import pytest
from unit import invoice_pdfs

from reliability.people import EVERY_PERMISSION, assert_envelope

if TYPE_CHECKING:
    from reliability.conftest import Figures
    from reliability.people import People, Person

SECONDS_PER_ANSWER = 5.0
PARSE_SECONDS = 40.0
WORKER_MEMORY_MB = 512  # the functions' MemorySize in template.yaml

UNICODE_EDGES = {
    "right-to-left override": "invoice\u202egpj.exe",
    "zero-width joiner emoji": "\U0001f469\u200d\U0001f4bb team",
    "combining marks": "Z\u0351\u0352\u0353a\u0354\u0355lgo",
    "decomposed vs composed": "Cafe\u0301 / Caf\u00e9",
    "line and paragraph separators": "a\u2028b\u2029c",
    "byte order mark": "\ufeffACME",
    "astral plane": "\U0001d573\U0001d586\U0001d588",
    "NUL": "ACME\u0000GmbH",
    "lone surrogate": "\ud800",
    "only whitespace": " \u3000\t",
}
INJECTIONS = [
    "' OR 1=1 --",
    "'; DROP TABLE payment_requests; --",
    "%' UNION SELECT token_hash FROM api_tokens --",
    "\\x00",
    "../../../../etc/passwd",
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "C:\\Windows\\system32\\config\\SAM",
    "%00.pdf",
]


class Answers:
    def __init__(self, people: People, caller: Person, approver: Person) -> None:
        self.people, self.caller, self.sent, self.slowest = people, caller, 0, 0.0
        self.server_errors = 0
        # Someone other than the caller approves: a flow only its requester could complete is refused.
        self.approver = approver

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.caller.headers, **kwargs.pop("headers", {})}
        if "json" in kwargs:
            # ASCII escapes, so that a lone surrogate travels as the JSON a hostile client would send
            kwargs["content"] = json.dumps(kwargs.pop("json"))
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        response = self.people.http.request(method, path, headers=headers, **kwargs)
        elapsed = time.monotonic() - started
        self.sent += 1
        self.server_errors += response.status_code >= 500
        self.slowest = max(self.slowest, elapsed)
        assert response.status_code < 500, (method, path, response.status_code, response.text[:300])
        assert elapsed < SECONDS_PER_ANSWER, (method, path, elapsed)
        if response.status_code >= 400 and response.status_code != 413:
            assert_envelope(response)
        return response


@pytest.fixture(scope="module")
def answers(people: People) -> Answers:
    return Answers(people, people.browser("hostile", EVERY_PERMISSION), people.browser("approver", ("pr.approve",)))


def pr_body(approver: Person, **fields: Any) -> dict[str, Any]:
    return {
        "title": "Hostile",
        "payee": "ACME",
        "amount": "10.00",
        "currency": "EUR",
        "approvalFlow": [{"name": "One", "mode": "anyof", "approvers": [approver.id]}],
        **fields,
    }


def test_oversized_nested_and_mistyped_bodies(answers: Answers, figures: Figures) -> None:
    # Beyond API Gateway's 10 MB payload limit: refused at the gateway, the function never runs
    huge = answers.send("POST", "/api/v1/prs", content=b'{"title": "' + b"a" * (11 * 2**20) + b'"}')
    assert huge.status_code == 413
    # Within it, but far beyond any field's limit
    big = answers.send("POST", "/api/v1/prs", json=pr_body(answers.approver, title="a" * (5 * 2**20)))
    assert big.status_code == 422
    for nested in ("[" * 100_000 + "]" * 100_000, '{"title": ' + "{" * 50_000 + "}" * 50_000 + "}"):
        answer = answers.send("POST", "/api/v1/prs", content=nested, headers={"Content-Type": "application/json"})
        assert answer.status_code in (400, 422), answer.text
    for content_type, body in (
        ("text/plain", "title=x"),
        ("application/xml", "<pr><title>x</title></pr>"),
        ("application/x-www-form-urlencoded", "title=x&payee=y"),
        ("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=title\r\n\r\nx\r\n--x--"),
    ):
        answer = answers.send("POST", "/api/v1/prs", content=body, headers={"Content-Type": content_type})
        assert answer.status_code in (415, 422), (content_type, answer.status_code)
    figures.record("hostile: bodies and content types", requests=answers.sent, server_errors=answers.server_errors)


@pytest.mark.parametrize(("name", "value"), list(UNICODE_EDGES.items()), ids=list(UNICODE_EDGES))
def test_unicode_edge_cases_in_every_text_field(answers: Answers, name: str, value: str) -> None:
    # Every free-text field of the writes people make most
    writes = [
        ("/api/v1/prs", pr_body(answers.approver, title=value)),
        ("/api/v1/prs", pr_body(answers.approver, payee=value)),
        ("/api/v1/prs", pr_body(answers.approver, description=value, cost_centre=value)),
        ("/api/v1/invoices", {"vendor": value, "number": value, "currency": "EUR"}),
        ("/api/v1/payment-methods", {"payee": value, "type": "other", "label": value}),
        ("/api/v1/tokens", {"name": value, "scopes": ["pr.read"]}),
        ("/api/v1/invoices/uploads", {"fileName": f"{value}.pdf", "contentType": "application/pdf"}),
    ]
    for path, body in writes:
        answer = answers.send("POST", path, json=body)
        # Accepted, or refused as invalid: never a 500
        assert answer.status_code in (201, 422), (path, answer.status_code, answer.text[:200])
    # What is accepted is stored exactly as sent (after trimming whitespace), not mangled
    title = answers.send("POST", "/api/v1/prs", json=pr_body(answers.approver, title=f"[{value}]"))
    if title.status_code == 201:
        stored = answers.send("GET", f"/api/v1/prs/{title.json()['id']}").json()["title"]
        assert stored == f"[{value}]"
    for path, parameter in (("/api/v1/prs", "q"), ("/api/v1/invoices", "vendor"), ("/api/v1/security-events", "ip")):
        # Percent-encoded as bytes, so that even a lone surrogate goes out as the client sent it
        query = quote(value.encode("utf-8", "surrogatepass"))
        assert answers.send("GET", f"{path}?{parameter}={query}").status_code in (200, 400, 422)


def test_injection_and_traversal_strings_in_filters_and_file_names(
    answers: Answers, people: People, figures: Figures
) -> None:
    # Given someone else's request, which no filter may reveal
    other = people.browser("other", ("pr.read", "pr.write"))
    secret = people.http.post(
        "/api/v1/prs", headers=other.headers, json=pr_body(answers.caller, title="Other's secret")
    )
    assert secret.status_code == 201
    for value in INJECTIONS:
        for path, parameter in (
            ("/api/v1/prs", "q"),
            ("/api/v1/invoices", "vendor"),
            ("/api/v1/invoices", "number"),
            ("/api/v1/audit-events", "entityType"),
            ("/api/v1/payment-methods", "payee"),
        ):
            answer = answers.send("GET", path, params={parameter: value})
            assert answer.status_code in (200, 422), (path, value, answer.status_code)
            assert "Other's secret" not in answer.text and "token_hash" not in answer.text
        # As a file name: the stored key never leaves the invoice's own prefix
        grant = answers.send(
            "POST", "/api/v1/invoices/uploads", json={"fileName": value, "contentType": "application/pdf"}
        )
        if grant.status_code == 201:
            key = grant.json()["upload"]["fields"]["key"]
            assert ".." not in Path(key).parts and not key.startswith("/") and "\\" not in key, key
    # And the tables are all still there
    assert people.http.get("/api/v1/prs", headers=other.headers).status_code == 200
    figures.record("hostile: injection, traversal, unicode", requests=answers.sent, server_errors=answers.server_errors)


def test_the_hostile_pdf_set_ends_parse_failed_within_bounds(people: People, figures: Figures) -> None:
    clerk = people.browser("clerk", ("invoice.read", "invoice.write"))
    started_all = time.monotonic()
    uploaded, failed = 0, 0
    for name, make in invoice_pdfs.HOSTILE.items():
        # Given a hostile file uploaded through the presigned form, as a browser would
        grant = people.http.post(
            "/api/v1/invoices/uploads",
            headers=clerk.headers,
            json={"fileName": f"{name}.pdf", "contentType": "application/pdf"},
        ).json()
        upload = httpx.post(
            grant["upload"]["url"],
            data=grant["upload"]["fields"],
            files={"file": (f"{name}.pdf", make(), "application/pdf")},
            timeout=60,
        )
        assert upload.status_code == 204, upload.text
        uploaded += 1
        # Then the parser gives up on it with a reason, in bounded time
        invoice_id = grant["invoice"]["id"]
        started = time.monotonic()
        while time.monotonic() - started < PARSE_SECONDS:
            invoice = people.http.get(f"/api/v1/invoices/{invoice_id}", headers=clerk.headers).json()
            if invoice["status"] != "received":
                break
            time.sleep(0.2)
        assert invoice["status"] == "parse_failed", (name, invoice["status"])
        assert invoice["parseError"], name
        failed += 1
    # And no worker grew beyond the function's memory
    largest = max(resident_mb(pid) for pid in worker_pids(people))
    assert largest < WORKER_MEMORY_MB, largest
    figures.record(
        "hostile: PDF set through S3",
        files=uploaded,
        parse_failed=failed,
        seconds=round(time.monotonic() - started_all, 1),
        largest_worker_mb=round(largest),
    )


def worker_pids(people: People) -> list[int]:
    workers: dict[str, list[int]] = people.stack.processes()["workers"]
    return [pid for pids in workers.values() for pid in pids]


def resident_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    kilobytes = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return kilobytes / 1024
