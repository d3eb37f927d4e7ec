"""Firehose delivery streams deliver: buffering, S3 keys, compression, Kinesis sources, Lambda processing, restarts.

Everything goes through boto3, as a learner's code would: s3.create_bucket, iam.create_role,
kinesis.create_stream, lambda.create_function with a zip built here, firehose.create_delivery_stream,
put_record(_batch) or Kinesis put_record, and then S3 listings of what arrived. The one exception is the
engine restart, done as the localcloud CLI does it, through POST /_localcloud/engines/restart, and
records written straight into a child shard after a reshard, which moto does not route (see put_into_shard).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import textwrap
import threading
import time
import urllib.request
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest

REPO = Path(__file__).resolve().parents[2]
TRUST_FIREHOSE = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "firehose.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ERROR_FIELDS = {"attemptsMade", "arrivalTimestamp", "errorCode", "errorMessage", "attemptEndingTimestamp",
                "rawData", "lambdaArn"}

# In the style of AWS's "kinesis-firehose-process-record" blueprint: decode, process, re-encode, return Ok.
BLUEPRINT_HANDLER = """
import base64

def lambda_handler(event, context):
    output = []
    for record in event['records']:
        payload = base64.b64decode(record['data']).decode('utf-8')
        # Do custom processing on the payload here
        output_record = {
            'recordId': record['recordId'],
            'result': 'Ok',
            'data': base64.b64encode(payload.upper().encode('utf-8')).decode('utf-8')
        }
        output.append(output_record)
    return {'records': output}
"""

# Describes the event it received instead of transforming: one JSON line per record.
EVENT_ECHO_HANDLER = """
import base64, json

def lambda_handler(event, context):
    envelope = {key: value for key, value in event.items() if key != 'records'}
    results = []
    for record in event['records']:
        line = json.dumps({'event': envelope, 'record': {k: v for k, v in record.items() if k != 'data'},
                           'data': base64.b64decode(record['data']).decode()}) + '\\n'
        results.append({'recordId': record['recordId'], 'result': 'Ok',
                        'data': base64.b64encode(line.encode()).decode()})
    return {'records': results}
"""

# The record's text says what to do with it: ok:, drop:, fail:, omit: (no result), dup: (two results).
MIXED_RESULTS_HANDLER = """
import base64

def lambda_handler(event, context):
    results = []
    for record in event['records']:
        text = base64.b64decode(record['data']).decode()
        verb = text.split(':')[0]
        if verb == 'omit':
            continue
        result = {'ok': 'Ok', 'dup': 'Ok', 'drop': 'Dropped', 'fail': 'ProcessingFailed'}[verb]
        data = base64.b64encode(('done ' + text + '\\n').encode()).decode()
        results.append({'recordId': record['recordId'], 'result': result, 'data': data})
        if verb == 'dup':
            results.append({'recordId': record['recordId'], 'result': 'Ok', 'data': data})
    return {'records': results}
"""

# Each record becomes a line naming the invocation that carried it and the size of that invocation's event.
INVOCATION_SIZE_HANDLER = """
import base64, json

def lambda_handler(event, context):
    text = event['invocationId'] + ' ' + str(len(json.dumps(event, separators=(',', ':')))) + '\\n'
    line = base64.b64encode(text.encode()).decode()
    return {'records': [{'recordId': r['recordId'], 'result': 'Ok', 'data': line} for r in event['records']]}
"""

RAISING_HANDLER = """
def lambda_handler(event, context):
    raise RuntimeError('this transform always fails')
"""

SLEEPING_HANDLER = """
import time

def lambda_handler(event, context):
    time.sleep(5)
"""

# Partitions records by their color; a record without a color gets no partition key, and one with "metadata" in
# it gets that as its metadata, whatever it is.
PARTITIONING_HANDLER = """
import base64, json

def lambda_handler(event, context):
    results = []
    for record in event['records']:
        item = json.loads(base64.b64decode(record['data']))
        keys = {'color': item['color']} if 'color' in item else {}
        results.append({'recordId': record['recordId'], 'result': 'Ok', 'data': record['data'],
                        'metadata': item.get('metadata', {'partitionKeys': keys})})
    return {'records': results}
