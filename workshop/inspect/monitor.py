"""PipelineMonitor: a live count of every stage, table -> stream -> Kinesis -> S3, refreshed on a timer.

Notebook 09 starts it, runs a load, and watches the counts catch up with each other:

    >>> monitor = PipelineMonitor()    # refreshes every 2 s, stops by itself after 10 minutes
    >>> monitor                        # shows the widget
    >>> monitor.start()
    >>> ... write orders ...
    >>> monitor.snapshot()["s3_records"]
    >>> monitor.stop()

How each stage is counted, and why:
- table items: a Select=COUNT scan. describe_table's ItemCount is refreshed only about every 6 hours
  on AWS, so it would show 0 for the whole workshop. A scan reads the table, fine for a small one.
- stream records and Kinesis records: read from TRIM_HORIZON, and on each tick only what is new since
  the last tick (a bounded number per shard), so the counts are approximate while a load is running
  and catch up afterwards. Records past the 24 h retention are no longer counted. On AWS the monitor
  is a second reader of the table's stream, next to the pipe: DynamoDB advises at most two per shard.
- S3: the objects under orders/ and errors/; each new object is read once and its JSON lines counted.
- freshness: now minus the newest event_time delivered to S3, and the delay between the newest
  change in the last object read and the time S3 stored that object.
- Athena: SELECT count(*) only when the button is pressed, because every query scans (and costs).

The timer is a background thread: in a notebook, a cell that runs a load blocks the kernel's event
loop, so an asyncio timer would not tick during the load, and a thread does. The thread changes the
widgets only by setting their values, which is safe from a thread in JupyterLab and under nbclient.
"""

from __future__ import annotations

import html
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import awswrangler as wr
import boto3
import ipywidgets as widgets
from botocore.exceptions import BotoCoreError, ClientError
from matplotlib.figure import Figure

from workshop.config import DATA_FOLDER, ERROR_FOLDER
from workshop.inspect.streams import DynamoDBStreamShards, InspectError, KinesisShards, ShardTail
from workshop.inspect.ui import (CONNECT_ERRORS, connection_or_problem, error_html, info_html, readable_error,
                                 show_figure)
from workshop.session import Connection

DEFAULT_INTERVAL = 2.0
DEFAULT_MAX_DURATION = 600.0  # seconds: a forgotten monitor stops polling AWS after 10 minutes
STOP_WAIT = 10.0
ATHENA_POLL_SECONDS = 0.25  # how often awswrangler asks whether the count query has finished
READ_PER_SHARD_PER_TICK = 5_000
MISSING_HINT = "Run the first cell of notebook 09 (course.start('09')) to create what is missing."
STAGE_ERRORS = (ClientError, BotoCoreError, InspectError)
ATHENA_ERRORS = (ClientError, BotoCoreError, wr.exceptions.QueryFailed, wr.exceptions.QueryCancelled)
STAGES = ("table", "stream", "kinesis", "s3")
COUNT_KEYS = ("table_items", "stream_records", "kinesis_records", "kinesis_records_per_shard", "s3_objects",
              "s3_records", "failed_objects", "failed_records")
CHARTED = {"table_items": "table items", "stream_records": "stream records",
           "kinesis_records": "Kinesis records", "s3_records": "delivered to S3", "failed_records": "failed"}


@dataclass
class S3Lines:
    """Objects and JSON lines under one prefix; each object is read once, when it first appears."""

    s3: Any
    bucket: str
    prefix: str
    lines_per_object: dict[str, int] = field(default_factory=dict)
    newest_event_time: datetime | None = None     # the newest event_time of any line read
    delivery_delay: timedelta | None = None       # last object: stored at - its newest event_time

    def poll(self) -> None:
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for entry in page.get("Contents", []):
                if entry["Key"] not in self.lines_per_object:
                    self._read(entry["Key"], entry["LastModified"])

    def _read(self, key: str, stored_at: datetime) -> None:
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode("utf-8", errors="replace")
        lines = [line for line in body.splitlines() if line.strip()]
        self.lines_per_object[key] = len(lines)
        event_times = [t for t in map(_event_time, lines) if t is not None]
        if event_times:
            newest = max(event_times)
            self.newest_event_time = max(newest, self.newest_event_time or newest)
            self.delivery_delay = stored_at - newest

    @property
    def objects(self) -> int:
        return len(self.lines_per_object)

    @property
    def lines(self) -> int:
        return sum(self.lines_per_object.values())


