"""A resource's standard routes, so that a route module reads as a list of declarations.

`Resource` declares the usual routes of an entity that carries a version (its decorators, with the
OpenAPI responses each answers) and runs their usual bodies: read it, create it, change it (with or
without If-Match), remove it. A route with a body of its own keeps its own signature; the three
that are the same for every resource (create from a body, read, change with If-Match) it can also
register whole from the resource's flows (`create_route`, `read_route`, `change_route`), with the
signature Powertools reads for validation and the OpenAPI document built here.
"""

from __future__ import annotations

import inspect
import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Concatenate, Protocol

from aws_lambda_powertools.event_handler import Response, content_types

from payreq.db import get_engine, read_connection
from payreq.http.mutations import IdempotencyKey, change_and_respond
from payreq.http.responses import created, no_content, ok
from payreq.http.versioning import IfMatch, etag, expected_version

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
    from pydantic import BaseModel
    from sqlalchemy.engine import Connection

    from payreq.context import RequestContext
    from payreq.http.pagination import Page

    Route = Callable[[Callable[..., Any]], Callable[..., Any]]
    Act = Callable[[Connection, RequestContext], object]

    class CreateFlow(Protocol):
        """A flow that creates the entity from a request body, answering its id."""

        def __call__(
            self, connection: Connection, context: RequestContext, request: Any, /, *, now: datetime
        ) -> uuid.UUID: ...

    class ChangeFlow(Protocol):
        """A flow that changes the entity as the body says, if it is still at the version read."""

        def __call__(
            self,
            connection: Connection,
            context: RequestContext,
            entity_id: uuid.UUID,
            changes: Any,
            /,
            *,
            version: int,
            now: datetime,
        ) -> object: ...


class Versioned(Protocol):
    """A response body that carries its entity's version (answered as its ETag)."""

    @property
    def version(self) -> int: ...

    def model_dump(self, *, mode: str = ..., by_alias: bool | None = ...) -> dict[str, Any]: ...


def read[Result](answer: Callable[[Connection], Result]) -> Result:
    """`answer`, read on a read-only connection of its own."""
    with read_connection(get_engine()) as connection:
        return answer(connection)


def read_page[T, **Arguments](
    page: type[Page[T]],
    fetch: Callable[Concatenate[Connection, Arguments], tuple[list[T], str | None]],
    *args: Arguments.args,
    **kwargs: Arguments.kwargs,
) -> Page[T]:
    """A list route's answer: the page `fetch(connection, *args, **kwargs)` reads (its items and
    the cursor of the next page)."""
    items, next_cursor = read(lambda connection: fetch(connection, *args, **kwargs))
    return page(items=items, next_cursor=next_cursor)


def current(
    shown: Versioned, status: int = HTTPStatus.OK, *, location: str | None = None, headers: dict[str, str] | None = None
) -> Response[Any]:
    """An entity as it now stands, with its version as the ETag (and where it is, when created)."""
    headers = {"ETag": etag(shown.version), **(headers or {})}
    if location is not None:
        headers["Location"] = location
    return Response(
        status,
        content_type=content_types.APPLICATION_JSON,
        body=shown.model_dump(mode="json", by_alias=True),
        headers=headers,
    )


