"""Delete everything the kit created for a participant, in a safe order, then prove nothing is left.

What exists is found by listing every service for names with the participant's prefix and reading
their tags. Only resources tagged project=sales-cdc-workshop and participant=<id> are deleted,
including one under a name the kit would not give; a resource with one of the kit's names but
other tags is reported and left alone. Glue classifiers cannot carry tags, so the classifier is
recognised by its exact name. Running teardown twice is fine: what is already gone is skipped.

The order is safe on AWS: the pipe and the delivery streams go first, and teardown waits until AWS
has really deleted them, because they read the table and the Kinesis stream, write the bucket and
act with their roles. Then the rest, the roles last. A table or stream that is still being created
cannot be deleted yet (ResourceInUseException), so teardown waits for it and says so. Checks are
seconds apart, because each one lists every service and IAM throttles listings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

from workshop.config import PROJECT_TAG, ROLE_PURPOSES, ConfigError
from workshop.session import Connection
from workshop.waiting import WaitTimeout, wait_until

NOT_FOUND_CODES = {"ResourceNotFoundException", "NotFoundException", "EntityNotFoundException", "NoSuchBucket",
                   "NoSuchEntity", "InvalidRequestException", "NoSuchTagSet", "404"}
# "Not now": the resource is being created or updated (or the crawler is running); deleting works a bit later.
IN_USE_CODES = {"ResourceInUseException", "ConflictException", "CrawlerRunningException"}
AWS_ERRORS = (ClientError, BotoCoreError)
POLL_SECONDS = 10
IN_USE_TIMEOUT = 600       # a table, stream or delivery stream being created: a few minutes at most
CONSUMERS_TIMEOUT = 600    # pipes and delivery streams take a few minutes to disappear on AWS
VERIFY_TIMEOUT = 300       # Kinesis streams and tables stay DELETING for a while
RUN_AGAIN = "Run `python -m workshop teardown --yes` again in a few minutes: it skips what is gone and checks again."


@dataclass(frozen=True)
class Kind:
    """One kind of resource: how to list the participant's, read one's tags, and delete one."""

    label: str
    expected: Callable[[Connection], list[str]]          # the names the kit gives, in the order it creates them
    listed: Callable[[Connection], list[str]]            # every name with the participant's prefix, from AWS
    tags: Callable[[Connection, str], dict[str, str]] | None   # None: AWS cannot tag this kind
    delete: Callable[[Connection, str], None]


@dataclass(frozen=True)
class Found:
    kind: Kind
    name: str

    @property
    def label(self) -> str:
        return f"{self.kind.label} {self.name}"


@dataclass
class TeardownReport:
    participant: str
    deleted: list[str]
    skipped_not_ours: list[str]
    remaining: list[str]
    problems: list[str] = field(default_factory=list)   # each says what went wrong and what to do

    def __str__(self) -> str:
        lines = [f"Teardown for participant {self.participant!r}: deleted {len(self.deleted)} resources."]
        lines += [f"  deleted  {item}" for item in self.deleted]
        lines += [f"  left alone (not tagged for this participant)  {item}" for item in self.skipped_not_ours]
        lines += [f"  problem  {problem}" for problem in self.problems]
        lines.append(f"Resources of {self.participant!r} remaining: {len(self.remaining)}"
                     + (f" -> {', '.join(self.remaining)}" if self.remaining else ""))
        return "\n".join(lines)


# ---- reading AWS ----------------------------------------------------------------------------------------
def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _missing(error: ClientError) -> bool:
    return _code(error) in NOT_FOUND_CODES or "does not exist" in str(error) or "not found" in str(error).lower()


def _quietly(call: Callable[[], Any], default: Any) -> Any:
    """Run call(); a 'not found' answer means the resource is gone, and gives default."""
    try:
        return call()
    except ClientError as error:
        if _missing(error):
            return default
        raise


def _tag_dict(pairs: list[dict[str, str]], key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {pair[key]: pair[value] for pair in pairs}


def _listed(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    """Every item of a listing across its pages: with boto3's paginator, or NextToken where it has none."""
    if client.can_paginate(operation):
        return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page[key]]
    items: list[Any] = []
    while True:
        page = getattr(client, operation)(**kwargs)
        items += page[key]
        if not page.get("NextToken"):
            return items
        kwargs["NextToken"] = page["NextToken"]


