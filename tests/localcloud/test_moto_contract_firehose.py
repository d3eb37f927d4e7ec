"""What the Firehose engine relies on in moto 5.2.5: if an upgrade changes any of it, these fail first.

The engine reads Kinesis shards through localcloud.moto_state.kinesis and delivery stream configurations
through localcloud.moto_state.firehose, lets moto answer UpdateDestination's version checks, and acts as the
delivery stream's roles with credentials from moto's STS.
"""

from __future__ import annotations

import base64
import json
import uuid

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from localcloud.moto_state.firehose import DeliveryStreams
from localcloud.moto_state.kinesis import KinesisShards, PutRecordsFailed, decoded_size

ACCOUNT = "123456789012"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def stream_arn(session) -> str:
    kinesis = session.client("kinesis")
    name = unique("contract")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]


def test_shard_records_are_numbered_one_two_three_with_their_data_key_and_arrival(session, stream_arn):
    kinesis = session.client("kinesis")
    puts = [kinesis.put_record(StreamARN=stream_arn, Data=f"record-{index}".encode(), PartitionKey=f"key-{index}")
            for index in range(3)]
    shards = KinesisShards(stream_arn)

    read = shards.read_after("shardId-000000000000", 0, limit=10)
    assert [put["SequenceNumber"] for put in puts] == ["1", "2", "3"]
    assert [(r.sequence_number, r.data, r.partition_key) for r in read] == [
        (1, b"record-0", "key-0"), (2, b"record-1", "key-1"), (3, b"record-2", "key-2")]
    fetched = kinesis.get_records(ShardIterator=kinesis.get_shard_iterator(
        StreamName=stream_arn.split("/")[-1], ShardId="shardId-000000000000",
        ShardIteratorType="TRIM_HORIZON")["ShardIterator"])
    arrivals = [r["ApproximateArrivalTimestamp"].timestamp() for r in fetched["Records"]]
    assert len(arrivals) == 3
    assert all(abs(r.arrival - arrival) < 0.001 for r, arrival in zip(read, arrivals))  # GetRecords sends ms
    assert shards.latest_sequence_number("shardId-000000000000") == 3
    assert shards.read_after("shardId-000000000000", 3, limit=10) == []