"""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def zip_module(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", textwrap.dedent(source))
    return buffer.getvalue()


class Aws:
    """The clients and resources a delivery stream needs; deletes the delivery streams it created."""

    def __init__(self, clients: dict, role_arn: str):
        self.firehose, self.s3, self.kinesis, self.lambda_ = (
            clients[service] for service in ("firehose", "s3", "kinesis", "lambda"))
        self.role_arn = role_arn
        self.created: list[str] = []
    def bucket(self) -> str:
        name = unique("firehose-test")
        self.s3.create_bucket(Bucket=name)
        return name

    def kinesis_stream(self, shards: int = 1) -> str:
        name = unique("source")
        self.kinesis.create_stream(StreamName=name, ShardCount=shards)
        return self.kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]

    def function(self, source: str, timeout: int = 3) -> str:
        return self.lambda_.create_function(
            FunctionName=unique("transform"), Runtime="python3.12", Role=self.role_arn, Timeout=timeout,
            Handler="handler.lambda_handler", Code={"ZipFile": zip_module(source)})["FunctionArn"]

    def destination(self, bucket: str, size_mb: int = 1, interval_s: int = 1, **settings) -> dict:
        return {"RoleARN": self.role_arn, "BucketARN": f"arn:aws:s3:::{bucket}",
                "BufferingHints": {"SizeInMBs": size_mb, "IntervalInSeconds": interval_s}} | settings

    def delivery_stream(self, destination: dict, source_arn: str | None = None) -> str:
        name = unique("delivery")
        source = {} if source_arn is None else {
            "DeliveryStreamType": "KinesisStreamAsSource",
            "KinesisStreamSourceConfiguration": {"KinesisStreamARN": source_arn, "RoleARN": self.role_arn}}
        self.firehose.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration=destination,
                                             **source)
        self.created.append(name)
        return name

    def objects(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        listing = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        return {item["Key"]: self.s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listing}

    def wait_for(self, bucket: str, prefix: str = "", done=lambda objects: bool(objects),
                 timeout: float = 15.0) -> dict[str, bytes]:
        """The objects under prefix once done(objects) holds; fails after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            objects = self.objects(bucket, prefix)
            if done(objects):
                return objects
            assert time.monotonic() < deadline, f"timed out waiting under s3://{bucket}/{prefix}: {list(objects)}"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def module_clients(cloud) -> dict:
    """Clients made once for the module (each one loads a service model); the same credentials as `session`."""
    environment = cloud.client_environment()
    session = boto3.Session(region_name="us-east-1", aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"])
    return {service: session.client(service, endpoint_url=cloud.endpoint_url)
            for service in ("firehose", "s3", "kinesis", "lambda", "iam")}


@pytest.fixture(scope="module")
def role_arn(module_clients) -> str:
    return module_clients["iam"].create_role(RoleName=unique("firehose-delivery"),
                                             AssumeRolePolicyDocument=TRUST_FIREHOSE)["Role"]["Arn"]


@pytest.fixture
def aws(module_clients, role_arn):
    helper = Aws(module_clients, role_arn)
    yield helper
    for name in helper.created:
        helper.firehose.delete_delivery_stream(DeliveryStreamName=name)


def lines(objects: dict[str, bytes]) -> list[bytes]:
    return [line for body in objects.values() for line in body.splitlines()]


def error_records(objects: dict[str, bytes]) -> list[dict]:
    return [json.loads(line) for line in lines(objects)]


def restart_engines(endpoint_url: str) -> None:
    request = urllib.request.Request(f"{endpoint_url}/_localcloud/engines/restart", method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200


# ---- DirectPut buffering and S3 keys --------------------------------------------------------------------
def test_direct_put_records_wait_for_the_interval_then_land_in_one_object(aws):
    bucket = aws.bucket()
    name = aws.delivery_stream(aws.destination(bucket, interval_s=2))
    started = time.monotonic()
    for index in range(5):
        aws.firehose.put_record(DeliveryStreamName=name, Record={"Data": f"record-{index};".encode()})
    time.sleep(max(0.0, 1.2 - (time.monotonic() - started)))
    assert aws.objects(bucket) == {}, "objects must wait for the buffer interval, not appear per call"

    objects = aws.wait_for(bucket)
    assert time.monotonic() - started >= 1.9
    assert list(objects.values()) == [b"record-0;record-1;record-2;record-3;record-4;"]  # no delimiter added


def test_direct_put_flushes_as_soon_as_the_size_hint_is_reached(aws):
    bucket = aws.bucket()
    name = aws.delivery_stream(aws.destination(bucket, size_mb=1, interval_s=900))
    chunk = b"x" * 100_000
    for _ in range(3):
        aws.firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": chunk}] * 4)

    objects = aws.wait_for(bucket, timeout=10)
    (body,) = objects.values()
    assert 1024 * 1024 - len(chunk) < len(body) <= 1024 * 1024


def test_object_keys_use_the_default_utc_hour_prefix_and_the_firehose_suffix(aws):
    bucket = aws.bucket()
    name = aws.delivery_stream(aws.destination(bucket))
    put_at = datetime.now(timezone.utc)
    aws.firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"a"}, {"Data": b"b"}])

    (key,) = aws.wait_for(bucket)
    hour = put_at.strftime("%Y/%m/%d/%H/")
    assert re.fullmatch(rf"{hour}{name}-1-\d{{4}}-\d{{2}}-\d{{2}}-\d{{2}}-\d{{2}}-\d{{2}}-{UUID}", key), key


