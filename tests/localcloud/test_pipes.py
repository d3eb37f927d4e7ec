"""EventBridge Pipes move DynamoDB stream records to Kinesis: format, partition keys, batching, lifecycle, restarts.

Everything goes through boto3, as a learner's code would: a table with NEW_AND_OLD_IMAGES stream,
a Kinesis stream, an IAM role, pipes.create_pipe, item writes, and Kinesis get_records to see what
arrived. The exceptions: PutRecords partial failures, which moto never produces, are checked on the
poller with a stand-in Kinesis client; and the engine's stop time is measured on the engine.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
import uuid
from collections import defaultdict

import pytest
from botocore.config import Config

from localcloud import pipes
from localcloud.moto_state import kinesis as kinesis_state
from localcloud.moto_state.dynamodb_streams import DynamoDBStreams
from localcloud.moto_state.pipes import PipeId
from localcloud.pipes import WRITE_CHUNK, Checkpoints, Entry, PipePoller, PipeSettings, _put_records_chunks

TRUST_PIPES = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "pipes.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Setup:
    """A table with a stream, a Kinesis stream and a role: everything a pipe needs, with unique names."""

    def __init__(self, session, shard_count: int = 1):
        self.dynamodb = session.client("dynamodb")
        self.kinesis = session.client("kinesis")
        self.pipes = session.client("pipes")
        self.streams = session.client("dynamodbstreams")
        self.table = unique("orders")
        self.stream_arn = self.dynamodb.create_table(
            TableName=self.table, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]["LatestStreamArn"]
        self.kinesis_name = unique("cdc")
        self.kinesis.create_stream(StreamName=self.kinesis_name, ShardCount=shard_count)
        self.kinesis_arn = self.kinesis.describe_stream_summary(
            StreamName=self.kinesis_name)["StreamDescriptionSummary"]["StreamARN"]
        self.role_arn = session.client("iam").create_role(
            RoleName=unique("pipe-role"), AssumeRolePolicyDocument=TRUST_PIPES)["Role"]["Arn"]
        self.pipe = unique("pipe")

    def pipe_arguments(self, starting_position: str = "TRIM_HORIZON", partition_key: str = "$.dynamodb.Keys.orderid.S",
                       **stream_parameters) -> dict:
        return dict(
            Name=self.pipe, Source=self.stream_arn, Target=self.kinesis_arn, RoleArn=self.role_arn,
            SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": starting_position, **stream_parameters}},
            TargetParameters={"KinesisStreamParameters": {"PartitionKey": partition_key}},
        )

    def create_pipe(self, starting_position: str = "TRIM_HORIZON", partition_key: str = "$.dynamodb.Keys.orderid.S",
                    desired_state: str = "RUNNING", **stream_parameters) -> dict:
        return self.pipes.create_pipe(**self.pipe_arguments(starting_position, partition_key, **stream_parameters),
                                      DesiredState=desired_state)

    def put(self, orderid: str, **attributes: str) -> None:
        item = {"orderid": {"S": orderid}} | {name: {"S": value} for name, value in attributes.items()}
        self.dynamodb.put_item(TableName=self.table, Item=item)

    def kinesis_records(self) -> list[dict]:
        """Every record in the Kinesis stream, each with its shard and its data parsed from JSON."""
        found = []
        for shard in self.kinesis.list_shards(StreamName=self.kinesis_name)["Shards"]:
            iterator = self.kinesis.get_shard_iterator(StreamName=self.kinesis_name, ShardId=shard["ShardId"],
                                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            page = self.kinesis.get_records(ShardIterator=iterator, Limit=10000)
            found += [record | {"ShardId": shard["ShardId"], "event": json.loads(record["Data"])}
                      for record in page["Records"]]
        return found

    def wait_for_records(self, count: int, timeout: float = 5.0) -> list[dict]:
        """The Kinesis records once there are at least `count` of them (or whatever is there at the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.kinesis_records()
            if len(records) >= count or time.monotonic() > deadline:
                return records
            time.sleep(0.1)

    def stream_event_ids(self) -> list[str]:
        """The eventID of every record in the table's DynamoDB stream, read through the Streams API."""
        shard = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0]
        iterator = self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard["ShardId"],
                                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        event_ids = []
        while True:
            page = self.streams.get_records(ShardIterator=iterator)
            if not page["Records"]:
                return event_ids
            event_ids += [record["eventID"] for record in page["Records"]]
            iterator = page["NextShardIterator"]

    def state(self) -> str:
        return self.pipes.describe_pipe(Name=self.pipe)["CurrentState"]


