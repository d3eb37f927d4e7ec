"""course.catch_up from nothing leaves everything a late learner needs, data included.

Each notebook from 02 to 09 is started on a fresh participant, as a learner who skipped everything
before it would: catch-up must leave the data that notebook reads (stream records of every kind,
changes in Kinesis, every change in S3, crawled tables), and then the notebook itself must run.
"""

from __future__ import annotations

import uuid

import awswrangler as wr
import nbformat
import pytest
from nbclient import NotebookClient

from workshop import course, verify
from workshop.config import HIVE_DATA_FOLDER, Config
from workshop.notebooks import SOLUTIONS_DIR
from workshop.runner import CURRENT_STATE_SQL
from workshop.session import Connection, connect
from workshop.steps import athena

NOTEBOOK_TIMEOUT_SECONDS = 300


def _fresh(cloud, name: str) -> Connection:
    return connect(Config(participant=f"{name}{uuid.uuid4().hex[:6]}", localcloud_port=cloud.port))


def _assert_stream_has_every_kind(conn: Connection) -> None:
    """02 picks the first MODIFY and REMOVE record; 03 forwards them to Kinesis."""
    assert course.CHANGE_KINDS <= {record["eventName"] for record in verify.stream_records(conn)}


def _assert_kinesis_has_the_stream(conn: Connection) -> None:
    """04 pages through the first shard; 05 builds its test event from the first shard's first 3 records."""
    records = verify.kinesis_records(conn)
    assert records["event_id"].nunique() >= verify.stream_record_count(conn)
    first_shard = conn.client("kinesis").list_shards(StreamName=conn.config.kinesis_stream_name)["Shards"][0]
    assert (records["shard"] == first_shard["ShardId"]).sum() >= 3


def _assert_s3_gets_every_change(conn: Connection) -> None:
    """07 waits for every change of the stream under orders/ before it crawls: the history must be replayed."""
    expected = verify.stream_record_count(conn)
    assert verify.wait_for_delivery(conn, expected, timeout=60)["event_id"].nunique() >= expected


def _assert_tables_rebuild_the_table(conn: Connection) -> None:
    """08 checks the current state from the change log against DynamoDB and prunes orders_by_hour's partitions."""
    athena.ensure_workgroup(conn)  # notebook 08's first step; its own create_work_group then finds it
    projected = wr.athena.read_sql_query(CURRENT_STATE_SQL.format(table=conn.config.glue_table),
                                         database=conn.config.glue_database, workgroup=conn.config.workgroup_name,
                                         ctas_approach=False)
    assert verify.compare_with_table(conn, projected).matches
    partitions = conn.client("glue").get_partitions(DatabaseName=conn.config.glue_database,
                                                    TableName=HIVE_DATA_FOLDER)["Partitions"]
    assert partitions


# What a notebook reads that earlier notebooks wrote, by the first notebook that reads it.
PRECONDITIONS = [("02", _assert_stream_has_every_kind), ("04", _assert_kinesis_has_the_stream),
                 ("07", _assert_s3_gets_every_change), ("08", _assert_tables_rebuild_the_table)]


def _run_solution(notebook: str) -> None:
    """Execute solutions/NN_*.ipynb top to bottom in a kernel that inherits the test's environment."""
    path = next(SOLUTIONS_DIR.glob(f"{notebook}_*.ipynb"))
    solution = nbformat.read(path, as_version=4)
    NotebookClient(solution, timeout=NOTEBOOK_TIMEOUT_SECONDS, kernel_name="python3",
                   resources={"metadata": {"path": str(SOLUTIONS_DIR)}}).execute()


@pytest.mark.slow
@pytest.mark.parametrize("notebook", ["02", "03", "04", "05", "06", "07", "08", "09"])
def test_each_notebook_runs_alone_after_catch_up_on_a_fresh_participant(cloud, aws_env, monkeypatch, notebook):
    conn = _fresh(cloud, f"nb{notebook}")
    course.catch_up(conn, notebook, verbose=False)
    for first_reader, assert_ready in PRECONDITIONS:
        if first_reader <= notebook:
            assert_ready(conn)
    monkeypatch.setenv("WORKSHOP_MODE", "local")
    monkeypatch.setenv("LOCALCLOUD_PORT", str(cloud.port))
    monkeypatch.setenv("WORKSHOP_PARTICIPANT", conn.config.participant)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    _run_solution(notebook)


def test_catch_up_to_notebook_09_from_nothing_gives_a_queryable_orders_table(cloud, aws_env):
    conn = _fresh(cloud, "late")
    ensured = course.catch_up(conn, "09", verbose=False)
    assert ensured[-1] == "Athena workgroup" and "changes delivered to S3" in ensured
    rows = wr.athena.read_sql_query("SELECT count(*) AS changes FROM orders", database=conn.config.glue_database,
                                    workgroup=conn.config.workgroup_name, ctas_approach=False)
    assert rows["changes"].iloc[0] >= course.SAMPLE_ORDERS


def test_catch_up_twice_writes_no_new_changes_and_fails_nothing(cloud, aws_env):
    conn = _fresh(cloud, "again")
    first = course.catch_up(conn, "08", verbose=False)
    changes = verify.stream_record_count(conn)
    assert course.catch_up(conn, "08", verbose=False) == first
    assert verify.stream_record_count(conn) == changes
    assert conn.client("pipes").describe_pipe(Name=conn.config.pipe_name)["CurrentState"] == "RUNNING"
