"""Firehose S3 prefixes: AWS's rules refuse broken ones at creation; valid ones evaluate as AWS evaluates them.

Everything goes through boto3: create_delivery_stream with a prefix, put_record, and the S3 keys that appear.
"""

from __future__ import annotations

import io
import json
import re
import textwrap
import time
import uuid
import zipfile
from datetime import datetime, timedelta, timezone

import boto3
import pytest

TRUST_FIREHOSE = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "firehose.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
ERRORS = "errors/!{firehose:error-output-type}/"
FAIL_EVERY_RECORD = """
def lambda_handler(event, context):
    return {'records': [{'recordId': r['recordId'], 'result': 'ProcessingFailed', 'data': r['data']}
                        for r in event['records']]}
"""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def module_clients(cloud):
    """Clients made once for the module (each one loads a service model); the same credentials as `session`."""
    session = boto3.Session(region_name="us-east-1", **{
        key: cloud.client_environment()[variable] for key, variable in (
            ("aws_access_key_id", "AWS_ACCESS_KEY_ID"), ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"))})
    made = {service: session.client(service, endpoint_url=cloud.endpoint_url)
            for service in ("firehose", "s3", "iam", "lambda")}
    role = made["iam"].create_role(RoleName=unique("prefixes"), AssumeRolePolicyDocument=TRUST_FIREHOSE)["Role"]["Arn"]
    return made | {"role": role}


@pytest.fixture
def clients(module_clients):
    """A bucket, and delivery streams writing to it that are deleted after the test."""
    firehose = module_clients["firehose"]
    bucket = unique("prefixes")
    module_clients["s3"].create_bucket(Bucket=bucket)
    created: list[str] = []

    def create(**destination: object) -> str:
        name = unique("prefixes")
        firehose.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration={
            "RoleARN": module_clients["role"], "BucketARN": f"arn:aws:s3:::{bucket}",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}} | destination)
        created.append(name)
        return name

    yield module_clients | {"bucket": bucket, "create": create}
    for name in created:
        firehose.delete_delivery_stream(DeliveryStreamName=name)


def lambda_processing(lambda_client, role: str, source: str) -> dict:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("handler.py", textwrap.dedent(source))
    function_arn = lambda_client.create_function(
        FunctionName=unique("prefixes"), Runtime="python3.12", Role=role, Handler="handler.lambda_handler",
        Code={"ZipFile": archive.getvalue()})["FunctionArn"]
    return {"Enabled": True, "Processors": [{"Type": "Lambda", "Parameters": [
        {"ParameterName": "LambdaArn", "ParameterValue": function_arn},
        {"ParameterName": "BufferIntervalInSeconds", "ParameterValue": "0"}]}]}


# ---- AWS's rules ----------------------------------------------------------------------------------------
PARTITIONED = {"DynamicPartitioningConfiguration": {"Enabled": True}}
BROKEN_PREFIXES = {
    "expressions in Prefix without ErrorOutputPrefix": (
        {"Prefix": "data/!{timestamp:yyyy}/"}, "ErrorOutputPrefix cannot be null or empty when Prefix contains"),
    "ErrorOutputPrefix expressions without error-output-type": (
        {"Prefix": "data/", "ErrorOutputPrefix": "errors/!{timestamp:yyyy}/"},
        "ErrorOutputPrefix must contain !{firehose:error-output-type}"),
    "an unclosed !{": ({"Prefix": "data/!{timestamp:yyyy/", "ErrorOutputPrefix": ERRORS},
                       "The sequence '!{' can only appear in !{namespace:value} expressions"),
    "error-output-type in Prefix": ({"Prefix": "data/!{firehose:error-output-type}/", "ErrorOutputPrefix": ERRORS},
                                    "Prefix cannot contain !{firehose:error-output-type}"),
    "an unknown namespace": ({"Prefix": "data/!{date:yyyy}/", "ErrorOutputPrefix": ERRORS}, "namespace 'date'"),
    "an unknown firehose value": ({"Prefix": "data/!{firehose:uuid}/", "ErrorOutputPrefix": ERRORS},
                                  "accepts only random-string and error-output-type"),
    "an expression without a value": ({"Prefix": "data/!{timestamp}/", "ErrorOutputPrefix": ERRORS},
                                      "must have the form !{namespace:value}"),
    "an unknown pattern letter": ({"Prefix": "!{timestamp:yyyy-bb}/", "ErrorOutputPrefix": ERRORS},
                                  "Unknown pattern letter: b"),
    "an unclosed quote": ({"Prefix": "!{timestamp:'year=yyyy}/", "ErrorOutputPrefix": ERRORS},
                          "incomplete string literal"),
    "partition keys without dynamic partitioning": (
        {"Prefix": "!{partitionKeyFromLambda:color}/", "ErrorOutputPrefix": ERRORS},
        "Partition key expressions require dynamic partitioning"),
    "dynamic partitioning without partition keys": (
        {"Prefix": "data/!{timestamp:yyyy}/", "ErrorOutputPrefix": ERRORS, **PARTITIONED},
        "at least one partitionKeyFromLambda or partitionKeyFromQuery"),
    "partitionKeyFromLambda without a Lambda processor": (
        {"Prefix": "!{partitionKeyFromLambda:color}/", "ErrorOutputPrefix": ERRORS, **PARTITIONED},
        "require an enabled Lambda processor"),
    "partition keys in ErrorOutputPrefix": (
        {"Prefix": "data/", "ErrorOutputPrefix": ERRORS + "!{partitionKeyFromLambda:color}/"},
        "ErrorOutputPrefix cannot contain partition key expressions"),
    "a prefix over 512 characters": ({"Prefix": "p" * 513}, "cannot be longer than 512 characters"),
    "a prefix over 512 characters once evaluated": (
        {"Prefix": "p" * 500 + "!{timestamp:yyyy-MM-dd-HH-mm}", "ErrorOutputPrefix": ERRORS},
        "Prefix evaluates to 516 characters"),
}


@pytest.mark.parametrize("case", BROKEN_PREFIXES.values(), ids=BROKEN_PREFIXES.keys())
def test_create_refuses_a_prefix_that_breaks_a_rule(clients, case):
    prefixes, message = case
    with pytest.raises(clients["firehose"].exceptions.InvalidArgumentException, match=re.escape(message)):
        clients["create"](**prefixes)


# ---- evaluation ---------------------------------------------------------------------------------------------
def keys_for(clients, prefixes: dict[str, dict], count_per_key: int = 1) -> dict[str, list[str]]:
    """Create one stream per entry, put one record in each, and return {entry: object keys}."""
    names = {label: clients["create"](**destination) for label, destination in prefixes.items()}
    for name in names.values():
        clients["firehose"].put_record(DeliveryStreamName=name, Record={"Data": b"record"})
    deadline = time.monotonic() + 15
    while True:
        listing = clients["s3"].list_objects_v2(Bucket=clients["bucket"]).get("Contents", [])
        found = {label: [item["Key"] for item in listing if f"/{name}-1-" in "/" + item["Key"]]
                 for label, name in names.items()}
        if all(len(keys) >= count_per_key for keys in found.values()) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def around_now(pattern: str, zone: timezone = timezone.utc) -> set[str]:
    """The pattern evaluated a little before and after now, so that a test may cross a second or an hour."""
    now = datetime.now(zone)
    return {(now + timedelta(seconds=offset)).strftime(pattern) for offset in (-5, 0, 5)}


def test_prefixes_without_a_timestamp_get_the_utc_hour_path_appended(clients):
    found = keys_for(clients, {"folder": {"Prefix": "literal/"}, "no slash": {"Prefix": "noslash"}})
    (folder,), (no_slash,) = found["folder"], found["no slash"]
    assert folder[:len("literal/2026/01/01/00/")] in {f"literal/{hour}" for hour in around_now("%Y/%m/%d/%H/")}
    assert no_slash[:len("noslash2026/01/01/00/")] in {f"noslash{hour}" for hour in around_now("%Y/%m/%d/%H/")}


def test_timestamp_expressions_use_java_patterns_quotes_and_one_instant(clients):
    found = keys_for(clients, {
        "hive": {"Prefix": "hive/!{timestamp:'year='yyyy'/month='MM'/day='dd}/!{timestamp:HH}/",
                 "ErrorOutputPrefix": ERRORS},
        "instant": {"Prefix": "s/!{timestamp:ss.SSS}/!{timestamp:ss.SSS}/", "ErrorOutputPrefix": ERRORS},
        "text": {"Prefix": "t/!{timestamp:EEE-MMM-yy}/", "ErrorOutputPrefix": ERRORS},
    })
    (hive,), (instant,), (text,) = found["hive"], found["instant"], found["text"]
    assert hive[:len("hive/year=2026/month=01/day=01/00/")] in {
        f"hive/{path}" for path in around_now("year=%Y/month=%m/day=%d/%H/")}
    first, second = instant.split("/")[1:3]
    assert re.fullmatch(r"\d{2}\.\d{3}", first) and first == second
    assert text.split("/")[1] in around_now("%a-%b-%y")


def test_random_strings_are_eleven_characters_and_new_for_each_use(clients):
    found = keys_for(clients, {"random": {
        "Prefix": "r/!{firehose:random-string}/!{firehose:random-string}/", "ErrorOutputPrefix": ERRORS}})
    (key,) = found["random"]
    first, second = key.split("/")[1:3]
    assert len(first) == len(second) == 11 and first != second


def test_custom_time_zone_applies_to_the_prefix_and_the_suffix(clients):
    tokyo = timezone(timedelta(hours=9))
    found = keys_for(clients, {"tokyo": {"Prefix": "tokyo/!{timestamp:HH}/", "ErrorOutputPrefix": ERRORS,
                                         "CustomTimeZone": "Asia/Tokyo"}})
    (key,) = found["tokyo"]
    hour, name = key.split("/")[1:3]
    assert hour in around_now("%H", tokyo)
    suffix_hour = name.split("-")[-8]  # <name>-<version>-yyyy-MM-dd-HH-mm-ss-<uuid with 4 dashes>
    assert suffix_hour in around_now("%H", tokyo)


def test_error_prefixes_follow_error_output_type_and_aws_defaults(clients):
    processing = lambda_processing(clients["lambda"], clients["role"], FAIL_EVERY_RECORD)
    found = keys_for(clients, {
        "expressions": {"Prefix": "a/", "ErrorOutputPrefix": "failed/!{firehose:error-output-type}/!{timestamp:yyyy}/",
                        "ProcessingConfiguration": processing},
        "from Prefix": {"Prefix": "b/", "ProcessingConfiguration": processing},
        "no prefixes": {"ProcessingConfiguration": processing},
        "literal": {"Prefix": "c/", "ErrorOutputPrefix": "literal-errors/", "ProcessingConfiguration": processing},
    })
    hours = around_now("%Y/%m/%d/%H/")
    (expressions,), (from_prefix,), (no_prefixes,), (literal,) = found.values()
    assert expressions[:len("failed/processing-failed/2026/")] in {
        f"failed/processing-failed/{year}/" for year in around_now("%Y")}
    assert from_prefix[:len("b/processing-failed/2026/01/01/00/")] in {f"b/processing-failed/{h}" for h in hours}
    assert no_prefixes[:len("processing-failed/2026/01/01/00/")] in {f"processing-failed/{h}" for h in hours}
    assert literal[:len("literal-errors/processing-failed/2026/01/01/00/")] in {
        f"literal-errors/processing-failed/{h}" for h in hours}