def _prefixed(conn: Connection, names: list[str]) -> list[str]:
    return [name for name in names if name.startswith(f"{conn.config.participant}-")]


# ---- every kind of resource the kit creates, in the order they are deleted ------------------------------------
def _pipe() -> Kind:
    def listed(conn: Connection) -> list[str]:
        pipes = _listed(conn.client("pipes"), "list_pipes", "Pipes", NamePrefix=f"{conn.config.participant}-")
        return [pipe["Name"] for pipe in pipes]

    return Kind("EventBridge pipe", lambda conn: [conn.config.pipe_name], listed,
                lambda conn, name: conn.client("pipes").describe_pipe(Name=name).get("Tags", {}),
                lambda conn, name: conn.client("pipes").delete_pipe(Name=name))


def _delivery_stream() -> Kind:
    def listed(conn: Connection) -> list[str]:
        """Firehose pages by the last name seen, not by a token."""
        firehose, names = conn.client("firehose"), []
        while True:
            start = {"ExclusiveStartDeliveryStreamName": names[-1]} if names else {}
            page = firehose.list_delivery_streams(Limit=100, **start)
            names += page["DeliveryStreamNames"]
            if not page["HasMoreDeliveryStreams"] or not page["DeliveryStreamNames"]:
                return _prefixed(conn, names)

    def tags(conn: Connection, name: str) -> dict[str, str]:
        return _tag_dict(conn.client("firehose").list_tags_for_delivery_stream(DeliveryStreamName=name)["Tags"])

    def delete(conn: Connection, name: str) -> None:
        conn.client("firehose").delete_delivery_stream(DeliveryStreamName=name, AllowForceDelete=True)

    return Kind("Firehose delivery stream", lambda conn: [conn.config.firehose_name, conn.config.hive_firehose_name],
                listed, tags, delete)


def _kinesis_stream() -> Kind:
    def tags(conn: Connection, name: str) -> dict[str, str]:
        return _tag_dict(conn.client("kinesis").list_tags_for_stream(StreamName=name)["Tags"])

    return Kind("Kinesis stream", lambda conn: [conn.config.kinesis_stream_name],
                lambda conn: _prefixed(conn, _listed(conn.client("kinesis"), "list_streams", "StreamNames")), tags,
                lambda conn, name: conn.client("kinesis").delete_stream(StreamName=name, EnforceConsumerDeletion=True))


def _lambda_function() -> Kind:
    def listed(conn: Connection) -> list[str]:
        functions = _listed(conn.client("lambda"), "list_functions", "Functions")
        return _prefixed(conn, [function["FunctionName"] for function in functions])

    def tags(conn: Connection, name: str) -> dict[str, str]:
        arn = conn.config.arn("lambda", conn.account_id, f"function:{name}")
        return conn.client("lambda").list_tags(Resource=arn)["Tags"]

    return Kind("Lambda function", lambda conn: [conn.config.lambda_name], listed, tags,
                lambda conn, name: conn.client("lambda").delete_function(FunctionName=name))


def _log_group() -> Kind:
    def listed(conn: Connection) -> list[str]:
        groups = _listed(conn.client("logs"), "describe_log_groups", "logGroups",
                         logGroupNamePrefix=f"/aws/lambda/{conn.config.participant}-")
        return [group["logGroupName"] for group in groups]

    def tags(conn: Connection, name: str) -> dict[str, str]:
        arn = conn.config.arn("logs", conn.account_id, f"log-group:{name}")
        return conn.client("logs").list_tags_for_resource(resourceArn=arn)["tags"]

    return Kind("CloudWatch log group", lambda conn: [conn.config.lambda_log_group], listed, tags,
                lambda conn, name: conn.client("logs").delete_log_group(logGroupName=name))


def _glue_tags(kind: str) -> Callable[[Connection, str], dict[str, str]]:
    return lambda conn, name: conn.client("glue").get_tags(
        ResourceArn=conn.config.arn("glue", conn.account_id, f"{kind}/{name}"))["Tags"]


