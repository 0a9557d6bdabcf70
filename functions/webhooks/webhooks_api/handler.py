"""HTTP entry point of the webhooks function: subscriptions, their delivery logs and replays."""

from __future__ import annotations

from payreq.http import http_function
from webhooks_api.routes import deliveries, subscriptions

app, lambda_handler = http_function("webhooks", subscriptions.router, deliveries.router)
