"""Delete everything the kit created for a participant, in a safe order, then prove nothing is left.

Only resources whose tags say project=sales-cdc-workshop and participant=<id> are deleted; a
resource with the right name but other tags is reported and left alone. Glue classifiers cannot
carry tags, so the classifier is recognised by its exact name. Running teardown twice is fine:
what is already gone is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Callable

from botocore.exceptions import ClientError

from workshop.config import PROJECT_TAG, ConfigError, ROLE_PURPOSES
from workshop.session import Connection
from workshop.waiting import wait_until

NOT_FOUND_CODES = {"ResourceNotFoundException", "NotFoundException", "EntityNotFoundException", "NoSuchBucket",
                   "NoSuchEntity", "InvalidRequestException", "NoSuchTagSet", "404"}


@dataclass
class Resource:
    """One resource the kit may have created: how to see it, read its tags and delete it."""

    kind: str
    name: str
    exists: Callable[[], bool]
    tags: Callable[[], dict[str, str]]
    delete: Callable[[], None]
    taggable: bool = True


@dataclass
class TeardownReport:
    participant: str
    deleted: list[str]
    skipped_not_ours: list[str]
    remaining: list[str]

    def __str__(self) -> str:
        lines = [f"Teardown for participant {self.participant!r}: deleted {len(self.deleted)} resources."]
        lines += [f"  deleted  {item}" for item in self.deleted]
        lines += [f"  left alone (not tagged for this participant)  {item}" for item in self.skipped_not_ours]
        lines.append(f"Resources of {self.participant!r} remaining: {len(self.remaining)}"
                     + (f" -> {', '.join(self.remaining)}" if self.remaining else ""))
        return "\n".join(lines)


def _missing(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    return code in NOT_FOUND_CODES or "does not exist" in str(error) or "not found" in str(error).lower()


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


def _workgroup_exists(athena: Any, name: str) -> bool:
    """Athena has no 'not found' error for workgroups, so look for the name in the listing."""
    token: dict[str, str] = {}
    while True:
        page = athena.list_work_groups(**token)
        if any(group["Name"] == name for group in page["WorkGroups"]):
            return True
        if "NextToken" not in page:
            return False
        token = {"NextToken": page["NextToken"]}


def participant_resources(conn: Connection) -> list[Resource]:
    """Every resource of conn's participant, in the order they can be deleted safely (consumers first)."""
    c, account = conn.config, conn.account_id
    client = conn.client
    bucket = c.bucket_name(account)

    def empty_and_delete_bucket() -> None:
        s3 = client("s3")
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            for start in range(0, len(doomed), 1000):
                s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start:start + 1000], "Quiet": True})
        s3.delete_bucket(Bucket=bucket)

    def delete_role(purpose: str) -> Callable[[], None]:
        def delete() -> None:
            iam = client("iam")
            for policy in iam.list_role_policies(RoleName=c.role_name(purpose))["PolicyNames"]:
                iam.delete_role_policy(RoleName=c.role_name(purpose), PolicyName=policy)
            iam.delete_role(RoleName=c.role_name(purpose))
        return delete

    def delivery_stream(name: str) -> Resource:
        firehose = client("firehose")
        return Resource("Firehose delivery stream", name,
                        lambda: _quietly(lambda: bool(firehose.describe_delivery_stream(DeliveryStreamName=name)), False),
                        lambda: _tag_dict(firehose.list_tags_for_delivery_stream(DeliveryStreamName=name)["Tags"]),
                        lambda: firehose.delete_delivery_stream(DeliveryStreamName=name, AllowForceDelete=True))

    def stop_and_delete_crawler() -> None:
        glue = client("glue")
        if glue.get_crawler(Name=c.crawler_name)["Crawler"]["State"] == "RUNNING":
            glue.stop_crawler(Name=c.crawler_name)
            wait_until(lambda: glue.get_crawler(Name=c.crawler_name)["Crawler"]["State"] == "READY",
                       what=f"crawler {c.crawler_name} to stop", timeout=300, hint="Stop it in the Glue console.")
        glue.delete_crawler(Name=c.crawler_name)

    resources = [
        Resource("EventBridge pipe", c.pipe_name,
                 lambda: _quietly(lambda: bool(client("pipes").describe_pipe(Name=c.pipe_name)), False),
                 lambda: client("pipes").describe_pipe(Name=c.pipe_name).get("Tags", {}),
                 lambda: client("pipes").delete_pipe(Name=c.pipe_name)),
        delivery_stream(c.firehose_name),
        delivery_stream(c.hive_firehose_name),
        Resource("Kinesis stream", c.kinesis_stream_name,
                 lambda: _quietly(lambda: bool(client("kinesis").describe_stream_summary(
                     StreamName=c.kinesis_stream_name)), False),
                 lambda: _tag_dict(client("kinesis").list_tags_for_stream(StreamName=c.kinesis_stream_name)["Tags"]),
                 lambda: client("kinesis").delete_stream(StreamName=c.kinesis_stream_name,
                                                         EnforceConsumerDeletion=True)),
        Resource("Lambda function", c.lambda_name,
                 lambda: _quietly(lambda: bool(client("lambda").get_function(FunctionName=c.lambda_name)), False),
                 lambda: client("lambda").list_tags(Resource=c.lambda_arn(account))["Tags"],
                 lambda: client("lambda").delete_function(FunctionName=c.lambda_name)),
        Resource("CloudWatch log group", c.lambda_log_group,
                 lambda: any(g["logGroupName"] == c.lambda_log_group for g in client("logs").describe_log_groups(
                     logGroupNamePrefix=c.lambda_log_group)["logGroups"]),
                 lambda: client("logs").list_tags_for_resource(resourceArn=c.log_group_arn(account))["tags"],
                 lambda: client("logs").delete_log_group(logGroupName=c.lambda_log_group)),
        Resource("Glue crawler", c.crawler_name,
                 lambda: _quietly(lambda: bool(client("glue").get_crawler(Name=c.crawler_name)), False),
                 lambda: client("glue").get_tags(ResourceArn=c.crawler_arn(account))["Tags"],
                 stop_and_delete_crawler),
        Resource("Glue classifier", c.classifier_name,
                 lambda: _quietly(lambda: bool(client("glue").get_classifier(Name=c.classifier_name)), False),
                 lambda: {},
                 lambda: client("glue").delete_classifier(Name=c.classifier_name),
                 taggable=False),
        Resource("Glue database (and its tables)", c.glue_database,
                 lambda: _quietly(lambda: bool(client("glue").get_database(Name=c.glue_database)), False),
                 lambda: client("glue").get_tags(ResourceArn=c.glue_database_arn(account))["Tags"],
                 lambda: client("glue").delete_database(Name=c.glue_database)),
        Resource("Athena workgroup", c.workgroup_name,
                 lambda: _workgroup_exists(client("athena"), c.workgroup_name),
                 lambda: _tag_dict(client("athena").list_tags_for_resource(
                     ResourceARN=c.workgroup_arn(account))["Tags"]),
                 lambda: client("athena").delete_work_group(WorkGroup=c.workgroup_name, RecursiveDeleteOption=True)),
        Resource("S3 bucket (and every object)", bucket,
                 lambda: _quietly(lambda: bool(client("s3").head_bucket(Bucket=bucket)), False),
                 lambda: _tag_dict(_quietly(lambda: client("s3").get_bucket_tagging(Bucket=bucket)["TagSet"], [])),
                 empty_and_delete_bucket),
        Resource("DynamoDB table", c.table_name,
                 lambda: _quietly(lambda: bool(client("dynamodb").describe_table(TableName=c.table_name)), False),
                 lambda: _tag_dict(client("dynamodb").list_tags_of_resource(
                     ResourceArn=c.table_arn(account))["Tags"]),
                 lambda: client("dynamodb").delete_table(TableName=c.table_name)),
    ]
    resources += [
        Resource("IAM role", c.role_name(purpose),
                 lambda purpose=purpose: _quietly(lambda: bool(client("iam").get_role(RoleName=c.role_name(purpose))),
                                                  False),
                 lambda purpose=purpose: _tag_dict(client("iam").list_role_tags(RoleName=c.role_name(purpose))["Tags"]),
                 delete_role(purpose))
        for purpose in ROLE_PURPOSES
    ]
    return resources