def _event_time(line: str) -> datetime | None:
    """The event_time of a delivered line ("2026-11-22T07:13:45Z"), or None for lines without one."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    text = value.get("event_time") if isinstance(value, dict) else None
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # the transform writes UTC


class PipelineMonitor(widgets.VBox):
    """Counts at each stage of the pipeline, a chart of them over time, and freshness; refreshed on a timer.

    session:      a workshop.session.Connection, or a boto3.Session; default workshop.session.connect().
                  When connecting fails (localcloud down, no credentials), the widget shows why instead of raising.
    interval:     seconds between refreshes.
    max_duration: seconds after which the monitor stops by itself.
    """

    def __init__(self, session: Connection | boto3.Session | None = None, interval: float = DEFAULT_INTERVAL,
                 max_duration: float = DEFAULT_MAX_DURATION) -> None:
        super().__init__()
        self.interval = interval
        self.max_duration = max_duration
        self._athena: dict[str, Any] = {"athena_rows": None, "athena_counted_at": None}
        self._started = time.monotonic()
        self._history: list[dict[str, Any]] = []
        self._drawn: dict[str, Any] = {}
        self._snapshot: dict[str, Any] | None = None
        self._lock = threading.Lock()          # one refresh at a time: timer thread or a direct call
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.failure: Exception | None = None   # what stopped the timer thread, if it was not stop()

        self.status = widgets.HTML(info_html("Not running: click Start, or call .start()."))
        self.stages = widgets.HTML()
        self.chart = widgets.Output()
        self.start_button = widgets.Button(description="Start", button_style="success")
        self.stop_button = widgets.Button(description="Stop", button_style="danger", disabled=True)
        self.athena_button = widgets.Button(description="Count rows in Athena", layout=widgets.Layout(width="14em"))
        self.athena_result = widgets.HTML()
        self.start_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.athena_button.on_click(lambda _: self.count_athena_rows())
        self.children = [
            widgets.HBox([self.start_button, self.stop_button, self.athena_button]),
            self.status, self.stages, self.athena_result, self.chart,
        ]
        self.connection: Connection | None = None
        self.problem = self._connect(session)   # None, or why the monitor cannot count (shown, never raised)
        if self.problem:
            self.status.value = error_html(self.problem)
            self.start_button.disabled = self.athena_button.disabled = True

    def _connect(self, session: Connection | boto3.Session | None) -> str | None:
        """Make the clients and readers every refresh uses; on failure, say why in words instead of raising.

        Clients are made here, in the kernel's thread: making them from a boto3 session is not thread-safe.
        """
        self.connection, problem = connection_or_problem(session)
        if self.connection is None:
            return problem
        config = self.connection.config
        try:
            self._dynamodb, self._streams, self._kinesis, s3 = (
                self.connection.client(name) for name in ("dynamodb", "dynamodbstreams", "kinesis", "s3"))
            bucket = self.connection.bucket   # asks STS for the account id, so credentials are tried here
        except CONNECT_ERRORS as error:
            return readable_error(error, "the connection", MISSING_HINT)
        self._stream_tail: ShardTail | None = None
        self._kinesis_tail = ShardTail(KinesisShards(self._kinesis, config.kinesis_stream_name))
        self._delivered = S3Lines(s3, bucket, f"{DATA_FOLDER}/")
        self._failed = S3Lines(s3, bucket, f"{ERROR_FOLDER}/")
        return None

    def __repr__(self) -> str:
        """Short and stable, because notebooks show it as the widget's text/plain output."""
        participant = self.connection.config.participant if self.connection else None
        return f"PipelineMonitor(participant={participant!r}, interval={self.interval:g})"

    # ---- the timer -------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Refresh every `interval` seconds in a background thread, until stop() or max_duration."""
        if self.running or self.problem:
            return
        self._stopping.clear()
        self._started = time.monotonic()
        self._history.clear()  # the chart's time axis starts again at 0
        self._drawn = {}
        self._thread = threading.Thread(target=self._run, name="PipelineMonitor", daemon=True)
        self.start_button.disabled, self.stop_button.disabled = True, False
        until = datetime.now(timezone.utc) + timedelta(seconds=self.max_duration)
        self.status.value = info_html(f"Running: refreshing every {self.interval:g} s; stops by itself at "
                                      f"{until:%H:%M:%S} UTC.")
        self._thread.start()

    def stop(self) -> None:
        """Stop refreshing; waits (up to STOP_WAIT seconds) for the refresh under way to finish."""
        if not self.running:
            return
        self._stopping.set()
        self._thread.join(timeout=STOP_WAIT)  # the thread ends after its current refresh even if this times out
        self._stopped("Stopped. Click Start to watch again.")

    def _run(self) -> None:
        deadline = self._started + self.max_duration
        try:
            while not self._stopping.is_set():
                self.refresh()
                if time.monotonic() >= deadline:
                    self._stopped(f"Stopped by itself after {_duration(self.max_duration)}. Click Start to "
                                  "watch again.")
                    return
                self._stopping.wait(self.interval)
        except Exception as error:  # noqa: BLE001 - a thread has no caller to raise to; show it instead
            self.failure = error
            self._stopped(f"Stopped by an unexpected error: {type(error).__name__}: {error}", is_error=True)

    def _stopped(self, message: str, is_error: bool = False) -> None:
        self._stopping.set()
        self.start_button.disabled, self.stop_button.disabled = False, True
        self.status.value = error_html(message) if is_error else info_html(message)

    # ---- counting ---------------------------------------------------------------------------------------

    def refresh(self) -> dict[str, Any]:
        """Count every stage once (what each tick does), update the widgets, and return the snapshot."""
        if self.problem:
            return self._unconnected_snapshot()
        with self._lock:
            snapshot: dict[str, Any] = {"time": datetime.now(timezone.utc), **dict.fromkeys(COUNT_KEYS),
                                        "problems": {}}
            stages: list[tuple[str, str, Callable[[], dict[str, Any]]]] = [
                ("table", f"table {self.connection.config.table_name}", self._count_table),
                ("stream", f"the stream of table {self.connection.config.table_name}", self._count_stream),
                ("kinesis", self._kinesis_tail.stream.what, self._count_kinesis),
                ("s3", f"bucket {self._delivered.bucket}", self._count_s3),
            ]
            for stage, what, count in stages:
                try:
                    snapshot.update(count())
                except STAGE_ERRORS as error:
                    snapshot["problems"][stage] = readable_error(error, what, MISSING_HINT)
            snapshot.update(self._athena, **self._freshness(snapshot["time"]))
            self._snapshot = snapshot
            self._history.append({"elapsed": time.monotonic() - self._started,
                                  **{key: snapshot.get(key) for key in CHARTED}})
            self._render(snapshot)
            return dict(snapshot)

    def _unconnected_snapshot(self) -> dict[str, Any]:
        """Without a connection nothing is counted: every stage shows why."""
        snapshot = {"time": datetime.now(timezone.utc), **dict.fromkeys(COUNT_KEYS), **self._athena,
                    "freshness_seconds": None, "delivery_delay_seconds": None,
                    "problems": dict.fromkeys(STAGES, self.problem)}
        self.stages.value = _stages_html(snapshot)
        return snapshot

    def snapshot(self) -> dict[str, Any]:
        """The counts the widget shows now (after one refresh if there was none yet).

        Keys: time, table_items, stream_records, kinesis_records, kinesis_records_per_shard, s3_objects,
        s3_records, failed_objects, failed_records, athena_rows, athena_counted_at, freshness_seconds,
        delivery_delay_seconds, problems ({stage: message} for stages that could not be counted).
        A count is None when its stage could not be counted.
        """
        with self._lock:
            if self._snapshot is not None:
                return dict(self._snapshot)
        return self.refresh()

    def _count_table(self) -> dict[str, Any]:
        pages = self._dynamodb.get_paginator("scan").paginate(TableName=self.connection.config.table_name,
                                                              Select="COUNT")
        return {"table_items": sum(page["Count"] for page in pages)}

    def _count_stream(self) -> dict[str, Any]:
        stream = DynamoDBStreamShards.of_table(self._dynamodb, self._streams, self.connection.config.table_name)
        if self._stream_tail is None or self._stream_tail.stream.stream_arn != stream.stream_arn:
            self._stream_tail = ShardTail(stream)  # a re-enabled stream is a new stream: count it afresh
        self._stream_tail.poll(READ_PER_SHARD_PER_TICK)
        return {"stream_records": self._stream_tail.total}

    def _count_kinesis(self) -> dict[str, Any]:
        per_shard = self._kinesis_tail.poll(READ_PER_SHARD_PER_TICK)
        return {"kinesis_records": sum(per_shard.values()), "kinesis_records_per_shard": per_shard}

    def _count_s3(self) -> dict[str, Any]:
        self._delivered.poll()
        self._failed.poll()
        return {"s3_objects": self._delivered.objects, "s3_records": self._delivered.lines,
                "failed_objects": self._failed.objects, "failed_records": self._failed.lines}

    def _freshness(self, now: datetime) -> dict[str, float | None]:
        newest, delay = self._delivered.newest_event_time, self._delivered.delivery_delay
        return {"freshness_seconds": (now - newest).total_seconds() if newest else None,
                "delivery_delay_seconds": delay.total_seconds() if delay is not None else None}

    # ---- Athena, on demand ------------------------------------------------------------------------------

    def count_athena_rows(self) -> int | None:
        """SELECT count(*) of the crawled orders table in the course's workgroup; shown and returned.

        On a problem (no table yet, no workgroup, no connection) the message is shown and None returned.
        """
        if self.problem:
            self.athena_result.value = error_html(self.problem)
            return None
        config = self.connection.config
        self.athena_result.value = info_html("Asking Athena...")
        table = f"{config.glue_database}.{config.glue_table}"
        try:
            frame = wr.athena.read_sql_query(
                f'SELECT count(*) AS row_count FROM "{config.glue_table}"', database=config.glue_database,
                workgroup=config.workgroup_name, ctas_approach=False, boto3_session=self.connection.session,
                athena_query_wait_polling_delay=ATHENA_POLL_SECONDS)
        except ATHENA_ERRORS as error:
            reason = error.response["Error"]["Message"] if isinstance(error, ClientError) else str(error)
            self.athena_result.value = error_html(
                f"Athena could not count the rows of {table}: {reason.rstrip('.')}. The crawler (notebook 07) "
                "creates the table and notebook 08 the workgroup; course.start('09') makes sure both exist.")
            return None
        rows = int(frame["row_count"].iloc[0])
        with self._lock:
            self._athena = {"athena_rows": rows, "athena_counted_at": datetime.now(timezone.utc)}
            if self._snapshot is not None:
                self._snapshot.update(self._athena)
        self.athena_result.value = info_html(f"Athena: {rows:,} rows in {table} "
                                             f"(counted at {self._athena['athena_counted_at']:%H:%M:%S} UTC).")
        return rows

    # ---- showing --------------------------------------------------------------------------------------------

    def _render(self, snapshot: dict[str, Any]) -> None:
        self.stages.value = _stages_html(snapshot)
        counts = {key: snapshot.get(key) for key in CHARTED}
        if counts != self._drawn:  # a PNG costs ~50 ms: redraw only when a count moved
            self._drawn = counts
            show_figure(self.chart, _history_figure(self._history))


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 120 else f"{seconds:g} s"


