"""The S3-compatible endpoint (moto, in its own process) and the template's S3 triggers.

The template's buckets and queues are created in moto under their local names. Each S3 trigger
gets a notification queue: the bucket's notification configuration sends matching ObjectCreated
events there (with the trigger's prefix/suffix filter, as S3 would), and a poller turns every
queued event into an asynchronous invocation of the function, with Lambda's retries and the
function's OnFailure queue. Browsers and functions reach moto with the very URLs AWS would give
them (presigned POSTs included), only with the local endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from payreq_local.environment import LOCAL_CREDENTIALS
from payreq_local.events import new_id, s3_event
from payreq_local.intrinsics import ACCOUNT_ID, REGION

if TYPE_CHECKING:
    import socket
    from collections.abc import Awaitable, Callable, Mapping

    from payreq_local.intrinsics import Resolver
    from payreq_local.template import Application, S3Trigger
    from payreq_local.workers import InvocationResult

    Invoke = Callable[[S3Trigger, dict[str, Any], str], Awaitable[InvocationResult]]

log = logging.getLogger("payreq_local")

# Lambda retries a failed asynchronous invocation after about 1 and 2 minutes; locally the
# developer is waiting, so the same number of attempts come after 1 and 2 seconds.
RETRY_DELAYS_SECONDS = (1.0, 2.0)
POLL_WAIT_SECONDS = 1


class MotoProcess:
    """moto's server in a child process, on a socket bound here first (port known at once)."""

    def __init__(self, listening: socket.socket) -> None:
        self._socket = listening
        self.host, self.port = listening.getsockname()[:2]
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        fd = self._socket.fileno()
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "payreq_local.moto_server",
            str(fd),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            pass_fds=(fd,),
            start_new_session=True,
        )

    async def wait_ready(self, timeout: float = 60.0) -> None:
        assert self._process is not None and self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), timeout)
        if line.strip() != b"ready":
            raise RuntimeError(f"the S3 endpoint (moto) failed to start (exit status {await self._process.wait()})")
        # The child serves the socket now; the parent's copy is no longer needed.
        self._socket.close()

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                await asyncio.wait_for(self._process.wait(), 3.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self._process.kill()
                await self._process.wait()
        self._socket.close()


def queue_urls(template: Mapping[str, Any], resolver: Resolver, moto_url: str) -> dict[str, str]:
    """`!Ref` of each AWS::SQS::Queue locally: its URL on moto."""
    return {
        name: f"{moto_url}/{ACCOUNT_ID}/{resolver.local_name(name)}"
        for name, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == "AWS::SQS::Queue"
    }


def moto_client(service: str, moto_url: str, *, retries: int = 3) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=moto_url,
        region_name=REGION,
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"mode": "standard", "max_attempts": retries}),
    )


@dataclass(frozen=True)
class Storage:
    buckets: dict[str, str]  # logical id -> bucket name
    queues: dict[str, str]  # logical id -> queue URL
    trigger_queues: dict[S3Trigger, str]  # notification queue URL of each trigger


def _fifo_attributes(properties: Mapping[str, Any]) -> dict[str, str]:
    """A FIFO queue is one from its creation (the live-sync queue's message groups are its partitions)."""
    if str(properties.get("FifoQueue", "")).lower() != "true":
        return {}
    return {
        "FifoQueue": "true",
        "ContentBasedDeduplication": str(properties.get("ContentBasedDeduplication", False)).lower(),
    }


def provision(template: Mapping[str, Any], application: Application, resolver: Resolver, moto_url: str) -> Storage:
    """Create the template's buckets, queues and KMS keys in moto and wire the S3 triggers (blocking)."""
    s3, sqs = moto_client("s3", moto_url), moto_client("sqs", moto_url)
    resources = template.get("Resources") or {}
    queues: dict[str, str] = {}
    for name, resource in resources.items():
        if resource.get("Type") == "AWS::SQS::Queue":
            queues[name] = sqs.create_queue(
                QueueName=resolver.local_name(name), Attributes=_fifo_attributes(resource.get("Properties") or {})
            )["QueueUrl"]
    kms = moto_client("kms", moto_url)
    for name, resource in resources.items():
        if resource.get("Type") == "AWS::KMS::Alias":
            # A key per alias: functions name keys by alias, which resolves the same here and in AWS.
            alias = resolver.resolve_string(resource["Properties"]["AliasName"], f"{name}.AliasName")
            key_id = kms.create_key(Description=f"local {name}")["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    buckets: dict[str, str] = {}
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::S3::Bucket":
            continue
        bucket = resolver.local_name(name)
        buckets[name] = bucket
        s3.create_bucket(Bucket=bucket)
        properties = resource.get("Properties") or {}
        if "VersioningConfiguration" in properties:
            versioning = resolver.resolve(properties["VersioningConfiguration"], f"{name}.VersioningConfiguration")
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": versioning["Status"]})
        if "CorsConfiguration" in properties:
            # Browsers post presigned uploads straight to the bucket: its CORS rules apply locally too.
            rules = resolver.resolve(properties["CorsConfiguration"], f"{name}.CorsConfiguration")["CorsRules"]
            s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [_cors_rule(rule) for rule in rules]})
    trigger_queues: dict[S3Trigger, str] = {}
    configurations: dict[str, list[dict[str, Any]]] = {}
    for trigger in application.s3_triggers:
        queue_name = f"{resolver.stack_name}-{trigger.function}-{trigger.event}"
        url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
        trigger_queues[trigger] = url
        rules = [
            {"Name": kind, "Value": value}
            for kind, value in (("prefix", trigger.prefix), ("suffix", trigger.suffix))
            if value
        ]
        configuration: dict[str, Any] = {
            "Id": f"{trigger.function}-{trigger.event}",
            "QueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue_name}",
            "Events": list(trigger.events),
        }
        if rules:
            configuration["Filter"] = {"Key": {"FilterRules": rules}}
        configurations.setdefault(buckets[trigger.bucket], []).append(configuration)
    for bucket, queue_configurations in configurations.items():
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"QueueConfigurations": queue_configurations}
        )
    return Storage(buckets=buckets, queues=queues, trigger_queues=trigger_queues)


