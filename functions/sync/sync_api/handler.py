"""HTTP entry point of the sync function (routes under /api/v1)."""

from __future__ import annotations

from payreq.http import http_function
from sync_api.routes import sync

app, lambda_handler = http_function("sync", sync.router)
