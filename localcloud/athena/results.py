"""What a finished Athena query leaves in S3, and how GetQueryResults reads it back.

Athena writes a query's results straight into the output location, named after the query id. The
names and formats below follow measurements of real Athena published by the athena-local project
(github.com/aoyagikouhei/athena-local, docs/result-files.md and docs/dev/measurements/):

| statement                      | result object        | body                                              |
|--------------------------------|----------------------|---------------------------------------------------|
| SELECT, SHOW FUNCTIONS          | <id>.csv             | header row, then rows; every value double-quoted, |
|                                |                      | quotes doubled, NULL an empty unquoted field      |
| UPDATE, DELETE, MERGE          | <id>.csv             | none (the metadata file carries the row count)    |
| INSERT INTO                    | <id>                 | none                                              |
| CREATE TABLE AS SELECT (CTAS)  | tables/<id>          | none (the table's files are listed in the data    |
|                                |                      | manifest the engine writes)                       |
| DDL, SHOW, DESCRIBE, EXPLAIN   | <id>.txt             | rows joined by newlines, columns by tabs; EXPLAIN |
|                                |                      | starts with its column name; a failed statement   |
|                                |                      | leaves "FAILED: <reason>"                         |

Next to each result object sits `<object>.metadata`, the binary file Athena's JDBC driver reads for the
column types. It is protobuf: field 1 a query id, 2 the update type and 3 the update count of statements
that change rows, then one field 4 per column (1 catalog, 4 name, 5 label, 6 type, 7 precision,
8 scale, 9 nullable, 10 case sensitive; which of 7, 8 and 10 appear depends on the type). Column-less
DDL gets none. awswrangler and pyathena never read it.

GetQueryResults reads the result object back, as Athena does: delete it from S3 and the rows are gone.
"""

from __future__ import annotations

import base64
import itertools
import random
import re
import string
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from localcloud.errors import InvalidRequestException
from localcloud.moto_state.s3 import S3Objects

if TYPE_CHECKING:  # formatting imports DuckDB, which the server imports in the background (service.py)
    from localcloud.athena.formatting import ResultColumn

MAX_RESULTS_PER_PAGE = 1000

# How a statement's results are stored, by SubstatementType.
TABLE = "table"    # <id>.csv with a header row; GetQueryResults pages through it
COUNT = "count"    # no rows: the statement changed rows and reports how many (UpdateCount)
TEXT = "text"      # <id>.txt, one value per row

_UPDATE_TYPES = {  # SubstatementType -> the update type Athena writes into the metadata file
    "CREATE_TABLE_AS_SELECT": "CREATE TABLE",
    "INSERT": "INSERT",
    "UPDATE": "UPDATE",
    "DELETE": "DELETE",
    "MERGE": "MERGE",
}
_CSV_RESULTS = {"SELECT", "SHOW_FUNCTIONS", "UPDATE", "DELETE", "MERGE"}

# The single column Athena reports for statements that change rows.
ROWS_COLUMN = {
    "CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": "rows", "Label": "rows",
    "Type": "bigint", "Precision": 19, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": False,
}


@dataclass(frozen=True)
class StoredResult:
    """What GetQueryResults needs besides the rows, which stay in S3."""

    form: str                          # TABLE, COUNT or TEXT
    columns: list[dict[str, Any]]      # ColumnInfo, as GetQueryResults returns it
    update_count: int | None           # UpdateCount; None leaves it out of the response


def form_of(substatement_type: str | None) -> str:
    if substatement_type in _UPDATE_TYPES:
        return COUNT
    if substatement_type in ("SELECT", "SHOW_FUNCTIONS"):
        return TABLE
    return TEXT