def test_gzip_objects_end_in_gz_and_a_file_extension_overrides_it(aws):
    bucket = aws.bucket()
    gzipped = aws.delivery_stream(aws.destination(bucket, Prefix="gz/", CompressionFormat="GZIP"))
    renamed = aws.delivery_stream(aws.destination(bucket, Prefix="ext/", CompressionFormat="GZIP",
                                                  FileExtension=".json.gz"))
    for name in (gzipped, renamed):
        aws.firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b'{"n":1}\n'}, {"Data": b'{"n":2}\n'}])

    objects = aws.wait_for(bucket, done=lambda found: len(found) == 2)
    keys = sorted(objects)
    assert keys[0].startswith("ext/") and keys[0].endswith(".json.gz")
    assert keys[1].startswith("gz/") and keys[1].endswith(".gz") and not keys[1].endswith(".json.gz")
    assert {gzip.decompress(body) for body in objects.values()} == {b'{"n":1}\n{"n":2}\n'}


# ---- Kinesis source -------------------------------------------------------------------------------------
def test_kinesis_source_delivers_every_shard_from_latest_at_creation(aws):
    bucket = aws.bucket()
    stream_arn = aws.kinesis_stream(shards=4)
    for index in range(20):
        aws.kinesis.put_record(StreamARN=stream_arn, Data=f"before-{index}\n".encode(), PartitionKey=str(index))
    aws.delivery_stream(aws.destination(bucket), source_arn=stream_arn)

    shards, expected = set(), set()
    for index in range(40):
        put = aws.kinesis.put_record(StreamARN=stream_arn, Data=f"after-{index}\n".encode(), PartitionKey=str(index))
        shards.add(put["ShardId"])
        expected.add(f"after-{index}".encode())

    objects = aws.wait_for(bucket, done=lambda found: set(lines(found)) >= expected)
    assert len(shards) == 4
    assert set(lines(objects)) == expected, "records put before the delivery stream existed must not be delivered"