class Resource:
    """An entity at `collection/<id_param>`, shown as `model` (what `show` reads), read behind the
    `read` guard and changed behind the `write` guard."""

    def __init__(
        self,
        router: APIGatewayHttpRouter,
        collection: str,
        id_param: str,
        model: type[BaseModel],
        show: Callable[[Connection, uuid.UUID], Versioned],
        *,
        read: Callable[..., Any],
        write: Callable[..., Any],
    ) -> None:
        self.router, self.collection, self.model, self.show = router, collection, model, show
        self.id_param, self.item = id_param, f"{collection}/<{id_param}>"
        self.read_guard, self.write_guard = read, write

    # --- declarations: the decorator of each standard route --------------------------------------

    def lists(self, summary: str, *, description: str | None = None) -> Route:
        """`GET collection`."""
        return self.router.get(self.collection, summary=summary, description=description, middlewares=[self.read_guard])

    def creates(self, summary: str, *, description: str | None = None, answers: type[BaseModel] | None = None) -> Route:
        """`POST collection`, answering 201 with the new entity (as `answers`, when not the model)."""
        return self.router.post(
            self.collection,
            summary=summary,
            description=description,
            responses=created(answers or self.model),
            middlewares=[self.write_guard],
        )

    def reads(self, summary: str) -> Route:
        """`GET collection/<id>`, answering the entity with its ETag."""
        return self.router.get(self.item, summary=summary, responses=ok(self.model), middlewares=[self.read_guard])

    def changes(self, summary: str) -> Route:
        """`PATCH collection/<id>`, answering the entity as changed."""
        return self.router.patch(self.item, summary=summary, responses=ok(self.model), middlewares=[self.write_guard])

    def removes(self, summary: str, *, description: str | None = None, removed: str = "Deleted") -> Route:
        """`DELETE collection/<id>`, answering 204."""
        return self.router.delete(
            self.item,
            summary=summary,
            description=description,
            responses={HTTPStatus.NO_CONTENT: {"description": removed}},
            middlewares=[self.write_guard],
        )

    def acts(
        self,
        action: str,
        summary: str,
        *,
        description: str | None = None,
        guard: Callable[..., Any] | None = None,
        answers: type[BaseModel] | None = None,
    ) -> Route:
        """`POST collection/<id>/action`, answering the entity as the action left it (as `answers`,
        when not the model); behind the write guard unless the action names its own."""
        return self.router.post(
            f"{self.item}/{action}",
            summary=summary,
            description=description,
            responses=ok(answers or self.model),
            middlewares=[guard or self.write_guard],
        )

    # --- bodies: what each standard route does ---------------------------------------------------

    def answer(self, connection: Connection, entity_id: uuid.UUID, status: int = HTTPStatus.OK) -> Response[Any]:
        """The entity as it now stands, read on `connection` (in the transaction that changed it)."""
        created_now = status == HTTPStatus.CREATED
        return current(
            self.show(connection, entity_id), status, location=f"{self.collection}/{entity_id}" if created_now else None
        )

    def get(self, entity_id: uuid.UUID) -> Response[Any]:
        return read(lambda connection: self.answer(connection, entity_id))

    def create(self, act: Callable[[Connection, RequestContext], uuid.UUID]) -> Response[Any]:
        """Run `act`, which answers the new entity's id, and answer 201 with the entity."""
        return change_and_respond(
            self.router, act, lambda connection, entity_id: self.answer(connection, entity_id, HTTPStatus.CREATED)
        )

    def change(self, entity_id: uuid.UUID, act: Act) -> Response[Any]:
        """Run `act` on the entity, and answer it as the change left it."""
        return change_and_respond(self.router, act, lambda connection, _: self.answer(connection, entity_id))

    def change_read_version(
        self, entity_id: uuid.UUID, act: Callable[[Connection, RequestContext, int], object]
    ) -> Response[Any]:
        """`change`, for a change bound to the version the caller read: `act` is given it (If-Match)."""
        version = expected_version(self.router)
        return self.change(entity_id, lambda connection, context: act(connection, context, version))

    def remove(self, act: Act) -> Response[Any]:
        """Run `act`, and answer 204."""
        return change_and_respond(self.router, act, lambda _connection, _outcome: no_content())

    # --- whole routes: declared and run from the resource's flows ---------------------------------

    def create_route(
        self,
        name: str,
        summary: str,
        body: tuple[str, type[BaseModel]],
        flow: CreateFlow,
        *,
        description: str | None = None,
    ) -> None:
        """`POST collection` named `name`: `flow` creates the entity from the body (named and typed
        as `body` says); answers 201 with the entity."""
        body_name, body_type = body

        def create(**arguments: Any) -> Response[Any]:
            request = arguments[body_name]
            return self.create(lambda connection, context: flow(connection, context, request, now=datetime.now(UTC)))

        parameters = [_parameter(body_name, body_type), _parameter("idempotency_key", IdempotencyKey, None)]
        self.creates(summary, description=description)(_route_function(name, parameters, create))

    def read_route(self, name: str, summary: str) -> None:
        """`GET collection/<id>` named `name`: the entity with its ETag."""
        parameters = [_parameter(self.id_param, uuid.UUID)]
        self.reads(summary)(_route_function(name, parameters, lambda **arguments: self.get(arguments[self.id_param])))

    def change_route(self, name: str, summary: str, changes: type[BaseModel], flow: ChangeFlow) -> None:
        """`PATCH collection/<id>` named `name`: `flow` makes the body's `changes` if the entity is
        still at the version the caller read (If-Match); answers the entity as changed."""

        def change(**arguments: Any) -> Response[Any]:
            entity_id, requested = arguments[self.id_param], arguments["changes"]
            return self.change_read_version(
                entity_id,
                lambda connection, context, version: flow(
                    connection, context, entity_id, requested, version=version, now=datetime.now(UTC)
                ),
            )

        parameters = [
            _parameter(self.id_param, uuid.UUID),
            _parameter("changes", changes),
            _parameter("if_match", IfMatch, None),
            _parameter("idempotency_key", IdempotencyKey, None),
        ]
        self.changes(summary)(_route_function(name, parameters, change))


_REQUIRED = inspect.Parameter.empty


def _parameter(name: str, annotation: Any, default: Any = _REQUIRED) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation)


def _route_function(
    name: str, parameters: list[inspect.Parameter], run: Callable[..., Response[Any]]
) -> Callable[..., Response[Any]]:
    """A route handler named `name` with the signature `parameters`: what Powertools reads to
    validate the request, to document the route (its operationId is made from the name), and to
    call it with the validated arguments by name."""

    def route(**arguments: Any) -> Response[Any]:
        return run(**arguments)

    route.__name__ = route.__qualname__ = name
    # Powertools reads the signature with inspect.signature, which honours __signature__.
    setattr(route, "__signature__", inspect.Signature(parameters, return_annotation=Response[Any]))  # noqa: B010
    return route
