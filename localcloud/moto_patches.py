"""The only places where localcloud changes moto's own code. Each fixes a measured problem, and each has a test
in tests/localcloud/test_moto_patches.py.

1. Kinesis `Shard.put_record` looks up the newest sequence number with `list(self.records.keys())[-1]`, which
   copies every key of the shard on every record put: 6 µs into an empty shard, 160 µs at 50,000 records. It
   is also not atomic (moto's comment says so), so two threads writing one shard could both take the same
   number and one record would overwrite the other. The patched version takes the newest key from the end of
   the ordered dict and numbers the record under a lock. `get_min/max_sequence_number` get the same O(1) lookup.
2. moto's HTTP dispatcher calls `backends.list_of_moto_modules()` on every request, and that lists moto's
   package folder on disk each time (about 10% of the server's time during a load). The folders never change
   while the server runs, so the list is read once.
3. Every Kinesis record moto stores gets its arrival time from `utcnow()` and `unix_time()`, which import
   `datetime.UTC` and rebuild the epoch on each call: 4.5 µs a record, a fifth of what a pipe spends writing one.
   The Kinesis models get versions that give the same values in 0.6 µs.

`apply()` refuses to run against a moto whose code no longer has these functions: a moto upgrade has to
look at each patch again.
"""

from __future__ import annotations

import datetime
import functools
import threading
from typing import Any

from moto import backends
from moto.kinesis import models as kinesis_models

_applied = False
_put_lock = threading.Lock()


def _put_record(self: Any, partition_key: str, data: str, explicit_hash_key: str) -> str:
    with _put_lock:
        sequence_number = next(reversed(self.records), 0) + 1
        self.records[sequence_number] = kinesis_models.Record(partition_key, data, sequence_number,
                                                              explicit_hash_key)
    return str(sequence_number)


_EPOCH = datetime.datetime(1970, 1, 1)  # what moto's utcfromtimestamp(0) gives: naive UTC


def _utcnow() -> datetime.datetime:
    """moto's utcnow(): the current UTC time as a naive datetime."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _unix_time(dt: datetime.datetime | None = None) -> float:
    """moto's unix_time(): epoch seconds of a naive UTC datetime (now if none), by moto's own arithmetic."""
    delta = (dt or _utcnow()) - _EPOCH
    return (delta.days * 86400) + (delta.seconds + (delta.microseconds / 1e6))


def _min_sequence_number(self: Any) -> int:
    return next(iter(self.records), 0)


def _max_sequence_number(self: Any) -> int:
    return next(reversed(self.records), 0)


def apply() -> None:
    """Install the patches (once per process)."""
    global _applied
    if _applied:
        return
    shard = kinesis_models.Shard
    for name in ("put_record", "get_min_sequence_number", "get_max_sequence_number"):
        if not callable(getattr(shard, name, None)):
            raise RuntimeError(f"moto's kinesis Shard has no {name}() any more: review localcloud/moto_patches.py "
                               "for this moto version.")
    for name in ("utcnow", "unix_time"):
        if not callable(getattr(kinesis_models, name, None)):
            raise RuntimeError(f"moto.kinesis.models no longer uses {name}(): review localcloud/moto_patches.py "
                               "for this moto version.")
    if not callable(getattr(backends, "list_of_moto_modules", None)):
        raise RuntimeError("moto.backends has no list_of_moto_modules() any more: review localcloud/moto_patches.py "
                           "for this moto version.")
    shard.put_record = _put_record
    shard.get_min_sequence_number = _min_sequence_number
    shard.get_max_sequence_number = _max_sequence_number
    kinesis_models.utcnow = _utcnow
    kinesis_models.unix_time = _unix_time
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = functools.wraps(backends.list_of_moto_modules)(lambda: modules)
    _applied = True