def _crawler() -> Kind:
    def delete(conn: Connection, name: str) -> None:
        glue = conn.client("glue")
        if glue.get_crawler(Name=name)["Crawler"]["State"] == "RUNNING":
            glue.stop_crawler(Name=name)
            wait_until(lambda: glue.get_crawler(Name=name)["Crawler"]["State"] == "READY",
                       what=f"crawler {name} to stop", timeout=300, interval=POLL_SECONDS, progress=False,
                       hint="Stop it in the Glue console, then run teardown again.")
        glue.delete_crawler(Name=name)

    return Kind("Glue crawler", lambda conn: [conn.config.crawler_name],
                lambda conn: _prefixed(conn, _listed(conn.client("glue"), "list_crawlers", "CrawlerNames")),
                _glue_tags("crawler"), delete)


def _classifier() -> Kind:
    """AWS cannot tag classifiers, so only the kit's exact name counts, never a listing by prefix."""
    def listed(conn: Connection) -> list[str]:
        name = conn.config.classifier_name
        return [name] if _quietly(lambda: conn.client("glue").get_classifier(Name=name), None) else []

    return Kind("Glue classifier", lambda conn: [conn.config.classifier_name], listed, None,
                lambda conn, name: conn.client("glue").delete_classifier(Name=name))


def _glue_database() -> Kind:
    def listed(conn: Connection) -> list[str]:
        prefix = f"{conn.config.participant.replace('-', '_')}_"   # Glue database names have no hyphens
        return [d["Name"] for d in _listed(conn.client("glue"), "get_databases", "DatabaseList")
                if d["Name"].startswith(prefix)]

    return Kind("Glue database (and its tables)", lambda conn: [conn.config.glue_database], listed,
                _glue_tags("database"), lambda conn, name: conn.client("glue").delete_database(Name=name))


def _workgroup() -> Kind:
    def listed(conn: Connection) -> list[str]:
        return _prefixed(conn, [g["Name"] for g in _listed(conn.client("athena"), "list_work_groups", "WorkGroups")])

    def tags(conn: Connection, name: str) -> dict[str, str]:
        arn = conn.config.arn("athena", conn.account_id, f"workgroup/{name}")
        return _tag_dict(conn.client("athena").list_tags_for_resource(ResourceARN=arn)["Tags"])

    def delete(conn: Connection, name: str) -> None:
        conn.client("athena").delete_work_group(WorkGroup=name, RecursiveDeleteOption=True)

    return Kind("Athena workgroup", lambda conn: [conn.config.workgroup_name], listed, tags, delete)