def test_kinesis_source_reads_shards_created_after_the_delivery_stream(aws):
    bucket = aws.bucket()
    stream_arn = aws.kinesis_stream(shards=1)
    aws.delivery_stream(aws.destination(bucket), source_arn=stream_arn)
    aws.kinesis.update_shard_count(StreamARN=stream_arn, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    children = [shard["ShardId"] for shard in aws.kinesis.list_shards(StreamARN=stream_arn)["Shards"]
                if "ParentShardId" in shard]

    expected = {f"child-{index}".encode() for index in range(10)}
    for index in range(10):
        put_into_shard(stream_arn, children[index % 2], f"child-{index}\n".encode())

    assert len(children) == 2
    aws.wait_for(bucket, done=lambda found: set(lines(found)) >= expected)


def put_into_shard(stream_arn: str, shard_id: str, data: bytes) -> None:
    """What Kinesis does for a key in a child shard's range. moto 5.2.5 keeps routing every key to the closed
    parent shard after a split (test_moto_contract_firehose.py pins that), so the test writes to the child."""
    from moto.backends import get_backend

    _, _, _, region, account_id, resource = stream_arn.split(":")
    stream = get_backend("kinesis")[account_id][region].streams[resource.removeprefix("stream/")]
    stream.shards[shard_id].put_record("child", base64.b64encode(data).decode(), None)


def test_put_record_on_a_kinesis_sourced_stream_is_refused(aws):
    name = aws.delivery_stream(aws.destination(aws.bucket()), source_arn=aws.kinesis_stream())
    message = "This operation is not permitted on KinesisStreamAsSource delivery stream type."
    with pytest.raises(aws.firehose.exceptions.InvalidArgumentException, match=re.escape(message)):
        aws.firehose.put_record(DeliveryStreamName=name, Record={"Data": b"x"})
    with pytest.raises(aws.firehose.exceptions.InvalidArgumentException, match=re.escape(message)):
        aws.firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"x"}])


# ---- Lambda processing ------------------------------------------------------------------------------------
def lambda_processing(function_arn: str, **parameters: object) -> dict:
    values = {"LambdaArn": function_arn, "BufferIntervalInSeconds": 1} | parameters
    return {"Enabled": True, "Processors": [{"Type": "Lambda", "Parameters": [
        {"ParameterName": key, "ParameterValue": str(value)} for key, value in values.items()]}]}


def test_blueprint_style_lambda_transforms_direct_put_records(aws):
    bucket = aws.bucket()
    function_arn = aws.function(BLUEPRINT_HANDLER)
    name = aws.delivery_stream(aws.destination(bucket, ProcessingConfiguration=lambda_processing(function_arn)))
    aws.firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"one;"}, {"Data": b"two;"}])

    objects = aws.wait_for(bucket)
    assert list(objects.values()) == [b"ONE;TWO;"]


def partition_key(index: int) -> str:
    return f'key "{index}" \\ café\t'


def test_lambda_gets_the_documented_event_for_a_kinesis_source(aws):
    bucket = aws.bucket()
    stream_arn = aws.kinesis_stream(shards=2)
    function_arn = aws.function(EVENT_ECHO_HANDLER)
    name = aws.delivery_stream(aws.destination(bucket, ProcessingConfiguration=lambda_processing(function_arn)),
                               source_arn=stream_arn)
    # Keys with characters JSON must escape: the event's JSON is written from parts.
    puts = {f"order-{index}": aws.kinesis.put_record(StreamARN=stream_arn, Data=f"order-{index}".encode(),
                                                     PartitionKey=partition_key(index)) for index in range(6)}

    objects = aws.wait_for(bucket, done=lambda found: len(lines(found)) == 6)
    region = "us-east-1"
    for line in lines(objects):
        seen = json.loads(line)
        put = puts[seen["data"]]
        event, record = seen["event"], seen["record"]
        assert set(event) == {"invocationId", "deliveryStreamArn", "sourceKinesisStreamArn", "region"}
        assert event["deliveryStreamArn"] == f"arn:aws:firehose:{region}:123456789012:deliverystream/{name}"
        assert event["sourceKinesisStreamArn"] == stream_arn and event["region"] == region
        assert set(record) == {"recordId", "approximateArrivalTimestamp", "kinesisRecordMetadata"}
        assert abs(record["approximateArrivalTimestamp"] - time.time() * 1000) < 60_000
        assert record["kinesisRecordMetadata"] == {
            "shardId": put["ShardId"], "partitionKey": partition_key(int(seen["data"].split("-")[1])),
            "approximateArrivalTimestamp": record["approximateArrivalTimestamp"],
            "sequenceNumber": put["SequenceNumber"], "subsequenceNumber": 0}