def result_uri(output_location: str, query_id: str, substatement_type: str | None) -> str:
    """The object GetQueryExecution reports as ResultConfiguration.OutputLocation."""
    folder = output_location.rstrip("/") + "/"
    if substatement_type == "CREATE_TABLE_AS_SELECT":
        return f"{folder}tables/{query_id}"
    if substatement_type == "INSERT":
        return f"{folder}{query_id}"
    if substatement_type in _CSV_RESULTS:
        return f"{folder}{query_id}.csv"
    return f"{folder}{query_id}.txt"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """('bucket', 'key') from 's3://bucket/key'."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def column_info(columns: Sequence[ResultColumn]) -> list[dict[str, Any]]:
    """ColumnInfo as real Athena fills it: catalog "hive", empty schema and table, nullability unknown."""
    return [
        {"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": column.name, "Label": column.name,
         "Type": column.type, "Precision": column.precision, "Scale": column.scale, "Nullable": "UNKNOWN",
         "CaseSensitive": column.type in ("varchar", "char")}
        for column in columns
    ]


def update_count_of(statement_type: str, substatement_type: str | None, rows: list[list[str | None]]) -> int | None:
    """UpdateCount: the row count of CTAS/INSERT/UPDATE/DELETE/MERGE, 0 for SELECT and SHOW, else left out."""
    if substatement_type in _UPDATE_TYPES:
        return int(rows[0][0] or 0) if rows and rows[0] else 0
    if substatement_type == "SELECT" or (
            statement_type == "UTILITY" and substatement_type not in ("DESCRIBE_TABLE", "SHOW_CREATE_TABLE")):
        return 0
    return None


def write_results(storage: S3Objects, uri: str, *, query_id: str, statement_type: str,
                  substatement_type: str | None, columns: Sequence[ResultColumn], csv_rows: bytes) -> StoredResult:
    """Write the result object and its metadata file; returns what GetQueryResults will need.

    csv_rows: the statement's rows as the result CSV holds them, without the header row (see rows_as_csv).
    """
    form = form_of(substatement_type)
    info = [ROWS_COLUMN] if form == COUNT else column_info(columns)
    rows = [] if form == TABLE else parse_athena_csv(csv_rows.decode())
    update_count = update_count_of(statement_type, substatement_type, rows)
    bucket, key = split_s3_uri(uri)
    if form == TABLE:
        header = ",".join(_csv_field(column["Name"]) for column in info) + "\n"
        storage.write(bucket, key, header.encode() + csv_rows)
    elif form == TEXT:
        lines = ([[column["Name"] for column in info]] if statement_type == "DML" else []) + rows
        storage.write(bucket, key, "\n".join("\t".join(value or "" for value in row) for row in lines).encode())
    if info:
        metadata_id = query_id if substatement_type in ("DESCRIBE_TABLE", "SHOW_CREATE_TABLE") else _engine_query_id()
        counted = (_UPDATE_TYPES[substatement_type], update_count or 0) if form == COUNT else None
        storage.write(bucket, f"{key}.metadata", _metadata(metadata_id, info, counted))
    return StoredResult(form, info, update_count)


def write_failure(storage: S3Objects, uri: str, substatement_type: str | None, reason: str) -> None:
    """A failed DDL, SHOW or DESCRIBE leaves its reason in <id>.txt; other failed statements leave nothing."""
    if form_of(substatement_type) == TEXT and substatement_type != "EXPLAIN":
        bucket, key = split_s3_uri(uri)
        storage.write(bucket, key, f"FAILED: {reason}".encode())


def rows_as_csv(rows: list[list[str | None]]) -> bytes:
    """Rows as an Athena result CSV holds them: every value double-quoted, quotes doubled, NULL an empty
    unquoted field, each row ending in a newline. (The engine has DuckDB write a SELECT's rows this way.)"""
    return "".join(",".join(_csv_field(value) for value in row) + "\n" for row in rows).encode()


def _csv_field(value: str | None) -> str:
    return "" if value is None else '"' + value.replace('"', '""') + '"'


# One field of an Athena result CSV, and the separator after it: a quoted value, or nothing (NULL).
_CSV_FIELD = re.compile(r'(?:"((?:[^"]|"")*)")?(,|\n|$)')


def parse_athena_csv(text: str) -> list[list[str | None]]:
    """Rows of an Athena result CSV, header included. Unlike the csv module, tells NULL from ''."""
    rows: list[list[str | None]] = []
    row: list[str | None] = []
    position = 0
    while position < len(text):
        match = _CSV_FIELD.match(text, position)
        if match is None:
            raise ValueError(f"not an Athena result CSV: unquoted value at character {position}")
        quoted, separator = match.groups()
        row.append(None if quoted is None else quoted.replace('""', '"'))
        position = match.end()
        if separator != ",":
            rows.append(row)
            row = []
    return rows


# ---- the .metadata file ----------------------------------------------------------------------------

_ENGINE_QUERY_NUMBERS = itertools.count(1)
_PRECISION_TYPES = {"tinyint", "smallint", "integer", "bigint", "real", "float", "double", "decimal", "varchar",
                    "char", "varbinary", "time", "timestamp", "time with time zone", "timestamp with time zone"}
_SCALE_ONLY_TYPES = {"date"}
_CASE_ONLY_TYPES = {"boolean", "interval day to second", "interval year to month"}


def _engine_query_id() -> str:
    """A query id in the engine's form, e.g. 20260917_085344_00007_k6s5b: what Athena puts first in metadata."""
    suffix = "".join(random.choices(string.ascii_lowercase, k=5))
    return f"{time.strftime('%Y%m%d_%H%M%S', time.gmtime())}_{next(_ENGINE_QUERY_NUMBERS) % 100000:05d}_{suffix}"


def _metadata(first_id: str, columns: list[dict[str, Any]], counted: tuple[str, int] | None) -> bytes:
    parts = [_text_field(1, first_id)]
    if counted:
        update_type, count = counted
        parts += [_text_field(2, update_type), _number_field(3, count)]
    parts += [_message_field(4, _column_metadata(column)) for column in columns]
    return b"".join(parts)


def _column_metadata(column: dict[str, Any]) -> bytes:
    type_name = column["Type"]
    parts = [_text_field(1, column["CatalogName"]), _text_field(4, column["Name"]),
             _text_field(5, column["Label"]), _text_field(6, type_name)]
    if type_name in _PRECISION_TYPES:
        parts.append(_number_field(7, column["Precision"]))
    if type_name in _PRECISION_TYPES | _SCALE_ONLY_TYPES:
        parts.append(_number_field(8, column["Scale"]))
    parts.append(_number_field(9, 3))  # nullable: UNKNOWN
    if type_name in _PRECISION_TYPES | _SCALE_ONLY_TYPES | _CASE_ONLY_TYPES:
        parts.append(_number_field(10, int(column["CaseSensitive"])))
    return b"".join(parts)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _number_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _message_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _text_field(number: int, text: str) -> bytes:
    return _message_field(number, text.encode())


# ---- GetQueryResults -------------------------------------------------------------------------------

class ResultPages:
    """GetQueryResults pages, read from the result objects in S3 (the last few are kept parsed)."""

    def __init__(self, cached_results: int = 4):
        self.cached_results = cached_results
        self._rows: OrderedDict[str, list[list[str | None]]] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()

    def page(self, storage: S3Objects, uri: str, stored: StoredResult, *, query_id: str,
             next_token: str | None, max_results: int) -> dict[str, Any]:
        """One page: at most max_results rows (a SELECT's header row counts as one), and a NextToken
        whenever the page is full, as Athena does (the page after the last full one is then empty)."""
        rows = self._rows_of(storage, uri, stored.form)
        offset = _offset_from_token(next_token, query_id, len(rows)) if next_token else 0
        chunk = rows[offset:offset + max_results]
        response: dict[str, Any] = {
            "ResultSet": {
                "Rows": [{"Data": [{} if value is None else {"VarCharValue": value} for value in row]}
                         for row in chunk],
                "ResultSetMetadata": {"ColumnInfo": stored.columns},
            },
        }
        if stored.update_count is not None:
            response["UpdateCount"] = stored.update_count
        if len(chunk) == max_results:
            response["NextToken"] = _token(query_id, offset + max_results)
        return response

    def _rows_of(self, storage: S3Objects, uri: str, form: str) -> list[list[str | None]]:
        if form == COUNT:
            return []
        with self._lock:
            if uri in self._rows:
                self._rows.move_to_end(uri)
                return self._rows[uri]
        bucket, key = split_s3_uri(uri)
        try:
            text = storage.read(bucket, key).decode()
        except KeyError:
            raise InvalidRequestException(
                f"Could not find results: the result object {uri} is no longer in S3.") from None
        if form == TABLE:
            rows = parse_athena_csv(text)
        else:  # Athena returns each line of a text result as a row with one value, tabs and all
            rows = [[line] for line in text.split("\n")] if text else []
        with self._lock:
            self._rows[uri] = rows
            while len(self._rows) > self.cached_results:
                self._rows.popitem(last=False)
        return rows


def _token(query_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{query_id}:{offset}".encode()).decode()


def _offset_from_token(token: str, query_id: str, row_count: int) -> int:
    try:
        token_query_id, _, offset_text = base64.urlsafe_b64decode(token.encode()).decode().rpartition(":")
        offset = int(offset_text)
    except ValueError:
        offset, token_query_id = -1, ""
    if token_query_id != query_id or not 0 <= offset <= row_count:
        raise InvalidRequestException(f"Malformed nextPageToken {token}")
    return offset
