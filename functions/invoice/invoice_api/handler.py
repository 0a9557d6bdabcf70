"""HTTP entry point of the invoice function: invoices, their status, attachment upload/download URLs."""

from __future__ import annotations

from invoice_api.routes import attachments, invoices
from payreq.http import http_function

# attachments first: POST /api/v1/invoices/uploads must not be read as an invoice id.
app, lambda_handler = http_function("invoice", attachments.router, invoices.router)
