"""The shard and stream inspectors, driven as a learner's clicks would drive them, against localcloud.

The Kinesis records are written here with put_records, shaped as the EventBridge Pipe writes them
(one DynamoDB stream record as JSON per Kinesis record, the orderid as partition key), so these
tests do not depend on the pipes engine.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from datetime import datetime, timezone

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from workshop.config import Config
from workshop.inspect import ShardInspector, StreamInspector
from workshop.session import Connection
from workshop.steps import dynamodb as dynamodb_step
from workshop.steps import kinesis as kinesis_step

ORDERS = 12
# Fixed order ids, so the split over the two shards is the same on every run: with these, each shard
# gets 9-10 of the 19 changes and two MODIFYs (the `written` fixture checks that).
FIRST_RUN, SECOND_RUN = "a1b2c3d4", "7d21e0c5"


def cdc_event(event_name: str, orderid: str, sequence: int, old: dict | None, new: dict | None) -> dict:
    """One DynamoDB stream record in the Pipes event shape (docs sample fields, stream ARN as source)."""
    change = {"ApproximateCreationDateTime": float(int(time.time())), "Keys": {"orderid": {"S": orderid}}}
    if new is not None:
        change["NewImage"] = new
    if old is not None:
        change["OldImage"] = old
    change.update(SequenceNumber=f"{sequence:021d}", SizeBytes=120, StreamViewType="NEW_AND_OLD_IMAGES")
    return {"eventID": uuid.uuid4().hex, "eventName": event_name, "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": change,
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t-orders/stream/2026-11-22T07:00:00.000"}


def order(orderid: str, quantity: int) -> dict:
    return {"orderid": {"S": orderid}, "product_name": {"S": "Charger"}, "quantity": {"N": str(quantity)},
            "price": {"N": "19.99"}}


def order_changes(prefix: str) -> list[dict]:
    """Per order an INSERT (quantity 2), then for every third a MODIFY to 4 and for every fourth a REMOVE."""
    events, sequence = [], 0
    for n in range(ORDERS):
        orderid = f"{prefix}-{n:06d}"
        sequence += 1
        events.append(cdc_event("INSERT", orderid, sequence, None, order(orderid, 2)))
        if n % 3 == 0:
            sequence += 1
            events.append(cdc_event("MODIFY", orderid, sequence, order(orderid, 2), order(orderid, 4)))
        if n % 4 == 0:
            sequence += 1
            events.append(cdc_event("REMOVE", orderid, sequence, order(orderid, 4 if n % 3 == 0 else 2), None))
    return events


def put_changes(conn: Connection, events: list[dict]) -> list[dict]:
    """Write the events as the pipe would; return put_records' result entries (ShardId, SequenceNumber)."""
    response = conn.client("kinesis").put_records(
        StreamName=conn.config.kinesis_stream_name,
        Records=[{"Data": json.dumps(e, separators=(",", ":")).encode(),
                  "PartitionKey": e["dynamodb"]["Keys"]["orderid"]["S"]} for e in events])
    assert response["FailedRecordCount"] == 0
    return response["Records"]


@pytest.fixture
def conn(session: boto3.Session) -> Connection:
    """A connection for a participant of its own, so tests never see each other's resources."""
    return Connection(config=Config(participant=f"si-{uuid.uuid4().hex[:10]}"), session=session)


@pytest.fixture
def written(conn: Connection) -> list[tuple[dict, dict]]:
    """The course's 2-shard stream holding the order changes: [(event, put_records entry)]."""
    kinesis_step.ensure_stream(conn)
    events = order_changes(FIRST_RUN)
    written = list(zip(events, put_changes(conn, events)))
    for shard_id in ("shardId-000000000000", "shardId-000000000001"):
        changes = [event["eventName"] for event, _ in in_shard(written, shard_id)]
        assert len(changes) >= 6 and "MODIFY" in changes, f"test data no longer covers {shard_id} well"
    return written


def in_shard(written: list[tuple[dict, dict]], shard_id: str) -> list[tuple[dict, dict]]:
    return [(event, entry) for event, entry in written if entry["ShardId"] == shard_id]


# ---- ShardInspector -------------------------------------------------------------------------------------------


def test_shards_are_listed_with_key_ranges_and_state(conn, written):
    inspector = ShardInspector(session=conn)
    assert inspector.stream.value == conn.config.kinesis_stream_name
    assert [label for label, _ in inspector.shard.options] == [
        "shardId-000000000000 - keys 0%-50% - OPEN", "shardId-000000000001 - keys 50%-100% - OPEN"]


def test_get_records_button_shows_decoded_cdc_columns(conn, written):
    inspector = ShardInspector(session=conn)
    inspector.shard.value = "shardId-000000000001"
    inspector.get_records_button.click()

    expected = in_shard(written, "shardId-000000000001")
    page = inspector.page
    assert inspector.error is None
    assert list(page["sequence_number"]) == [entry["SequenceNumber"] for _, entry in expected]
    assert list(page["event_name"]) == [event["eventName"] for event, _ in expected]
    assert list(page["orderid"]) == list(page["partition_key"])
    modified = page[page["event_name"] == "MODIFY"]
    assert len(modified) and set(modified["changed"]) == {"quantity: 2 -> 4"}
    assert page["arrival_time"].notna().all()
    assert "MillisBehindLatest" in inspector.message.value
    assert "quantity: 2 -&gt; 4" in inspector.page_view.value  # the table is escaped HTML


