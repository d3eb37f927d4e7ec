"""Kinesis shard records in moto's backend, read the way GetRecords would return them, and written the way
PutRecords writes them.

Why not GetRecords over HTTP: measured on this 2-core machine, GetRecords costs about 130 us per record and
13 ms per empty poll (about 7,700 records/s for one reader), and moto scans a shard's whole history on every
call. Firehose must keep up with ~3,000 records/s while polling every shard several times a second, next to
the Pipe and the Lambda workers. Reading the backend costs microseconds, and moto numbers a shard's records
1, 2, 3, ... (tests/localcloud/test_moto_contract_firehose.py checks that), so the next records after a
checkpoint are found by key instead of by a scan.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from moto.backends import get_backend
from moto.core.exceptions import JsonRESTError


@dataclass(frozen=True)
class ShardRecord:
    shard_id: str
    sequence_number: int
    partition_key: str
    data: bytes
    arrival: float  # ApproximateArrivalTimestamp, epoch seconds


class StreamNotFound(LookupError):
    """The Kinesis stream (or shard) does not exist in the backend."""


class PutRecordsFailed(Exception):
    """moto refused the records (too many, too large): what PutRecords would answer, as text."""


class KinesisShards:
    """One Kinesis stream's shards, addressed by its ARN."""

    def __init__(self, stream_arn: str):
        parts = stream_arn.split(":")
        if len(parts) != 6 or parts[2] != "kinesis" or not parts[5].startswith("stream/"):
            raise StreamNotFound(f"{stream_arn!r} is not a Kinesis stream ARN")
        self.stream_arn = stream_arn
        self.region, self.account_id = parts[3], parts[4]
        self.name = parts[5].removeprefix("stream/")

    def _backend(self) -> Any:
        return get_backend("kinesis")[self.account_id][self.region]

    def _stream(self) -> Any:
        stream = self._backend().streams.get(self.name)
        if stream is None or stream.arn != self.stream_arn:
            raise StreamNotFound(f"Kinesis stream {self.stream_arn} does not exist")
        return stream

    def exists(self) -> bool:
        try:
            self._stream()
        except StreamNotFound:
            return False
        return True

    def shard_ids(self) -> list[str]:
        return sorted(self._stream().shards)

    def _shard(self, shard_id: str) -> Any:
        shard = self._stream().shards.get(shard_id)
        if shard is None:
            raise StreamNotFound(f"shard {shard_id} of {self.stream_arn} does not exist")
        return shard

    def latest_sequence_number(self, shard_id: str) -> int:
        """The sequence number of the newest record (0 when the shard is empty): where LATEST starts."""
        records = self._shard(shard_id).records
        return next(reversed(records), 0) if records else 0

    def is_closed(self, shard_id: str) -> bool:
        """A shard closed by a split or merge gets no new records; its children carry on."""
        return not self._shard(shard_id).is_open

    def put_records(self, records: list[tuple[bytes, str]]) -> None:
        """Write (data, partition key) records as one PutRecords call does: moto's own PutRecords, with its limits
        (500 records, 1 MiB each, 5 MiB in all) and shard choice, minus the HTTP request and response.

        Why not PutRecords over HTTP: for a pipe moving 100-record batches it cost about 100 µs of server time a
        record (request parsing and response serializing included), as much as ingesting the change itself.
        """
        entries = [{"Data": base64.b64encode(data).decode(), "PartitionKey": key} for data, key in records]
        self._stream()  # raises StreamNotFound for a deleted or re-created stream
        try:
            self._backend().put_records(self.stream_arn, self.name, entries)
        except JsonRESTError as error:
            raise PutRecordsFailed(f"{error.error_type}: {error.message}") from None

    def read_after(self, shard_id: str, sequence_number: int, limit: int) -> list[ShardRecord]:
        """Up to `limit` records after `sequence_number`, oldest first (AFTER_SEQUENCE_NUMBER + GetRecords)."""
        records = self._shard(shard_id).records
        found = []
        next_number = sequence_number + 1
        while len(found) < limit:
            record = records.get(next_number)
            if record is None:
                break
            found.append(ShardRecord(shard_id, next_number, record.partition_key,
                                     base64.b64decode(record.data), record.created_at))
            next_number += 1
        return found
