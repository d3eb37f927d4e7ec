"""Step 03 (first half): the Kinesis data stream that the pipe writes to."""

from __future__ import annotations

from typing import Any

from workshop.session import Connection

# Two provisioned shards: enough to see partition keys spread records, and cheap (1 MB/s in per shard).
DEFAULT_SHARD_COUNT = 2


def ensure_stream(conn: Connection, shard_count: int = DEFAULT_SHARD_COUNT) -> dict[str, Any]:
    """Create the stream with shard_count provisioned shards; return its summary once ACTIVE."""
    kinesis = conn.client("kinesis")
    name = conn.config.kinesis_stream_name
    try:
        kinesis.create_stream(StreamName=name, ShardCount=shard_count,
                              StreamModeDetails={"StreamMode": "PROVISIONED"}, Tags=conn.config.tags)
    except kinesis.exceptions.ResourceInUseException:
        pass
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 60})
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