def test_keys_still_go_to_the_closed_parent_shard_after_a_split(session, stream_arn):
    """Why test_firehose writes into child shards itself: AWS would route these keys to the children."""
    kinesis = session.client("kinesis")
    kinesis.update_shard_count(StreamARN=stream_arn, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    shards = KinesisShards(stream_arn)

    put = kinesis.put_record(StreamARN=stream_arn, Data=b"after the split", PartitionKey="any")
    assert shards.is_closed("shardId-000000000000")
    assert put["ShardId"] == "shardId-000000000000"
    assert shards.shard_ids() == ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"]


def test_put_records_writes_what_moto_s_put_records_writes_to_the_same_shards(session):
    """The pipe writes through KinesisShards.put_records: same shard per key, numbering, data and metrics."""
    kinesis = session.client("kinesis")
    names = [unique("contract"), unique("contract")]
    for name in names:
        kinesis.create_stream(StreamName=name, ShardCount=4)
    arns = [kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
            for name in names]
    records = [(f"record {index}".encode(), f"order-{index}") for index in range(40)]

    KinesisShards(arns[0]).put_records(records)
    moto_put = kinesis.put_records(StreamARN=arns[1], Records=[{"Data": d, "PartitionKey": k} for d, k in records])

    ours, theirs = KinesisShards(arns[0]), KinesisShards(arns[1])
    placed = {shard_id: [(r.data, r.partition_key, r.sequence_number) for r in ours.read_after(shard_id, 0, 100)]
              for shard_id in ours.shard_ids()}
    expected = {shard_id: [(r.data, r.partition_key, r.sequence_number) for r in theirs.read_after(shard_id, 0, 100)]
                for shard_id in theirs.shard_ids()}
    assert placed == expected
    assert len({entry["ShardId"] for entry in moto_put["Records"]}) > 1  # the keys really spread over shards
    metrics = session.client("cloudwatch").list_metrics(Namespace="AWS/Kinesis", MetricName="IncomingRecords")
    assert {"Name": "StreamName", "Value": names[0]} in [d for m in metrics["Metrics"] for d in m["Dimensions"]]


@pytest.mark.parametrize("records, error", [
    ([(b"x", "key")] * 501, "ValidationException: .*'records'.*500"),
    ([(b"x", "key"), (b"x" * (1024 * 1024), "key")], "ValidationException: .*'records.2.member.data'.*1048576"),
    ([(b"x" * (1024 * 1024 - 3), "key")] * 6, "InvalidArgumentException: Records size exceeds 5 MB limit"),
])
def test_put_records_refuses_what_moto_s_put_records_refuses(stream_arn, records, error):
    with pytest.raises(PutRecordsFailed, match=error):
        KinesisShards(stream_arn).put_records(records)
    assert KinesisShards(stream_arn).read_after("shardId-000000000000", 0, 10) == []


@given(st.binary(max_size=100))
def test_decoded_size_is_the_length_of_the_data_base64_holds(data):
    assert decoded_size(base64.b64encode(data).decode()) == len(data)


@pytest.fixture
def delivery_stream(session) -> str:
    s3, iam = session.client("s3"), session.client("iam")
    bucket = unique("contract")
    s3.create_bucket(Bucket=bucket)
    role = iam.create_role(RoleName=unique("contract"), AssumeRolePolicyDocument=json.dumps({"Statement": []}))
    name = unique("contract")
    session.client("firehose").create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration={
        "RoleARN": role["Role"]["Arn"], "BucketARN": f"arn:aws:s3:::{bucket}", "Prefix": "data/",
        "FileExtension": ".json", "CustomTimeZone": "Asia/Tokyo",
        "BufferingHints": {"SizeInMBs": 2, "IntervalInSeconds": 60},
        "ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "AppendDelimiterToRecord"}]}})
    yield name
    session.client("firehose").delete_delivery_stream(DeliveryStreamName=name)


def test_the_backend_keeps_the_destination_configuration_as_the_request_gave_it(delivery_stream):
    assert (ACCOUNT, "us-east-1", delivery_stream) in set(DeliveryStreams().names())
    description = DeliveryStreams().describe(ACCOUNT, "us-east-1", delivery_stream)
    extended = description["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert description["VersionId"] == "1" and description["DeliveryStreamType"] == "DirectPut"
    assert {key: extended[key] for key in ("Prefix", "FileExtension", "CustomTimeZone", "BufferingHints",
                                           "ProcessingConfiguration")} == {
        "Prefix": "data/", "FileExtension": ".json", "CustomTimeZone": "Asia/Tokyo",
        "BufferingHints": {"SizeInMBs": 2, "IntervalInSeconds": 60},
        "ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "AppendDelimiterToRecord"}]}}


def test_update_destination_merges_checks_the_version_and_the_destination_id(session, delivery_stream):
    firehose = session.client("firehose")
    firehose.update_destination(DeliveryStreamName=delivery_stream, CurrentDeliveryStreamVersionId="1",
                                DestinationId="destinationId-000000000001",
                                ExtendedS3DestinationUpdate={"Prefix": "v2/"})
    extended = DeliveryStreams().describe(ACCOUNT, "us-east-1", delivery_stream)["Destinations"][0][
        "ExtendedS3DestinationDescription"]
    assert (extended["Prefix"], extended["FileExtension"]) == ("v2/", ".json")  # fields not updated are kept
    assert DeliveryStreams().describe(ACCOUNT, "us-east-1", delivery_stream)["VersionId"] == "2"

    with pytest.raises(firehose.exceptions.ConcurrentModificationException, match="do not match"):
        firehose.update_destination(DeliveryStreamName=delivery_stream, CurrentDeliveryStreamVersionId="1",
                                    DestinationId="destinationId-000000000001",
                                    ExtendedS3DestinationUpdate={"Prefix": "v3/"})
    with pytest.raises(firehose.exceptions.InvalidArgumentException, match="Destination Id .* not found"):
        firehose.update_destination(DeliveryStreamName=delivery_stream, CurrentDeliveryStreamVersionId="2",
                                    DestinationId="destinationId-000000000009",
                                    ExtendedS3DestinationUpdate={"Prefix": "v3/"})


def test_assume_role_gives_credentials_in_the_role_account_even_for_an_unknown_role(cloud):
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=cloud.endpoint_url,
                       aws_access_key_id="localcloud", aws_secret_access_key="localcloud")
    credentials = sts.assume_role(RoleArn="arn:aws:iam::111122223333:role/not-created",
                                  RoleSessionName="contract")["Credentials"]
    assumed = boto3.client("sts", region_name="us-east-1", endpoint_url=cloud.endpoint_url,
                           aws_access_key_id=credentials["AccessKeyId"],
                           aws_secret_access_key=credentials["SecretAccessKey"],
                           aws_session_token=credentials["SessionToken"])
    assert assumed.get_caller_identity()["Account"] == "111122223333"
