"""End to end through the course's real pipeline: every change reaches S3, even across an engine restart.

DynamoDB -> stream -> pipe -> Kinesis -> Firehose (course transform Lambda) -> S3, built with the
course's own steps through boto3. Each delivered row carries the DynamoDB eventID, so "nothing lost"
is a set comparison against the table's stream; the ledger then checks what each change was.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest

from workshop import course, datagen, verify
from workshop.config import Config
from workshop.session import connect
from workshop.steps import firehose, s3


@pytest.fixture
def conn(cloud, aws_env):
    connection = connect(Config(participant=f"loss{uuid.uuid4().hex[:6]}", localcloud_port=cloud.port))
    course.catch_up(connection, "06", verbose=False)   # table, stream, pipe, Kinesis, Lambda
    s3.ensure_bucket(connection)
    firehose.ensure_delivery_stream(connection, buffer_seconds=1)
    return connection


def _delivered_matches_ledger(conn, ledger) -> None:
    delivered = verify.wait_for_delivery(conn, verify.stream_record_count(conn), timeout=240)
    assert delivered["event_id"].nunique() == verify.stream_record_count(conn) == len(ledger)
    newest = delivered.drop_duplicates("event_id")
    assert Counter(zip(newest["orderid"], newest["event_name"])) == \
        Counter((entry.orderid, entry.op) for entry in ledger)
    assert verify.failed_records(conn).empty


def test_ten_thousand_changes_all_reach_s3_identified_by_event_id(conn):
    ledger = datagen.run(10_000, table_name=conn.config.table_name, client=conn.client("dynamodb"),
                         seed=11, progress=False)
    assert set(ledger.counts()) == {"INSERT", "MODIFY", "REMOVE"}
    _delivered_matches_ledger(conn, ledger)


def test_an_engine_restart_in_the_middle_of_a_load_loses_nothing(cloud, conn):
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
    _delivered_matches_ledger(conn, ledger)
