"""python -m workshop doctor: can this setup run the course? Each check says OK or FAIL, and how to fix a failure.

The checks go from the bottom up: Python, the packages, the configuration, then localcloud (local
mode) or the AWS account (aws mode). The connection is checked only when everything below it
passed, because it would fail for the same reason. Credentials are never printed: only the
account id and the caller's ARN.

boto3 is imported inside the functions that call AWS, so that a missing or broken boto3 shows up
as a failed package check instead of a crash.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import sys
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from packaging.requirements import Requirement

from workshop.config import DEFAULT_LOCALCLOUD_PORT, HIVE_DATA_FOLDER, ROLE_PURPOSES, Config, ConfigError

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
MINIMUM_PYTHON = (3, 11)
# The packages the notebooks and localcloud import; their version requirements come from pyproject.toml.
KEY_PACKAGES = ("boto3", "awswrangler", "moto", "duckdb", "sqlglot", "pandas", "ipywidgets", "jupyterlab")
INSTALL_FIX = "run `make venv` in the project folder (or `pip install -e '.[dev]'` in your environment)"

OK, FAIL, SKIP = "OK", "FAIL", "SKIP"


@dataclass
class Check:
    """One line of the doctor's report: OK, FAIL (with the fix) or SKIP (not checked, and why)."""

    status: str
    what: str
    fix: str = ""

    def __str__(self) -> str:
        line = f"  {self.status:<4}  {self.what}"
        return line + (f"\n        fix: {self.fix}" if self.fix else "")


def run_checks() -> list[Check]:
    """Every check for the current environment, in the order a fix should be made."""
    checks = [python_version(), *packages()]
    try:
        config = Config.from_env()
    except ConfigError as error:
        checks.append(Check(FAIL, "the configuration is invalid", str(error)))
    else:
        checks.append(Check(OK, f"configuration: mode={config.mode} region={config.region} "
                                f"participant={config.participant}"))
    if any(check.status == FAIL for check in checks):
        return checks + [Check(SKIP, "connection not checked: fix the failures above first")]
    return checks + (aws_checks(config) if config.mode == "aws" else local_checks(config))


def report(checks: list[Check]) -> str:
    failed = sum(check.status == FAIL for check in checks)
    skipped = sum(check.status == SKIP for check in checks)
    if failed:
        verdict = f"{failed} check(s) failed. Fix them, then run `python -m workshop doctor` again."
    else:
        verdict = "All checks passed: this setup can run the course." + (
            f" ({skipped} not checked: see SKIP above.)" if skipped else "")
    return "\n".join([*map(str, checks), verdict])


def main() -> int:
    """Print the report; exit code 0 only if every check passed."""
    checks = run_checks()
    print(report(checks))
    return 1 if any(check.status == FAIL for check in checks) else 0


# ---- Python and packages -------------------------------------------------------------------------
def python_version() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] >= MINIMUM_PYTHON:
        return Check(OK, f"Python {version}")
    needed = ".".join(map(str, MINIMUM_PYTHON))
    return Check(FAIL, f"Python {version} is too old: the course needs {needed} or newer",
                 f"install Python {needed}+, then `rm -rf .venv && make venv PYTHON=python{needed}`")


def required_versions() -> dict[str, Requirement]:
    """The kit's requirement for each key package, as pyproject.toml states it (e.g. moto[server]==5.2.5)."""
    listed = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    requirements = {Requirement(text).name.lower(): Requirement(text) for text in listed}
    return {name: requirements[name] for name in KEY_PACKAGES}


def packages() -> list[Check]:
    return [package(name, requirement) for name, requirement in required_versions().items()]


def package(name: str, requirement: Requirement) -> Check:
    """The package imports, and its installed version is one the kit accepts."""
    try:
        importlib.import_module(name)
    except ImportError as error:
        return Check(FAIL, f"{name} cannot be imported ({error})", INSTALL_FIX)
    version = importlib.metadata.version(name)
    if requirement.specifier and not requirement.specifier.contains(version, prereleases=True):
        return Check(FAIL, f"{name} {version} is installed, but the kit needs {name}{requirement.specifier}",
                     f"pip install '{requirement}'")
    return Check(OK, f"{name} {version}")


