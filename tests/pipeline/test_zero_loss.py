"""End to end through the course's real pipeline: every change reaches S3, even across an engine restart.

DynamoDB -> stream -> pipe -> Kinesis -> Firehose (course transform Lambda) -> S3, built with the
course's own steps through boto3. Each delivered row carries the DynamoDB eventID, so "nothing lost"
is a set comparison against the table's stream; the ledger then checks what each change was. Catch-up
writes sample changes of its own first: the tests count only what the stream gained during their load.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from dataclasses import dataclass

import pytest

from workshop import course, datagen, verify
from workshop.config import Config
from workshop.session import Connection, connect
from workshop.steps import firehose, s3


@dataclass
class Pipeline:
    """A participant's pipeline, with what its stream and S3 held before the test's load (catch-up's samples)."""

    conn: Connection
    records_before: int
    delivered_before: set[str]


@pytest.fixture
def pipeline(cloud, aws_env) -> Pipeline:
    connection = connect(Config(participant=f"loss{uuid.uuid4().hex[:6]}", localcloud_port=cloud.port))
    course.catch_up(connection, "06", verbose=False)   # table, stream with sample changes, pipe, Kinesis, Lambda
    s3.ensure_bucket(connection)
    firehose.ensure_delivery_stream(connection, buffer_seconds=1)
    records_before = verify.stream_record_count(connection)
    delivered = verify.wait_for_delivery(connection, records_before, timeout=120)
    return Pipeline(connection, records_before, set(delivered["event_id"]) if len(delivered) else set())


def _delivered_matches_ledger(pipeline: Pipeline, ledger) -> None:
    conn = pipeline.conn
    assert verify.stream_record_count(conn) - pipeline.records_before == len(ledger)
    delivered = verify.wait_for_delivery(conn, pipeline.records_before + len(ledger), timeout=240)
    new = delivered[~delivered["event_id"].isin(pipeline.delivered_before)]
    assert new["event_id"].nunique() == len(ledger)
    newest = new.drop_duplicates("event_id")
    assert Counter(zip(newest["orderid"], newest["event_name"])) == \
        Counter((entry.orderid, entry.op) for entry in ledger)
    assert verify.failed_records(conn).empty


def test_ten_thousand_changes_all_reach_s3_identified_by_event_id(pipeline):
    conn = pipeline.conn
    ledger = datagen.run(10_000, table_name=conn.config.table_name, client=conn.client("dynamodb"),
                         seed=11, progress=False)
    assert set(ledger.counts()) == {"INSERT", "MODIFY", "REMOVE"}
    _delivered_matches_ledger(pipeline, ledger)


def test_an_engine_restart_in_the_middle_of_a_load_loses_nothing(cloud, pipeline):
    conn = pipeline.conn
    ledger = datagen.Ledger(conn.config.table_name)
    changes = datagen.generate_changes(6_000, seed=12, run_id=datagen.make_run_id(12, table_name=conn.config.table_name))
    load = threading.Thread(target=datagen.write_changes, kwargs=dict(
        changes=changes, table_name=conn.config.table_name, client=conn.client("dynamodb"), rate=2_000,
        progress=False, ledger=ledger))
    load.start()
    while load.is_alive() and len(ledger) < 2_000:
        load.join(timeout=0.05)
    cloud.admin.restart_engines()
    load.join()
    assert len(ledger) == 6_000
    _delivered_matches_ledger(pipeline, ledger)
