"""DynamoDB stream records in moto's backend, read without an HTTP round trip per page.

Measured on the course machine: GetRecords over HTTP delivers about 1,500 records/s, while
batch_write_item ingests about 3,800 items/s, so a pipe reading through HTTP would fall behind.
Reading moto's shard directly gives about 40,000 records/s. The records come back as moto holds them, which
is how GetRecords returns them except for ApproximateCreationDateTime (see records_after).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from moto.backends import get_backend


class StreamNotFound(LookupError):
    """The stream ARN names no enabled stream (wrong ARN, table deleted, or stream re-enabled)."""


class DynamoDBStreams:
    """Shards and records of the DynamoDB streams in moto's backend, addressed by stream ARN."""

    def exists(self, stream_arn: str) -> bool:
        try:
            self._shard(stream_arn)
        except StreamNotFound:
            return False
        return True

    def shard_ids(self, stream_arn: str) -> list[str]:
        """The stream's shards, parents before children (moto always has exactly one)."""
        return [self._shard(stream_arn).id]

    def last_sequence_number(self, stream_arn: str, shard_id: str) -> str | None:
        """The newest record's sequence number, or None when the shard has no records yet."""
        shard = self._shard(stream_arn, shard_id)
        if not shard.items:
            return None
        return str(shard.starting_sequence_number + len(shard.items) - 1)

    def records_after(self, stream_arn: str, shard_id: str, sequence_number: str | None,
                      limit: int) -> list[dict[str, Any]]:
        """Up to `limit` records newer than `sequence_number` (from the shard's start when None), oldest first.

        They are moto's own records, not copies, so read them and never change them. They have GetRecords' fields,
        but ApproximateCreationDateTime is a naive UTC datetime, not epoch seconds (creation_epoch_seconds converts
        it). A pipe builds a new event from each record anyway: copying it first cost 6 µs a record.
        """
        shard = self._shard(stream_arn, shard_id)
        start = 0 if sequence_number is None else int(sequence_number) - shard.starting_sequence_number + 1
        return [item.to_json() for item in shard.items[start:start + limit]]

    def _shard(self, stream_arn: str, shard_id: str | None = None) -> Any:
        try:
            _, _, _, region, account_id, resource = stream_arn.split(":", 5)
            _, table_name, _, label = resource.split("/", 3)
            table = get_backend("dynamodb")[account_id][region].tables.get(table_name)
        except (ValueError, KeyError):
            raise StreamNotFound(f"{stream_arn} is not a DynamoDB stream ARN") from None
        if table is None or table.stream_shard is None or table.latest_stream_label != label:
            raise StreamNotFound(f"{stream_arn} does not exist")
        if shard_id is not None and table.stream_shard.id != shard_id:
            raise StreamNotFound(f"{stream_arn} has no shard {shard_id}")
        return table.stream_shard


def creation_epoch_seconds(record: dict[str, Any]) -> float:
    """A record's ApproximateCreationDateTime as GetRecords sends it: epoch seconds."""
    created: datetime = record["dynamodb"]["ApproximateCreationDateTime"]
    return created.replace(tzinfo=timezone.utc).timestamp()
