"""SQS event sources: what Lambda's poller does for a function with `Type: SQS` events.

Each trigger's queue is long-polled; a batch goes to the function synchronously; on success the
batch is deleted, on failure it is left to reappear after its visibility timeout (Lambda's retry).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from payreq_local.events import sqs_event
from payreq_local.intrinsics import REGION
from payreq_local.s3 import moto_client

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from payreq_local.template import SqsTrigger
    from payreq_local.workers import InvocationResult

log = logging.getLogger("payreq_local.queues")
POLL_WAIT_SECONDS = 1
VISIBILITY_TIMEOUT_SECONDS = 30


class QueuePoller:
    def __init__(
        self,
        triggers: tuple[SqsTrigger, ...],
        queue_urls: dict[str, str],
        queue_arn: Callable[[str], str],
        moto_url: str,
        invoke: Callable[[SqsTrigger, dict[str, Any]], Awaitable[InvocationResult]],
    ) -> None:
        self.triggers, self.queue_urls, self.queue_arn, self.invoke = triggers, queue_urls, queue_arn, invoke
        # Receives block in boto3; their own threads keep the gateway's event loop free.
        self._executor = ThreadPoolExecutor(max_workers=len(triggers) + 1, thread_name_prefix="sqs-poll")
        self._sqs = moto_client("sqs", moto_url, retries=1)
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.ensure_future(self._poll(trigger)) for trigger in self.triggers]

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self, function: Callable[..., Any], **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, lambda: function(**kwargs))

    async def _poll(self, trigger: SqsTrigger) -> None:
        url = self.queue_urls[trigger.queue]
        while not self._stopping:
            try:
                reply = await self._run(
                    self._sqs.receive_message,
                    QueueUrl=url,
                    MaxNumberOfMessages=min(trigger.batch_size, 10),
                    WaitTimeSeconds=POLL_WAIT_SECONDS,
                    VisibilityTimeout=VISIBILITY_TIMEOUT_SECONDS,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except Exception as error:
                if self._stopping:
                    return
                log.warning("SQS source %s for %s: %s", trigger.queue, trigger.function, error)
                await asyncio.sleep(1.0)
                continue
            messages = reply.get("Messages", [])
            if not messages:
                continue
            event = sqs_event(messages, queue_arn=self.queue_arn(trigger.queue), region=REGION)
            result = await self.invoke(trigger, event)
            if result.ok:
                entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
                await self._run(self._sqs.delete_message_batch, QueueUrl=url, Entries=entries)
