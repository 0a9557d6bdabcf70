"""Demo data for a local run: the same users and data as `payreq seed-demo` (payreq_cli.demo).

Idempotent, so every `make run` seeds; the demo page and a developer's first look rely on the data
being there when the stack is ready.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from payreq_cli.demo import DEMO_USERS, DemoSeed, seed_demo

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["DEMO_USERS", "seed"]


def seed(engine: Engine) -> DemoSeed:
    """Make sure the demo users (with at least their permissions) and the demo data exist."""
    return seed_demo(engine)
