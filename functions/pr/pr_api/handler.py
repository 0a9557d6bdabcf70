"""HTTP entry point of the pr function: payment requests, their approvals, approval flow templates and
approval delegations."""

from __future__ import annotations

from payreq.http import http_function
from pr_api.routes import approval_flows, delegations, invoice_links, payment_requests

app, lambda_handler = http_function(
    "pr", payment_requests.router, invoice_links.router, approval_flows.router, delegations.router
)
