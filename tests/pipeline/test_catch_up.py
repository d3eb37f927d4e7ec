"""course.catch_up from nothing leaves everything a late learner needs, data included.

Each notebook from 02 to 09 is started on a fresh participant, as a learner who skipped everything
before it would: catch-up must leave the data that notebook reads (stream records of every kind,
changes in Kinesis, every change in S3, crawled tables), and then the notebook itself must run.
"""

from __future__ import annotations

import asyncio
import os
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
                                         ctas_approach=False, boto3_session=conn.session)
    assert verify.compare_with_table(conn, projected).matches
    partitions = conn.client("glue").get_partitions(DatabaseName=conn.config.glue_database,
                                                    TableName=HIVE_DATA_FOLDER)["Partitions"]
    assert partitions


# What a notebook reads that earlier notebooks wrote, by the first notebook that reads it.
PRECONDITIONS = [("02", _assert_stream_has_every_kind), ("04", _assert_kinesis_has_the_stream),
                 ("07", _assert_s3_gets_every_change), ("08", _assert_tables_rebuild_the_table)]


LATE_JOINERS = ["02", "03", "04", "05", "06", "07", "08", "09"]
# Late joiners run side by side, as a workshop's do: most of a catch-up and of a notebook is waiting for the
# pipeline (buffers, crawls), and one after another they took three minutes and a half. Four at a time keeps
# the two cores from being shared by more kernels starting up than that.
SIDE_BY_SIDE = 4


async def _join_late(cloud, notebook: str) -> None:
    """Catch a fresh participant up to `notebook`, check what it reads was left, then run the notebook.

    The notebook runs in a kernel of its own with the participant's environment, as `make lab` would start it.
    """
    conn = _fresh(cloud, f"nb{notebook}")
    await asyncio.to_thread(course.catch_up, conn, notebook, verbose=False)
    for first_reader, assert_ready in PRECONDITIONS:
        if first_reader <= notebook:
            await asyncio.to_thread(assert_ready, conn)
    path = next(SOLUTIONS_DIR.glob(f"{notebook}_*.ipynb"))
    kernel_env = dict(os.environ, WORKSHOP_MODE="local", LOCALCLOUD_PORT=str(cloud.port),
                      WORKSHOP_PARTICIPANT=conn.config.participant,
                      MPLBACKEND="module://matplotlib_inline.backend_inline")
    client = NotebookClient(nbformat.read(path, as_version=4), timeout=NOTEBOOK_TIMEOUT_SECONDS,
                            kernel_name="python3", resources={"metadata": {"path": str(SOLUTIONS_DIR)}})
    await client.async_execute(env=kernel_env)


async def _join_all_late(cloud) -> dict[str, BaseException | None]:
    """Every late joiner's outcome: None, or what it raised."""
    slots = asyncio.Semaphore(SIDE_BY_SIDE)

    async def outcome(notebook: str) -> BaseException | None:
        async with slots:
            try:
                await _join_late(cloud, notebook)
            except Exception as error:  # reported by that notebook's own test case
                return error
            return None

    outcomes = await asyncio.gather(*(outcome(notebook) for notebook in LATE_JOINERS))
    return dict(zip(LATE_JOINERS, outcomes))


@pytest.fixture(scope="module")
def late_joiners(cloud) -> dict[str, BaseException | None]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in cloud.client_environment().items():
            monkeypatch.setenv(name, value)
        return asyncio.run(_join_all_late(cloud))


@pytest.mark.slow
@pytest.mark.parametrize("notebook", LATE_JOINERS)
def test_each_notebook_runs_alone_after_catch_up_on_a_fresh_participant(late_joiners, notebook):
    if late_joiners[notebook] is not None:
        raise late_joiners[notebook]


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
