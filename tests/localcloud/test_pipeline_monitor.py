"""PipelineMonitor against localcloud: its counts match what each stage holds, and it stops.

Each stage is filled by hand, as the pipeline would fill it: items in the table (so its stream has
the changes), the stream's records copied into Kinesis in the Pipes event shape, and JSON-line
objects under orders/ and errors/ as Firehose writes them. No engine has to run.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from workshop.config import Config
from workshop.inspect import PipelineMonitor
from workshop.session import Connection
from workshop.steps import athena as athena_step
from workshop.steps import dynamodb as dynamodb_step
from workshop.steps import kinesis as kinesis_step
from workshop.steps import s3 as s3_step

ORDERS, UPDATES, DELETES = 8, 3, 2


@pytest.fixture
def conn(session: boto3.Session) -> Connection:
    return Connection(config=Config(participant=f"pm-{uuid.uuid4().hex[:10]}"), session=session)


def write_orders(conn: Connection) -> None:
    """8 inserts, 3 updates, 2 deletes: 6 items stay, and the stream holds 13 changes."""
    ddb, table = conn.client("dynamodb"), conn.config.table_name
    for n in range(ORDERS):
        ddb.put_item(TableName=table, Item={"orderid": {"S": f"o-{n}"}, "product_name": {"S": "Phone"},
                                            "quantity": {"N": "1"}, "price": {"N": "199.00"}})
    for n in range(UPDATES):
        ddb.update_item(TableName=table, Key={"orderid": {"S": f"o-{n}"}}, UpdateExpression="SET quantity = :q",
                        ExpressionAttributeValues={":q": {"N": "3"}})
    for n in range(ORDERS - DELETES, ORDERS):
        ddb.delete_item(TableName=table, Key={"orderid": {"S": f"o-{n}"}})


def copy_stream_to_kinesis(conn: Connection) -> int:
    """Do what the pipe does: every stream record as JSON into Kinesis, keyed by orderid. Returns the count."""
    streams = conn.client("dynamodbstreams")
    stream_arn = dynamodb_step.stream_arn(conn)
    entries = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        for record in streams.get_records(ShardIterator=iterator)["Records"]:
            change = {**record["dynamodb"],
                      "ApproximateCreationDateTime": record["dynamodb"]["ApproximateCreationDateTime"].timestamp()}
            event = {**record, "dynamodb": change, "eventSourceARN": stream_arn}
            entries.append({"Data": json.dumps(event).encode(), "PartitionKey": change["Keys"]["orderid"]["S"]})
    conn.client("kinesis").put_records(StreamName=conn.config.kinesis_stream_name, Records=entries)
    return len(entries)


def put_lines(conn: Connection, key: str, lines: int, event_time: datetime) -> None:
    """One object of JSON lines, shaped like the transform Lambda's output."""
    body = "".join(json.dumps({"orderid": f"o-{n}", "event_name": "INSERT",
                               "event_time": event_time.strftime("%Y-%m-%dT%H:%M:%SZ"), "event_id": uuid.uuid4().hex})
                   + "\n" for n in range(lines))
    conn.client("s3").put_object(Bucket=conn.bucket, Key=key, Body=body.encode())


@pytest.fixture
def filled(conn: Connection) -> dict[str, int]:
    """Every stage holds something; returns what a correct monitor must count."""
    dynamodb_step.ensure_table(conn)
    kinesis_step.ensure_stream(conn)
    s3_step.ensure_bucket(conn)
    write_orders(conn)
    kinesis_records = copy_stream_to_kinesis(conn)
    recent = datetime.now(timezone.utc) - timedelta(seconds=30)
    put_lines(conn, "orders/2026/11/22/07/o-1-2026-11-22-07-00-00-a.json", 3, recent - timedelta(seconds=20))
    put_lines(conn, "orders/2026/11/22/07/o-1-2026-11-22-07-00-10-b.json", 4, recent)
    conn.client("s3").put_object(Bucket=conn.bucket, Key="errors/processing-failed/2026/11/22/07/e-1",
                                 Body=b'{"errorCode":"Lambda.FunctionError","rawData":"e30="}\n{"errorCode":"x"}\n')
    return {"table_items": ORDERS - DELETES, "stream_records": ORDERS + UPDATES + DELETES,
            "kinesis_records": kinesis_records, "s3_objects": 2, "s3_records": 7, "failed_objects": 1,
            "failed_records": 2}


def wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def test_snapshot_counts_match_what_each_stage_holds_and_stop_ends_the_timer(conn, filled):
    monitor = PipelineMonitor(session=conn, interval=0.2)
    monitor.start()
    try:
        wait_for(lambda: all(monitor.snapshot()[key] == value for key, value in filled.items()))
    finally:
        monitor.stop()

    snapshot = monitor.snapshot()
    assert snapshot["problems"] == {}
    assert sum(snapshot["kinesis_records_per_shard"].values()) == filled["kinesis_records"]
    assert len(snapshot["kinesis_records_per_shard"]) == 2
    assert not monitor.running and monitor.stop_button.disabled and not monitor.start_button.disabled
    assert "Stopped" in monitor.status.value
    assert monitor.chart.outputs[0]["data"]["image/png"]
    assert "<b>7</b>" in monitor.stages.value  # the delivered lines, as the widget shows them


