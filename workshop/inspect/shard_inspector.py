"""ShardInspector: read a Kinesis stream shard by shard, see where partition keys land, spot hot shards.

Notebook 04 uses it on the stream the pipe writes to. Each Kinesis record's Data is one DynamoDB
stream record as JSON, with the orderid as partition key, so a page shows which change of which
order arrived when, and in which shard.

Example:
    >>> inspector = ShardInspector()           # the configured stream, through workshop.session.connect()
    >>> inspector                              # shows the widget
    >>> inspector.position.value = "TRIM_HORIZON"
    >>> inspector.get_records_button.click()   # or: frame = inspector.get_records()
    >>> inspector.locate_key("3f9c04ab-000042").shard_id
    'shardId-000000000001'
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
import ipywidgets as widgets
from matplotlib.figure import Figure

from workshop.inspect.hashing import hash_key, is_open, key_space_share, shard_for_key
from workshop.inspect.inspector import READ_ERRORS, RecordInspector
from workshop.inspect.records import KINESIS_COLUMNS, kinesis_record_detail, kinesis_record_row
from workshop.inspect.streams import AT_TIMESTAMP, KinesisShards, ShardTail
from workshop.inspect.ui import connection_or_problem, error_html, show_figure
from workshop.session import Connection

# Counting stops after this many records per shard: enough to see a hot key, bounded in time and reads.
COUNT_LIMIT_PER_SHARD = 10_000


@dataclass(frozen=True)
class KeyLocation:
    """Where a partition key goes: its MD5 hash as a 128-bit integer and the shard whose range holds it."""

    partition_key: str
    hash_key: int
    shard_id: str


class ShardInspector(RecordInspector):
    """A widget over one Kinesis stream: pages of records, a partition-key calculator, counts per shard.

    stream_name: default the course's stream (config.kinesis_stream_name).
    session:     a workshop.session.Connection, or a boto3.Session; default workshop.session.connect().
                 When connecting fails, the widget shows why instead of raising.
    """

    source_kind = "Kinesis stream"
    source_label = "Stream"
    positions = KinesisShards.positions
    max_limit = KinesisShards.max_page
    columns = KINESIS_COLUMNS
    create_hint = "Create it in notebook 03, or run course.start('04') to catch up."

    def __init__(self, stream_name: str | None = None, session: Connection | boto3.Session | None = None) -> None:
        connection, problem = connection_or_problem(session)
        default_name = connection.config.kinesis_stream_name if connection else ""
        super().__init__(connection, stream_name or default_name, problem)
        self.shard_counts: dict[str, int] = {}   # the last count_per_shard() result
        self.count_figure: Figure | None = None  # and its chart
        self.count_button.disabled = connection is None

    @property
    def stream(self) -> widgets.Dropdown:
        """The stream dropdown (the Kinesis name for the inspector's source)."""
        return self.source

    # ---- the Kinesis API ------------------------------------------------------------------------------

    def _source_names(self) -> list[str]:
        pages = self._client("kinesis").get_paginator("list_streams").paginate()
        return [name for page in pages for name in page["StreamNames"]]

    def _open_stream(self, source_name: str) -> KinesisShards:
        return KinesisShards(self._client("kinesis"), source_name)

    def _row(self, record: dict[str, Any]) -> dict[str, Any]:
        return kinesis_record_row(record)

    def _detail(self, record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        return kinesis_record_detail(record)

    def _shard_label(self, shard: dict[str, Any]) -> str:
        return f"{shard['ShardId']} - keys {key_space_share(shard)} - {'OPEN' if is_open(shard) else 'CLOSED'}"

    def _timestamp(self) -> datetime | None:
        return self.timestamp.value

    # ---- extra controls: time, key calculator, counts chart -------------------------------------------

    def _extra_controls(self) -> tuple[list[widgets.Widget], list[widgets.Widget]]:
        # DatetimePicker holds timezone-aware values (NaiveDatetimePicker is the naive one).
        self.timestamp = widgets.DatetimePicker(description="Timestamp")
        self.key_input = widgets.Text(description="Partition key", placeholder="an orderid, e.g. 3f9c04ab-000042",
                                      style={"description_width": "initial"}, layout=widgets.Layout(width="30em"))
        self.key_result = widgets.HTML()
        self.count_button = widgets.Button(description="Count records per shard", layout=widgets.Layout(width="14em"))
        self.chart = widgets.Output()
        self.key_input.observe(lambda change: self.locate_key(change["new"]), names="value")
        self.count_button.on_click(lambda _: self.count_per_shard())
        calculator = widgets.VBox([widgets.HTML("<b>Which shard does a partition key go to?</b>"),
                                   self.key_input, self.key_result])
        counts = widgets.VBox([widgets.HTML("<b>Records per shard</b> (a shard holding most of them has a hot key)"),
                               self.count_button, self.chart])
        return [self.timestamp], [calculator, counts]

    def _position_dependent(self) -> dict[widgets.Widget, tuple[str, ...]]:
        return {self.timestamp: (AT_TIMESTAMP,)}

    def locate_key(self, partition_key: str) -> KeyLocation | None:
        """Show (and return) the MD5 hash of a partition key and the shard whose HashKeyRange holds it."""
        if not partition_key:
            self.key_result.value = ""
            return None
        try:
            shard = shard_for_key(partition_key, self.shards)
        except (ValueError, LookupError) as error:
            self.key_result.value = error_html(str(error))
            return None
        location = KeyLocation(partition_key, hash_key(partition_key), shard["ShardId"])
        self.key_result.value = (
            f"MD5({html.escape(partition_key)}) as a 128-bit integer: <code>{location.hash_key}</code><br>"
            f"&rarr; <b>{location.shard_id}</b>, whose range {shard['HashKeyRange']['StartingHashKey']}.."
            f"{shard['HashKeyRange']['EndingHashKey']} ({key_space_share(shard)} of the key space) holds it")
        return location

    def count_per_shard(self, max_records_per_shard: int = COUNT_LIMIT_PER_SHARD) -> dict[str, int]:
        """Count each shard's records from TRIM_HORIZON (at most max_records_per_shard each) and chart them.

        Returns {shard id: count}; on a problem, shows it, sets `.error` and returns {}.
        """
        try:
            stream = self._require_stream()
            counts = ShardTail(stream).poll(max_records_per_shard)
        except READ_ERRORS as error:
            self._show_error(error)
            return {}
        self.error = None
        self.shard_counts = counts
        self.count_figure = _counts_figure(counts, self.shards, max_records_per_shard)
        show_figure(self.chart, self.count_figure)
        return counts


def _counts_figure(counts: dict[str, int], shards: list[dict[str, Any]], limit: int) -> Figure:
    """One bar per shard, labelled with its share of the key space."""
    ranges = {shard["ShardId"]: key_space_share(shard) for shard in shards}
    figure = Figure(figsize=(6, 3))
    axes = figure.subplots()
    labels = [f"{shard_id.removeprefix('shardId-').lstrip('0') or '0'}\n{ranges.get(shard_id, '')}"
              for shard_id in counts]
    bars = axes.bar(labels, list(counts.values()), color="#2e86c1")
    axes.bar_label(bars, labels=[f"{n:,}" + ("+" if n >= limit else "") for n in counts.values()])
    axes.set_title("Records per shard, from TRIM_HORIZON")
    axes.set_xlabel("shard (share of the hash key space)")
    axes.set_ylabel("records")
    axes.margins(y=0.15)
    return figure
