"""course.start("NN"): the first cell of every notebook.

It connects in the current mode, says where it is running, and makes sure everything that the
notebooks before NN create exists, so a learner who arrives late or skipped an exercise can go on.
"""

from __future__ import annotations

from typing import Callable

from workshop import datagen, verify
from workshop.safety import confirm_account
from workshop.session import Connection, connect
from workshop.steps import athena, dynamodb, firehose, glue, kinesis, lambda_function, pipes, s3

# Orders written by catch-up when nothing has reached S3 yet, so the crawler has something to read.
SAMPLE_ORDERS = 50


def sample_orders_delivered(conn: Connection) -> int:
    """Make sure some changes are in S3: write SAMPLE_ORDERS orders if nothing was delivered yet."""
    delivered = verify.delivered_changes(conn)
    if len(delivered):
        return len(delivered)
    datagen.run(SAMPLE_ORDERS, table_name=conn.config.table_name, client=conn.client("dynamodb"), progress=False)
    return len(verify.wait_for_delivery(conn, verify.stream_record_count(conn)))

# (notebook that creates it, what it creates, how). Catch-up for NN runs every entry from a notebook before NN.
CATCH_UP: list[tuple[str, str, Callable[[Connection], object]]] = [
    ("01", "DynamoDB table with stream", dynamodb.ensure_table),
    ("03", "Kinesis data stream", kinesis.ensure_stream),
    ("03", "EventBridge pipe", pipes.ensure_pipe),
    ("05", "transform Lambda", lambda_function.ensure_function),
    ("06", "S3 bucket", s3.ensure_bucket),
    ("06", "Firehose delivery stream", firehose.ensure_delivery_stream),
    ("07", "Hive-partitioned delivery stream", firehose.ensure_hive_delivery_stream),
    ("07", "changes delivered to S3", sample_orders_delivered),
    ("07", "Glue database, classifier and crawler", glue.ensure_crawler),
    ("07", "crawled tables", glue.ensure_tables),
    ("08", "Athena workgroup", athena.ensure_workgroup),
]
NOTEBOOKS = [f"{n:02d}" for n in range(11)]
# The teardown notebook deletes everything, so there is nothing to catch up on before it.
TEARDOWN_NOTEBOOK = "10"


def catch_up(conn: Connection, notebook: str, *, verbose: bool = True) -> list[str]:
    """Create, idempotently, what the notebooks before `notebook` create; return what was ensured."""
    if notebook not in NOTEBOOKS:
        raise ValueError(f"There is no notebook {notebook!r}; use one of {', '.join(NOTEBOOKS)}.")
    ensured = []
    for creator, what, ensure in CATCH_UP:
        if creator < notebook:
            ensure(conn)
            ensured.append(what)
            if verbose:
                print(f"  ok  {what} (notebook {creator})")
    return ensured


def start(notebook: str) -> Connection:
    """Connect, print mode/account/region/participant, and catch up to `notebook`."""
    conn = connect()
    print(conn.describe())
    confirm_account(conn)
    if "00" < notebook < TEARDOWN_NOTEBOOK:
        print(f"Making sure everything before notebook {notebook} exists:")
        if not catch_up(conn, notebook):
            print("  nothing to create yet")
    return conn
