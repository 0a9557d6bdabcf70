"""`make deploy ENV=<env>` and `make destroy ENV=<env>`: the stacks of one environment, in order.

deploy:  network-db (VPC, NAT, Aurora, secrets, RDS Proxy)      in the environment's region
         the app (template.yaml, built by `sam build`)          in the environment's region
         edge (CloudFront, WAF, DNS, the frontend bucket)       in us-east-1
         then the demo page into the frontend bucket.
Each stack's parameters come from the outputs of the ones before it (`APP_FROM_NETWORK`,
`EDGE_FROM_APP`) and from `infra/<env>.toml` (copy `infra/dev.example.toml`); a unit test checks
every name here against the templates. Secrets the stacks share (the edge secret, dev's test-login
token) are made once and kept in Secrets Manager, so every deploy passes the same values.

destroy: edge, then the app, then network-db: the reverse, since each uses the one before it.
Kept on purpose (printed at the end): the attachments and audit-anchor buckets (financial records;
the anchors are under Object Lock), and the database's final snapshot.

Runs `sam` from the project's virtualenv; everything else is boto3. Needs AWS credentials for the
account (`AWS_PROFILE`, SSO, ...), nothing else.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import mimetypes
import secrets
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAM = str(Path(sys.executable).with_name("sam"))
DEMO_PAGE = ROOT / "local" / "payreq_local" / "demo"
EDGE_REGION = "us-east-1"  # CloudFront's certificates and web ACLs live there

# The app's parameters, from network-db.yaml's outputs of the same name.
APP_FROM_NETWORK = (
    "SubnetIds",
    "SecurityGroupIds",
    "DbProxyEndpoint",
    "DbProxyResourceId",
    "DbProxyName",
    "DbName",
    "DbUser",
    "DbOwnerUser",
    "DbOwnerSecretArn",
    "DbAppRoleSecretArn",
    "DbReadRoleSecretArn",
    "AlarmTopicArn",
)
# edge.yaml's parameters, from the app's outputs.
EDGE_FROM_APP = {"HttpApiDomain": "HttpApiDomain", "WebSocketStage": "WebSocketStageName"}


@dataclass(frozen=True)
class Environment:
    """One environment's choices: `infra/<name>.toml`."""

    name: str
    region: str
    domain: str
    hosted_zone_id: str
    certificate_arn: str
    nat_gateways: str = "one"
    db_min_capacity: float = 0
    db_max_capacity: float = 4
    deletion_protection: bool = True
    alarm_email: str = ""
    google_client_id: str = ""
    google_client_secret_arn: str = ""
    test_login: bool = False
    frontend: bool = True

    @classmethod
    def load(cls, name: str) -> Environment:
        path = ROOT / "infra" / f"{name}.toml"
        if not path.is_file():
            raise SystemExit(f"{path.relative_to(ROOT)} is missing: copy infra/dev.example.toml and fill it in")
        values = tomllib.loads(path.read_text())
        if name == "prod" and values.get("test_login"):
            raise SystemExit("test_login must be false in prod")
        if name not in tomllib.loads((ROOT / "samconfig.toml").read_text()):
            raise SystemExit(f"samconfig.toml has no [{name}.*] section for the app stack's settings")
        return cls(name=name, **values)

    @property
    def app_stack(self) -> str:
        return f"payreq-{self.name}"

    @property
    def network_stack(self) -> str:
        return f"payreq-{self.name}-network-db"

    @property
    def edge_stack(self) -> str:
        return f"payreq-{self.name}-edge"

    def network_parameters(self) -> dict[str, str]:
        return {
            "Stage": self.name,
            "NatGateways": self.nat_gateways,
            "DbMinCapacity": f"{self.db_min_capacity:g}",
            "DbMaxCapacity": f"{self.db_max_capacity:g}",
            "DeletionProtection": str(self.deletion_protection).lower(),
            "AlarmEmail": self.alarm_email,
        }

    def app_parameters(self, network: dict[str, str], edge_secret: str, test_login_token: str) -> dict[str, str]:
        origin = f"https://{self.domain}"
        return {
            "Stage": self.name,
            **{name: network[name] for name in APP_FROM_NETWORK},
            "DbAuth": "iam",
            "PublicBaseUrl": origin,
            "AllowedOrigins": origin,
            "GoogleClientId": self.google_client_id,
            "GoogleClientSecretArn": self.google_client_secret_arn,
            "TestLoginToken": test_login_token,
            "EdgeSecretSha256": hashlib.sha256(edge_secret.encode()).hexdigest(),
        }

    def edge_parameters(self, app: dict[str, str], edge_secret: str) -> dict[str, str]:
        return {
            "Stage": self.name,
            "DomainName": self.domain,
            "HostedZoneId": self.hosted_zone_id,
            "CertificateArn": self.certificate_arn,
            **{parameter: app[output] for parameter, output in EDGE_FROM_APP.items()},
            "WebSocketApiDomain": f"{app['WebSocketApiId']}.execute-api.{self.region}.amazonaws.com",
            "EdgeSecret": edge_secret,
            "CreateFrontend": str(self.frontend).lower(),
        }


def _session(region: str) -> Any:
    import boto3

    return boto3.session.Session(region_name=region)


def outputs(stack: str, region: str) -> dict[str, str]:
    described = _session(region).client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}


