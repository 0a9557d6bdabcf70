"""Request and response bodies of the webhooks function (camelCase JSON)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from payreq.http.models import ApiModel, RequestModel

# `<entity>.<action>` as the outbox records it (`pr.submitted`, `invoice.parsed`, `payment.recorded`),
# or `<entity>.*` for every event of an entity.
EventType = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, pattern=r"^(pr|invoice|payment|payment_method|delegation)\.(\*|[a-z_]{1,64})$"
    ),
]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=50)]


class NewSubscription(RequestModel):
    url: Url = Field(description="The receiver: https:// (plain http only on the local stack).")
    event_types: EventTypes = Field(
        description="`pr.submitted`, `invoice.parsed`, ... or `pr.*` for all of one entity."
    )
    description: Description = ""


class SubscriptionChanges(RequestModel):
    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = Field(
        default=None, description="Enabling a disabled subscription resumes its pending deliveries, in order."
    )


class SubscriptionView(ApiModel):
    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    failed_deliveries_in_a_row: int
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the secret before the last rotation signs too (a second signature)."
    )
    created_at: datetime
    updated_at: datetime
    version: int


class SubscriptionWithSecret(SubscriptionView):
    secret: str = Field(
        description="The signing secret (`whsec_...`), shown this once; Payreq keeps it encrypted only."
    )


class DeliveryView(ApiModel):
    id: uuid.UUID
    message_id: str = Field(description="The `webhook-id` header: the same on every attempt and replay.")
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    response_status: int | None
    latency_ms: int | None
    last_error: str | None
    replay_of: uuid.UUID | None
    created_at: datetime