def _tagged_for(tags: dict[str, str], participant: str) -> bool:
    return tags.get("project") == PROJECT_TAG and tags.get("participant") == participant


def is_ours(resource: Resource, participant: str) -> bool:
    """Tagged by the kit for this participant (untaggable resources go by their exact name)."""
    return not resource.taggable or _tagged_for(resource.tags(), participant)


def remaining(conn: Connection) -> list[str]:
    """Every resource of this participant that still exists, checked service by service."""
    return [f"{r.kind} {r.name}" for r in participant_resources(conn)
            if r.exists() and is_ours(r, conn.config.participant)]


def teardown(conn: Connection, *, progress: bool = True) -> TeardownReport:
    """Delete the participant's resources (only those tagged as the kit's), then verify none remain."""
    deleted, not_ours = [], []
    for resource in participant_resources(conn):
        if not resource.exists():
            continue
        label = f"{resource.kind} {resource.name}"
        if not is_ours(resource, conn.config.participant):
            not_ours.append(label)
            continue
        _quietly(resource.delete, None)
        deleted.append(label)
        if progress:
            print(f"  deleted {label}", flush=True)
    wait_until(lambda: not remaining(conn), what="deletions to finish", timeout=300, progress=progress,
               hint="Some deletions (pipes, delivery streams) take a few minutes on AWS; run teardown again.")
    return TeardownReport(conn.config.participant, deleted, not_ours, remaining(conn))


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
