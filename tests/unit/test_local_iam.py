"""The local stack gives each function the role the template defines, and refuses what it does not allow."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from payreq_local import iam
from payreq_local.environment import LOCAL_PARAMETERS
from payreq_local.intrinsics import Resolver
from payreq_local.template import load_template

ATTACHMENTS = "arn:aws:s3:::payreq-local-attachmentsbucket"
WEBHOOK_QUEUE = "arn:aws:sqs:us-east-1:123456789012:payreq-local-webhooks"
ANY_KEY = "arn:aws:kms:us-east-1:123456789012:key/local"


@pytest.fixture(scope="module")
def roles() -> dict[str, iam.RolePolicy]:
    template = load_template()
    resolver = Resolver(template, dict(LOCAL_PARAMETERS))
    return {
        name: iam.role_policy(template, resolver, name)
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def test_the_parser_may_read_uploads_and_nothing_else_in_the_bucket(roles: dict[str, iam.RolePolicy]) -> None:
    # Given the parser's role as the template defines it (its policy is a separate RolePolicy resource)
    parser = roles["InvoiceParserFunction"]

    # Then it may read an upload and its versions, list the bucket, and neither write nor read elsewhere
    assert parser.allows("s3:GetObject", f"{ATTACHMENTS}/uploads/a/b.pdf")
    assert parser.allows("s3:GetObjectVersion", f"{ATTACHMENTS}/uploads/a/b.pdf")
    assert parser.allows("s3:ListBucket", ATTACHMENTS)
    assert not parser.allows("s3:PutObject", f"{ATTACHMENTS}/uploads/a/b.pdf")
    assert not parser.allows("s3:GetObject", f"{ATTACHMENTS}/exports/a.csv")


def test_webhook_secrets_are_sealed_by_one_function_and_opened_by_the_other(roles: dict[str, iam.RolePolicy]) -> None:
    assert roles["WebhooksFunction"].allows("kms:Encrypt", ANY_KEY)
    assert not roles["WebhooksFunction"].allows("kms:Decrypt", ANY_KEY)
    assert roles["WebhookDelivererFunction"].allows("kms:Decrypt", ANY_KEY)
    assert not roles["WebhookDelivererFunction"].allows("kms:Encrypt", ANY_KEY)
    assert roles["WebhookDelivererFunction"].allows("sqs:SendMessage", WEBHOOK_QUEUE)
    # A function with no business there
    assert not roles["PrFunction"].allows("sqs:SendMessage", WEBHOOK_QUEUE)
    assert not roles["AuthorizerFunction"].allows("kms:Decrypt", ANY_KEY)


def test_an_explicit_deny_wins_over_an_allow() -> None:
    policy = iam.RolePolicy(
        "Role",
        (
            iam.Statement("Allow", ("s3:*",), ("arn:aws:s3:::b/*",)),
            iam.Statement("Deny", ("s3:DeleteObject",), ("arn:aws:s3:::b/keep/*",)),
        ),
    )

    assert policy.allows("s3:DeleteObject", "arn:aws:s3:::b/tmp/x")
    assert not policy.allows("s3:DeleteObject", "arn:aws:s3:::b/keep/x")
    assert policy.allows("S3:getobject", "arn:aws:s3:::b/keep/x")  # actions are case-insensitive


@pytest.mark.parametrize(
    ("service", "operation", "params", "action"),
    [
        ("s3", "HeadObject", {"Bucket": "b", "Key": "k"}, "s3:GetObject"),
        ("s3", "GetObject", {"Bucket": "b", "Key": "k", "VersionId": "v1"}, "s3:GetObjectVersion"),
        ("s3", "ListObjectsV2", {"Bucket": "b"}, "s3:ListBucket"),
        ("sqs", "SendMessageBatch", {"QueueUrl": "http://q/1/x"}, "sqs:SendMessage"),
        ("execute-api", "PostToConnection", {"ConnectionId": "c"}, "execute-api:ManageConnections"),
        ("textract", "AnalyzeExpense", {}, "textract:AnalyzeExpense"),
    ],
)
def test_a_call_is_judged_by_the_action_iam_checks_for_it(
    service: str, operation: str, params: dict[str, Any], action: str
) -> None:
    assert iam.action_of(service, operation, params) == action


def test_the_policy_travels_to_the_worker_intact(roles: dict[str, iam.RolePolicy]) -> None:
    role = roles["WebhooksFunction"]

    assert iam.RolePolicy.from_json(role.to_json()) == role


@mock_aws
def test_a_guarded_client_is_refused_what_its_role_does_not_allow() -> None:
    # Given a session guarded by a role that may read one bucket's uploads and send to one queue
    admin = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
    s3, sqs = admin.client("s3"), admin.client("sqs")
    s3.create_bucket(Bucket="files")
    s3.put_object(Bucket="files", Key="uploads/a.pdf", Body=b"%PDF")
    s3.put_object(Bucket="files", Key="private/b.pdf", Body=b"%PDF")
    allowed = sqs.create_queue(QueueName="allowed")["QueueUrl"]
    other = sqs.create_queue(QueueName="other")["QueueUrl"]
    policy = iam.RolePolicy(
        "ParserRole",
        (
            iam.Statement("Allow", ("s3:GetObject",), ("arn:aws:s3:::files/uploads/*",)),
            iam.Statement("Allow", ("sqs:SendMessage",), ("arn:aws:sqs:us-east-1:123456789012:allowed",)),
        ),
    )
    session = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
    iam.guard(session, policy)
    s3, sqs = session.client("s3"), session.client("sqs")

    # When it reads and sends where it may, and where it may not
    read = s3.get_object(Bucket="files", Key="uploads/a.pdf")["Body"].read()
    sent = sqs.send_message(QueueUrl=allowed, MessageBody="x")["MessageId"]
    with pytest.raises(ClientError) as read_elsewhere:
        s3.head_object(Bucket="files", Key="private/b.pdf")
    with pytest.raises(ClientError) as sent_elsewhere:
        sqs.send_message(QueueUrl=other, MessageBody="x")
    # Signing a URL calls nothing, so nothing is judged until it is used
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "files", "Key": "private/c.pdf"})

    # Then the allowed calls went through and the others were refused as AWS refuses them
    assert (read, bool(sent), url.startswith("https://")) == (b"%PDF", True, True)
    assert read_elsewhere.value.response["Error"]["Code"] == "AccessDenied"
    assert "s3:GetObject on resource: arn:aws:s3:::files/private/b.pdf" in str(read_elsewhere.value)
    assert sent_elsewhere.value.response["Error"]["Code"] == "AccessDenied"
    assert admin.client("sqs").get_queue_attributes(QueueUrl=other, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"
    ] == {"ApproximateNumberOfMessages": "0"}
