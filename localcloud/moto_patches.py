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
4. The same two functions cost every DynamoDB change written to a table with a stream about 5 µs: its stream
   record takes its time from `utcnow()`, and moto measures the record by writing it as JSON, whose encoder
   turns that time into epoch seconds with `unix_time()` (importing it on each call). The DynamoDB table model
   and that encoder get the same versions as the Kinesis models.
5. moto's request dispatch lists the handler class's methods with `inspect.getmembers` on every request, to
   check that the action is one: 30-100 µs a request. A class's methods do not change while the server runs,
   so the list is made once per class.
Found by sampling the server during pipeline loads: 4 and 5 were 8% of the time spent on batch_write_item.

`apply()` refuses to run against a moto whose code no longer has these functions: a moto upgrade has to
look at each patch again.
"""

from __future__ import annotations

import datetime
import functools
import threading
from typing import Any

from moto import backends
from moto.core import responses as moto_responses
from moto.dynamodb.models import table as dynamodb_table
from moto.dynamodb.models import utilities as dynamodb_utilities
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


_moto_dynamo_json_default = dynamodb_utilities.DynamoJsonEncoder.default


def _dynamo_json_default(self: Any, value: Any) -> Any:
    """moto's DynamoJsonEncoder.default: a datetime becomes epoch seconds; anything else as moto encodes it."""
    if isinstance(value, datetime.datetime):
        return _unix_time(value)
    return _moto_dynamo_json_default(self, value)


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
    for module, name in ((dynamodb_table, "utcnow"), (moto_responses, "method_names_from_class")):
        if not callable(getattr(module, name, None)):
            raise RuntimeError(f"{module.__name__} no longer uses {name}(): review localcloud/moto_patches.py "
                               "for this moto version.")
    if "default" not in vars(dynamodb_utilities.DynamoJsonEncoder):
        raise RuntimeError("moto's DynamoJsonEncoder has no default() any more: review localcloud/moto_patches.py "
                           "for this moto version.")
    shard.put_record = _put_record
    shard.get_min_sequence_number = _min_sequence_number
    shard.get_max_sequence_number = _max_sequence_number
    kinesis_models.utcnow = _utcnow
    kinesis_models.unix_time = _unix_time
    dynamodb_table.utcnow = _utcnow
    dynamodb_utilities.DynamoJsonEncoder.default = _dynamo_json_default
    moto_responses.method_names_from_class = functools.cache(moto_responses.method_names_from_class)
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = functools.wraps(backends.list_of_moto_modules)(lambda: modules)
    _applied = True
