"""localcloud/moto_patches.py: each patch gives moto's own answers, and a moto without the patched code is refused."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections import OrderedDict
from datetime import datetime, timezone

import moto
import pytest
from moto import backends
from moto.core import responses as moto_responses
from moto.core import utils as moto_utils
from moto.dynamodb.models import table as dynamodb_table
from moto.dynamodb.models.utilities import DynamoJsonEncoder, dynamo_json_dump
from moto.dynamodb.responses import DynamoHandler
from moto.kinesis import models as kinesis_models
from moto.kinesis.responses import KinesisResponse

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


def test_patched_dynamodb_stream_clock_gives_moto_s_own_values():
    moto_patches.apply()
    for moment in (datetime(1970, 1, 1), datetime(2026, 12, 7, 13, 45, 12, 345678)):
        assert DynamoJsonEncoder().default(moment) == moto_utils.unix_time(moment)
        assert json.loads(dynamo_json_dump({"at": moment})) == {"at": moto_utils.unix_time(moment)}
    assert DynamoJsonEncoder().default(b"data") == "ZGF0YQ=="  # other values: moto's own default
    before = moto_utils.utcnow()
    now = dynamodb_table.utcnow()
    assert now.tzinfo is None and before <= now <= moto_utils.utcnow()


def test_a_stream_record_written_through_moto_has_its_creation_time_and_size(session):
    dynamodb, streams = session.client("dynamodb"), session.client("dynamodbstreams")
    name = f"patched-{uuid.uuid4().hex[:8]}"
    table = dynamodb.create_table(TableName=name, KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
                                  AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
                                  BillingMode="PAY_PER_REQUEST",
                                  StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    before = datetime.now(timezone.utc)
    dynamodb.put_item(TableName=name, Item={"orderid": {"S": "1"}})
    arn = table["TableDescription"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    change = streams.get_records(ShardIterator=iterator)["Records"][0]["dynamodb"]
    assert before.replace(microsecond=0) <= change["ApproximateCreationDateTime"] <= datetime.now(timezone.utc)
    assert change["SizeBytes"] > 0


def test_handler_methods_are_listed_once_per_class_as_moto_lists_them(monkeypatch):
    moto_patches.apply()
    listed = {handler: moto_responses.method_names_from_class(handler) for handler in (DynamoHandler, KinesisResponse)}
    monkeypatch.setattr(moto_utils.inspect, "getmembers", lambda *args, **kwargs: pytest.fail("listed again"))
    for handler, names in listed.items():
        assert moto_responses.method_names_from_class(handler) == names
        assert "batch_write_item" in names if handler is DynamoHandler else "put_records" in names
    monkeypatch.undo()
    assert listed[DynamoHandler] == moto_utils.method_names_from_class(DynamoHandler)


def test_a_moto_whose_dispatch_or_dynamodb_models_changed_is_refused(monkeypatch):
    for module, name in ((dynamodb_table, "utcnow"), (moto_responses, "method_names_from_class")):
        monkeypatch.setattr(moto_patches, "_applied", False)
        with monkeypatch.context() as patched:
            patched.delattr(module, name)
            with pytest.raises(RuntimeError, match="review localcloud/moto_patches.py"):
                moto_patches.apply()