def orderids(records: list[dict]) -> list[str]:
    return [record["event"]["dynamodb"]["Keys"]["orderid"]["S"] for record in records]


@pytest.fixture
def setup(session) -> Setup:
    return Setup(session)


def test_insert_modify_remove_arrive_in_the_pipes_event_format(setup):
    setup.put("o-1", status="NEW")
    setup.dynamodb.update_item(TableName=setup.table, Key={"orderid": {"S": "o-1"}},
                               UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "status"},
                               ExpressionAttributeValues={":s": {"S": "PAID"}})
    setup.dynamodb.delete_item(TableName=setup.table, Key={"orderid": {"S": "o-1"}})
    setup.create_pipe(starting_position="TRIM_HORIZON")

    insert, modify, remove = [record["event"] for record in setup.wait_for_records(3)]

    assert [e["eventName"] for e in (insert, modify, remove)] == ["INSERT", "MODIFY", "REMOVE"]
    for event in (insert, modify, remove):
        assert list(event) == ["eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb",
                               "eventSourceARN"]
        assert (event["eventVersion"], event["eventSource"], event["awsRegion"]) == ("1.1", "aws:dynamodb",
                                                                                     "us-east-1")
        assert event["eventSourceARN"] == setup.stream_arn
        stream_record = event["dynamodb"]
        assert stream_record["Keys"] == {"orderid": {"S": "o-1"}}
        assert stream_record["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        created = stream_record["ApproximateCreationDateTime"]
        assert isinstance(created, float) and created == int(created) and abs(created - time.time()) < 60
        assert isinstance(stream_record["SequenceNumber"], str) and stream_record["SizeBytes"] > 0
    assert insert["dynamodb"]["NewImage"]["status"] == {"S": "NEW"} and "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["status"] == {"S": "NEW"}
    assert modify["dynamodb"]["NewImage"]["status"] == {"S": "PAID"}
    assert remove["dynamodb"]["OldImage"]["status"] == {"S": "PAID"} and "NewImage" not in remove["dynamodb"]
    assert [e["eventID"] for e in (insert, modify, remove)] == setup.stream_event_ids()


def test_text_in_any_characters_arrives_as_it_was_written(setup):
    written = {"product_name": "Café crème « 东京 » 🚲", "note": 'quote " backslash \\ tab \t newline \n'}
    setup.put("o-ü", **written)
    setup.create_pipe(starting_position="TRIM_HORIZON")

    [record] = setup.wait_for_records(1)

    image = record["event"]["dynamodb"]["NewImage"]
    assert {name: image[name]["S"] for name in written} == written
    assert record["event"]["dynamodb"]["Keys"] == {"orderid": {"S": "o-ü"}}
    assert record["PartitionKey"] == "o-ü"


def test_json_path_partition_key_keeps_each_order_on_one_shard_in_order(session):
    setup = Setup(session, shard_count=4)
    setup.create_pipe(partition_key="$.dynamodb.Keys.orderid.S")
    keys = [f"order-{n}" for n in range(12)]
    for key in keys:
        setup.put(key, status="NEW")
    for key in keys:
        setup.put(key, status="SHIPPED")

    records = setup.wait_for_records(24)

    assert len(records) == 24
    shards_of_key = defaultdict(set)
    for record in records:
        assert record["PartitionKey"] == record["event"]["dynamodb"]["Keys"]["orderid"]["S"]
        shards_of_key[record["PartitionKey"]].add(record["ShardId"])
    assert all(len(shards) == 1 for shards in shards_of_key.values())
    assert len(set().union(*shards_of_key.values())) > 1, "different orders should spread over shards"
    for key in keys:
        names = [r["event"]["eventName"] for r in records if r["PartitionKey"] == key]
        assert names == ["INSERT", "MODIFY"]


def test_literal_partition_key_is_used_for_every_record(session):
    setup = Setup(session, shard_count=4)
    setup.create_pipe(partition_key="all-orders")
    for n in range(6):
        setup.put(f"order-{n}")

    records = setup.wait_for_records(6)

    assert {record["PartitionKey"] for record in records} == {"all-orders"}
    assert len({record["ShardId"] for record in records}) == 1
    assert orderids(records) == [f"order-{n}" for n in range(6)]


def test_latest_skips_records_written_before_the_pipe(setup):
    setup.put("before-1")
    setup.put("before-2")
    setup.create_pipe(starting_position="LATEST")
    setup.put("after-1")
    setup.put("after-2")

    setup.wait_for_records(2)
    time.sleep(0.5)  # time for any wrongly delivered earlier record to show up too

    assert orderids(setup.kinesis_records()) == ["after-1", "after-2"]


def test_batching_window_delivers_quick_writes_together(setup):
    setup.create_pipe(MaximumBatchingWindowInSeconds=1)
    first_write = time.time()
    for n in range(5):
        setup.put(f"order-{n}")

    records = setup.wait_for_records(5)

    arrivals = [record["ApproximateArrivalTimestamp"].timestamp() for record in records]
    assert len(records) == 5
    assert max(arrivals) - min(arrivals) < 0.25, "one batch: the records arrive together"
    assert min(arrivals) - first_write > 0.7, "the batch waits for the 1 s window"


def test_full_batch_is_sent_without_waiting_for_the_window(setup):
    setup.create_pipe(BatchSize=2, MaximumBatchingWindowInSeconds=2)
    first_write = time.time()
    for n in range(5):
        setup.put(f"order-{n}")

    full_batches = setup.wait_for_records(4, timeout=1.5)
    assert orderids(full_batches) == [f"order-{n}" for n in range(4)]
    assert max(r["ApproximateArrivalTimestamp"].timestamp() for r in full_batches) - first_write < 1.5
    last = setup.wait_for_records(5)[-1]
    assert orderids([last]) == ["order-4"]
    assert last["ApproximateArrivalTimestamp"].timestamp() - first_write > 1.7, "the last, unfilled batch waits"


def test_stop_pipe_stops_delivery_and_start_pipe_resumes_without_loss(setup):
    setup.create_pipe(starting_position="LATEST")
    setup.put("running-1")
    setup.wait_for_records(1)

    assert setup.pipes.stop_pipe(Name=setup.pipe)["CurrentState"] == "STOPPING"
    assert setup.state() == "STOPPED"
    setup.put("stopped-1")
    setup.put("stopped-2")
    time.sleep(0.6)
    assert orderids(setup.kinesis_records()) == ["running-1"]

    assert setup.pipes.start_pipe(Name=setup.pipe)["CurrentState"] == "STARTING"
    assert setup.state() == "RUNNING"
    setup.put("running-2")
    assert orderids(setup.wait_for_records(4)) == ["running-1", "stopped-1", "stopped-2", "running-2"]


def test_engine_restart_during_writes_loses_nothing(cloud, setup):
    setup.put("before-pipe")
    # With a batching window, the restart finds records read but not yet delivered: they must not be lost.
    setup.create_pipe(starting_position="LATEST", MaximumBatchingWindowInSeconds=1)
    writer = threading.Thread(target=lambda: [setup.put(f"order-{n}") for n in range(150)])
    writer.start()
    time.sleep(0.2)
    started = time.monotonic()
    urllib.request.urlopen(urllib.request.Request(f"{cloud.endpoint_url}/_localcloud/engines/restart",
                                                  method="POST"), timeout=30).read()
    restart_seconds = time.monotonic() - started
    writer.join()

    expected = set(setup.stream_event_ids()[1:])  # all but "before-pipe", which LATEST skips
    records = setup.wait_for_records(len(expected), timeout=10)

    delivered = [record["event"]["eventID"] for record in records]
    assert expected <= set(delivered), "every change arrives at least once"
    assert set(delivered) <= expected, "LATEST applies to the first run only, not to a restart"
    assert len(delivered) - len(expected) <= 100, "a restart resends at most the batch in flight"
    assert setup.state() == "RUNNING"
    assert restart_seconds < 5


def test_pipes_engine_stops_its_threads_within_a_second(cloud, setup):
    setup.create_pipe()
    engine = next(engine for engine in cloud.engines if engine.name == "pipes")

    started = time.monotonic()
    engine.stop()
    stop_seconds = time.monotonic() - started
    running_poller = [thread for thread in threading.enumerate() if thread.name == f"pipe-{setup.pipe}"]
    engine.start(cloud.endpoint_url)

    assert stop_seconds < 1
    assert running_poller == []
    setup.put("after-restart")
    assert orderids(setup.wait_for_records(1)) == ["after-restart"]


def test_pipe_states_follow_create_stop_start_update_and_delete(setup):
    assert setup.create_pipe()["CurrentState"] == "CREATING"
    assert setup.state() == "RUNNING"
    assert setup.pipes.stop_pipe(Name=setup.pipe)["CurrentState"] == "STOPPING"
    assert [setup.state() for _ in range(3)] == ["STOPPED"] * 3  # moto alone drifts to STARTING here
    assert setup.pipes.start_pipe(Name=setup.pipe)["CurrentState"] == "STARTING"
    assert setup.state() == "RUNNING"

    updated = setup.pipes.update_pipe(Name=setup.pipe, RoleArn=setup.role_arn, DesiredState="STOPPED")
    assert updated["CurrentState"] == "UPDATING"
    described = setup.pipes.describe_pipe(Name=setup.pipe)
    assert (described["CurrentState"], described["DesiredState"]) == ("STOPPED", "STOPPED")
    listed = setup.pipes.list_pipes(NamePrefix=setup.pipe, CurrentState="STOPPED")["Pipes"]
    assert [pipe["Name"] for pipe in listed] == [setup.pipe]

    deleted = setup.pipes.delete_pipe(Name=setup.pipe)
    assert deleted["CurrentState"] == "DELETING"
    with pytest.raises(setup.pipes.exceptions.NotFoundException):
        setup.pipes.describe_pipe(Name=setup.pipe)


def test_pipe_created_stopped_delivers_nothing_until_started(setup):
    setup.create_pipe(desired_state="STOPPED")
    assert setup.state() == "STOPPED"
    setup.put("while-stopped")
    time.sleep(0.5)
    assert setup.kinesis_records() == []

    setup.pipes.start_pipe(Name=setup.pipe)
    assert orderids(setup.wait_for_records(1)) == ["while-stopped"]


def test_update_pipe_applies_new_target_parameters_and_keeps_starting_position(setup):
    setup.create_pipe(starting_position="LATEST")
    setup.put("order-1")
    setup.wait_for_records(1)

    setup.pipes.update_pipe(Name=setup.pipe, RoleArn=setup.role_arn,
                            SourceParameters={"DynamoDBStreamParameters": {"BatchSize": 10}},
                            TargetParameters={"KinesisStreamParameters": {"PartitionKey": "changed"}})
    setup.put("order-2")
    records = setup.wait_for_records(2)

    assert [(r["PartitionKey"], orderids([r])[0]) for r in records] == [("order-1", "order-1"),
                                                                          ("changed", "order-2")]
    described = setup.pipes.describe_pipe(Name=setup.pipe)
    assert described["CurrentState"] == "RUNNING"
    assert described["SourceParameters"]["DynamoDBStreamParameters"] == {"BatchSize": 10,
                                                                         "StartingPosition": "LATEST"}


def test_delete_pipe_stops_delivery_and_forgets_its_checkpoint(setup):
    setup.create_pipe(starting_position="TRIM_HORIZON")
    setup.put("order-1")
    setup.wait_for_records(1)

    setup.pipes.delete_pipe(Name=setup.pipe)
    setup.put("order-2")
    time.sleep(0.5)
    assert orderids(setup.kinesis_records()) == ["order-1"]

    setup.create_pipe(starting_position="TRIM_HORIZON")  # same name: starts afresh from TRIM_HORIZON
    assert orderids(setup.wait_for_records(3)) == ["order-1", "order-1", "order-2"]


def _invalid(setup: Setup, change: str) -> dict:
    arguments = setup.pipe_arguments()
    stream_parameters = arguments["SourceParameters"]["DynamoDBStreamParameters"]
    if change == "missing source stream":
        arguments["Source"] = setup.stream_arn.replace(setup.table, "no-such-table")
    elif change == "missing target stream":
        arguments["Target"] = setup.kinesis_arn.replace(setup.kinesis_name, "no-such-stream")
    elif change == "missing role":
        arguments["RoleArn"] = setup.role_arn.replace("pipe-role", "no-such-role")
    elif change == "batch size too large":
        stream_parameters["BatchSize"] = 10_001
    elif change == "batch size zero":
        stream_parameters["BatchSize"] = 0
    elif change == "window too long":
        stream_parameters["MaximumBatchingWindowInSeconds"] = 301
    elif change == "no starting position":
        del stream_parameters["StartingPosition"]
    elif change == "no partition key":
        del arguments["TargetParameters"]
    elif change == "source not a dynamodb stream":
        arguments["Source"] = "arn:aws:sqs:us-east-1:123456789012:orders"
    return arguments


@pytest.mark.parametrize("change, code, hint", [
    ("missing source stream", "NotFoundException", "StreamSpecification"),
    ("missing target stream", "NotFoundException", "kinesis.create_stream"),
    ("missing role", "NotFoundException", "iam.create_role"),
    ("batch size too large", "ValidationException", "BatchSize must be an integer from 1 to 10000"),
    ("batch size zero", "ValidationException", "BatchSize must be an integer from 1 to 10000"),
    ("window too long", "ValidationException", "MaximumBatchingWindowInSeconds must be an integer from 0 to 300"),
    ("no starting position", "ValidationException", "StartingPosition must be TRIM_HORIZON"),
    ("no partition key", "ValidationException", "PartitionKey is required"),
    ("source not a dynamodb stream", "ValidationException", "is not a DynamoDB stream ARN"),
])
def test_create_pipe_rejects_invalid_configuration_saying_what_to_fix(session, setup, change, code, hint):
    # Without client-side validation, so that the server's own checks answer.
    pipes = session.client("pipes", config=Config(parameter_validation=False))

    with pytest.raises(pipes.exceptions.ClientError) as raised:
        pipes.create_pipe(**_invalid(setup, change))

    assert raised.value.response["Error"]["Code"] == code
    assert hint in raised.value.response["Error"]["Message"]
    with pytest.raises(pipes.exceptions.NotFoundException):
        pipes.describe_pipe(Name=setup.pipe)


def test_update_pipe_rejects_out_of_range_batch_size_and_keeps_the_old_settings(setup):
    setup.create_pipe(BatchSize=5)

    with pytest.raises(setup.pipes.exceptions.ValidationException, match="BatchSize"):
        setup.pipes.update_pipe(Name=setup.pipe, RoleArn=setup.role_arn,
                                SourceParameters={"DynamoDBStreamParameters": {"BatchSize": 10_001}})

    described = setup.pipes.describe_pipe(Name=setup.pipe)
    assert described["SourceParameters"]["DynamoDBStreamParameters"]["BatchSize"] == 5
    assert described["CurrentState"] == "RUNNING"


class FlakyKinesis:
    """Refuses the first PutRecords call, as when the target stream is being re-created, then accepts all."""

    def __init__(self):
        self.calls: list[list[str]] = []

    def put_records(self, records: list[tuple[bytes, str]]) -> None:
        self.calls.append([key for _, key in records])
        if len(self.calls) == 1:
            raise kinesis_state.StreamNotFound("Kinesis stream k does not exist")


def test_delivery_retries_a_failed_call_and_sends_everything_in_order_in_calls_of_write_chunk(tmp_path):
    """A batch goes out in PutRecords calls of WRITE_CHUNK records, each a short hold of the GIL."""
    kinesis = FlakyKinesis()
    settings = PipeSettings(source="arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x",
                            target="arn:aws:kinesis:us-east-1:123456789012:stream/k", starting_position="LATEST",
                            batch_size=1200, batching_window_seconds=0, partition_key="k")
    poller = PipePoller(PipeId("123456789012", "us-east-1", "p"), settings, DynamoDBStreams(),
                        Checkpoints(tmp_path), kinesis)
    batch = [Entry(b"{}", f"key-{n}", str(n)) for n in range(1200)]

    assert poller.deliver(batch)

    full_calls, rest = divmod(1200, WRITE_CHUNK)
    assert [len(call) for call in kinesis.calls] == [WRITE_CHUNK] * (full_calls + 1) + ([rest] if rest else [])
    assert kinesis.calls[0] == kinesis.calls[1]
    assert [key for call in kinesis.calls[1:] for key in call] == [f"key-{n}" for n in range(1200)]


def test_a_put_records_call_never_holds_more_than_500_records_or_5_mib():
    """PutRecords' own limits, whatever chunk size is asked for."""
    many = [Entry(b"{}", f"key-{n}", str(n)) for n in range(1200)]
    assert [len(chunk) for chunk in _put_records_chunks(many, 10_000)] == [500, 500, 200]
    large = [Entry(b"x" * 1_000_000, "k", str(n)) for n in range(12)]
    assert [len(chunk) for chunk in _put_records_chunks(large, 500)] == [5, 5, 2]


def test_creating_a_pipe_that_exists_is_a_conflict(session):
    """AWS answers ConflictException (409) rather than silently replacing the pipe."""
    from workshop.config import Config
    from workshop.session import Connection
    from workshop.steps import dynamodb, kinesis, pipes as pipe_step

    conn = Connection(config=Config(participant=f"conflict{uuid.uuid4().hex[:6]}"), session=session,
                      endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    dynamodb.ensure_table(conn)
    kinesis.ensure_stream(conn)
    existing = pipe_step.ensure_pipe(conn)
    client = session.client("pipes")
    with pytest.raises(client.exceptions.ConflictException, match="already exists"):
        client.create_pipe(Name=existing["Name"], RoleArn=existing["RoleArn"], Source=existing["Source"],
                           Target=existing["Target"], SourceParameters=existing["SourceParameters"],
                           TargetParameters=existing["TargetParameters"])


class AcceptingKinesis:
    def put_records(self, records: list[tuple[bytes, str]]) -> None:
        pass


class CountingCheckpoints(Checkpoints):
    def __init__(self, directory):
        super().__init__(directory)
        self.saved: list[dict] = []

    def save(self, pipe_id, source, shards):
        self.saved.append(dict(shards))
        super().save(pipe_id, source, shards)


def test_checkpoint_is_saved_at_most_once_an_interval_while_sending_and_again_when_the_poller_stops(
        tmp_path, monkeypatch):
    """A save is a file write; batches sent since the last one are sent again after a crash, never lost."""
    monkeypatch.setattr(pipes, "CHECKPOINT_INTERVAL_SECONDS", 60)
    checkpoints = CountingCheckpoints(tmp_path)
    settings = PipeSettings(source="arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x",
                            target="arn:aws:kinesis:us-east-1:123456789012:stream/k", starting_position="LATEST",
                            batch_size=2, batching_window_seconds=0, partition_key="k")
    pipe_id = PipeId("123456789012", "us-east-1", "p")
    poller = PipePoller(pipe_id, settings, DynamoDBStreams(), checkpoints, AcceptingKinesis())
    buffer = pipes.ShardBuffer(read_after=None)
    poller._shards = {"shard-1": buffer}

    for first in (1, 5):  # two passes, two batches each
        for n in range(first, first + 4):
            buffer.add(Entry(b"{}", "k", str(n)), time.monotonic())
        poller._send_due_batches()
    assert checkpoints.saved == [{"shard-1": "4"}]  # the first pass saved; the second was within the interval

    poller.stop()
    poller._run()  # the thread's last act: it stops at once, saving what was delivered
    assert checkpoints.saved[-1] == {"shard-1": "8"}
    assert checkpoints.load(pipe_id, settings.source) == {"shard-1": "8"}
