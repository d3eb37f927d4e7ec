"""Kinesis and DynamoDB Streams behind one small interface: list shards, get an iterator, read a page.

The two APIs are near twins: both have shards, shard iterators and GetRecords pages with a
NextShardIterator. They differ in names (StreamName vs StreamArn, StartingSequenceNumber vs
SequenceNumber), in limits (10,000 vs 1,000 records a page) and in positions (only Kinesis has
AT_TIMESTAMP). `KinesisShards` and `DynamoDBStreamShards` hide those differences, so the inspectors
and the monitor are written once. `ShardTail` counts a stream's records, reading on from where it
stopped last time, which is what keeps the monitor cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

TRIM_HORIZON, LATEST, AT_TIMESTAMP = "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"
AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER = "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"
SEQUENCE_POSITIONS = (AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER)


class InspectError(Exception):
    """A problem the learner can fix, such as a missing input; the message says what to do."""


@dataclass
class Page:
    """One GetRecords answer: the records, where to read on (None at the end of a closed shard), lag."""

    records: list[dict[str, Any]]
    next_iterator: str | None
    millis_behind_latest: int | None = None


def check_position(position: str, positions: Sequence[str], sequence_number: str = "",
                   timestamp: datetime | None = None) -> None:
    """Raise InspectError when a position is unknown or lacks the sequence number or time it needs."""
    if position not in positions:
        raise InspectError(f"{position!r} is not a starting position here; choose one of {', '.join(positions)}.")
    if position in SEQUENCE_POSITIONS and not sequence_number.strip():
        raise InspectError(f"{position} needs a sequence number: copy one from the sequence_number column "
                           "of a page you read, or choose TRIM_HORIZON.")
    if position == AT_TIMESTAMP and timestamp is None:
        raise InspectError("AT_TIMESTAMP needs a time: pick one in the timestamp field, or choose TRIM_HORIZON.")


class KinesisShards:
    """The shards of one Kinesis data stream."""

    positions = (TRIM_HORIZON, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER)
    max_page = 10_000  # GetRecords returns at most 10,000 records

    def __init__(self, client: Any, stream_name: str) -> None:
        self.client = client
        self.stream_name = stream_name
        self.what = f"Kinesis stream {stream_name}"

    def shards(self) -> list[dict[str, Any]]:
        """Every shard (open and closed), as ListShards describes them, parents before children."""
        pages = self.client.get_paginator("list_shards").paginate(StreamName=self.stream_name)
        return [shard for page in pages for shard in page["Shards"]]

    def iterator(self, shard_id: str, position: str, sequence_number: str = "",
                 timestamp: datetime | None = None) -> str:
        check_position(position, self.positions, sequence_number, timestamp)
        request: dict[str, Any] = {"StreamName": self.stream_name, "ShardId": shard_id, "ShardIteratorType": position}
        if position in SEQUENCE_POSITIONS:
            request["StartingSequenceNumber"] = sequence_number.strip()
        if position == AT_TIMESTAMP:
            request["Timestamp"] = timestamp
        return self.client.get_shard_iterator(**request)["ShardIterator"]

    def read(self, iterator: str, limit: int) -> Page:
        response = self.client.get_records(ShardIterator=iterator, Limit=min(limit, self.max_page))
        return Page(response["Records"], response.get("NextShardIterator"), response.get("MillisBehindLatest"))

    @staticmethod
    def sequence_number(record: dict[str, Any]) -> str:
        return record["SequenceNumber"]


class DynamoDBStreamShards:
    """The shards of one DynamoDB stream (a table's change log, found through its LatestStreamArn)."""

    positions = (TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER)
    max_page = 1_000  # GetRecords returns at most 1,000 records

    def __init__(self, client: Any, stream_arn: str, table_name: str) -> None:
        self.client = client
        self.stream_arn = stream_arn
        self.what = f"the stream of table {table_name}"

    @classmethod
    def of_table(cls, dynamodb: Any, streams: Any, table_name: str) -> "DynamoDBStreamShards":
        """The table's current stream; InspectError when the table has streams turned off."""
        table = dynamodb.describe_table(TableName=table_name)["Table"]
        if "LatestStreamArn" not in table or not table.get("StreamSpecification", {}).get("StreamEnabled"):
            raise InspectError(f"Table {table_name} has no stream. Turn one on in notebook 01 "
                               "(StreamSpecification with NEW_AND_OLD_IMAGES), or run course.start('02').")
        return cls(streams, table["LatestStreamArn"], table_name)

    def shards(self) -> list[dict[str, Any]]:
        """Every shard of the stream; DynamoDB closes shards and opens new ones every few hours."""
        shards, request = [], {"StreamArn": self.stream_arn}
        while True:
            description = self.client.describe_stream(**request)["StreamDescription"]
            shards.extend(description["Shards"])
            if "LastEvaluatedShardId" not in description:
                return shards
            request["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]

    def iterator(self, shard_id: str, position: str, sequence_number: str = "",
                 timestamp: datetime | None = None) -> str:
        check_position(position, self.positions, sequence_number, timestamp)
        request: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard_id, "ShardIteratorType": position}
        if position in SEQUENCE_POSITIONS:
            request["SequenceNumber"] = sequence_number.strip()
        return self.client.get_shard_iterator(**request)["ShardIterator"]

    def read(self, iterator: str, limit: int) -> Page:
        response = self.client.get_records(ShardIterator=iterator, Limit=min(limit, self.max_page))
        return Page(response["Records"], response.get("NextShardIterator"))

    @staticmethod
    def sequence_number(record: dict[str, Any]) -> str:
        return record["dynamodb"]["SequenceNumber"]


StreamShards = KinesisShards | DynamoDBStreamShards


@dataclass
class _ShardProgress:
    last_sequence_number: str = ""
    iterator: str | None = None
    finished: bool = False  # a closed shard read to its end


@dataclass
class ShardTail:
    """Counts every shard's records from TRIM_HORIZON, each poll reading only what is new since the last.

    A poll reads each shard until it is caught up (an empty page with no lag), the shard ends, or
    max_records_per_shard were read in this poll; the next poll goes on from there. An expired
    iterator is replaced by one AFTER the last record counted, so nothing is counted twice.
    """

    stream: StreamShards
    counts: dict[str, int] = field(default_factory=dict)
    _progress: dict[str, _ShardProgress] = field(default_factory=dict)

    MAX_CALLS_PER_SHARD = 10  # per poll: bounds the time a poll takes when a shard returns empty pages

    def poll(self, max_records_per_shard: int) -> dict[str, int]:
        """Read on in every shard; return the counts so far per shard id (shards in ListShards order)."""
        for shard in self.stream.shards():
            shard_id = shard["ShardId"]
            self.counts.setdefault(shard_id, 0)
            progress = self._progress.setdefault(shard_id, _ShardProgress())
            if not progress.finished:
                self._read_shard(shard_id, progress, max_records_per_shard)
        return dict(self.counts)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def _read_shard(self, shard_id: str, progress: _ShardProgress, budget: int) -> None:
        read = 0
        for _ in range(self.MAX_CALLS_PER_SHARD):
            if progress.iterator is None:
                progress.iterator = self._resume(shard_id, progress)
            try:
                page = self.stream.read(progress.iterator, budget - read)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ExpiredIteratorException":
                    raise
                progress.iterator = None
                continue
            if page.records:
                progress.last_sequence_number = self.stream.sequence_number(page.records[-1])
            read += len(page.records)
            self.counts[shard_id] += len(page.records)
            progress.iterator = page.next_iterator
            if page.next_iterator is None:  # only a closed shard read to its end has no next iterator
                progress.finished = True
                return
            caught_up = not page.records and not page.millis_behind_latest
            if caught_up or read >= budget:
                return

    def _resume(self, shard_id: str, progress: _ShardProgress) -> str:
        if progress.last_sequence_number:
            return self.stream.iterator(shard_id, AFTER_SEQUENCE_NUMBER, progress.last_sequence_number)
        return self.stream.iterator(shard_id, TRIM_HORIZON)
