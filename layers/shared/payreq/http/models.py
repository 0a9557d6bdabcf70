"""Bases for request and response bodies: camelCase in JSON, snake_case in Python."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from payreq.card_numbers import refuse_card_numbers


def field_error(field: str, message: str) -> PydanticCustomError:
    """A model validator's complaint about one of the model's fields (its camelCase name): the
    error details then name that field, not the whole body."""
    return PydanticCustomError("value_error", message, {"field": field})


class ApiModel(BaseModel):
    """A response body. Built from rows, so columns the API does not show are simply left out."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class RequestModel(ApiModel):
    # Unknown fields are refused: a typo in a request ("ammount") must not be silently ignored.
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_card_numbers(cls, data: Any) -> Any:
        # Every body of every entity passes here, before any field is read: a card number in any
        # text field is refused (422 card_number_refused, naming the field) and so never stored.
        # It raises a domain error, which pydantic lets through, so the code is not a generic one.
        refuse_card_numbers(data)
        return data
