"""course.catch_up from nothing leaves everything a late learner needs, data included."""

from __future__ import annotations

import uuid

import awswrangler as wr

from workshop import course
from workshop.config import Config
from workshop.session import connect


def test_catch_up_to_notebook_09_from_nothing_gives_a_queryable_orders_table(cloud, aws_env):
    conn = connect(Config(participant=f"late{uuid.uuid4().hex[:6]}", localcloud_port=cloud.port))
    ensured = course.catch_up(conn, "09", verbose=False)
    assert ensured[-1] == "Athena workgroup" and "changes delivered to S3" in ensured
    rows = wr.athena.read_sql_query("SELECT count(*) AS changes FROM orders", database=conn.config.glue_database,
                                    workgroup=conn.config.workgroup_name, ctas_approach=False)
    assert rows["changes"].iloc[0] >= course.SAMPLE_ORDERS


def test_catch_up_twice_creates_nothing_new_and_fails_nothing(cloud, aws_env):
    conn = connect(Config(participant=f"again{uuid.uuid4().hex[:6]}", localcloud_port=cloud.port))
    first = course.catch_up(conn, "07", verbose=False)
    assert course.catch_up(conn, "07", verbose=False) == first
    assert conn.client("pipes").describe_pipe(Name=conn.config.pipe_name)["CurrentState"] == "RUNNING"
