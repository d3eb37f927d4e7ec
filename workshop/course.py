"""course.start("NN"): the first cell of every notebook.

It connects in the current mode, says where it is running, and makes sure everything that the
notebooks before NN create exists, the data they write included (stream records of every kind,
changes in Kinesis and S3), so a learner who arrives late or skipped an exercise can go on.
"""

from __future__ import annotations

from typing import Callable

from workshop import datagen, verify
from workshop.config import HIVE_DATA_FOLDER
from workshop.safety import confirm_account
from workshop.session import Connection, connect
from workshop.steps import athena, dynamodb, firehose, glue, kinesis, lambda_function, pipes, s3
from workshop.waiting import wait_until

# Changes written by catch-up when the data a later notebook reads is missing (datagen's usual mix).
SAMPLE_ORDERS = 50
CHANGE_KINDS = {"INSERT", "MODIFY", "REMOVE"}


def sample_changes_in_stream(conn: Connection) -> None:
    """Make sure the table's stream holds inserts, updates and deletes: notebooks 02 to 05 read all three.

    Writes SAMPLE_ORDERS changes only when a kind is missing, so catching up twice writes nothing new.
    """
    kinds = {record["eventName"] for record in verify.stream_records(conn)}
    while not CHANGE_KINDS <= kinds:
        ledger = datagen.run(SAMPLE_ORDERS, table_name=conn.config.table_name, client=conn.client("dynamodb"),
                             progress=False)
        kinds |= ledger.counts().keys()


def changes_delivered(conn: Connection) -> int:
    """Make sure orders/ in S3 holds every change of the table's stream, and orders_by_hour/ holds some.

    A delivery stream reads Kinesis from LATEST. Catch-up's main one replays the history when it is
    created (notebook 06 does the same), but the Hive-partitioned one only sees new changes: when its
    folder is empty, SAMPLE_ORDERS changes are written for it, so the crawler has both folders to read.
    """
    if not _has_objects(conn, f"{HIVE_DATA_FOLDER}/"):
        datagen.run(SAMPLE_ORDERS, table_name=conn.config.table_name, client=conn.client("dynamodb"), progress=False)
        wait_until(lambda: _has_objects(conn, f"{HIVE_DATA_FOLDER}/"), what=f"objects under {HIVE_DATA_FOLDER}/",
                   timeout=180, hint=f"Check that delivery stream {conn.config.hive_firehose_name} is ACTIVE and "
                                     "look for failed records under errors/.")
    return len(verify.wait_for_delivery(conn, verify.stream_record_count(conn)))


def _has_objects(conn: Connection, prefix: str) -> bool:
    listing = conn.client("s3").list_objects_v2(Bucket=conn.bucket, Prefix=prefix, MaxKeys=1)
    return bool(listing["KeyCount"])


# (notebook that creates it, what it creates, how). Catch-up for NN runs every entry from a notebook before NN.
CATCH_UP: list[tuple[str, str, Callable[[Connection], object]]] = [
    ("01", "DynamoDB table with stream", dynamodb.ensure_table),
    ("01", "inserts, updates and deletes in the table's stream", sample_changes_in_stream),
    ("03", "Kinesis data stream", kinesis.ensure_stream),
    ("03", "EventBridge pipe", pipes.ensure_pipe),
    ("03", "the table's changes in Kinesis", verify.wait_for_kinesis),
    ("05", "transform Lambda", lambda_function.ensure_function),
    ("06", "S3 bucket", s3.ensure_bucket),
    ("06", "Firehose delivery stream", firehose.ensure_delivery_stream),
    ("07", "Hive-partitioned delivery stream", firehose.ensure_hive_delivery_stream),
    ("07", "changes delivered to S3", changes_delivered),
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
    if notebook not in NOTEBOOKS:
        raise ValueError(f"There is no notebook {notebook!r}; use one of {', '.join(NOTEBOOKS)}.")
    conn = connect()
    print(conn.describe())
    confirm_account(conn)
    if "00" < notebook < TEARDOWN_NOTEBOOK:
        print(f"Making sure everything before notebook {notebook} exists:")
        if not catch_up(conn, notebook):
            print("  nothing to create yet")
    return conn
