"""The floor: the same reads as Payreq's handlers, hand-written on the raw driver with server-side
prepared statements (after its first run each statement is one Bind/Execute round trip), in
autocommit, with no framework, no validation and no models: a bare handler that routes on the
path, runs the same queries and dumps the rows as JSON. Nothing real can be faster on that driver;
if Payreq on the same driver beats it, the floor is wrong.

`FLOOR_DRIVER` picks the driver: `psycopg` (psycopg 3, `prepare=True`; `FLOOR_CONNINFO` is a libpq
URL) or `pg8000` (`pg8000.native`, its fastest path: `prepare()`d statements, no DB-API layer and
no placeholder rewriting per run; `FLOOR_PG8000` is a JSON object of connect arguments).
`FLOOR_PREPARE=0` runs pg8000's statements unnamed instead, each in one round trip
(`pipelined_statements` with names off): what the same SQL costs when PostgreSQL parses and plans it
on every run, as a driver's default does. No floor since Payreq names its statements: a reference."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

# A step's live approvals as JSON, as Payreq's `repository._live_approvals` writes them.
LIVE_APPROVALS = """
SELECT coalesce(json_agg(json_build_object('approverId', a.approver_id, 'onBehalfOf',
        CASE WHEN a.on_behalf_of IS NOT NULL THEN json_build_object('id', a.on_behalf_of, 'displayName',
            (SELECT u.display_name FROM users u WHERE u.id = a.on_behalf_of)) END,
    'decision', a.decision, 'comment', a.comment, 'createdAt', a.created_at,
    'materialHash', encode(a.material_hash, 'hex')) ORDER BY a.created_at), '[]'::json)
FROM approvals a WHERE a.step_id = s.id AND a.voided_at IS NULL
"""

# The current round's steps of the request `pr`, with their live approvals, as Payreq's
# `repository._current_steps_as_json` writes them.
CURRENT_STEPS = f"""
SELECT coalesce(json_agg(json_build_object('id', s.id, 'payment_request_id', s.payment_request_id,
    'round', s.round, 'position', s.position, 'name', s.name, 'mode', s.mode, 'required', s.required,
    'approvers', s.approvers, 'completed_at', s.completed_at, 'approvals', ({LIVE_APPROVALS}))
    ORDER BY s.position), '[]'::json)
FROM approval_steps s WHERE s.payment_request_id = pr.id AND s.round = pr.approval_round
"""

# A page of requests in one statement, as Payreq's `repository.page` reads it: each request, its
# linked invoices' count and total, and its current round's steps with their live approvals.
PR_PAGE = f"""
SELECT pr.*, linked.invoice_count, linked.invoices_total, ({CURRENT_STEPS}) AS steps
FROM payment_requests pr
JOIN LATERAL (
    SELECT count(i.id) AS invoice_count, coalesce(sum(i.total), 0) AS invoices_total
    FROM pr_invoice_links l JOIN invoices i ON i.id = l.invoice_id
    WHERE l.payment_request_id = pr.id
) linked ON true
ORDER BY pr.created_at DESC, pr.id DESC LIMIT %s
"""

# One request's page in one statement, as Payreq's `repository.view` reads it: the request, its
# linked invoices and its current round's steps with their live approvals.
PR_WITH_INVOICES_AND_STEPS = f"""
SELECT pr.*, linked.invoice_count, linked.invoices_total, linked.invoices, ({CURRENT_STEPS}) AS steps
FROM payment_requests pr
JOIN LATERAL (
    SELECT count(i.id) AS invoice_count, coalesce(sum(i.total), 0) AS invoices_total,
           coalesce(json_agg(json_build_object('id', i.id, 'reference', i.reference,
               'invoice_number', i.invoice_number, 'vendor', i.vendor, 'currency', i.currency,
               'status', i.status, 'total', i.total::text) ORDER BY l.linked_at, i.id), '[]'::json) AS invoices
    FROM pr_invoice_links l JOIN invoices i ON i.id = l.invoice_id
    WHERE l.payment_request_id = pr.id
) linked ON true
WHERE pr.id = %s
"""

INVOICE_PAGE = """
SELECT i.*, l.payment_request_id FROM invoices i LEFT JOIN pr_invoice_links l ON l.invoice_id = i.id
ORDER BY i.created_at DESC, i.id DESC LIMIT %s
"""


class Psycopg:
    def __init__(self) -> None:
        import psycopg

        self.connection = psycopg.connect(os.environ["FLOOR_CONNINFO"], autocommit=True)

    def rows(self, sql: str, parameters: tuple[Any, ...]) -> list[dict[str, Any]]:
        cursor = self.connection.execute(sql, parameters, prepare=True)
        assert cursor.description is not None
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class Pg8000:
    def __init__(self) -> None:
        import pg8000.native

        from payreq.db.pg8000_decoding import decode_faster

        decode_faster()  # the decoding Payreq gives pg8000 (before connecting), so the floor stays a floor
        self.to_statement = pg8000.native.to_statement
        self.connection = pg8000.native.Connection(**json.loads(os.environ["FLOOR_PG8000"]))
        self.prepare = os.environ.get("FLOOR_PREPARE", "1") == "1"
        if not self.prepare:
            from payreq.db.pipelined_statements import pipeline_statements

            pipeline_statements(named=False)  # unnamed statements' fastest path: one round trip each
        self.statements: dict[str, Any] = {}

    def rows(self, sql: str, parameters: tuple[Any, ...]) -> list[dict[str, Any]]:
        numbered = self.statements.get(sql)
        if numbered is None:
            numbered = sql
            for index in range(len(parameters)):  # %s -> :p0, :p1, ... (pg8000.native's named style)
                numbered = numbered.replace("%s", f":p{index}", 1)
            # Prepared, or its `$n` text worked out once (as Payreq's placeholder memo does).
            numbered = self.connection.prepare(numbered) if self.prepare else self.to_statement(numbered)
            self.statements[sql] = numbered
        values = {f"p{index}": value for index, value in enumerate(parameters)}
        if self.prepare:
            found, columns = numbered.run(**values), numbered.columns
        else:
            statement, make_vals = numbered
            context = self.connection.execute_unnamed(statement, make_vals(values))
            found, columns = context.rows, context.columns
        names = [column["name"] for column in columns]
        return [dict(zip(names, row, strict=True)) for row in found]


_driver: Psycopg | Pg8000 | None = None


def rows(sql: str, *parameters: Any) -> list[dict[str, Any]]:
    global _driver
    if _driver is None:
        _driver = Pg8000() if os.environ.get("FLOOR_DRIVER") == "pg8000" else Psycopg()
    return _driver.rows(sql, parameters)


def respond(status: int, body: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body, default=str),
    }


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    identity = event["requestContext"].get("authorizer", {}).get("lambda", {})
    permissions = identity.get("permissions", "").split()
    path = event["rawPath"].split("/")[3:]  # /api/v1/<collection>[/<id>]
    limit = int((event.get("queryStringParameters") or {}).get("limit", 50))
    if path[0] == "prs" and "pr.read" in permissions:
        if len(path) == 2:
            found = rows(PR_WITH_INVOICES_AND_STEPS, str(uuid.UUID(path[1])))
            if not found:
                return respond(404, {"error": {"code": "not_found"}})
            return respond(200, found[0])
        return respond(200, {"items": rows(PR_PAGE, limit)})
    if path[0] == "invoices" and "invoice.read" in permissions:
        return respond(200, {"items": rows(INVOICE_PAGE, limit)})
    return respond(403, {"error": {"code": "forbidden"}})
