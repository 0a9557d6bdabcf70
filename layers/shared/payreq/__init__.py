"""Payreq's shared Lambda layer: settings, database, HTTP conventions, audit, outbox, observability."""
