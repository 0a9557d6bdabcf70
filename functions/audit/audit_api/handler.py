"""HTTP entry point of the audit function: the audit log, security events, export, chain verification."""

from __future__ import annotations

from audit_api.routes import audit_events, security_events
from payreq.http import http_function

app, lambda_handler = http_function("audit", audit_events.router, security_events.router)