def _cors_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A CloudFormation CorsRule in the S3 API's spelling."""
    names = {"Id": "ID", "ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds"}
    return {names.get(key, key): value for key, value in rule.items()}


class NotificationPoller:
    """Turns the queued S3 notifications into asynchronous invocations of the triggers' functions."""

    def __init__(self, storage: Storage, moto_url: str, invoke: Invoke, function_arn: Callable[[str], str]) -> None:
        self.storage = storage
        self.moto_url = moto_url
        self.invoke = invoke
        self.function_arn = function_arn
        # Polls block in boto3; their own threads keep the gateway's event loop free.
        self._executor = ThreadPoolExecutor(max_workers=len(storage.trigger_queues) + 2, thread_name_prefix="s3-poll")
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()
        # A dead endpoint should end a poll at once, not after retries with backoff.
        self._sqs = moto_client("sqs", moto_url, retries=1)
        self._s3 = moto_client("s3", moto_url, retries=1)

    def start(self) -> None:
        for trigger, url in self.storage.trigger_queues.items():
            self._spawn(self._poll(trigger, url))

    async def stop(self) -> None:
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, function: Callable[..., Any], **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, lambda: function(**kwargs))

    async def _poll(self, trigger: S3Trigger, url: str) -> None:
        while not self._stopping:
            try:
                reply = await self._run(
                    self._sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=POLL_WAIT_SECONDS
                )
            except Exception as error:
                if self._stopping:
                    return
                log.warning("S3 notifications for %s: %s", trigger.function, error)
                await asyncio.sleep(1.0)
                continue
            for message in reply.get("Messages", []):
                for record in json.loads(message["Body"]).get("Records", []):
                    await self._dispatch(trigger, record)
                # Accepted for asynchronous invocation: retries are Lambda's business from here on.
                await self._run(self._sqs.delete_message, QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    async def _dispatch(self, trigger: S3Trigger, record: dict[str, Any]) -> None:
        key = unquote_plus(record["s3"]["object"]["key"])
        if not trigger.matches(record.get("eventName", ""), key):
            return  # moto filtered already; this guards the template's rules, not moto's
        event = s3_event(record)
        obj = event["Records"][0]["s3"]["object"]
        with contextlib.suppress(Exception):
            # Versioned buckets name the version in the event, as S3 does.
            head = await self._run(self._s3.head_object, Bucket=record["s3"]["bucket"]["name"], Key=key)
            if head.get("VersionId") not in (None, "null"):
                obj.setdefault("versionId", head["VersionId"])
        self._spawn(self._deliver(trigger, event, key))

    async def _deliver(self, trigger: S3Trigger, event: dict[str, Any], key: str) -> None:
        request_id = new_id()
        result = None
        for attempt in range(trigger.max_retries + 1):
            if attempt:
                await asyncio.sleep(RETRY_DELAYS_SECONDS[min(attempt, len(RETRY_DELAYS_SECONDS)) - 1])
            result = await self.invoke(trigger, event, key)
            if result.ok:
                return
        if trigger.on_failure_queue is None or result is None:
            return
        # The record Lambda sends to an OnFailure destination.
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": request_id,
                "functionArn": f"{self.function_arn(trigger.function)}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": trigger.max_retries + 1,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": result.error,
        }
        await self._run(
            self._sqs.send_message,
            QueueUrl=self.storage.queues[trigger.on_failure_queue],
            MessageBody=json.dumps(record),
        )
        log.warning(
            "S3 event for %s parked in %s after %d attempts", key, trigger.on_failure_queue, trigger.max_retries + 1
        )
