"""`Type: Schedule` events: what EventBridge does for a function with a schedule, sped up.

Locally nobody waits an hour for the audit anchor: each schedule runs at its own rate or every
`--schedule-seconds` (60 by default), whichever is sooner, and `POST /_local/schedules/<Function>`
runs a function's schedule at once (tests, or an operator trying `payreq audit verify`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING

from payreq_local.events import ACCOUNT_ID, REGION, new_id, scheduled_event

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from payreq_local.template import ScheduleTrigger
    from payreq_local.workers import InvocationResult

log = logging.getLogger("payreq_local.schedules")

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def period_seconds(schedule: str, ceiling: float) -> float:
    """How often to run `schedule` locally: its rate, at most `ceiling`; cron expressions every `ceiling`."""
    match = _RATE.match(schedule.strip())
    if match is None:
        return ceiling
    rate = int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]
    return min(float(rate), ceiling)


def rule_arn(trigger: ScheduleTrigger) -> str:
    return f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/payreq-local-{trigger.function}{trigger.event}"[:120]


class ScheduleRunner:
    def __init__(
        self,
        schedules: tuple[ScheduleTrigger, ...],
        invoke: Callable[[ScheduleTrigger, dict[str, object]], Awaitable[InvocationResult]],
        *,
        ceiling_seconds: float,
    ) -> None:
        self.schedules, self.invoke, self.ceiling = schedules, invoke, ceiling_seconds
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if self.ceiling > 0:
            self._tasks = [asyncio.ensure_future(self._every(trigger)) for trigger in self.schedules]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def run_now(self, function: str) -> list[InvocationResult]:
        """Run every schedule of `function` once; an empty list when it has none."""
        return [await self._run(trigger) for trigger in self.schedules if trigger.function == function]

    async def _every(self, trigger: ScheduleTrigger) -> None:
        period = period_seconds(trigger.schedule, self.ceiling)
        while True:
            await asyncio.sleep(period)
            try:
                await self._run(trigger)
            except Exception:  # a failed run is logged; EventBridge would simply try next time too
                log.exception("schedule %s of %s failed", trigger.event, trigger.function)

    async def _run(self, trigger: ScheduleTrigger) -> InvocationResult:
        return await self.invoke(trigger, scheduled_event(rule_arn(trigger), event_id=new_id()))
