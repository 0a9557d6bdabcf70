"""The clients and checks the routes and the deliverer pass into flows, built from the settings.
Tests replace `resolve` (DNS) to stand receivers on any address they need."""

from __future__ import annotations

from datetime import timedelta

from payreq import aws
from webhooks_api.addresses import system_resolver
from webhooks_api.flows import Checks
from webhooks_api.secret_box import SecretBox
from webhooks_api.settings import webhook_settings

resolve = system_resolver


def secret_box() -> SecretBox:
    return SecretBox(aws.client("kms"), webhook_settings().key_id)


def checks() -> Checks:
    # Looked up at each call, so a replaced `resolve` applies.
    return Checks(webhook_settings(), lambda host, port: resolve(host, port))


def rotation_overlap() -> timedelta:
    return timedelta(seconds=webhook_settings().rotation_overlap_seconds)