def test_next_page_continues_where_the_last_page_ended(conn, written):
    inspector = ShardInspector(session=conn)
    shard_id = inspector.shard.value
    inspector.limit.value = 3
    first = inspector.get_records()
    inspector.next_page_button.click()
    second = inspector.page

    expected = [entry["SequenceNumber"] for _, entry in in_shard(written, shard_id)]
    assert list(first["sequence_number"]) == expected[:3]
    assert list(second["sequence_number"]) == expected[3:6]
    assert f"3 records from {shard_id} (page 2, from TRIM_HORIZON)" in inspector.message.value
    assert not inspector.next_page_button.disabled
    inspector.shard.value = "shardId-000000000001"  # another shard: the old iterator no longer applies
    assert inspector.next_page_button.disabled


def test_at_timestamp_reads_only_records_written_after_the_time(conn, written):
    time.sleep(0.05)
    between = datetime.now(timezone.utc)
    time.sleep(0.05)
    later = put_changes(conn, order_changes(SECOND_RUN))
    inspector = ShardInspector(session=conn)
    inspector.position.value = "AT_TIMESTAMP"
    inspector.timestamp.value = between
    inspector.limit.value = 1000

    page = inspector.get_records()
    assert inspector.error is None
    expected = [entry["SequenceNumber"] for entry in later if entry["ShardId"] == inspector.shard.value]
    assert expected and list(page["sequence_number"]) == expected


def test_at_timestamp_without_a_time_shows_a_message_instead_of_raising(conn, written):
    inspector = ShardInspector(session=conn)
    inspector.position.value = "AT_TIMESTAMP"
    inspector.get_records_button.click()
    assert inspector.error.startswith("AT_TIMESTAMP needs a time")
    assert "AT_TIMESTAMP needs a time" in inspector.message.value
    assert inspector.page.empty
    assert list(inspector.page.columns)[:3] == ["sequence_number", "arrival_time", "partition_key"]


def test_missing_sequence_number_shows_a_message(conn, written):
    inspector = ShardInspector(session=conn)
    inspector.position.value = "AFTER_SEQUENCE_NUMBER"
    page = inspector.get_records()
    assert page.empty
    assert "AFTER_SEQUENCE_NUMBER needs a sequence number" in inspector.message.value


def test_at_sequence_number_starts_at_that_record(conn, written):
    inspector = ShardInspector(session=conn)
    expected = [entry["SequenceNumber"] for _, entry in in_shard(written, inspector.shard.value)]
    inspector.position.value = "AT_SEQUENCE_NUMBER"
    inspector.sequence_number.value = expected[2]
    assert list(inspector.get_records()["sequence_number"]) == expected[2:]
    inspector.position.value = "AFTER_SEQUENCE_NUMBER"
    assert list(inspector.get_records()["sequence_number"]) == expected[3:]


def test_missing_stream_shows_a_message_and_works_once_created(conn):
    inspector = ShardInspector(session=conn)
    assert "does not exist" in inspector.error and "notebook 03" in inspector.error
    assert "does not exist" in inspector.message.value
    assert inspector.get_records().empty

    kinesis_step.ensure_stream(conn)
    put_changes(conn, order_changes(FIRST_RUN))
    assert len(inspector.get_records()) > 0 and inspector.error is None


def test_next_page_before_get_records_explains_what_to_do(conn, written):
    inspector = ShardInspector(session=conn)
    inspector.next_page()
    assert "click 'Get records' first" in inspector.error


def test_selecting_a_row_shows_dynamodb_json_next_to_plain_values(conn, written):
    inspector = ShardInspector(session=conn)
    page = inspector.get_records()
    modify = int(page.index[page["event_name"] == "MODIFY"][0])
    inspector.rows.value = modify
    detail = inspector.detail.value
    assert "As stored (DynamoDB JSON)" in detail and "Plain values (TypeDeserializer)" in detail
    assert "&quot;quantity&quot;: {\n" in detail and "&quot;N&quot;: &quot;4&quot;" in detail
    assert "&quot;quantity&quot;: 4" in detail
    assert page.loc[modify, "orderid"] in detail


def test_partition_key_calculator_names_the_shard_put_records_chose(conn, written):
    inspector = ShardInspector(session=conn)
    for event, entry in written:
        key = event["dynamodb"]["Keys"]["orderid"]["S"]
        inspector.key_input.value = key
        assert entry["ShardId"] in inspector.key_result.value
        assert inspector.locate_key(key).shard_id == entry["ShardId"]
    assert len({entry["ShardId"] for _, entry in written}) == 2  # both shards were exercised