def test_direct_put_events_have_no_kinesis_metadata(aws):
    bucket = aws.bucket()
    function_arn = aws.function(EVENT_ECHO_HANDLER)
    name = aws.delivery_stream(aws.destination(bucket, ProcessingConfiguration=lambda_processing(function_arn)))
    aws.firehose.put_record(DeliveryStreamName=name, Record={"Data": b"direct"})

    (line,) = lines(aws.wait_for(bucket))
    seen = json.loads(line)
    assert set(seen["event"]) == {"invocationId", "deliveryStreamArn", "region"}
    assert set(seen["record"]) == {"recordId", "approximateArrivalTimestamp"}


def test_lambda_results_ok_dropped_failed_missing_and_duplicated_each_end_up_in_their_place(aws):
    bucket = aws.bucket()
    function_arn = aws.function(MIXED_RESULTS_HANDLER)
    name = aws.delivery_stream(aws.destination(
        bucket, Prefix="data/", ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
        ProcessingConfiguration=lambda_processing(function_arn)))
    records = [b"ok:1", b"drop:2", b"fail:3", b"omit:4", b"dup:5", b"ok:6"]
    aws.firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": data} for data in records])

    delivered = aws.wait_for(bucket, "data/")
    failures = error_records(aws.wait_for(bucket, "errors/processing-failed/",
                                          done=lambda found: len(lines(found)) == 3))
    assert lines(delivered) == [b"done ok:1", b"done ok:6"]  # Ok data as returned, in order
    by_data = {base64.b64decode(failure["rawData"]): failure for failure in failures}
    assert {data: failure["errorCode"] for data, failure in by_data.items()} == {
        b"fail:3": "Lambda.ProcessingFailedStatus", b"omit:4": "Lambda.MissingRecordId",
        b"dup:5": "Lambda.DuplicatedRecordId"}
    for failure in failures:
        assert set(failure) == ERROR_FIELDS
        assert failure["attemptsMade"] == 1 and failure["lambdaArn"] == function_arn
        assert failure["arrivalTimestamp"] <= failure["attemptEndingTimestamp"]
    assert "record Ids were not returned" in by_data[b"omit:4"]["errorMessage"]


def test_lambda_invocation_errors_are_retried_then_the_batch_goes_to_the_error_prefix(aws):
    bucket = aws.bucket()
    raising_arn = aws.function(RAISING_HANDLER)
    sleeping_arn = aws.function(SLEEPING_HANDLER, timeout=1)
    errors = "errors/!{firehose:error-output-type}/"
    raising = aws.delivery_stream(aws.destination(bucket, Prefix="raising/", ErrorOutputPrefix=f"raising-{errors}",
                                                  ProcessingConfiguration=lambda_processing(raising_arn,
                                                                                            NumberOfRetries=2)))
    sleeping = aws.delivery_stream(aws.destination(bucket, Prefix="sleeping/", ErrorOutputPrefix=f"sleeping-{errors}",
                                                   ProcessingConfiguration=lambda_processing(sleeping_arn,
                                                                                             NumberOfRetries=0)))
    batch = [{"Data": b"first"}, {"Data": b"second"}]
    aws.firehose.put_record_batch(DeliveryStreamName=raising, Records=batch)
    aws.firehose.put_record_batch(DeliveryStreamName=sleeping, Records=batch)

    for prefix, code, attempts in (("raising-errors/processing-failed/", "Lambda.FunctionError", 3),
                                   ("sleeping-errors/processing-failed/", "Lambda.FunctionTimedOut", 1)):
        failures = error_records(aws.wait_for(bucket, prefix, done=lambda found: len(lines(found)) == 2))
        assert {base64.b64decode(failure["rawData"]) for failure in failures} == {b"first", b"second"}
        assert {(failure["errorCode"], failure["attemptsMade"]) for failure in failures} == {(code, attempts)}
    assert aws.objects(bucket, "raising/") == {} and aws.objects(bucket, "sleeping/") == {}


