"""A database error is logged with its codes, never with the values PostgreSQL quotes back."""

from __future__ import annotations

import io
import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from payreq.observability import logger

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy.engine import Engine


@pytest.fixture
def last_log_line() -> Iterator[Callable[[], dict[str, Any]]]:
    """The JSON lines the service logger writes, as CloudWatch would receive them."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    service_logger = logging.getLogger(logger.name)
    service_logger.addHandler(handler)
    yield lambda: json.loads(buffer.getvalue().strip().splitlines()[-1])
    service_logger.removeHandler(handler)


def test_a_refused_value_is_not_in_the_log_line_but_the_sqlstate_is(
    engine: Engine, last_log_line: Callable[[], dict[str, Any]]
) -> None:
    # Given a statement PostgreSQL refuses, quoting the card number it was sent in its message
    card = " ".join(["4111"] * 4)
    with engine.connect() as connection, pytest.raises(DBAPIError) as refused:
        connection.execute(text("SELECT CAST(:value AS uuid)"), {"value": card})
    assert card in str(refused.value.orig)

    # When a handler logs it, as the error handlers do
    try:
        raise refused.value
    except DBAPIError:
        logger.exception("database error")

    # Then the line names the error by its SQLSTATE and keeps where it happened, not the value
    line = last_log_line()
    assert "4111" not in json.dumps(line)
    assert "sqlstate=22P02" in line["exception"]
    assert "SELECT CAST(%s AS uuid)" in line["exception"]
    assert line["exception_name"] == "DatabaseError"
    assert any(
        frame["function"] == "test_a_refused_value_is_not_in_the_log_line_but_the_sqlstate_is"
        for frame in line["stack_trace"]["frames"]
    )


def test_other_errors_are_logged_as_they_are(last_log_line: Callable[[], dict[str, Any]]) -> None:
    try:
        raise ValueError("a plain message")
    except ValueError:
        logger.exception("something else")
    line = last_log_line()
    assert "a plain message" in line["exception"]