# ---- local mode -----------------------------------------------------------------------------------
def local_checks(config: Config) -> list[Check]:
    """localcloud answers at the endpoint the notebooks will use (doctor never starts it)."""
    from workshop.session import require_loopback   # the same rule connect() applies

    endpoint = os.environ.get("AWS_ENDPOINT_URL") or f"http://127.0.0.1:{config.localcloud_port}"
    try:
        require_loopback(endpoint)
    except ConfigError as error:
        return [Check(FAIL, f"AWS_ENDPOINT_URL={endpoint} is not on this machine", str(error))]
    port = urlparse(endpoint).port or DEFAULT_LOCALCLOUD_PORT
    make_up = "make up" + (f" PORT={port}" if port != DEFAULT_LOCALCLOUD_PORT else "")
    try:
        with urllib.request.urlopen(f"{endpoint}/_localcloud/health", timeout=2):
            pass
    except urllib.error.HTTPError:
        return [Check(FAIL, f"something other than localcloud answers at {endpoint}",
                      "use a free port for localcloud: `export LOCALCLOUD_PORT=4577`, then `make up PORT=4577`")]
    except (urllib.error.URLError, OSError):
        return [Check(FAIL, f"localcloud is not running at {endpoint}",
                      f"start it with `{make_up}` (or `python -m localcloud start --port {port}`), "
                      "then run doctor again")]
    return [Check(OK, f"localcloud answers at {endpoint}"), local_sts(config, endpoint)]


def local_sts(config: Config, endpoint: str) -> Check:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from workshop.session import LOCAL_CREDENTIALS

    sts = boto3.client("sts", endpoint_url=endpoint, region_name=config.region,
                       **{name.lower(): value for name, value in LOCAL_CREDENTIALS.items()})
    try:
        account = sts.get_caller_identity()["Account"]
    except (BotoCoreError, ClientError) as error:
        return Check(FAIL, f"localcloud did not answer an STS call: {error}",
                     "restart it with `make down && make up`; its log is .localcloud/server.log")
    return Check(OK, f"localcloud answers STS: account {account}, region {config.region}")


# ---- aws mode -------------------------------------------------------------------------------------
def aws_checks(config: Config) -> list[Check]:
    """Requests go to AWS, with working credentials, in the intended region, with the permissions needed."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    if endpoint := os.environ.get("AWS_ENDPOINT_URL"):
        return [Check(FAIL, f"AWS_ENDPOINT_URL={endpoint} is set, so requests would not go to AWS",
                      "`unset AWS_ENDPOINT_URL` before using a real account")]
    checks = [Check(OK, "AWS_ENDPOINT_URL is not set: requests go to AWS")]
    session = boto3.Session(region_name=config.region)
    if session.get_credentials() is None:
        return checks + [Check(FAIL, "no AWS credentials found",
                               "run `aws configure` (access keys) or `aws sso login --profile NAME` and "
                               "`export AWS_PROFILE=NAME`")]
    try:
        identity = session.client("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        return checks + [Check(FAIL, f"AWS did not accept the credentials: {error}",
                               "they may have expired: `aws sso login`, or new keys from your administrator")]
    checks.append(Check(OK, f"credentials work: account {identity['Account']}, caller {identity['Arn']}"))
    checks.append(region(config))
    checks.append(permissions(session.client("iam"), identity["Arn"], config, identity["Account"]))
    return checks


def region(config: Config) -> Check:
    """The kit's region is the one the learner means: chosen explicitly, or agreeing with their AWS profile."""
    import boto3

    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if os.environ.get(variable):
            return Check(OK, f"region {config.region} (from {variable})")
    profile_region = boto3.Session().region_name
    if profile_region and profile_region != config.region:
        return Check(FAIL, f"the kit would use {config.region} (its default), but your AWS profile's region is "
                           f"{profile_region}, so the console and CLI would show other resources",
                     f"choose one explicitly: `export AWS_REGION={profile_region}` (or {config.region})")
    return Check(OK, f"region {config.region} (the default; set AWS_REGION to choose another)")


ASSUMED_ROLE = re.compile(r"^arn:(?P<partition>[\w-]+):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/")
IAM_IDENTITY = re.compile(r"^arn:[\w-]+:iam::\d{12}:(user|role)/")


def simulation_principal(iam: Any, caller_arn: str) -> str | None:
    """The ARN the policy simulator accepts for the caller, or None when it cannot simulate them (root, federated).

    The simulator takes a role, not a session of it, so an assumed-role ARN is mapped to its role. The
    role's real ARN may carry a path (SSO roles live under aws-reserved/...), so it is looked up; a
    caller who may not read it gets the path-less ARN, which is right for most roles. Any other IAM
    error is raised, for permissions() to report.
    """
    from botocore.exceptions import ClientError

    if IAM_IDENTITY.match(caller_arn):
        return caller_arn
    match = ASSUMED_ROLE.match(caller_arn)
    if not match:
        return None
    try:
        return iam.get_role(RoleName=match["role"])["Role"]["Arn"]
    except ClientError as error:
        if not _access_denied(error):
            raise
        return f"arn:{match['partition']}:iam::{match['account']}:role/{match['role']}"


