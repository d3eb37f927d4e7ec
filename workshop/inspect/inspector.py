"""What the Kinesis shard inspector and the DynamoDB stream inspector share: shard, position, pages, detail.

A learner picks a stream (or table), a shard and a starting position, and reads a page of records;
"Next page" follows NextShardIterator. The page is a table; picking a row shows the whole record in
DynamoDB JSON next to its plain values. Subclasses say which API to use (`_open_stream`), how a
record becomes a row (`_row`, `_detail`), and may add controls (`_extra_controls`).

Every control is a public attribute, so a test (or a curious learner) can drive the widget from code
exactly as clicks would: set `.value`, call `.click()`.

When there is no connection (localcloud could not start, a setting is wrong), the widget still shows:
its message says what went wrong and how to fix it, and its buttons are disabled.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

import ipywidgets as widgets
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from workshop.inspect.hashing import is_open
from workshop.inspect.records import to_json_text
from workshop.inspect.streams import SEQUENCE_POSITIONS, TRIM_HORIZON, InspectError, Page, StreamShards
from workshop.inspect.ui import error_html, frame_html, info_html, readable_error
from workshop.session import Connection

PAGE_SIZE = 25
READ_ERRORS = (ClientError, BotoCoreError, InspectError)


class RecordInspector(widgets.VBox):
    """Read a stream page by page and look inside its records. Subclasses fill in the stream API."""

    source_kind = "stream"                  # in messages: "Kinesis stream learner-orders-stream"
    source_label = "Stream"                 # the source dropdown's description
    positions: tuple[str, ...] = ()
    max_limit = 1_000
    columns: list[str] = []
    create_hint = ""                        # how to create a missing source

    def __init__(self, connection: Connection | None, source_name: str, problem: str | None = None) -> None:
        """connection None: `problem` says why there is none, and the widget shows it instead of reading."""
        super().__init__()
        self.connection = connection
        self._connection_problem = problem
        self.error: str | None = None       # the last problem shown, None after a success
        self.page = self._empty_page()      # the last page read, as shown
        self.records: list[dict[str, Any]] = []  # the same page as the API returned it
        self.millis_behind_latest: int | None = None
        self.shards: list[dict[str, Any]] = []
        self._stream: StreamShards | None = None
        self._next_iterator: str | None = None
        self._page_number = 0  # of the pages read since the last 'Get records'

        self.source = widgets.Dropdown(description=self.source_label)
        self.shard = widgets.Dropdown(description="Shard", layout=widgets.Layout(width="36em"))
        self.position = widgets.Dropdown(description="Position", options=self.positions, value=TRIM_HORIZON)
        self.sequence_number = widgets.Text(description="Sequence no.", placeholder="from the sequence_number column")
        self.limit = widgets.BoundedIntText(value=PAGE_SIZE, min=1, max=self.max_limit, description="Limit")
        self.get_records_button = widgets.Button(description="Get records", button_style="primary")
        self.next_page_button = widgets.Button(description="Next page", disabled=True)
        self.message = widgets.HTML()
        self.page_view = widgets.HTML()  # the page as a table
        self.rows = widgets.Select(description="Record", rows=8, layout=widgets.Layout(width="34em"))
        self.detail = widgets.HTML()

        position_extras, sections = self._extra_controls()
        self._shown_for_position = {self.sequence_number: SEQUENCE_POSITIONS, **self._position_dependent()}
        self.children = [
            widgets.HBox([self.source, self.shard]),
            widgets.HBox([self.position, self.sequence_number, *position_extras]),
            widgets.HBox([self.limit, self.get_records_button, self.next_page_button]),
            self.message,
            self.page_view,
            widgets.HBox([self.rows, self.detail]),
            *sections,
        ]
        self._show_position_inputs()
        if connection is None:
            self._show_unconnected(source_name)
        else:
            self._fill_sources(source_name)
            self._load_source_showing_errors()
        self.source.observe(lambda _: self._load_source_showing_errors(), names="value")
        self.shard.observe(lambda _: self._forget_next_page(), names="value")
        self.position.observe(lambda _: self._show_position_inputs(), names="value")
        self.rows.observe(lambda change: self.show_record(change["new"]), names="value")
        self.get_records_button.on_click(lambda _: self.get_records())
        self.next_page_button.on_click(lambda _: self.next_page())

    def __repr__(self) -> str:
        """Short and stable, because notebooks show it as the widget's text/plain output."""
        return f"{type(self).__name__}({self.source_label.lower()}={self.source.value!r})"

    # ---- what a subclass provides ---------------------------------------------------------------------

    def _source_names(self) -> list[str]:
        raise NotImplementedError

    def _client(self, service: str) -> Any:
        """The connection's client for service; without a connection, InspectError saying why there is none."""
        if self.connection is None:
            raise InspectError(self._connection_problem)
        return self.connection.client(service)

    def _open_stream(self, source_name: str) -> StreamShards:
        raise NotImplementedError

    def _row(self, record: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _detail(self, record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        raise NotImplementedError

    def _extra_controls(self) -> tuple[list[widgets.Widget], list[widgets.Widget]]:
        """(inputs shown next to the position, sections shown under the records); none by default."""
        return [], []

    def _position_dependent(self) -> dict[widgets.Widget, tuple[str, ...]]:
        """Extra inputs shown only for some positions, e.g. a time for AT_TIMESTAMP."""
        return {}

    def _timestamp(self) -> datetime | None:
        return None

    def _shard_label(self, shard: dict[str, Any]) -> str:
        return f"{shard['ShardId']} - {'OPEN' if is_open(shard) else 'CLOSED'}"

    # ---- reading ----------------------------------------------------------------------------------------

    def get_records(self) -> pd.DataFrame:
        """Read the first page at the chosen shard and position, show it and return it (the button's action).

        A problem (missing stream, a position without its sequence number or time, an expired
        iterator, throttling) never raises: it is shown in the widget's message box, stored in
        `.error`, and an empty DataFrame with the usual columns is returned.
        """
        return self._read_page(first=True)

    def next_page(self) -> pd.DataFrame:
        """Read the page after the last one, following NextShardIterator; errors as in get_records()."""
        return self._read_page(first=False)

    def _read_page(self, first: bool) -> pd.DataFrame:
        try:
            stream = self._require_stream()
            iterator = self._first_iterator(stream) if first else self._require_next_iterator()
            page = stream.read(iterator, self.limit.value)
        except READ_ERRORS as error:
            if _is_expired_iterator(error):
                self._forget_next_page()
            self._show_error(error)
            return self._empty_page()
        self._page_number = 1 if first else self._page_number + 1
        self._show_page(page)
        return self.page

    def _require_stream(self) -> StreamShards:
        """The open stream; loads it again if loading failed earlier (it may exist by now)."""
        return self._stream or self._load_source()

    def _first_iterator(self, stream: StreamShards) -> str:
        if self.shard.value is None:
            raise InspectError(f"{stream.what} has no shard to read. Wait a few seconds and choose it again.")
        return stream.iterator(self.shard.value, self.position.value, self.sequence_number.value, self._timestamp())

    def _require_next_iterator(self) -> str:
        if self._next_iterator is None:
            raise InspectError("There is no next page: click 'Get records' first. (After the last page of a "
                               "closed shard there is none; read its child shard.)")
        return self._next_iterator

    def _show_page(self, page: Page) -> None:
        self.error = None
        self.records = page.records
        self.page = pd.DataFrame([self._row(record) for record in page.records], columns=self.columns)
        self.millis_behind_latest = page.millis_behind_latest
        self._next_iterator = page.next_iterator
        self.next_page_button.disabled = page.next_iterator is None
        self.page_view.value = frame_html(self.page)
        self.rows.options = [(self._row_label(index, row), index) for index, row in self.page.iterrows()]
        self.rows.value = 0 if len(self.page) else None
        self.show_record(self.rows.value)
        self.message.value = info_html(self._page_summary(page))

    def _page_summary(self, page: Page) -> str:
        where = self.position.value if self._page_number == 1 else f"page {self._page_number}, from {self.position.value}"
        summary = f"{len(page.records)} records from {self.shard.value} ({where})"
        if page.millis_behind_latest is not None:
            summary += f" - MillisBehindLatest: {page.millis_behind_latest:,} ms"
        if page.next_iterator is None:
            summary += " - end of this closed shard"
        elif not page.records:
            summary += " - nothing new yet; Next page asks again"
        return summary

    @staticmethod
    def _row_label(index: int, row: pd.Series) -> str:
        what = " ".join(str(part) for part in (row.get("event_name"), row.get("orderid")) if part)
        return f"{index}: {what or row.get('partition_key', '')} (seq ...{str(row['sequence_number'])[-6:]})"

    # ---- one record -------------------------------------------------------------------------------------

    def show_record(self, index: int | None) -> None:
        """Show record `index` of the page: as stored (DynamoDB JSON) next to its plain values."""
        if index is None or not 0 <= index < len(self.records):
            self.detail.value = ""
            return
        typed, plain = self._detail(self.records[index])
        self.detail.value = (
            '<div style="display:flex;gap:1em">'
            f"{_json_column('As stored (DynamoDB JSON)', typed)}"
            f"{_json_column('Plain values (TypeDeserializer)', plain)}</div>"
        )

    # ---- the source and its shards ------------------------------------------------------------------------

    def _fill_sources(self, wanted: str) -> None:
        """List the sources for the dropdown; the wanted one is listed even before it exists."""
        try:
            names = self._source_names()
        except READ_ERRORS as error:
            self._show_error(error, what=f"the list of {self.source_kind}s")
            names = []
        self.source.options = sorted({*names, wanted})
        self.source.value = wanted

    def _load_source_showing_errors(self) -> None:
        try:
            self._load_source()
        except READ_ERRORS as error:
            self._show_error(error)

    def _forget_next_page(self) -> None:
        """After a new shard, source or an expired iterator, 'Next page' has nothing to follow."""
        self._next_iterator = None
        self.next_page_button.disabled = True

    def _load_source(self) -> StreamShards:
        self._stream, self.shards = None, []
        self._forget_next_page()
        self.shard.options = []
        stream = self._open_stream(self.source.value)
        shards = stream.shards()
        self._stream, self.shards = stream, shards
        self.shard.options = [(self._shard_label(shard), shard["ShardId"]) for shard in shards]
        self.shard.value = shards[0]["ShardId"] if shards else None
        self.error = None
        self.message.value = info_html(f"{stream.what}: {len(shards)} shard(s). Choose a position and click "
                                       "'Get records'.")
        return stream

    def _show_unconnected(self, wanted: str) -> None:
        self.source.options = [wanted] if wanted else []
        self.error = self._connection_problem
        self.message.value = error_html(self._connection_problem)
        self.get_records_button.disabled = True
        self.next_page_button.disabled = True

    def _show_position_inputs(self) -> None:
        for control, positions in self._shown_for_position.items():
            control.layout.display = "" if self.position.value in positions else "none"

    # ---- messages -----------------------------------------------------------------------------------------

    def _show_error(self, error: Exception, what: str | None = None) -> None:
        what = what or (self._stream.what if self._stream else f"{self.source_kind} {self.source.value}")
        self.error = readable_error(error, what, self.create_hint)
        self.message.value = error_html(self.error)

    def _empty_page(self) -> pd.DataFrame:
        return pd.DataFrame(columns=self.columns)


def _json_column(title: str, value: Any) -> str:
    return (f'<div style="flex:1;min-width:0"><b>{html.escape(title)}</b>'
            f'<pre style="font-size:11px;max-height:26em;overflow:auto;white-space:pre">'
            f'{html.escape(to_json_text(value))}</pre></div>')


def _is_expired_iterator(error: Exception) -> bool:
    return isinstance(error, ClientError) and error.response["Error"]["Code"] == "ExpiredIteratorException"