def test_stop_button_stops_the_timer(conn, filled):
    monitor = PipelineMonitor(session=conn, interval=0.1)
    monitor.start_button.click()
    assert monitor.running
    monitor.stop_button.click()
    assert not monitor.running


def test_monitor_stops_by_itself_after_max_duration(conn, filled):
    monitor = PipelineMonitor(session=conn, interval=0.1, max_duration=0.3)
    monitor.start()
    wait_for(lambda: not monitor.running, timeout=5)
    assert "Stopped by itself" in monitor.status.value
    assert monitor.failure is None


def test_counts_grow_with_each_tick_and_each_object_is_read_once(conn, filled):
    monitor = PipelineMonitor(session=conn)
    assert monitor.refresh()["s3_records"] == 7

    put_lines(conn, "orders/2026/11/22/08/o-1-2026-11-22-08-00-00-c.json", 5, datetime.now(timezone.utc))
    # An object already counted is not read again (Firehose never rewrites one), even if it changed.
    put_lines(conn, "orders/2026/11/22/07/o-1-2026-11-22-07-00-00-a.json", 100, datetime.now(timezone.utc))
    conn.client("dynamodb").put_item(TableName=conn.config.table_name, Item={"orderid": {"S": "late"}})

    snapshot = monitor.refresh()
    assert (snapshot["s3_objects"], snapshot["s3_records"]) == (3, 12)
    assert (snapshot["table_items"], snapshot["stream_records"]) == (filled["table_items"] + 1,
                                                                     filled["stream_records"] + 1)


def test_freshness_is_the_age_of_the_newest_delivered_change(conn, filled):
    snapshot = PipelineMonitor(session=conn).refresh()
    assert 30 <= snapshot["freshness_seconds"] < 60
    # The newest object was stored just now, holding a change from ~30 s ago.
    assert 29 <= snapshot["delivery_delay_seconds"] < 60


def test_missing_resources_are_reported_per_stage_without_raising(conn):
    snapshot = PipelineMonitor(session=conn).snapshot()
    assert set(snapshot["problems"]) == {"table", "stream", "kinesis", "s3"}
    stream = conn.config.kinesis_stream_name
    assert snapshot["problems"]["kinesis"].startswith(f"Kinesis stream {stream} does not exist")
    assert all("course.start('09')" in message for message in snapshot["problems"].values())
    assert snapshot["table_items"] is None and snapshot["s3_records"] is None


def create_orders_table(conn: Connection) -> None:
    """The Glue table the crawler would make over orders/ (JSON lines, OpenX SerDe)."""
    glue, database = conn.client("glue"), conn.config.glue_database
    glue.create_database(DatabaseInput={"Name": database})
    columns = [{"Name": name, "Type": "string"} for name in ("orderid", "event_name", "event_time", "event_id")]
    glue.create_table(DatabaseName=database, TableInput={
        "Name": conn.config.glue_table, "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "json"},
        "StorageDescriptor": {
            "Columns": columns, "Location": f"s3://{conn.bucket}/orders/",
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"}}})


def test_athena_button_counts_the_delivered_rows_only_when_pressed(conn, filled):
    athena_step.ensure_workgroup(conn)
    create_orders_table(conn)
    monitor = PipelineMonitor(session=conn)
    assert monitor.refresh()["athena_rows"] is None

    monitor.athena_button.click()
    assert monitor.snapshot()["athena_rows"] == filled["s3_records"]
    assert f"{filled['s3_records']} rows" in monitor.athena_result.value
    assert monitor.refresh()["athena_rows"] == filled["s3_records"]  # kept until pressed again


def test_athena_count_without_a_crawled_table_explains_what_to_run(conn):
    s3_step.ensure_bucket(conn)
    athena_step.ensure_workgroup(conn)
    monitor = PipelineMonitor(session=conn)
    assert monitor.count_athena_rows() is None
    assert monitor.snapshot()["athena_rows"] is None
    assert "could not count the rows" in monitor.athena_result.value
    assert "crawler (notebook 07)" in monitor.athena_result.value


def test_without_credentials_the_monitor_shows_how_to_set_them_up_instead_of_raising(no_credentials):
    monitor = PipelineMonitor()
    assert monitor.problem.startswith("No AWS credentials were found")
    assert "No AWS credentials" in monitor.status.value
    assert monitor.start_button.disabled and monitor.athena_button.disabled
    monitor.start()
    assert not monitor.running
    snapshot = monitor.snapshot()
    assert snapshot["table_items"] is None and snapshot["problems"]["s3"] == monitor.problem
    assert "No AWS credentials" in monitor.stages.value
    assert monitor.count_athena_rows() is None and "No AWS credentials" in monitor.athena_result.value


def test_without_localcloud_the_monitor_shows_what_to_do_instead_of_raising(localcloud_cannot_start):
    monitor = PipelineMonitor()
    assert "could not be started" in monitor.problem and "make up" in monitor.status.value
    assert monitor.refresh()["problems"]["table"] == monitor.problem
    assert repr(monitor) == "PipelineMonitor(participant=None, interval=2)"
