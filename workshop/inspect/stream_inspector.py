"""StreamInspector: the table's DynamoDB stream, read the way the pipe reads it.

Notebook 02 uses it to show what one put, update or delete leaves in the stream: an INSERT with
a NewImage, a MODIFY with both images (and which attributes changed), a REMOVE with the OldImage.

Example:
    >>> inspector = StreamInspector()          # the course's table, through workshop.session.connect()
    >>> inspector.get_records()[["event_name", "orderid", "images", "changed"]]
"""

from __future__ import annotations

from typing import Any

import boto3
import ipywidgets as widgets

from workshop.inspect.inspector import RecordInspector
from workshop.inspect.records import STREAM_COLUMNS, stream_record_detail, stream_record_row
from workshop.inspect.streams import DynamoDBStreamShards
from workshop.inspect.ui import connection_or_problem
from workshop.session import Connection


class StreamInspector(RecordInspector):
    """A widget over one table's DynamoDB stream: pages of change records and each record in full.

    table_name: default the course's table (config.table_name).
    session:    a workshop.session.Connection, or a boto3.Session; default workshop.session.connect().
                When connecting fails, the widget shows why instead of raising.
    """

    source_kind = "table"
    source_label = "Table"
    positions = DynamoDBStreamShards.positions
    max_limit = DynamoDBStreamShards.max_page
    columns = STREAM_COLUMNS
    create_hint = "Create it in notebook 01, or run course.start('02') to catch up."

    def __init__(self, table_name: str | None = None, session: Connection | boto3.Session | None = None) -> None:
        connection, problem = connection_or_problem(session)
        default_name = connection.config.table_name if connection else ""
        super().__init__(connection, table_name or default_name, problem)

    @property
    def table(self) -> widgets.Dropdown:
        """The table dropdown: the stream inspected is this table's latest stream."""
        return self.source

    def _source_names(self) -> list[str]:
        pages = self._client("dynamodb").get_paginator("list_tables").paginate()
        return [name for page in pages for name in page["TableNames"]]

    def _open_stream(self, source_name: str) -> DynamoDBStreamShards:
        return DynamoDBStreamShards.of_table(self._client("dynamodb"), self._client("dynamodbstreams"), source_name)

    def _row(self, record: dict[str, Any]) -> dict[str, Any]:
        return stream_record_row(record)

    def _detail(self, record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        return stream_record_detail(record)
