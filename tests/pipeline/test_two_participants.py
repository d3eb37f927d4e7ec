"""Two participants built side by side to notebook 09 in one account: every resource tagged, teardown isolated.

The resources are found by listing each service and matching the participant's prefix, not from
teardown's own list, so a resource that teardown does not know about would be caught too.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import pytest

from workshop import course, datagen, progress, teardown, verify
from workshop.config import PROJECT_TAG, Config
from workshop.freshness import LIVE_TABLE
from workshop.session import Connection, connect
from workshop.steps import s3 as s3_step

# What catch-up to 09 creates for one participant: one of each, a delivery stream per layout, a role per service.
EXPECTED_KINDS = {"DynamoDB table": 1, "Kinesis stream": 1, "pipe": 1, "delivery stream": 2, "Lambda function": 1,
                  "log group": 1, "bucket": 1, "Glue database": 1, "Glue crawler": 1, "Glue classifier": 1,
                  "Athena workgroup": 1, "IAM role": 4}


def _pairs(tags: list[dict[str, str]], key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {tag[key]: tag[value] for tag in tags}


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


def inventory(conn: Connection) -> dict[str, dict[str, str] | None]:
    """Every resource in the account whose name carries conn's participant prefix: {'kind name': tags}.

    Tags are None for Glue classifiers, which AWS cannot tag.
    """
    p, account, client = conn.config.participant, conn.account_id, conn.client
    mine: Callable[[str], bool] = lambda name: name.startswith(f"{p}-")
    found: dict[str, dict[str, str] | None] = {}
    ddb = client("dynamodb")
    for name in filter(mine, _listed(ddb, "list_tables", "TableNames")):
        arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
        found[f"DynamoDB table {name}"] = _pairs(ddb.list_tags_of_resource(ResourceArn=arn)["Tags"])
    kinesis = client("kinesis")
    for name in filter(mine, _listed(kinesis, "list_streams", "StreamNames")):
        found[f"Kinesis stream {name}"] = _pairs(kinesis.list_tags_for_stream(StreamName=name)["Tags"])
    pipes = client("pipes")
    for pipe in _listed(pipes, "list_pipes", "Pipes", NamePrefix=f"{p}-"):
        found[f"pipe {pipe['Name']}"] = pipes.describe_pipe(Name=pipe["Name"]).get("Tags", {})
    firehose = client("firehose")
    for name in filter(mine, firehose.list_delivery_streams(Limit=10_000)["DeliveryStreamNames"]):
        tags = firehose.list_tags_for_delivery_stream(DeliveryStreamName=name)["Tags"]
        found[f"delivery stream {name}"] = _pairs(tags)
    aws_lambda = client("lambda")
    for function in _listed(aws_lambda, "list_functions", "Functions"):
        if mine(function["FunctionName"]):
            found[f"Lambda function {function['FunctionName']}"] = aws_lambda.list_tags(
                Resource=function["FunctionArn"])["Tags"]
    logs = client("logs")
    for group in _listed(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=f"/aws/lambda/{p}-"):
        found[f"log group {group['logGroupName']}"] = logs.list_tags_for_resource(
            resourceArn=group["arn"].removesuffix(":*"))["tags"]
    s3 = client("s3")
    for bucket in _listed(s3, "list_buckets", "Buckets"):
        if mine(bucket["Name"]):
            found[f"bucket {bucket['Name']}"] = _pairs(s3.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"])
    glue = client("glue")
    glue_arn: Callable[[str], str] = lambda resource: f"arn:aws:glue:{conn.config.region}:{account}:{resource}"
    for database in _listed(glue, "get_databases", "DatabaseList"):
        if database["Name"].startswith(f"{p.replace('-', '_')}_"):
            found[f"Glue database {database['Name']}"] = glue.get_tags(
                ResourceArn=glue_arn(f"database/{database['Name']}"))["Tags"]
    for crawler in filter(mine, _listed(glue, "list_crawlers", "CrawlerNames")):
        found[f"Glue crawler {crawler}"] = glue.get_tags(ResourceArn=glue_arn(f"crawler/{crawler}"))["Tags"]
    for classifier in _listed(glue, "get_classifiers", "Classifiers"):
        if mine(classifier.get("JsonClassifier", {}).get("Name", "")):
            found[f"Glue classifier {classifier['JsonClassifier']['Name']}"] = None
    athena = client("athena")
    for group in _listed(athena, "list_work_groups", "WorkGroups"):
        if mine(group["Name"]):
            found[f"Athena workgroup {group['Name']}"] = _pairs(athena.list_tags_for_resource(
                ResourceARN=f"arn:aws:athena:{conn.config.region}:{account}:workgroup/{group['Name']}")["Tags"])
    iam = client("iam")
    for role in _listed(iam, "list_roles", "Roles"):
        if mine(role["RoleName"]):
            found[f"IAM role {role['RoleName']}"] = _pairs(iam.list_role_tags(RoleName=role["RoleName"])["Tags"])
    return found


def _kinds(found: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for label in found:
        kind = next(k for k in EXPECTED_KINDS if label.startswith(f"{k} "))
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _build_to_09(conn: Connection, seed: int) -> Connection:
    course.catch_up(conn, "07", verbose=False)   # table, stream, pipe, Lambda, bucket, delivery stream
    datagen.run(20, table_name=conn.config.table_name, client=conn.client("dynamodb"), seed=seed, progress=False)
    verify.wait_for_delivery(conn, verify.stream_record_count(conn), timeout=60)
    course.catch_up(conn, "09", verbose=False)   # classifier, crawler and its tables, workgroup
    return conn


@pytest.fixture
def two_participants(cloud, aws_env) -> list[Connection]:
    """Two participants, built at the same time as two people in one room would, each with delivered orders."""
    suffix = uuid.uuid4().hex[:5]
    people = [connect(Config(participant=f"{name}{suffix}", localcloud_port=cloud.port)) for name in ("ana", "ben")]
    with ThreadPoolExecutor(max_workers=len(people)) as pool:
        return list(pool.map(_build_to_09, people, range(len(people))))


def test_two_participants_side_by_side_are_fully_tagged_and_torn_down_apart(two_participants):
    ana, ben = two_participants
    before = {conn.config.participant: inventory(conn) for conn in (ana, ben)}
    for conn in (ana, ben):
        found = before[conn.config.participant]
        assert _kinds(found) == EXPECTED_KINDS
        untagged = {label: tags for label, tags in found.items()
                    if tags is not None and not {"project": PROJECT_TAG, "participant": conn.config.participant}.items()
                    <= tags.items()}
        assert untagged == {}
        # Everything up to notebook 09 is done; 09's own projected table is what is left to make.
        statuses = progress.participant_progress(conn)
        assert [s.step for s in statuses if not s.done] == [f"{LIVE_TABLE} table (partition projection)"]
        assert progress.next_notebook(statuses) == "09"

    report = teardown.teardown(ana, progress=False)
    assert len(report.deleted) == sum(EXPECTED_KINDS.values()) and report.remaining == []
    assert report.skipped_not_ours == []
    assert inventory(ana) == {}
    assert inventory(ben) == before[ben.config.participant]
    assert verify.delivered_changes(ben)["event_id"].nunique() == verify.stream_record_count(ben)

    again = teardown.teardown(ana, progress=False)
    assert again.deleted == [] and again.remaining == []
    assert inventory(ben) == before[ben.config.participant]
    teardown.teardown(ben, progress=False)
    assert inventory(ben) == {}


def test_a_bucket_under_the_participants_name_without_the_kits_tags_is_refused_and_left_alone(session):
    """In us-east-1 CreateBucket succeeds on a bucket you own, so tagging after it would take the bucket over."""
    conn = Connection(config=Config(participant=f"s3{uuid.uuid4().hex[:6]}"), session=session)
    s3, bucket = conn.client("s3"), conn.bucket
    s3.create_bucket(Bucket=bucket)
    with pytest.raises(s3_step.BucketNotTheKits, match="without the kit's tags"):
        s3_step.ensure_bucket(conn)            # no tags at all
    assert "TagSet" not in _quiet_tagging(s3, bucket)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "owner", "Value": "data-team"}]})

    with pytest.raises(s3_step.BucketNotTheKits, match=f"{bucket} already exists in this account without the kit"):
        s3_step.ensure_bucket(conn)
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "owner", "Value": "data-team"}]
    assert teardown.remaining(conn) == []     # not the kit's, so teardown would not touch it either

    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": conn.config.tag_list()})
    assert s3_step.ensure_bucket(conn) == bucket   # tagged for this participant: the kit's, used as it is
    teardown.teardown(conn, progress=False)
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def _quiet_tagging(s3: Any, bucket: str) -> dict:
    """get_bucket_tagging's answer, or {} when the bucket has no tags (NoSuchTagSet)."""
    try:
        return s3.get_bucket_tagging(Bucket=bucket)
    except s3.exceptions.ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchTagSet"
        return {}
