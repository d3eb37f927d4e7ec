"""localcloud/moto_patches.py: each patch gives moto's own answers, and a moto without the patched code is refused."""

from __future__ import annotations

import os
import threading
import uuid
from collections import OrderedDict
from datetime import datetime

import moto
import pytest
from moto import backends
from moto.core import utils as moto_utils
from moto.kinesis import models as kinesis_models

from localcloud import moto_patches


def test_threads_writing_one_shard_at_once_get_unique_contiguous_sequence_numbers(session):
    kinesis, name = session.client("kinesis"), f"patched-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    per_thread, threads = 100, 4

    def put_many(worker: int) -> None:
        client = session.client("kinesis")
        for n in range(per_thread):
            client.put_records(StreamName=name, Records=[{"Data": f"{worker}-{n}".encode(), "PartitionKey": "k"}])

    workers = [threading.Thread(target=put_many, args=(w,)) for w in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    shard_id = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard_id,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator, Limit=10_000)["Records"]
    assert sorted(record["Data"].decode() for record in records) == sorted(
        f"{w}-{n}" for w in range(threads) for n in range(per_thread))
    assert [int(record["SequenceNumber"]) for record in records] == list(range(1, threads * per_thread + 1))


def test_patched_sequence_number_lookups_answer_as_moto_does():
    moto_patches.apply()
    shard = kinesis_models.Shard(0, 0, 2**128)
    assert (shard.get_min_sequence_number(), shard.get_max_sequence_number()) == (0, 0)
    for n in range(5):
        shard.put_record("k", "ZGF0YQ==", None)
    keys = list(shard.records.keys())
    assert keys == [1, 2, 3, 4, 5]
    assert (shard.get_min_sequence_number(), shard.get_max_sequence_number()) == (keys[0], keys[-1])


def test_moto_module_list_is_read_once_and_is_moto_own_list(monkeypatch):
    moto_patches.apply()
    folder = os.path.dirname(moto.__file__)
    on_disk = [name for name in sorted(os.listdir(folder))
               if os.path.isdir(os.path.join(folder, name)) and not name.startswith("__")]

    def no_disk(*args, **kwargs):
        raise AssertionError("moto's module list was read from disk again")

    monkeypatch.setattr(os, "listdir", no_disk)
    assert list(backends.list_of_moto_modules()) == on_disk
    assert "kinesis" in backends.list_of_moto_modules()


def test_a_moto_without_the_patched_functions_is_refused(monkeypatch):
    monkeypatch.setattr(moto_patches, "_applied", False)
    monkeypatch.delattr(kinesis_models.Shard, "get_max_sequence_number")
    with pytest.raises(RuntimeError, match="review localcloud/moto_patches.py"):
        moto_patches.apply()


def test_shard_records_stay_an_ordered_dict_keyed_by_sequence_number():
    """The O(1) lookups take the first and last keys; that needs records kept in insertion order."""
    assert isinstance(kinesis_models.Shard(0, 0, 1).records, OrderedDict)


def test_patched_kinesis_clock_gives_moto_s_own_values():
    moto_patches.apply()
    for moment in (datetime(1970, 1, 1), datetime(2026, 12, 7, 13, 45, 12, 345678), datetime(2038, 1, 19, 3, 14, 8)):
        assert kinesis_models.unix_time(moment) == moto_utils.unix_time(moment)
    before = moto_utils.utcnow()
    now = kinesis_models.utcnow()
    assert now.tzinfo is None and before <= now <= moto_utils.utcnow()
    assert abs(kinesis_models.unix_time() - moto_utils.unix_time()) < 0.1
    record = kinesis_models.Record("k", "ZGF0YQ==", 1, None)
    assert record.created_at == moto_utils.unix_time(record.created_at_datetime)


def test_a_moto_whose_kinesis_models_lost_the_clock_is_refused(monkeypatch):
    monkeypatch.setattr(moto_patches, "_applied", False)
    monkeypatch.delattr(kinesis_models, "unix_time")
    with pytest.raises(RuntimeError, match="review localcloud/moto_patches.py"):
        moto_patches.apply()