def outputs_if_deployed(stack: str, region: str) -> dict[str, str]:
    """A stack's outputs, or nothing when it is not there (already destroyed, never deployed)."""
    from botocore.exceptions import ClientError

    try:
        return outputs(stack, region)
    except ClientError as error:
        if "does not exist" not in str(error):
            raise
        return {}


def shared_secret(name: str, region: str) -> str:
    """The value of secret `name`, made (random) the first time: every deploy passes the same one."""
    client = _session(region).client("secretsmanager")
    try:
        return str(client.get_secret_value(SecretId=name)["SecretString"])
    except client.exceptions.ResourceNotFoundException:
        value = secrets.token_urlsafe(32)
        client.create_secret(Name=name, SecretString=value, Description="Payreq deploy: shared between stacks")
        return value


def parameter_overrides(parameters: dict[str, str]) -> list[str]:
    """`--parameter-overrides` words for sam. Every parameter is given, blank ones too: on an
    update, sam keeps a left-out parameter's previous value (a test-login token turned off must
    really go). sam refuses `Name=` and reads `Name=""` as blank."""
    return [f"{name}={value}" if value else f'{name}=""' for name, value in parameters.items()]


def sam_deploy(stack: str, template: str, region: str, parameters: dict[str, str], *extra: str) -> None:
    command = [SAM, "deploy", "--template-file", template, "--stack-name", stack, "--region", region]
    command += ["--no-fail-on-empty-changeset", "--parameter-overrides", *parameter_overrides(parameters), *extra]
    print(f"\n== {stack} ({region})", flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def deploy_network(env: Environment) -> None:
    capabilities = ["--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
    sam_deploy(env.network_stack, "infra/network-db.yaml", env.region, env.network_parameters(), *capabilities)


def deploy(env: Environment) -> None:
    deploy_network(env)
    network = outputs(env.network_stack, env.region)
    edge_secret = shared_secret(f"payreq/{env.name}/edge-origin-secret", env.region)
    test_login_token = shared_secret(f"payreq/{env.name}/test-login-token", env.region) if env.test_login else ""

    print(f"\n== {env.app_stack}: sam build", flush=True)
    subprocess.run([SAM, "build"], cwd=ROOT, check=True)
    app_parameters = env.app_parameters(network, edge_secret, test_login_token)
    sam_deploy(
        env.app_stack,
        ".aws-sam/build/template.yaml",
        env.region,
        app_parameters,
        "--config-env",
        env.name,
        "--capabilities",
        "CAPABILITY_IAM",
        "--resolve-s3",
    )
    app = outputs(env.app_stack, env.region)

    sam_deploy(env.edge_stack, "infra/edge.yaml", EDGE_REGION, env.edge_parameters(app, edge_secret))
    edge = outputs(env.edge_stack, EDGE_REGION)
    if "FrontendBucketName" in edge:
        publish_demo_page(edge["FrontendBucketName"], edge["DistributionId"])
    print(f"\nPayreq {env.name} is at {edge['PublicBaseUrl']}")
    if test_login_token:
        print(f"Demo sign-in token: secret payreq/{env.name}/test-login-token in {env.region}")


def publish_demo_page(bucket: str, distribution_id: str) -> None:
    session = _session(EDGE_REGION)
    s3 = session.client("s3")
    for path in sorted(DEMO_PAGE.rglob("*")):
        if path.is_file():
            key = path.relative_to(DEMO_PAGE).as_posix()
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type})
    session.client("cloudfront").create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": str(time.time())},
    )


def destroy(env: Environment) -> None:
    kept: list[str] = []
    edge = outputs_if_deployed(env.edge_stack, EDGE_REGION)
    if "FrontendBucketName" in edge:
        _session(EDGE_REGION).resource("s3").Bucket(edge["FrontendBucketName"]).objects.all().delete()
    sam_delete(env.edge_stack, EDGE_REGION)
    app = outputs_if_deployed(env.app_stack, env.region)
    if app:
        kept += [f"s3://{app['AttachmentsBucketName']}", f"s3://{app['AuditAnchorBucketName']} (Object Lock)"]
    sam_delete(env.app_stack, env.region)
    if env.deletion_protection:
        print(f"\n{env.network_stack} kept: deletion_protection is on in infra/{env.name}.toml")
    else:
        # The cluster refuses deletion until its protection is off: apply the file's choice first.
        deploy_network(env)
        sam_delete(env.network_stack, env.region)
        kept.append(f"the final snapshot of the {env.network_stack} cluster (aws rds describe-db-cluster-snapshots)")
    for name in ("edge-origin-secret", "test-login-token"):
        client = _session(env.region).client("secretsmanager")
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            client.delete_secret(SecretId=f"payreq/{env.name}/{name}", RecoveryWindowInDays=7)
    print("\nKept on purpose:", *kept, sep="\n  ")


def sam_delete(stack: str, region: str) -> None:
    print(f"\n== deleting {stack} ({region})", flush=True)
    subprocess.run([SAM, "delete", "--stack-name", stack, "--region", region, "--no-prompts"], cwd=ROOT, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/deploy.py", description=__doc__.split("\n", 1)[0])
    parser.add_argument("action", choices=["deploy", "destroy"])
    parser.add_argument("env", help="the environment: infra/<env>.toml")
    arguments = parser.parse_args(argv)
    environment = Environment.load(arguments.env)
    (deploy if arguments.action == "deploy" else destroy)(environment)
    return 0


if __name__ == "__main__":
    sys.exit(main())
