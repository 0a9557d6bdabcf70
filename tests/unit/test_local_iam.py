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
ANCHORS = "arn:aws:s3:::payreq-local-auditanchorbucket"


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


def test_the_audit_function_may_list_the_anchors_and_nothing_else_in_their_bucket(
    roles: dict[str, iam.RolePolicy],
) -> None:
    # Given the audit function's role, whose listing is conditioned on `s3:prefix: anchors/*`
    audit = roles["AuditFunction"]

    def may_list(prefix: str | None) -> bool:
        return audit.allows("s3:ListBucket", ANCHORS, iam.context_of("s3:ListBucket", {"Prefix": prefix}))

    # Then it may list the anchors, and not the whole bucket or another prefix
    assert may_list("anchors/")
    assert not may_list(None)
    assert not may_list("exports/")


@pytest.mark.parametrize(
    ("operator", "values", "prefix", "holds"),
    [
        ("StringEquals", ("a/",), "a/", True),
        ("StringEquals", ("a/",), "b/", False),
        ("StringLike", ("a/*", "b/?"), "b/x", True),
        ("StringNotLike", ("a/*",), "a/x", False),
        ("StringNotLike", ("a/*",), None, True),  # a negated operator holds when the key is missing
        ("StringLike", ("a/*",), None, False),  # the others fail on a missing key...
        ("StringLikeIfExists", ("a/*",), None, True),  # ...but for `IfExists`
        ("Null", ("true",), None, True),
        ("Null", ("false",), None, False),
        ("NumericLessThan", ("5",), "9", True),  # an operator not emulated applies as if it held
    ],
)
def test_a_condition_on_a_key_read_from_the_call_holds_as_iam_says(
    operator: str, values: tuple[str, ...], prefix: str | None, holds: bool
) -> None:
    condition = iam.Condition(operator, "s3:prefix", values)

    assert condition.holds(iam.context_of("s3:ListBucket", {"Prefix": prefix})) is holds


def test_a_condition_on_a_key_the_emulation_does_not_read_applies_as_if_it_held() -> None:
    statement = iam.Statement(
        "Allow", ("s3:GetObject",), ("*",), (iam.Condition("StringEquals", "aws:sourcevpce", ("vpce-1",)),)
    )

    assert statement.covers("s3:GetObject", "arn:aws:s3:::b/k", iam.context_of("s3:GetObject", {"Key": "k"}))


@mock_aws
def test_a_guarded_listing_is_refused_outside_the_prefix_its_role_allows() -> None:
    # Given a role that may list one bucket under `anchors/` only
    admin = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
    admin.client("s3").create_bucket(Bucket="anchors")
    admin.client("s3").put_object(Bucket="anchors", Key="anchors/1.json", Body=b"{}")
    policy = iam.RolePolicy(
        "AuditRole",
        (
            iam.Statement(
                "Allow",
                ("s3:ListBucket",),
                ("arn:aws:s3:::anchors",),
                (iam.Condition("StringLike", "s3:prefix", ("anchors/*",)),),
            ),
        ),
    )
    session = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
    iam.guard(session, policy)
    s3 = session.client("s3")

    # When it lists under the prefix, and the whole bucket
    listed = [item["Key"] for item in s3.list_objects_v2(Bucket="anchors", Prefix="anchors/")["Contents"]]
    with pytest.raises(ClientError) as everything:
        s3.list_objects_v2(Bucket="anchors")

    # Then the first is answered and the second refused, as AWS refuses it
    assert listed == ["anchors/1.json"]
    assert everything.value.response["Error"]["Code"] == "AccessDenied"