def test_a_lambda_batch_over_the_6_mb_invocation_limit_is_split(aws):
    bucket = aws.bucket()
    stream_arn = aws.kinesis_stream(shards=4)
    function_arn = aws.function(INVOCATION_SIZE_HANDLER)
    aws.delivery_stream(aws.destination(bucket, size_mb=64, ProcessingConfiguration=lambda_processing(
        function_arn, BufferSizeInMBs=3, BufferIntervalInSeconds=2)), source_arn=stream_arn)
    # 2.97 MB of data fits the 3 MB buffer, but base64 and Kinesis metadata make the event over 6 MB.
    count = 11_000
    for start in range(0, count, 500):
        aws.kinesis.put_records(StreamARN=stream_arn, Records=[{"Data": f"{index:0270d}".encode(),
                                                                 "PartitionKey": str(index)}
                                                                for index in range(start, start + 500)])

    objects = aws.wait_for(bucket, done=lambda found: len(lines(found)) >= count, timeout=30)
    assert len(lines(objects)) == count
    event_sizes = dict(line.split() for line in lines(objects))
    assert len(event_sizes) >= 2
    assert all(int(size) <= 6 * 1024 * 1024 for size in event_sizes.values())
    assert sum(int(size) for size in event_sizes.values()) > 6 * 1024 * 1024


def test_dynamic_partitioning_writes_one_object_per_lambda_partition_key(aws):
    bucket = aws.bucket()
    function_arn = aws.function(PARTITIONING_HANDLER)
    name = aws.delivery_stream(aws.destination(
        bucket, size_mb=64, Prefix="colors/color=!{partitionKeyFromLambda:color}/",
        ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
        DynamicPartitioningConfiguration={"Enabled": True},
        ProcessingConfiguration={"Enabled": True, "Processors": [
            *lambda_processing(function_arn)["Processors"], {"Type": "AppendDelimiterToRecord"}]}))
    too_long = "v" * 600  # the evaluated prefix would be over 512 characters
    items = [{"color": "red", "n": 1}, {"color": "blue", "n": 2}, {"color": too_long, "n": 3}, {"color": "red", "n": 4},
             {"n": 5}, {"color": too_long, "n": 6}, {"n": 7, "metadata": "not an object"},
             {"n": 8, "metadata": {"partitionKeys": ["red"]}}]
    aws.firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": json.dumps(i).encode()} for i in items])

    objects = aws.wait_for(bucket, "colors/", done=lambda found: len(found) == 2)
    by_color = {key.split("/")[1]: body for key, body in objects.items()}
    assert by_color == {"color=red": b'{"color": "red", "n": 1}\n{"color": "red", "n": 4}',
                        "color=blue": b'{"color": "blue", "n": 2}'}
    failures = error_records(aws.wait_for(bucket, "errors/partitioning-failed/"))
    assert {failure["errorCode"] for failure in failures} == {"DynamicPartitioning.MetadataExtractionFailed"}
    assert [json.loads(base64.b64decode(failure["rawData"]))["n"] for failure in failures] == [3, 5, 6, 7, 8]
    assert "512" in failures[0]["errorMessage"] and "512" in failures[2]["errorMessage"]


