"""Which course steps a participant has done, read from what exists in AWS (or localcloud), not from notebooks.

Notebook variables vanish when a kernel restarts, but resources and data stay: a RUNNING pipe means
notebook 03 was done, objects under orders/ mean Firehose has delivered (notebook 06). Notebooks 02
and 04 only read, so they leave nothing to find.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from botocore.exceptions import ClientError

from workshop.config import DATA_FOLDER
from workshop.course import NOTEBOOKS
from workshop.freshness import LIVE_TABLE
from workshop.session import PROJECT_ROOT, Connection
from workshop.teardown import NOT_FOUND_CODES


@dataclass(frozen=True)
class StepStatus:
    notebook: str
    step: str
    done: bool


def _found(call: Callable[[], Any]) -> Any:
    """call()'s answer, or None when AWS says the resource does not exist."""
    try:
        return call()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in NOT_FOUND_CODES:
            return None
        raise


def _table_streams(conn: Connection) -> bool:
    table = _found(lambda: conn.client("dynamodb").describe_table(TableName=conn.config.table_name)["Table"])
    return bool(table and table.get("StreamSpecification", {}).get("StreamEnabled"))


def _table_has_orders(conn: Connection) -> bool:
    page = _found(lambda: conn.client("dynamodb").scan(TableName=conn.config.table_name, Limit=1))
    return bool(page and page["Count"])


def _kinesis_active(conn: Connection) -> bool:
    summary = _found(lambda: conn.client("kinesis").describe_stream_summary(
        StreamName=conn.config.kinesis_stream_name)["StreamDescriptionSummary"])
    return bool(summary and summary["StreamStatus"] == "ACTIVE")


def _pipe_running(conn: Connection) -> bool:
    pipe = _found(lambda: conn.client("pipes").describe_pipe(Name=conn.config.pipe_name))
    return bool(pipe and pipe["CurrentState"] == "RUNNING")


def _function_active(conn: Connection) -> bool:
    function = _found(lambda: conn.client("lambda").get_function_configuration(FunctionName=conn.config.lambda_name))
    return bool(function and function.get("State", "Active") == "Active")


def _bucket_exists(conn: Connection) -> bool:
    return _found(lambda: conn.client("s3").head_bucket(Bucket=conn.bucket)) is not None


def _delivery_stream_active(conn: Connection, name: str) -> bool:
    stream = _found(lambda: conn.client("firehose").describe_delivery_stream(
        DeliveryStreamName=name)["DeliveryStreamDescription"])
    return bool(stream and stream["DeliveryStreamStatus"] == "ACTIVE")


def _orders_delivered(conn: Connection) -> bool:
    listing = _found(lambda: conn.client("s3").list_objects_v2(Bucket=conn.bucket, Prefix=f"{DATA_FOLDER}/",
                                                               MaxKeys=1))
    return bool(listing and listing["KeyCount"])


def _classifier_exists(conn: Connection) -> bool:
    return _found(lambda: conn.client("glue").get_classifier(Name=conn.config.classifier_name)) is not None


def _glue_table_exists(conn: Connection, name: str) -> bool:
    return _found(lambda: conn.client("glue").get_table(DatabaseName=conn.config.glue_database,
                                                        Name=name)) is not None


def _crawler_exists(conn: Connection) -> bool:
    return _found(lambda: conn.client("glue").get_crawler(Name=conn.config.crawler_name)) is not None


def _workgroup_exists(conn: Connection) -> bool:
    return _found(lambda: conn.client("athena").get_work_group(WorkGroup=conn.config.workgroup_name)) is not None


# (notebook, what it leaves behind, how to see it). Names come from the Config, never spelled here.
STEPS: list[tuple[str, str, Callable[[Connection], bool]]] = [
    ("01", "DynamoDB table with a stream", _table_streams),
    ("01", "orders in the table", _table_has_orders),
    ("03", "Kinesis stream ACTIVE", _kinesis_active),
    ("03", "pipe RUNNING", _pipe_running),
    ("05", "transform Lambda deployed", _function_active),
    ("06", "S3 bucket", _bucket_exists),
    ("06", "delivery stream ACTIVE", lambda conn: _delivery_stream_active(conn, conn.config.firehose_name)),
    ("06", f"objects under {DATA_FOLDER}/", _orders_delivered),
    ("07", "Hive-partitioned delivery stream ACTIVE",
     lambda conn: _delivery_stream_active(conn, conn.config.hive_firehose_name)),
    ("07", "JSON classifier", _classifier_exists),
    ("07", "crawler", _crawler_exists),
    ("07", "crawled table", lambda conn: _glue_table_exists(conn, conn.config.glue_table)),
    ("08", "Athena workgroup", _workgroup_exists),
    ("09", f"{LIVE_TABLE} table (partition projection)", lambda conn: _glue_table_exists(conn, LIVE_TABLE)),
]


def participant_progress(conn: Connection) -> list[StepStatus]:
    """Each course step and whether what it creates exists now, for conn's participant."""
    return [StepStatus(notebook, step, check(conn)) for notebook, step, check in STEPS]


def next_notebook(statuses: list[StepStatus]) -> str:
    """The notebook after the furthest one with a step done ('00' if none is)."""
    reached = [s.notebook for s in statuses if s.done]
    if not reached:
        return NOTEBOOKS[0]
    return NOTEBOOKS[min(NOTEBOOKS.index(max(reached)) + 1, len(NOTEBOOKS) - 1)]


def notebook_title(notebook: str) -> str:
    """'03' -> '03_kinesis_and_pipe', the learner notebook's file name."""
    found = sorted((PROJECT_ROOT / "notebooks").glob(f"{notebook}_*.ipynb"))
    return found[0].stem if found else notebook


def format_progress(conn: Connection, statuses: list[StepStatus]) -> str:
    """A compact table: notebook, step, done/missing, then the next notebook and any gap before it."""
    upcoming = next_notebook(statuses)
    width = max(len(notebook_title(s.notebook)) for s in statuses)
    lines = [f"Participant {conn.config.participant} ({conn.config.mode} mode, region {conn.config.region})"]
    lines += [f"  {notebook_title(s.notebook):<{width}}  {s.step:<42} {'done' if s.done else 'missing'}"
              for s in statuses]
    lines.append(f"  next notebook: {notebook_title(upcoming)}")
    gaps = [s.step for s in statuses if not s.done and s.notebook < upcoming]
    if gaps:
        lines.append(f"  missing before it: {', '.join(gaps)}. `python -m workshop catch-up {upcoming}` creates "
                     "what is missing, sample orders and their delivery to S3 included.")
    return "\n".join(lines)
