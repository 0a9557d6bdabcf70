"""Webhook signatures match the Standard Webhooks specification's own example, byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime

from standardwebhooks import Webhook
from webhooks_api import signing

# The example in the specification and its reference libraries' tests.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MESSAGE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = '{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_signature_is_the_specifications_example() -> None:
    assert signing.signature(SECRET, MESSAGE_ID, TIMESTAMP, BODY) == EXPECTED


def test_during_a_rotation_each_secret_signs_and_either_verifies() -> None:
    # Given two secrets, the new one first
    new, old = signing.new_secret(), signing.new_secret()
    # When a message is signed with both
    headers = signing.headers([new, old], MESSAGE_ID, TIMESTAMP, BODY)
    # Then the header carries two space-separated v1 signatures, and the reference library's
    # signing agrees with each of them
    first, second = headers["webhook-signature"].split(" ")
    assert first == Webhook(new).sign(MESSAGE_ID, _at(TIMESTAMP), BODY)
    assert second == Webhook(old).sign(MESSAGE_ID, _at(TIMESTAMP), BODY)


def test_new_secrets_are_distinct_and_in_the_whsec_form() -> None:
    secrets = {signing.new_secret() for _ in range(100)}
    assert len(secrets) == 100
    assert all(secret.startswith("whsec_") and len(secret) == 6 + 32 for secret in secrets)


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
