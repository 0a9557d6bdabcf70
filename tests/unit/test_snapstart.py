"""SnapStart hooks: what a restored copy of a snapshot must not share with the others."""

from __future__ import annotations

import random
import sys
import types
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text

from payreq import aws, snapstart

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy.engine import Engine


@pytest.fixture(autouse=True)
def _no_hooks_left_behind() -> Iterator[None]:
    before, after = list(snapstart._before), list(snapstart._after)
    yield
    snapstart._before[:], snapstart._after[:] = before, after


def test_after_restore_the_engine_opens_a_connection_of_its_own(engine: Engine) -> None:
    # Given a snapshot taken with a pooled connection the database knows by its backend pid
    with engine.connect() as connection:
        before = connection.execute(text("select pg_backend_pid()")).scalar_one()
    snapstart.register()

    # When the copy is restored
    snapstart.run_after_restore()

    # Then its first request talks to the database over a connection it opened itself
    with engine.connect() as connection:
        after = connection.execute(text("select pg_backend_pid()")).scalar_one()
    assert after != before


def test_after_restore_aws_clients_sign_with_the_restored_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an RDS client built before the snapshot, with the credentials the init had
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDSNAPSHOT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "snapshot-secret")
    import boto3

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    assert _access_key(aws.client("rds")) == "AKIDSNAPSHOT"
    snapstart.register()

    # When Lambda restores it with credentials of its own
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDRESTORED")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "restored-secret")
    snapstart.run_after_restore()

    # Then a database token is signed with those
    assert _access_key(aws.client("rds")) == "AKIDRESTORED"


def test_after_restore_each_copy_draws_its_own_random_numbers() -> None:
    # Given the random generator's state as the snapshot holds it
    random.seed(2024)
    from_the_snapshot = [random.random() for _ in range(3)]
    random.seed(2024)
    snapstart.register()

    # When a copy is restored
    snapstart.run_after_restore()

    # Then it does not replay the snapshot's sequence
    assert [random.random() for _ in range(3)] != from_the_snapshot


def test_in_lambda_the_hooks_are_given_to_the_runtime_and_a_failed_priming_does_not_fail_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given Lambda's runtime library, which keeps the hooks it is given
    given: dict[str, list[Callable[[], None]]] = {"before": [], "after": []}
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_before_snapshot = given["before"].append  # type: ignore[attr-defined]
    runtime.register_after_restore = given["after"].append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    snapstart._after.clear()

    # When a handler registers, with no database to prime against
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:9/nothing")
    snapstart.register()

    # Then the runtime has the priming and the restore hooks, and priming without a database passes
    assert len(given["before"]) == 3 and len(given["after"]) == 3
    for hook in given["before"]:
        hook()


def test_priming_builds_the_validation_of_every_route() -> None:
    # Given a function's resolver whose routes have not served a request yet
    from pr_api.handler import app

    routes = [*app._static_routes, *app._dynamic_routes]

    # When it is primed before the snapshot
    snapstart.prime_routes(app)

    # Then every route's request model is already built
    assert routes and all(route._dependant is not None for route in routes)


def _access_key(client: object) -> str:
    return str(client._request_signer._credentials.access_key)  # type: ignore[attr-defined]
