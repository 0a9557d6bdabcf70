"""SQS event sources in the local stack: read from the template, delivered in Lambda's shape."""

from __future__ import annotations

from payreq_local.environment import LOCAL_PARAMETERS
from payreq_local.events import sqs_event
from payreq_local.intrinsics import Resolver
from payreq_local.template import load_template, read_application


def test_the_broadcaster_is_read_as_an_sqs_event_source() -> None:
    template = load_template()

    application = read_application(template, Resolver(template, LOCAL_PARAMETERS))

    [trigger] = [t for t in application.sqs_triggers if t.function == "BroadcasterFunction"]
    assert (trigger.queue, trigger.batch_size) == ("SyncQueue", 10)


def test_received_messages_become_a_lambda_sqs_event() -> None:
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": '{"outboxId": 7}',
        "MD5OfBody": "x",
        "Attributes": {"ApproximateReceiveCount": "1"},
    }

    event = sqs_event([message], queue_arn="arn:aws:sqs:us-east-1:123456789012:sync", region="us-east-1")

    [record] = event["Records"]
    assert record["eventSource"] == "aws:sqs"
    assert (record["messageId"], record["body"], record["eventSourceARN"]) == (
        "m-1",
        '{"outboxId": 7}',
        "arn:aws:sqs:us-east-1:123456789012:sync",
    )
    assert record["attributes"] == {"ApproximateReceiveCount": "1"}