def test_count_chart_has_one_bar_per_shard_with_its_record_count(conn, written):
    inspector = ShardInspector(session=conn)
    inspector.count_button.click()

    expected = Counter(entry["ShardId"] for _, entry in written)
    assert inspector.shard_counts == {"shardId-000000000000": expected["shardId-000000000000"],
                                      "shardId-000000000001": expected["shardId-000000000001"]}
    bars = inspector.count_figure.axes[0].patches
    assert [bar.get_height() for bar in bars] == list(inspector.shard_counts.values())
    assert inspector.chart.outputs[0]["data"]["image/png"]


def test_count_stops_at_the_limit_per_shard(conn, written):
    inspector = ShardInspector(session=conn)
    assert set(inspector.count_per_shard(max_records_per_shard=2).values()) == {2}


def answer_once_with_error(client, operation: str, code: str, message: str) -> None:
    """The next `operation` call gets this AWS error instead of going to localcloud; later calls go through."""
    answers = [(AWSResponse("https://injected.invalid", 400, {}, None),
                {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}})]
    client.meta.events.register(f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}",
                                lambda **_: answers.pop() if answers else None)


def test_an_expired_iterator_on_next_page_says_to_start_again_and_get_records_does(conn, written):
    inspector = ShardInspector(session=conn)
    inspector.limit.value = 3
    first = inspector.get_records()
    # A Kinesis iterator expires 5 minutes after it is issued. localcloud's never expire, so Kinesis's answer
    # to an old iterator is given to the next GetRecords call instead.
    answer_once_with_error(conn.client("kinesis"), "GetRecords", "ExpiredIteratorException",
                           "Iterator expired. The iterator was created at time ... while right now it is ...")
    inspector.next_page_button.click()
    assert inspector.error.startswith("The shard iterator expired")
    assert "Click &#x27;Get records&#x27; to start again" in inspector.message.value
    assert inspector.next_page_button.disabled
    assert list(inspector.page["sequence_number"]) == list(first["sequence_number"])   # the page shown stays

    inspector.get_records_button.click()
    assert inspector.error is None and list(inspector.page["sequence_number"]) == list(first["sequence_number"])


def test_without_localcloud_the_inspector_shows_what_to_do_instead_of_raising(localcloud_cannot_start):
    inspector = ShardInspector()
    assert "could not be started" in inspector.error and "make up" in inspector.error
    assert "make up" in inspector.message.value
    assert inspector.get_records_button.disabled and inspector.count_button.disabled
    assert inspector.get_records().empty and "make up" in inspector.error
    assert inspector.count_per_shard() == {}


def test_without_credentials_the_inspector_says_how_to_set_them_up(no_credentials):
    inspector = ShardInspector()
    assert inspector.error.startswith("No AWS credentials were found") and "aws configure" in inspector.error
    assert "No AWS credentials" in inspector.message.value
    assert inspector.get_records().empty


# ---- StreamInspector ---------------------------------------------------------------------------------------------


def test_stream_inspector_shows_insert_modify_remove_with_their_images(conn):
    dynamodb_step.ensure_table(conn)
    ddb, table = conn.client("dynamodb"), conn.config.table_name
    ddb.put_item(TableName=table, Item=order("o-1", 2))
    ddb.update_item(TableName=table, Key={"orderid": {"S": "o-1"}}, UpdateExpression="SET quantity = :q",
                    ExpressionAttributeValues={":q": {"N": "4"}})
    ddb.delete_item(TableName=table, Key={"orderid": {"S": "o-1"}})

    inspector = StreamInspector(session=conn)
    assert inspector.table.value == table and len(inspector.shard.options) == 1
    page = inspector.get_records()
    assert inspector.error is None
    assert list(page["event_name"]) == ["INSERT", "MODIFY", "REMOVE"]
    assert list(page["images"]) == ["NewImage", "NewImage + OldImage", "OldImage"]
    assert list(page["changed"]) == ["", "quantity: 2 -> 4", ""]
    assert set(page["orderid"]) == {"o-1"} and set(page["keys"]) == {"orderid=o-1"}

    inspector.position.value = "AFTER_SEQUENCE_NUMBER"
    inspector.sequence_number.value = page.loc[0, "sequence_number"]
    assert list(inspector.get_records()["event_name"]) == ["MODIFY", "REMOVE"]
    inspector.rows.value = 1
    assert "OldImage" in inspector.detail.value and "&quot;S&quot;: &quot;o-1&quot;" in inspector.detail.value


def test_stream_inspector_explains_a_missing_table(conn):
    inspector = StreamInspector(session=conn)
    assert inspector.error.startswith(f"Table {conn.config.table_name} does not exist")
    assert "notebook 01" in inspector.message.value


def test_without_localcloud_the_stream_inspector_shows_what_to_do_instead_of_raising(localcloud_cannot_start):
    inspector = StreamInspector()
    assert "could not be started" in inspector.error and "make up" in inspector.message.value
    assert inspector.get_records_button.disabled
    assert inspector.get_records().empty