def test_course_transform_lambda_partitions_good_changes_and_fails_bad_ones(aws):
    bucket = aws.bucket()
    source = (REPO / "lambda_src" / "firehose_transform" / "handler.py").read_text()
    function_arn = aws.function(source)
    keys = "/".join(f"{key}=!{{partitionKeyFromLambda:{key}}}" for key in ("year", "month", "day", "hour"))
    name = aws.delivery_stream(aws.destination(
        bucket, size_mb=64, Prefix=f"orders/{keys}/", ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
        DynamicPartitioningConfiguration={"Enabled": True}, ProcessingConfiguration=lambda_processing(function_arn)))
    inputs = [data for event in ("firehose_insert_charger", "firehose_modify", "firehose_mixed_bad")
              for data in _record_data(REPO / "tests" / "events" / f"{event}.json")]
    aws.firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": data} for data in inputs])

    def all_accounted(found: dict[str, bytes]) -> bool:
        return len(lines(found)) == len(inputs)

    objects = aws.wait_for(bucket, done=all_accounted)
    delivered = {key: body for key, body in objects.items() if key.startswith("orders/")}
    failed = error_records({key: body for key, body in objects.items() if key.startswith("errors/")})
    assert delivered and failed, "the mixed event holds good and bad records"
    assert all(re.match(r"orders/year=\d{4}/month=\d{2}/day=\d{2}/hour=\d{2}/", key) for key in delivered)
    input_ids = {json.loads(data).get("eventID") for data in inputs if _is_json(data)}
    delivered_ids = [json.loads(line)["event_id"] for line in lines(delivered)]
    assert set(delivered_ids) <= input_ids
    assert {failure["errorCode"] for failure in failed} == {"Lambda.ProcessingFailedStatus"}
    assert len(delivered_ids) + len(failed) == len(inputs)  # nothing lost


def _record_data(event_file: Path) -> list[bytes]:
    """The data of a sample event's records; records whose data is not base64 cannot come from Firehose."""
    found = []
    for record in json.loads(event_file.read_text())["records"]:
        try:
            found.append(base64.b64decode(record["data"], validate=True))
        except ValueError:
            continue
    return found


def _is_json(data: bytes) -> bool:
    try:
        return isinstance(json.loads(data), dict)
    except ValueError:
        return False


# ---- restarts, updates, validation ------------------------------------------------------------------------
def test_engine_restart_in_the_middle_of_a_kinesis_stream_loses_nothing(aws, cloud):
    bucket = aws.bucket()
    stream_arn = aws.kinesis_stream(shards=2)
    aws.delivery_stream(aws.destination(bucket), source_arn=stream_arn)
    expected = {f"change-{index}".encode() for index in range(300)}

    def produce() -> None:
        for start in range(0, 300, 30):
            aws.kinesis.put_records(StreamARN=stream_arn, Records=[{"Data": f"change-{index}\n".encode(),
                                                                     "PartitionKey": str(index)}
                                                                    for index in range(start, start + 30)])
            time.sleep(0.1)

    producer = threading.Thread(target=produce)
    producer.start()
    time.sleep(0.4)
    restart_engines(cloud.endpoint_url)
    producer.join()

    objects = aws.wait_for(bucket, done=lambda found: set(lines(found)) >= expected, timeout=20)
    assert set(lines(objects)) == expected


def test_direct_put_records_buffered_at_restart_are_delivered_after_it(aws, cloud):
    bucket = aws.bucket()
    name = aws.delivery_stream(aws.destination(bucket, interval_s=2))
    aws.firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": f"{i};".encode()} for i in range(10)])
    restart_engines(cloud.endpoint_url)

    objects = aws.wait_for(bucket)
    assert b"".join(objects.values()) == b"".join(f"{i};".encode() for i in range(10))


def test_update_destination_increments_the_version_used_in_new_object_keys(aws):
    bucket = aws.bucket()
    name = aws.delivery_stream(aws.destination(bucket, Prefix="v1/"))
    described = aws.firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    assert (described["DeliveryStreamStatus"], described["VersionId"]) == ("ACTIVE", "1")

    aws.firehose.update_destination(DeliveryStreamName=name, CurrentDeliveryStreamVersionId="1",
                                    DestinationId=described["Destinations"][0]["DestinationId"],
                                    ExtendedS3DestinationUpdate={"Prefix": "v2/"})
    described = aws.firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    assert described["VersionId"] == "2"
    with pytest.raises(aws.firehose.exceptions.ConcurrentModificationException):
        aws.firehose.update_destination(DeliveryStreamName=name, CurrentDeliveryStreamVersionId="1",
                                        DestinationId="destinationId-000000000001",
                                        ExtendedS3DestinationUpdate={"Prefix": "v3/"})
    aws.firehose.put_record(DeliveryStreamName=name, Record={"Data": b"x"})

    (key,) = aws.wait_for(bucket)
    assert key.startswith("v2/") and f"/{name}-2-" in key


