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
from typing import Any, NamedTuple

from moto.backends import get_backend
from moto.core.exceptions import JsonRESTError
from moto.kinesis.exceptions import RecordSizeExceedsLimit, TooManyRecords, TotalRecordsSizeExceedsLimit

# PutRecords limits, as moto checks them: data plus partition key, per record and per call.
PUT_RECORDS_MAX_ENTRIES = 500
PUT_RECORD_MAX_BYTES = 1024 * 1024
PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024


class ShardRecord(NamedTuple):
    """One record of a shard. A tuple, not a dataclass: Firehose reads thousands a second, and a tuple is built
    in a third of the time."""

    shard_id: str
    sequence_number: int
    partition_key: str
    data_base64: str  # the data as the shard holds it: what GetRecords sends and a Firehose Lambda event carries
    arrival: float  # ApproximateArrivalTimestamp, epoch seconds

    @property
    def data(self) -> bytes:
        return base64.b64decode(self.data_base64)

    @property
    def size(self) -> int:
        """Bytes of data, without decoding it (the shard holds padded base64, as PutRecord sends it)."""
        return decoded_size(self.data_base64)


def decoded_size(data_base64: str) -> int:
    """How many bytes padded base64 text decodes to: 3 for every 4 characters, less one per "=" of padding."""
    return len(data_base64) // 4 * 3 - data_base64.count("=", -2)


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
        """Write (data, partition key) records as one PutRecords call does: moto's limits (500 records, 1 MiB each,
        5 MiB in all, the same errors), shard choice, numbering and CloudWatch metrics, minus the HTTP request.

        Why not PutRecords over HTTP: for a pipe moving 100-record batches it cost about 100 µs of server time a
        record (request parsing and response serializing included), as much as ingesting the change itself.
        Why not the backend's put_records: it base64-decodes every record again only to measure it (2 µs a record
        of a pipe's event), and the sizes are known here.
        """
        sizes = [len(data) + len(key) for data, key in records]
        try:
            if len(records) > PUT_RECORDS_MAX_ENTRIES:
                raise TooManyRecords()
            if sum(sizes) > PUT_RECORDS_MAX_BYTES:
                raise TotalRecordsSizeExceedsLimit()
            for position, size in enumerate(sizes, 1):
                if size > PUT_RECORD_MAX_BYTES:
                    raise RecordSizeExceedsLimit(position=position)
            stream = self._stream()  # raises StreamNotFound for a deleted or re-created stream
            for data, key in records:
                stream.put_record(key, None, base64.b64encode(data).decode())
        except JsonRESTError as error:
            raise PutRecordsFailed(f"{error.error_type}: {error.message}") from None
        self._backend()._send_stream_metrics(stream.stream_name, incoming_bytes=sum(sizes),
                                             incoming_records=len(records))

    def read_after(self, shard_id: str, sequence_number: int, limit: int) -> list[ShardRecord]:
        """Up to `limit` records after `sequence_number`, oldest first (AFTER_SEQUENCE_NUMBER + GetRecords)."""
        records = self._shard(shard_id).records
        found = []
        next_number = sequence_number + 1
        while len(found) < limit:
            record = records.get(next_number)
            if record is None:
                break
            found.append(ShardRecord(shard_id, next_number, record.partition_key, record.data, record.created_at))
            next_number += 1
        return found
