"""Decoding stream records into rows, partition keys into shards, and problems into sentences: no AWS needed."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from workshop.inspect import records
from workshop.inspect.hashing import hash_key, key_space_share, shard_for_key
from workshop.inspect.streams import InspectError, Page, ShardTail, check_position
from workshop.inspect.ui import readable_error

KEYS = {"orderid": {"S": "3714"}}
OLD = {"orderid": {"S": "3714"}, "product_name": {"S": "Charger"}, "quantity": {"N": "2"}, "price": {"N": "19.99"}}
NEW = {"orderid": {"S": "3714"}, "product_name": {"S": "Charger"}, "quantity": {"N": "4"}, "price": {"N": "19.99"}}
CREATED = datetime(2026, 11, 22, 7, 14, 47, tzinfo=timezone.utc)


def stream_record(event_name: str, *, old=None, new=None, created=CREATED, sequence="100000000000000000001"):
    """A DynamoDB stream record as dynamodbstreams.get_records returns it (times as datetimes)."""
    change = {"ApproximateCreationDateTime": created, "Keys": KEYS, "SequenceNumber": sequence, "SizeBytes": 85,
              "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if new is not None:
        change["NewImage"] = new
    if old is not None:
        change["OldImage"] = old
    return {"eventID": "1b7d3f5a", "eventName": event_name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1", "dynamodb": change}


def kinesis_record(data: bytes, partition_key: str = "3714"):
    """A Kinesis record as kinesis.get_records returns it (Data already base64-decoded to bytes)."""
    return {"SequenceNumber": "49610000000000000000000000000000000000000000000000000002",
            "ApproximateArrivalTimestamp": datetime(2026, 11, 22, 8, 14, 48, 120000,
                                                    tzinfo=timezone.utc).astimezone(),
            "Data": data, "PartitionKey": partition_key}


def pipes_json(record: dict) -> bytes:
    """The stream record the way the pipe writes it to Kinesis: JSON, with the time as epoch seconds."""
    change = {**record["dynamodb"], "ApproximateCreationDateTime": record["dynamodb"]["ApproximateCreationDateTime"]
              .timestamp()}
    return json.dumps({**record, "dynamodb": change,
                       "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x"}).encode()


# ---- DynamoDB stream records -----------------------------------------------------------------------------


def test_modify_row_lists_the_attributes_that_changed():
    row = records.stream_record_row(stream_record("MODIFY", old=OLD, new=NEW))
    assert row["event_name"] == "MODIFY"
    assert row["orderid"] == "3714"
    assert row["changed"] == "quantity: 2 -> 4"
    assert row["images"] == "NewImage + OldImage"
    assert row["created_time"] == CREATED


def test_insert_row_has_the_new_image_and_no_changed_fields():
    row = records.stream_record_row(stream_record("INSERT", new=NEW))
    assert (row["images"], row["changed"], row["keys"]) == ("NewImage", "", "orderid=3714")


def test_remove_row_has_only_the_old_image():
    row = records.stream_record_row(stream_record("REMOVE", old=OLD))
    assert (row["event_name"], row["images"], row["orderid"]) == ("REMOVE", "OldImage", "3714")


def test_keys_only_record_says_so():
    assert records.stream_record_row(stream_record("REMOVE"))["images"] == "keys only"


def test_added_and_dropped_attributes_show_as_absent():
    new = {**NEW, "quantity": OLD["quantity"], "discount": {"N": "5"}}
    del new["price"]
    changes = records.changed_fields(records.plain_image(OLD), records.plain_image(new))
    assert changes == ["discount: (absent) -> 5", "price: 19.99 -> (absent)"]


def test_numbers_that_are_equal_in_value_are_not_changes():
    same = {**NEW, "quantity": {"N": "4.0"}}
    assert records.changed_fields(records.plain_image(NEW), records.plain_image(same)) == []


def test_plain_stream_record_decodes_keys_and_both_images():
    plain = records.plain_stream_record(stream_record("MODIFY", old=OLD, new=NEW))
    assert plain["dynamodb"]["Keys"] == {"orderid": "3714"}
    assert plain["dynamodb"]["NewImage"]["quantity"] == Decimal("4")
    assert plain["dynamodb"]["OldImage"]["price"] == Decimal("19.99")
    assert plain["dynamodb"]["SequenceNumber"] == "100000000000000000001"


# ---- Kinesis records --------------------------------------------------------------------------------------


def test_kinesis_row_decodes_the_change_the_pipe_wrote():
    row = records.kinesis_record_row(kinesis_record(pipes_json(stream_record("MODIFY", old=OLD, new=NEW))))
    assert (row["event_name"], row["orderid"], row["changed"]) == ("MODIFY", "3714", "quantity: 2 -> 4")
    assert row["data"] == ""
    assert row["partition_key"] == "3714"
    assert row["arrival_time"] == datetime(2026, 11, 22, 8, 14, 48, 120000, tzinfo=timezone.utc)
    assert row["arrival_time"].tzinfo == timezone.utc


def test_kinesis_row_shows_other_payloads_as_text():
    row = records.kinesis_record_row(kinesis_record(b"hello " * 40, partition_key="k"))
    assert row["event_name"] is None and row["orderid"] is None
    assert row["data"].startswith("hello hello") and row["data"].endswith("...")
    assert len(row["data"]) == records.DATA_PREVIEW_CHARS


def test_kinesis_row_shows_hand_written_json_with_plain_values_as_text():
    hand_written = json.dumps({"eventName": "INSERT", "dynamodb": {"NewImage": {"orderid": "3714"}}}).encode()
    row = records.kinesis_record_row(kinesis_record(hand_written))
    assert row["event_name"] is None and '"orderid": "3714"' in row["data"]
    typed, plain = records.kinesis_record_detail(kinesis_record(hand_written))
    assert typed == plain and typed["Data"]["dynamodb"]["NewImage"] == {"orderid": "3714"}


def test_kinesis_row_survives_bytes_that_are_not_utf8():
    assert records.kinesis_record_row(kinesis_record(b"\xff\xfe{"))["data"].endswith("{")


def test_kinesis_detail_pairs_dynamodb_json_with_plain_values():
    typed, plain = records.kinesis_record_detail(kinesis_record(pipes_json(stream_record("INSERT", new=NEW))))
    assert typed["Data"]["dynamodb"]["NewImage"]["quantity"] == {"N": "4"}
    assert plain["Data"]["dynamodb"]["NewImage"]["quantity"] == Decimal("4")
    assert typed["PartitionKey"] == plain["PartitionKey"] == "3714"


def test_pipes_epoch_seconds_become_the_same_time_as_a_datetime():
    from_pipes = json.loads(pipes_json(stream_record("INSERT", new=NEW)))
    assert records.stream_record_row(from_pipes)["created_time"] == CREATED


def test_json_text_writes_decimals_as_numbers_and_times_as_iso():
    image = records.plain_image({"price": {"N": "19.99"}, "quantity": {"N": "4"}, "b": {"B": b"\x00"},
                                 "tags": {"SS": ["b", "a"]}})
    text = records.to_json_text({**image, "at": CREATED})
    assert json.loads(text) == {"price": 19.99, "quantity": 4, "b": "AA==", "tags": ["a", "b"],
                                "at": "2026-11-22T07:14:47+00:00"}


# ---- partition key -> shard ----------------------------------------------------------------------------------


def shard(shard_id: str, start: int, end: int, closed: bool = False) -> dict:
    sequence_range = {"StartingSequenceNumber": "1", **({"EndingSequenceNumber": "9"} if closed else {})}
    return {"ShardId": shard_id, "HashKeyRange": {"StartingHashKey": str(start), "EndingHashKey": str(end)},
            "SequenceNumberRange": sequence_range}


HALF = 2**127
TWO_SHARDS = [shard("shardId-000000000000", 0, HALF - 1), shard("shardId-000000000001", HALF, 2**128 - 1)]


def test_hash_key_is_the_md5_digest_read_as_a_big_endian_integer():
    assert hash_key("3714") == int(hashlib.md5(b"3714").hexdigest(), 16)
    assert hash_key("a") == 0x0CC175B9C0F1B6A831C399E269772661


def test_key_goes_to_the_shard_whose_range_holds_its_hash():
    low_key = next(key for key in map(str, range(100)) if hash_key(key) < HALF)
    high_key = next(key for key in map(str, range(100)) if hash_key(key) >= HALF)
    assert shard_for_key(low_key, TWO_SHARDS)["ShardId"] == "shardId-000000000000"
    assert shard_for_key(high_key, TWO_SHARDS)["ShardId"] == "shardId-000000000001"


def test_ranges_include_their_ending_hash_key():
    key = "3714"
    exact = [shard("shardId-000000000007", 0, hash_key(key)),
             shard("shardId-000000000008", hash_key(key) + 1, 2**128 - 1)]
    assert shard_for_key(key, exact)["ShardId"] == "shardId-000000000007"


def test_closed_shards_take_no_new_records():
    resharded = [shard("shardId-000000000000", 0, 2**128 - 1, closed=True), *TWO_SHARDS]
    assert shard_for_key("3714", resharded)["ShardId"] != "shardId-000000000000"


def test_partition_keys_must_have_1_to_256_characters():
    with pytest.raises(ValueError, match="1-256 characters"):
        shard_for_key("x" * 257, TWO_SHARDS)


def test_key_space_share_reads_as_percentages():
    assert [key_space_share(s) for s in TWO_SHARDS] == ["0%-50%", "50%-100%"]
    assert key_space_share(shard("s", 0, 2**128 // 3 - 1)) == "0%-33.3%"


# ---- positions, counting, messages ------------------------------------------------------------------------------


def test_sequence_positions_need_a_sequence_number():
    positions = ("TRIM_HORIZON", "AT_SEQUENCE_NUMBER", "AT_TIMESTAMP")
    with pytest.raises(InspectError, match="AT_SEQUENCE_NUMBER needs a sequence number"):
        check_position("AT_SEQUENCE_NUMBER", positions, sequence_number="  ")
    with pytest.raises(InspectError, match="AT_TIMESTAMP needs a time"):
        check_position("AT_TIMESTAMP", positions)
    check_position("AT_SEQUENCE_NUMBER", positions, sequence_number="42")


class ExpiringStream:
    """A one-shard stream of 5 records whose first iterator expires after one page of 2."""

    def __init__(self) -> None:
        self.records = [{"SequenceNumber": str(n)} for n in range(1, 6)]
        self.reads = 0
        self.iterator_requests: list[tuple[str, str]] = []

    def shards(self):
        return [{"ShardId": "shardId-0", "SequenceNumberRange": {"StartingSequenceNumber": "1"}}]

    def iterator(self, shard_id, position, sequence_number="", timestamp=None):
        self.iterator_requests.append((position, sequence_number))
        return "0" if position == "TRIM_HORIZON" else sequence_number

    def read(self, iterator, limit):
        self.reads += 1
        if self.reads == 2:
            raise ClientError({"Error": {"Code": "ExpiredIteratorException", "Message": "expired"}}, "GetRecords")
        start = int(iterator)
        page = self.records[start:start + min(limit, 2)]
        return Page(page, str(start + len(page)), 0)

    @staticmethod
    def sequence_number(record):
        return record["SequenceNumber"]


def test_shard_tail_resumes_after_the_last_counted_record_when_its_iterator_expires():
    stream = ExpiringStream()
    tail = ShardTail(stream)
    assert tail.poll(max_records_per_shard=100) == {"shardId-0": 5}
    assert stream.iterator_requests == [("TRIM_HORIZON", ""), ("AFTER_SEQUENCE_NUMBER", "2")]


def test_shard_tail_reads_at_most_the_budget_per_poll_and_goes_on_next_time():
    tail = ShardTail(ExpiringStream())
    assert tail.poll(max_records_per_shard=2) == {"shardId-0": 2}
    assert tail.poll(max_records_per_shard=2) == {"shardId-0": 4}
    assert tail.total == 4


def test_expired_iterator_message_says_how_to_start_again():
    error = ClientError({"Error": {"Code": "ExpiredIteratorException", "Message": "Iterator expired"}}, "GetRecords")
    assert "Click 'Get records'" in readable_error(error, "Kinesis stream s", "")


def test_throttling_message_explains_the_shard_read_limit():
    error = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}},
                        "GetRecords")
    message = readable_error(error, "Kinesis stream s", "")
    assert "throttling reads of Kinesis stream s" in message and "5 reads a second" in message
