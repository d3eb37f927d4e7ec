"""Step 03 (first half): the Kinesis data stream that the pipe writes to."""

from __future__ import annotations

from typing import Any

from workshop.session import Connection
from workshop.waiting import wait_until

# Two provisioned shards: enough to see partition keys spread records, and cheap (1 MB/s in per shard).
DEFAULT_SHARD_COUNT = 2


def ensure_stream(conn: Connection, shard_count: int = DEFAULT_SHARD_COUNT) -> dict[str, Any]:
    """Create the stream with shard_count provisioned shards; return its summary once ACTIVE."""
    kinesis = conn.client("kinesis")
    name = conn.config.kinesis_stream_name

    def create() -> bool | None:
        """True once created (or already there); None while the account is creating too many streams at once."""
        try:
            kinesis.create_stream(StreamName=name, ShardCount=shard_count,
                                  StreamModeDetails={"StreamMode": "PROVISIONED"}, Tags=conn.config.tags)
        except kinesis.exceptions.ResourceInUseException:
            pass
        except kinesis.exceptions.LimitExceededException:
            return None  # a room full of participants creating streams at once: try again shortly
        return True

    wait_until(create, what=f"Kinesis to accept stream {name}", timeout=120, interval=5, progress=False,
               hint="The account may be at its shard limit: check Kinesis quotas in the Service Quotas console.")
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 60})
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
