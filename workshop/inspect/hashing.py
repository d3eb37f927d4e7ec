"""Which Kinesis shard a partition key lands in: MD5 of the key, read as a 128-bit integer, in a HashKeyRange.

Kinesis hashes every partition key with MD5 and sends the record to the open shard whose
HashKeyRange (StartingHashKey..EndingHashKey, both inclusive, decimal strings) contains the hash.
The pipe uses the orderid as the partition key, so every change of one order goes to one shard.

Example:
    >>> shards = kinesis.list_shards(StreamName="learner-orders-stream")["Shards"]
    >>> shard_for_key("3f9c04ab-000042", shards)["ShardId"]
    'shardId-000000000001'
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

HASH_KEY_SPACE = 2**128  # hash keys run from 0 to 2**128 - 1


def hash_key(partition_key: str) -> int:
    """The 128-bit integer Kinesis derives from a partition key: MD5 of its UTF-8 bytes, big-endian."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


def is_open(shard: Mapping[str, Any]) -> bool:
    """A shard is open (still takes records) until a reshard gives it an EndingSequenceNumber."""
    return "EndingSequenceNumber" not in shard.get("SequenceNumberRange", {})


def hash_range(shard: Mapping[str, Any]) -> tuple[int, int]:
    """A shard's (StartingHashKey, EndingHashKey) as integers, both inclusive."""
    key_range = shard["HashKeyRange"]
    return int(key_range["StartingHashKey"]), int(key_range["EndingHashKey"])


def key_space_share(shard: Mapping[str, Any]) -> str:
    """A shard's hash key range as a share of the key space, e.g. '0%-50%': easier to read than 39 digits."""
    start, end = hash_range(shard)
    return f"{_percent(start)}-{_percent(end + 1)}"


def _percent(hash_value: int) -> str:
    share = 100 * hash_value / HASH_KEY_SPACE
    return f"{share:.0f}%" if share == round(share) else f"{share:.1f}%"


def shard_for_hash(hash_value: int, shards: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The open shard whose HashKeyRange contains hash_value (shards as list_shards returns them)."""
    for shard in shards:
        start, end = hash_range(shard)
        if is_open(shard) and start <= hash_value <= end:
            return shard
    raise LookupError(f"No open shard covers hash key {hash_value}; the stream may be resharding - "
                      "list the shards again in a few seconds.")


def shard_for_key(partition_key: str, shards: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The open shard a record with this partition key is written to."""
    if not 1 <= len(partition_key) <= 256:
        raise ValueError(f"A partition key has 1-256 characters; {partition_key!r} has {len(partition_key)}.")
    return shard_for_hash(hash_key(partition_key), shards)