@dataclass(frozen=True)
class Need:
    """API actions the course calls, and every resource AWS authorizes each of them against."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]


def course_permissions(config: Config, account: str) -> list[Need]:
    """What the kit, the notebooks, awswrangler and Athena (on the learner's behalf) need, in one list.

    tests/unit/test_cli.py checks it against every call a course run makes and every boto3 call in
    solutions/. Creating with Tags needs the service's tagging action too; creating a pipe, function,
    delivery stream or crawler needs iam:PassRole on its role.
    """
    from workshop.freshness import LIVE_TABLE   # imports awswrangler, which the package checks come before

    def glue(resource: str) -> str:
        return config.arn("glue", account, resource)

    c, db = config, config.glue_database
    catalog, database, every_table = glue("catalog"), c.glue_database_arn(account), c.glue_table_arn_pattern(account)
    crawled = tuple(glue(f"table/{db}/{table}") for table in (c.glue_table, HIVE_DATA_FOLDER))
    live_table = glue(f"table/{db}/{LIVE_TABLE}")                 # notebook 09's CREATE EXTERNAL TABLE, by Athena
    ctas_table = glue(f"table/{db}/temp_table_*")                 # awswrangler's ctas_approach: created, then dropped
    bucket = c.bucket_arn(account)
    return [
        # These name no resource, so IAM authorizes them against "*" (classifiers have no ARN at all).
        Need(("dynamodb:ListTables", "kinesis:ListStreams", "pipes:ListPipes", "firehose:ListDeliveryStreams",
              "lambda:ListFunctions", "s3:ListAllMyBuckets", "glue:ListCrawlers", "glue:CreateClassifier",
              "glue:GetClassifier", "glue:DeleteClassifier", "athena:ListWorkGroups", "iam:ListRoles"), ("*",)),
        Need(("dynamodb:CreateTable", "dynamodb:TagResource", "dynamodb:DescribeTable", "dynamodb:UpdateTable",
              "dynamodb:ListTagsOfResource", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
              "dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:Scan", "dynamodb:DeleteTable"),
             (c.table_arn(account),)),
        Need(("dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"),
             (f"{c.table_arn(account)}/stream/2026-01-01T00:00:00.000",)),
        Need(("kinesis:CreateStream", "kinesis:AddTagsToStream", "kinesis:DescribeStreamSummary",
              "kinesis:DescribeStream", "kinesis:ListShards", "kinesis:ListTagsForStream", "kinesis:GetShardIterator",
              "kinesis:GetRecords", "kinesis:PutRecord", "kinesis:DeleteStream"), (c.kinesis_stream_arn(account),)),
        Need(("pipes:CreatePipe", "pipes:TagResource", "pipes:DescribePipe", "pipes:DeletePipe"),
             (c.pipe_arn(account),)),
        Need(("lambda:CreateFunction", "lambda:TagResource", "lambda:GetFunction", "lambda:GetFunctionConfiguration",
              "lambda:UpdateFunctionCode", "lambda:InvokeFunction", "lambda:ListTags", "lambda:DeleteFunction"),
             (c.lambda_arn(account),)),
        Need(("logs:CreateLogGroup", "logs:TagResource", "logs:PutRetentionPolicy", "logs:ListTagsForResource",
              "logs:FilterLogEvents", "logs:DeleteLogGroup"), (c.log_group_arn(account),)),
        Need(("logs:DescribeLogGroups",), (c.arn("logs", account, "log-group:*"),)),
        Need(("firehose:CreateDeliveryStream", "firehose:TagDeliveryStream", "firehose:DescribeDeliveryStream",
              "firehose:ListTagsForDeliveryStream", "firehose:DeleteDeliveryStream"),
             (c.firehose_arn(account), c.hive_firehose_arn(account))),
        # Athena also reads the data and writes query results here with the learner's own permissions.
        Need(("s3:CreateBucket", "s3:PutBucketPublicAccessBlock", "s3:PutBucketTagging", "s3:GetBucketTagging",
              "s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads",
              "s3:DeleteBucket"), (bucket,)),
        Need(("s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload",
              "s3:ListMultipartUploadParts"), (f"{bucket}/*",)),
        # Glue authorizes catalog calls against the catalog, the database and the tables they touch.
        Need(("glue:CreateDatabase", "glue:GetDatabase"), (catalog, database)),
        Need(("glue:GetDatabases",), (catalog, glue("database/*"))),
        Need(("glue:DeleteDatabase",), (catalog, database, every_table, glue(f"userDefinedFunction/{db}/*"))),
        Need(("glue:GetTables",), (catalog, database, every_table)),
        Need(("glue:GetTable", "glue:GetPartitions"), (catalog, database, *crawled)),
        Need(("glue:CreateTable", "glue:GetTable"), (catalog, database, live_table, ctas_table)),
        Need(("glue:DeleteTable",), (catalog, database, ctas_table)),
        Need(("glue:TagResource", "glue:GetTags"), (database, c.crawler_arn(account))),
        Need(("glue:CreateCrawler", "glue:GetCrawler", "glue:StartCrawler", "glue:StopCrawler", "glue:DeleteCrawler"),
             (c.crawler_arn(account),)),
        Need(("athena:CreateWorkGroup", "athena:TagResource", "athena:GetWorkGroup", "athena:ListTagsForResource",
              "athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
              "athena:DeleteWorkGroup"),
             (c.workgroup_arn(account),)),
        Need(("iam:CreateRole", "iam:TagRole", "iam:GetRole", "iam:ListRoleTags", "iam:PutRolePolicy",
              "iam:ListRolePolicies", "iam:DeleteRolePolicy", "iam:PassRole", "iam:DeleteRole"),
             tuple(c.role_arn(purpose, account) for purpose in ROLE_PURPOSES)),
    ]


def permissions(iam: Any, caller_arn: str, config: Config, account: str) -> Check:
    """Ask the IAM policy simulator whether the caller may do everything the course does, in this region.

    The simulator is a convenience, so when IAM does not answer as expected (throttling, a service
    error, no permission to simulate) the check is skipped with the reason, and doctor goes on.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    needed = course_permissions(config, account)
    try:
        principal = simulation_principal(iam, caller_arn)
        if principal is None:
            return Check(SKIP, f"permissions not checked: the IAM policy simulator cannot simulate {caller_arn} "
                               "(a root or federated user); the course is best run as an IAM user or role")
        denied = [f"{action} on {resource}" for need in needed
                  for action, resource in _denied(iam, principal, need, config.region)]
    except ClientError as error:
        if _access_denied(error):
            return Check(SKIP, "permissions not checked: you may not use the IAM policy simulator "
                               "(iam:SimulatePrincipalPolicy); a notebook will name any permission that is missing")
        return Check(SKIP, f"permissions not checked: IAM answered {error.response['Error'].get('Code')}: "
                           f"{error.response['Error'].get('Message', '')}. Run doctor again in a minute; a notebook "
                           "will name any permission that is missing")
    except BotoCoreError as error:
        return Check(SKIP, f"permissions not checked: the IAM policy simulator could not be reached ({error}). "
                           "Check your network, then run doctor again")
    total = sum(len(need.actions) * len(need.resources) for need in needed)
    if denied:
        shown = "; ".join(denied[:5]) + (f"; and {len(denied) - 5} more" if len(denied) > 5 else "")
        return Check(FAIL, f"{len(denied)} of the {total} permissions the course uses are denied for {principal}: "
                           f"{shown}",
                     "ask your account administrator to allow them (docs/instructor-guide.md, 'Before the day')")
    return Check(OK, f"permissions: the {total} permissions the course uses are allowed for {principal} "
                     f"in {config.region} (IAM policy simulator)")


def _denied(iam: Any, principal: str, need: Need, region_name: str) -> list[tuple[str, str]]:
    """(action, resource) pairs the simulator does not allow; aws:RequestedRegion is set so region limits count.

    The simulator gives one result per action, with the decision for each resource in
    ResourceSpecificResults (older answers gave one result per action and resource).
    """
    pages = iam.get_paginator("simulate_principal_policy").paginate(
        PolicySourceArn=principal, ActionNames=list(need.actions), ResourceArns=list(need.resources),
        ContextEntries=[{"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": [region_name],
                         "ContextKeyType": "string"}])
    denied = []
    for result in (result for page in pages for result in page["EvaluationResults"]):
        per_resource = [(r["EvalResourceName"], r["EvalResourceDecision"])
                        for r in result.get("ResourceSpecificResults", [])]
        for resource, decision in per_resource or [(result.get("EvalResourceName", "*"), result["EvalDecision"])]:
            if decision != "allowed":
                denied.append((result["EvalActionName"], resource))
    return list(dict.fromkeys(denied))


def _access_denied(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in ("AccessDenied", "AccessDeniedException")
