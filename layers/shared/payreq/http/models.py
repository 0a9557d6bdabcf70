"""Bases for request and response bodies: camelCase in JSON, snake_case in Python."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """A response body. Built from rows, so columns the API does not show are simply left out."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class RequestModel(ApiModel):
    # Unknown fields are refused: a typo in a request ("ammount") must not be silently ignored.
    model_config = ConfigDict(extra="forbid")
