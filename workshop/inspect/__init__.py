"""Widgets that look inside the pipeline: stream records, Kinesis shards, and live counts per stage.

- `ShardInspector`  (notebook 04): a Kinesis stream's shards, pages of records, partition key -> shard.
- `StreamInspector` (notebook 02): the same over a table's DynamoDB stream.
- `PipelineMonitor` (notebook 09): counts at every stage, refreshed every 2 s, and freshness.

`records` (decoding) and `hashing` (partition key -> shard) are plain functions, usable without widgets.
"""

from workshop.inspect.monitor import PipelineMonitor
from workshop.inspect.shard_inspector import ShardInspector
from workshop.inspect.stream_inspector import StreamInspector

__all__ = ["PipelineMonitor", "ShardInspector", "StreamInspector"]