def _bucket() -> Kind:
    def listed(conn: Connection) -> list[str]:
        """Bucket listings span every region, and the rest of teardown sees only conn's region."""
        s3 = conn.client("s3")
        names = _prefixed(conn, [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]])
        return [name for name in names
                if (s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1") == conn.config.region]

    def tags(conn: Connection, name: str) -> dict[str, str]:
        return _tag_dict(_quietly(lambda: conn.client("s3").get_bucket_tagging(Bucket=name)["TagSet"], []))

    def empty_and_delete(conn: Connection, name: str) -> None:
        s3 = conn.client("s3")
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            for start in range(0, len(doomed), 1000):
                s3.delete_objects(Bucket=name, Delete={"Objects": doomed[start:start + 1000], "Quiet": True})
        s3.delete_bucket(Bucket=name)

    return Kind("S3 bucket (and every object)", lambda conn: [conn.bucket], listed, tags, empty_and_delete)


def _table() -> Kind:
    def tags(conn: Connection, name: str) -> dict[str, str]:
        arn = conn.config.arn("dynamodb", conn.account_id, f"table/{name}")
        return _tag_dict(conn.client("dynamodb").list_tags_of_resource(ResourceArn=arn)["Tags"])

    return Kind("DynamoDB table", lambda conn: [conn.config.table_name],
                lambda conn: _prefixed(conn, _listed(conn.client("dynamodb"), "list_tables", "TableNames")), tags,
                lambda conn, name: conn.client("dynamodb").delete_table(TableName=name))


def _role() -> Kind:
    def listed(conn: Connection) -> list[str]:
        return _prefixed(conn, [role["RoleName"] for role in _listed(conn.client("iam"), "list_roles", "Roles")])

    def delete(conn: Connection, name: str) -> None:
        iam = conn.client("iam")
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        iam.delete_role(RoleName=name)

    return Kind("IAM role", lambda conn: [conn.config.role_name(purpose) for purpose in ROLE_PURPOSES], listed,
                lambda conn, name: _tag_dict(conn.client("iam").list_role_tags(RoleName=name)["Tags"]), delete)


KINDS = [_pipe(), _delivery_stream(), _kinesis_stream(), _lambda_function(), _log_group(), _crawler(),
         _classifier(), _glue_database(), _workgroup(), _bucket(), _table(), _role()]
# These read the table and the Kinesis stream, write the bucket and act with their roles: they go first.
CONSUMERS = ("EventBridge pipe", "Firehose delivery stream")


def _tagged_for(tags: dict[str, str], participant: str) -> bool:
    return tags.get("project") == PROJECT_TAG and tags.get("participant") == participant


def _in_kit_order(kind: Kind, conn: Connection, names: list[str]) -> list[str]:
    """The kit's own names first, in the order it creates them (as notebook 10 lists them), then any others."""
    expected = kind.expected(conn)
    return sorted(set(names), key=lambda name: (expected.index(name) if name in expected else len(expected), name))


def survey(conn: Connection, kinds: list[Kind] | None = None) -> tuple[list[Found], list[Found]]:
    """(resources tagged for conn's participant, resources at one of the kit's names with other tags), listed."""
    ours, not_ours = [], []
    for kind in kinds or KINDS:
        for name in _in_kit_order(kind, conn, kind.listed(conn)):
            tags = _quietly(lambda: kind.tags(conn, name), None) if kind.tags else {}
            if tags is None:
                continue  # deleted between the listing and the tag read
            if kind.tags is None or _tagged_for(tags, conn.config.participant):
                ours.append(Found(kind, name))
            elif name in kind.expected(conn):
                not_ours.append(Found(kind, name))
    return ours, not_ours


def remaining(conn: Connection) -> list[str]:
    """Every resource still tagged for this participant, found by listing each service ("Kind name")."""
    return [found.label for found in survey(conn)[0]]


# ---- teardown ---------------------------------------------------------------------------------------------
def _delete_when_possible(conn: Connection, found: Found) -> None:
    """Delete found; while AWS says it is in use (being created or updated), wait and try again."""
    announced = False

    def attempt() -> bool | None:
        nonlocal announced
        try:
            _quietly(lambda: found.kind.delete(conn, found.name), None)
        except ClientError as error:
            if _code(error) not in IN_USE_CODES:
                raise
            if not announced:
                print(f"  {found.label} is still being created or updated ({_code(error)}); "
                      f"waiting to delete it...", flush=True)
                announced = True
            return None
        return True

    wait_until(attempt, what=f"{found.label} to be deletable", timeout=IN_USE_TIMEOUT, interval=POLL_SECONDS,
               progress=False, hint=f"Look at its status in the console. {RUN_AGAIN}")


def _delete_all(conn: Connection, doomed: list[Found], report: TeardownReport, progress: bool) -> None:
    for found in doomed:
        try:
            _delete_when_possible(conn, found)
        except (*AWS_ERRORS, WaitTimeout) as error:
            report.problems.append(f"could not delete {found.label}: {error}")
            continue
        report.deleted.append(found.label)
        if progress:
            print(f"  deleted {found.label}", flush=True)


def _left_after_waiting(conn: Connection, kinds: list[Kind], awaited: list[str], what: str, timeout: float,
                        progress: bool) -> list[str]:
    """Everything of kinds still tagged for the participant, once none of `awaited` is left (or after timeout)."""
    left: list[str] = []

    def awaited_gone() -> bool:
        left[:] = [found.label for found in survey(conn, kinds)[0]]
        return not set(left) & set(awaited)

    try:
        wait_until(awaited_gone, what=what, timeout=timeout, interval=POLL_SECONDS, progress=progress, hint=RUN_AGAIN)
    except WaitTimeout:
        pass  # `left` holds what is still there, and the caller reports it
    return left


def _still_deleting(left: list[str], deleted: list[str], timeout: float) -> str:
    late = [label for label in left if label in deleted]
    return f"still being deleted after {timeout:.0f} s: {', '.join(late)}. {RUN_AGAIN}" if late else ""


def teardown(conn: Connection, *, progress: bool = True) -> TeardownReport:
    """Delete the participant's resources (only those tagged as the kit's), then verify none remain.

    It does not raise for what AWS answers: a deletion that fails or takes too long, or a service
    that cannot be listed, ends up in the report's problems with what to do, and in `remaining`.
    """
    report = TeardownReport(conn.config.participant, [], [], [])
    consumers = [kind for kind in KINDS if kind.label in CONSUMERS]
    try:
        ours, not_ours = survey(conn)
        report.skipped_not_ours = [found.label for found in not_ours]
        _delete_all(conn, [found for found in ours if found.kind in consumers], report, progress)
        left = _left_after_waiting(conn, consumers, report.deleted, "the pipe and delivery streams to be deleted",
                                   CONSUMERS_TIMEOUT, progress)
        if left:
            if late := _still_deleting(left, report.deleted, CONSUMERS_TIMEOUT):
                report.problems.append(late)
            report.problems.append(f"kept what {', '.join(left)} read, write and act as (the table, the Kinesis "
                                   "stream, the Lambda, the bucket and the roles) until it is gone.")
            report.remaining = remaining(conn)
            return report
        first = len(report.deleted)
        _delete_all(conn, [found for found in ours if found.kind not in consumers], report, progress)
        report.remaining = _left_after_waiting(conn, KINDS, report.deleted[first:], "deletions to finish",
                                               VERIFY_TIMEOUT, progress)
        if late := _still_deleting(report.remaining, report.deleted, VERIFY_TIMEOUT):
            report.problems.append(late)
    except AWS_ERRORS as error:
        report.problems.append(f"teardown stopped: {error}. Check your credentials and permissions with "
                               "`python -m workshop doctor`, then run teardown again.")
        report.remaining = ["(not verified: teardown stopped before it could list every service)"]
    return report


# ---- participants ---------------------------------------------------------------------------------------
def participants(conn: Connection) -> list[str]:
    """Participants with kit resources here, found from the tags of IAM roles and DynamoDB tables.

    Roles are global and tables are where the pipeline starts, so between them they find anyone
    whose teardown has not finished.
    """
    iam, ddb = conn.client("iam"), conn.client("dynamodb")
    role_pattern = re.compile(r"^(?P<participant>.+)-sales-cdc-(" + "|".join(ROLE_PURPOSES) + r")-role$")
    candidates: list[tuple[str, Callable[[], dict[str, str]]]] = []
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            if match := role_pattern.match(role["RoleName"]):
                candidates.append((match["participant"], lambda name=role["RoleName"]: _tag_dict(
                    iam.list_role_tags(RoleName=name)["Tags"])))
    for page in ddb.get_paginator("list_tables").paginate():
        for table in page["TableNames"]:
            if table.endswith("-orders"):
                arn = conn.config.arn("dynamodb", conn.account_id, f"table/{table}")
                candidates.append((table.removesuffix("-orders"), lambda arn=arn: _tag_dict(
                    ddb.list_tags_of_resource(ResourceArn=arn)["Tags"])))
    found = set()
    for participant, read_tags in candidates:
        if participant not in found and _tagged_for(read_tags(), participant):
            found.add(participant)
    return sorted(found)


def for_participant(conn: Connection, participant: str) -> Connection:
    """The same connection, acting for another participant (instructors tearing down everyone)."""
    try:
        config = replace(conn.config, participant=participant)
    except ConfigError as error:
        raise ConfigError(f"Found a role for participant {participant!r}, which is not a valid id: {error}") from error
    return Connection(config=config, session=conn.session, endpoint_url=conn.endpoint_url)
