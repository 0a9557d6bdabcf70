"""HTTP entry point of the payment function: payment methods and payments."""

from __future__ import annotations

from payment_api.routes import payment_methods, payments
from payreq.http import http_function

app, lambda_handler = http_function("payment", payment_methods.router, payments.router)