def _stages_html(snapshot: dict[str, Any]) -> str:
    """The stages as a small table: what was counted, the count, and how (or what went wrong)."""
    def count(key: str) -> str:
        value = snapshot.get(key)
        return "-" if value is None else f"{value:,}"

    per_shard = ", ".join(f"{shard_id.removeprefix('shardId-').lstrip('0') or '0'}: {n:,}"
                          for shard_id, n in (snapshot.get("kinesis_records_per_shard") or {}).items())
    freshness, delay = snapshot.get("freshness_seconds"), snapshot.get("delivery_delay_seconds")
    rows = [
        ("DynamoDB table items", count("table_items"), "Select=COUNT scan (ItemCount lags up to 6 h)", "table"),
        ("DynamoDB stream records", count("stream_records"), "read from TRIM_HORIZON, approximate", "stream"),
        ("Kinesis records", count("kinesis_records"), f"per shard: {per_shard}" if per_shard else "", "kinesis"),
        ("Delivered to S3 (orders/)", count("s3_records"), _lines_in_objects(snapshot, "s3"), "s3"),
        ("Failed (errors/)", count("failed_records"), _lines_in_objects(snapshot, "failed"), "s3"),
        ("Athena rows", count("athena_rows"), "press 'Count rows in Athena'", "athena"),
        ("Freshness", "-" if freshness is None else f"{freshness:.1f} s",
         "now - newest delivered event_time" + ("" if delay is None else
                                                f"; last object stored {delay:.1f} s after its newest change"),
         "freshness"),
    ]
    problems = snapshot.get("problems", {})
    cells = "".join(
        f"<tr><td>{html.escape(label)}</td><td style='text-align:right'><b>{value}</b></td>"
        f"<td>{error_html(problems[stage]) if stage in problems else html.escape(note)}</td></tr>"
        for label, value, note, stage in rows)
    return f"<table><tr><th>stage</th><th>count</th><th></th></tr>{cells}</table>"


def _lines_in_objects(snapshot: dict[str, Any], prefix: str) -> str:
    """'lines in 3 objects', or 'line in 1 object': the note next to a count of records under an S3 prefix."""
    lines, objects = snapshot.get(f"{prefix}_records"), snapshot.get(f"{prefix}_objects")
    if objects is None:
        return ""
    return f"{'line' if lines == 1 else 'lines'} in {objects:,} {'object' if objects == 1 else 'objects'}"


def _history_figure(history: list[dict[str, Any]]) -> Figure:
    """Counts per stage over time since start: the lines should rise and meet."""
    figure = Figure(figsize=(7, 3))
    axes = figure.subplots()
    elapsed = [point["elapsed"] for point in history]
    for key, label in CHARTED.items():
        values = [point[key] for point in history]
        if any(value for value in values):
            axes.plot(elapsed, [float("nan") if value is None else value for value in values], label=label,
                      marker=".")
    axes.set_title("Counts per stage")
    axes.set_xlabel("seconds since start")
    axes.set_ylabel("records")
    if axes.lines:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)
    figure.tight_layout()
    return figure