def test_describe_shows_the_defaults_aws_fills_in(aws):
    name = aws.delivery_stream({"RoleARN": aws.role_arn, "BucketARN": f"arn:aws:s3:::{aws.bucket()}"})
    described = aws.firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    extended = described["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert extended["BufferingHints"] == {"SizeInMBs": 5, "IntervalInSeconds": 300}
    assert extended["CompressionFormat"] == "UNCOMPRESSED"
    assert described["Destinations"][0]["S3DestinationDescription"]["BucketARN"] == extended["BucketARN"]


INVALID_DESTINATIONS = {
    "missing role": ({"RoleARN": "arn:aws:iam::123456789012:role/no-such-role"},
                     "InvalidArgumentException", "Firehose is unable to assume role"),
    "missing bucket": ({"BucketARN": "arn:aws:s3:::no-such-bucket-anywhere"},
                       "InvalidArgumentException", "does not exist"),
    "size above 128": ({"BufferingHints": {"SizeInMBs": 129, "IntervalInSeconds": 60}},
                       "ValidationException", "less than or equal to 128"),
    "interval above 900": ({"BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 901}},
                           "ValidationException", "less than or equal to 900"),
    "only one hint": ({"BufferingHints": {"SizeInMBs": 5}}, "InvalidArgumentException", "both SizeInMBs"),
    "invalid Lambda ARN": ({"ProcessingConfiguration": lambda_processing("my-transform")},
                           "InvalidArgumentException", "not a valid Lambda function ARN"),
    "dynamic partitioning under 64 MB": (
        {"DynamicPartitioningConfiguration": {"Enabled": True}, "Prefix": "!{partitionKeyFromLambda:k}/",
         "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
         "ProcessingConfiguration": lambda_processing("arn:aws:lambda:us-east-1:123456789012:function:f")},
        "InvalidArgumentException", "SizeInMBs must be at least 64"),
    "Lambda buffer above 3 MB": (
        {"ProcessingConfiguration": lambda_processing("arn:aws:lambda:us-east-1:123456789012:function:f",
                                                      BufferSizeInMBs=4)},
        "InvalidArgumentException", "BufferSizeInMBs must be a number from 0.2 to 3"),
}


@pytest.mark.parametrize("change", INVALID_DESTINATIONS.values(), ids=INVALID_DESTINATIONS.keys())
def test_create_rejects_an_invalid_destination_with_a_message_that_says_what_to_fix(aws, change):
    settings, code, message = change
    destination = aws.destination(aws.bucket()) | settings
    with pytest.raises(aws.firehose.exceptions.ClientError, match=re.escape(message)) as raised:
        aws.delivery_stream(destination)
    assert raised.value.response["Error"]["Code"] == code


def test_create_rejects_a_kinesis_source_that_does_not_exist(aws):
    missing = "arn:aws:kinesis:us-east-1:123456789012:stream/no-such-stream"
    with pytest.raises(aws.firehose.exceptions.InvalidArgumentException, match="does not exist"):
        aws.delivery_stream(aws.destination(aws.bucket()), source_arn=missing)


def test_update_destination_is_validated_like_create(aws):
    name = aws.delivery_stream(aws.destination(aws.bucket()))
    with pytest.raises(aws.firehose.exceptions.InvalidArgumentException, match="ErrorOutputPrefix cannot be null"):
        aws.firehose.update_destination(DeliveryStreamName=name, CurrentDeliveryStreamVersionId="1",
                                        DestinationId="destinationId-000000000001",
                                        ExtendedS3DestinationUpdate={"Prefix": "!{timestamp:yyyy}/"})
    described = aws.firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    assert described["VersionId"] == "1"
