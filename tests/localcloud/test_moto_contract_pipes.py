"""moto 5.2.5 behaviours the Pipes engine relies on or corrects: if an upgrade changes them, these fail first.

- moto_state.dynamodb_streams reads moto's stream shard directly; it must see what GetRecords sees.
- moto_state.pipes reads pipe settings and pins CurrentState; moto's own describe-driven states
  drift (STOPPED turns STARTING), and UpdatePipe replaces SourceParameters whole, dropping
  StartingPosition. The engine corrects both; when moto fixes them, these tests say so.
The states moto reports in the responses of CreatePipe, StopPipe, StartPipe and DeletePipe
(CREATING, STOPPING, STARTING, DELETING) are checked end to end in test_pipes.py.
"""

from __future__ import annotations

import time
import uuid

import pytest
from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID

from localcloud.moto_state.dynamodb_streams import DynamoDBStreams, StreamNotFound, creation_epoch_seconds
from localcloud.moto_state.pipes import MotoPipes, PipeId

# Pipes made straight in moto's backend live in a region no other test uses, and are deleted at the end:
# the engine could not run them (it only runs pipes that passed CreatePipe's checks).
RAW_REGION = "eu-west-3"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _create_table(dynamodb, name: str) -> str:
    return dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]


def _get_records(streams_client, stream_arn: str) -> tuple[str, list[dict]]:
    shards = streams_client.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    assert len(shards) == 1, "moto gives every stream exactly one shard"
    iterator = streams_client.get_shard_iterator(StreamArn=stream_arn, ShardId=shards[0]["ShardId"],
                                                 ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return shards[0]["ShardId"], streams_client.get_records(ShardIterator=iterator)["Records"]


def _without_creation_time(record: dict) -> dict:
    return dict(record, dynamodb={name: value for name, value in record["dynamodb"].items()
                                  if name != "ApproximateCreationDateTime"})


def test_direct_stream_reads_match_get_records(session):
    dynamodb, table = session.client("dynamodb"), _name("contract")
    stream_arn = _create_table(dynamodb, table)
    for n in range(3):
        dynamodb.put_item(TableName=table, Item={"orderid": {"S": f"o-{n}"}})
    shard_id, over_http = _get_records(session.client("dynamodbstreams"), stream_arn)

    streams = DynamoDBStreams()
    direct = streams.records_after(stream_arn, shard_id, None, 1000)

    assert streams.shard_ids(stream_arn) == [shard_id]
    assert [(r["eventID"], r["eventName"], r["dynamodb"]["SequenceNumber"]) for r in direct] == [
        (r["eventID"], r["eventName"], r["dynamodb"]["SequenceNumber"]) for r in over_http]
    assert [r["dynamodb"]["NewImage"] for r in direct] == [r["dynamodb"]["NewImage"] for r in over_http]
    for mine, theirs in zip(direct, over_http):
        assert abs(creation_epoch_seconds(mine) - theirs["dynamodb"]["ApproximateCreationDateTime"].timestamp()) < 1
        assert abs(creation_epoch_seconds(mine) - time.time()) < 60
        assert _without_creation_time(mine) == _without_creation_time(theirs)  # the pipe's event is built from them
    first, last = direct[0]["dynamodb"]["SequenceNumber"], direct[-1]["dynamodb"]["SequenceNumber"]
    assert streams.records_after(stream_arn, shard_id, first, 1000) == direct[1:]
    assert streams.records_after(stream_arn, shard_id, None, 2) == direct[:2]
    assert streams.last_sequence_number(stream_arn, shard_id) == last
    assert streams.records_after(stream_arn, shard_id, last, 1000) == []


def test_direct_stream_reads_refuse_unknown_and_replaced_streams(session):
    dynamodb, table = session.client("dynamodb"), _name("contract")
    old_arn = _create_table(dynamodb, table)
    streams = DynamoDBStreams()
    assert streams.exists(old_arn)
    assert streams.last_sequence_number(old_arn, streams.shard_ids(old_arn)[0]) is None

    dynamodb.delete_table(TableName=table)
    new_arn = _create_table(dynamodb, table)

    assert new_arn != old_arn
    assert streams.exists(new_arn) and not streams.exists(old_arn)
    with pytest.raises(StreamNotFound):
        streams.shard_ids(old_arn)
    assert not streams.exists("arn:aws:dynamodb:us-east-1:123456789012:table/no-such-table/stream/2024")
    assert not streams.exists("arn:aws:sqs:us-east-1:123456789012:not-a-stream")


@pytest.fixture
def raw_pipe():
    """A pipe created in moto's backend directly, as moto alone would keep it."""
    backend = get_backend("pipes")[DEFAULT_ACCOUNT_ID][RAW_REGION]
    name = _name("raw-pipe")
    backend.create_pipe(
        name=name, description=None, desired_state=None,
        source="arn:aws:dynamodb:eu-west-3:123456789012:table/t/stream/2024-01-01T00:00:00",
        source_parameters={"DynamoDBStreamParameters": {"StartingPosition": "LATEST", "BatchSize": 5}},
        enrichment=None, enrichment_parameters=None, target="arn:aws:kinesis:eu-west-3:123456789012:stream/k",
        target_parameters={"KinesisStreamParameters": {"PartitionKey": "k"}},
        role_arn="arn:aws:iam::123456789012:role/r", tags=None, log_configuration=None, kms_key_identifier=None)
    yield backend, PipeId(DEFAULT_ACCOUNT_ID, RAW_REGION, name)
    backend.pipes.pop(name, None)


def test_moto_alone_drifts_a_stopped_pipe_back_to_running(raw_pipe):
    backend, pipe_id = raw_pipe
    assert backend.describe_pipe(pipe_id.name).current_state == "RUNNING"
    backend.stop_pipe(pipe_id.name)

    states = [backend.describe_pipe(pipe_id.name).current_state for _ in range(3)]

    assert states == ["STOPPED", "STARTING", "RUNNING"], "moto fixed this: MotoPipes.set_current_state may go"


def test_pinned_state_survives_describe_and_list(raw_pipe):
    backend, pipe_id = raw_pipe
    backend.stop_pipe(pipe_id.name)

    MotoPipes().set_current_state(pipe_id, "STOPPED")

    assert [backend.describe_pipe(pipe_id.name).current_state for _ in range(3)] == ["STOPPED"] * 3
    listed, _ = backend.list_pipes(name_prefix=pipe_id.name, desired_state=None, current_state="STOPPED",
                                   source_prefix=None, target_prefix=None)
    assert [pipe["Name"] for pipe in listed] == [pipe_id.name]
    backend.start_pipe(pipe_id.name)
    assert backend.describe_pipe(pipe_id.name).current_state == "STARTING", "moto's start still sets STARTING"


def test_moto_pipes_reads_the_stored_configuration(raw_pipe):
    _, pipe_id = raw_pipe

    config = MotoPipes().get(pipe_id)

    assert config.arn == f"arn:aws:pipes:{RAW_REGION}:{DEFAULT_ACCOUNT_ID}:pipe/{pipe_id.name}"
    assert config.source.endswith("stream/2024-01-01T00:00:00")
    assert config.target == "arn:aws:kinesis:eu-west-3:123456789012:stream/k"
    assert config.desired_state == "RUNNING"
    assert config.source_parameters["DynamoDBStreamParameters"] == {"StartingPosition": "LATEST", "BatchSize": 5}
    assert config.target_parameters == {"KinesisStreamParameters": {"PartitionKey": "k"}}
    assert pipe_id in {pipe.id for pipe in MotoPipes().all()}
    assert MotoPipes().get(PipeId(DEFAULT_ACCOUNT_ID, RAW_REGION, "no-such-pipe")) is None


def test_moto_update_pipe_drops_starting_position_which_moto_pipes_restores(raw_pipe):
    backend, pipe_id = raw_pipe
    backend.update_pipe(pipe_id.name, role_arn="arn:aws:iam::123456789012:role/r", description=None,
                        desired_state=None, source_parameters={"DynamoDBStreamParameters": {"BatchSize": 9}},
                        enrichment=None, enrichment_parameters=None, target=None, target_parameters=None,
                        log_configuration=None, kms_key_identifier=None)
    assert backend.describe_pipe(pipe_id.name).source_parameters == {"DynamoDBStreamParameters": {"BatchSize": 9}}

    MotoPipes().set_source_parameter(pipe_id, "DynamoDBStreamParameters", "StartingPosition", "LATEST")

    assert backend.describe_pipe(pipe_id.name).source_parameters == {
        "DynamoDBStreamParameters": {"BatchSize": 9, "StartingPosition": "LATEST"}}
