"""Types and text: Glue column types as DuckDB types, DuckDB result types as Athena's ColumnInfo, values as Athena prints them.

Athena sends every result value as text. Clients (awswrangler, pyathena) parse that text back using the
column's Athena type, so both the type names and the text must be exactly Athena's:
`2024-01-20 07:13:45.123`, `true`, `[1, 2]`, `{x=1, y=a}`, `{k=1}`, and doubles the way Java prints them
(`1.0E10`). DuckDB prints simple types itself (fast), and calls Python for floating point and nested values.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import duckdb
import numpy

VARCHAR_PRECISION = 2147483647


@dataclass
class ResultColumn:
    """One column of a result, as GetQueryResults' ColumnInfo describes it."""

    name: str  # "_col0".. for unnamed expressions
    type: str  # Athena type name: varchar, bigint, double, decimal, boolean, date, timestamp, array, row, map, ...
    precision: int
    scale: int


# ---- Glue (Hive) column types -> DuckDB ----------------------------------------------------------

_HIVE_SCALARS = {
    "string": "VARCHAR", "varchar": "VARCHAR", "char": "VARCHAR",
    "tinyint": "TINYINT", "smallint": "SMALLINT", "int": "INTEGER", "integer": "INTEGER", "bigint": "BIGINT",
    "float": "FLOAT", "real": "FLOAT", "double": "DOUBLE",
    "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP", "binary": "BLOB",
}
_HIVE_TOKEN = re.compile(r"\s*(`[^`]*`|[A-Za-z_$][\w$.]*|\d+|[<>(),:])")


class UnsupportedGlueType(ValueError):
    """A Glue column type localcloud cannot read (the message names it)."""


def duckdb_type(glue_type: str) -> str:
    """The DuckDB type for a Glue column type such as `struct<a:int,b:array<string>>` or `decimal(10,2)`."""
    tokens = [token.strip("`") for token in _HIVE_TOKEN.findall(glue_type)]
    if "".join(tokens).replace(" ", "") != re.sub(r"[\s`]", "", glue_type):
        raise UnsupportedGlueType(f"cannot read the column type {glue_type!r}")
    position, result = _parse_hive_type(tokens, 0, glue_type)
    if position != len(tokens):
        raise UnsupportedGlueType(f"cannot read the column type {glue_type!r}")
    return result


def _parse_hive_type(tokens: list[str], at: int, text: str) -> tuple[int, str]:
    def expect(symbol: str) -> None:
        nonlocal at
        if at >= len(tokens) or tokens[at] != symbol:
            raise UnsupportedGlueType(f"cannot read the column type {text!r}")
        at += 1

    if at >= len(tokens):
        raise UnsupportedGlueType(f"cannot read the column type {text!r}")
    name = tokens[at].lower()
    at += 1
    if name == "array":
        expect("<")
        at, element = _parse_hive_type(tokens, at, text)
        expect(">")
        return at, f"{element}[]"
    if name == "map":
        expect("<")
        at, key = _parse_hive_type(tokens, at, text)
        expect(",")
        at, value = _parse_hive_type(tokens, at, text)
        expect(">")
        return at, f"MAP({key}, {value})"
    if name == "struct":
        expect("<")
        fields = []
        while True:
            field_name = tokens[at]
            at += 1
            expect(":")
            at, field_type = _parse_hive_type(tokens, at, text)
            fields.append(f"{quote_identifier(field_name.lower())} {field_type}")
            if tokens[at] == ">":
                at += 1
                return at, f"STRUCT({', '.join(fields)})"
            expect(",")
    params: list[str] = []
    if at < len(tokens) and tokens[at] == "(":
        at += 1
        while tokens[at] != ")":
            if tokens[at] != ",":
                params.append(tokens[at])
            at += 1
        at += 1
    if name == "decimal":
        precision, scale = (params + ["10", "0"])[:2] if params else ("10", "0")
        return at, f"DECIMAL({precision},{scale})"
    if name not in _HIVE_SCALARS:
        raise UnsupportedGlueType(f"the column type {text!r} is not supported (no {name!r})")
    return at, _HIVE_SCALARS[name]


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ---- DuckDB types -> Athena (ColumnInfo) and Glue (CTAS, views) -----------------------------------

_ATHENA_SCALARS: dict[str, tuple[str, int]] = {
    "boolean": ("boolean", 0),
    "tinyint": ("tinyint", 3), "smallint": ("smallint", 5), "integer": ("integer", 10),
    "bigint": ("bigint", 19), "hugeint": ("bigint", 19), "ubigint": ("bigint", 19), "uhugeint": ("bigint", 19),
    "utinyint": ("smallint", 5), "usmallint": ("integer", 10), "uinteger": ("bigint", 19),
    "float": ("real", 17), "double": ("double", 17),
    "varchar": ("varchar", VARCHAR_PRECISION), "uuid": ("varchar", VARCHAR_PRECISION),
    "interval": ("varchar", VARCHAR_PRECISION), "enum": ("varchar", VARCHAR_PRECISION),
    "date": ("date", 0), "time": ("time", 3),
    "timestamp": ("timestamp", 3), "timestamp_ms": ("timestamp", 3), "timestamp_s": ("timestamp", 3),
    "timestamp_ns": ("timestamp", 3), "timestamp with time zone": ("timestamp with time zone", 3),
    "blob": ("varbinary", VARCHAR_PRECISION),
    "list": ("array", 0), "array": ("array", 0), "struct": ("row", 0), "map": ("map", 0),
    "null": ("unknown", 0),
}


def result_column(name: str, column_type: duckdb.DuckDBPyType) -> ResultColumn:
    """ColumnInfo for a DuckDB result column (HUGEINT is bigint, UUID and INTERVAL are varchar, ...)."""
    if str(column_type) == "JSON":
        return ResultColumn(name, "json", 0, 0)
    if column_type.id == "decimal":
        parameters = dict(column_type.children)
        return ResultColumn(name, "decimal", parameters["precision"], parameters["scale"])
    athena_name, precision = _ATHENA_SCALARS.get(column_type.id, ("varchar", VARCHAR_PRECISION))
    return ResultColumn(name, athena_name, precision, 0)


_GLUE_SCALARS = {
    "boolean": "boolean", "tinyint": "tinyint", "smallint": "smallint", "integer": "int", "bigint": "bigint",
    "hugeint": "bigint", "ubigint": "bigint", "uhugeint": "bigint", "utinyint": "smallint",
    "usmallint": "int", "uinteger": "bigint", "float": "float", "double": "double", "date": "date",
    "timestamp": "timestamp", "timestamp_ms": "timestamp", "timestamp_s": "timestamp", "timestamp_ns": "timestamp",
    "timestamp with time zone": "timestamp", "blob": "binary",
}


def glue_type(column_type: duckdb.DuckDBPyType) -> str:
    """The Glue column type a CTAS or a view stores for a DuckDB result type (anything else becomes string)."""
    kind = column_type.id
    if kind == "decimal":
        parameters = dict(column_type.children)
        return f"decimal({parameters['precision']},{parameters['scale']})"
    if kind in ("list", "array"):
        return f"array<{glue_type(dict(column_type.children)['child'])}>"
    if kind == "struct":
        return "struct<" + ",".join(f"{name}:{glue_type(child)}" for name, child in column_type.children) + ">"
    if kind == "map":
        parameters = dict(column_type.children)
        return f"map<{glue_type(parameters['key'])},{glue_type(parameters['value'])}>"
    return _GLUE_SCALARS.get(kind, "string")


def athena_type_text(column_type: duckdb.DuckDBPyType) -> str:
    """The full Athena type, as a view's column list and DESCRIBE show it: array(varchar), row(x integer)."""
    kind = column_type.id
    if kind in ("list", "array"):
        return f"array({athena_type_text(dict(column_type.children)['child'])})"
    if kind == "struct":
        return "row(" + ", ".join(f"{name} {athena_type_text(child)}" for name, child in column_type.children) + ")"
    if kind == "map":
        parameters = dict(column_type.children)
        return f"map({athena_type_text(parameters['key'])}, {athena_type_text(parameters['value'])})"
    column = result_column("", column_type)
    if column.type == "decimal":
        return f"decimal({column.precision},{column.scale})"
    return column.type


# ---- values -> Athena's text ----------------------------------------------------------------------

_CAST_TO_TEXT = {"boolean", "tinyint", "smallint", "integer", "bigint", "hugeint", "ubigint", "uhugeint",
                 "utinyint", "usmallint", "uinteger", "decimal", "date", "uuid", "interval", "enum", "time"}
_TIMESTAMP_PATTERN = "'%Y-%m-%d %H:%M:%S.%g'"


def python_argument_type(column_type: duckdb.DuckDBPyType) -> duckdb.DuckDBPyType | None:
    """The type of the values a Python function must print for this column, or None when DuckDB prints them all.

    Doubles outside Java's plain range, reals, varbinary and nested values are printed in Python (a
    timestamp with time zone inside a nested value is handed over as UTC, as fetching it would need pytz).
    """
    kind = column_type.id
    if kind == "varchar" or kind in _CAST_TO_TEXT or kind.startswith("timestamp"):
        return None
    if "TIME ZONE" in str(column_type):
        return duckdb.type(str(column_type).replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMP"))
    return column_type


def text_sql(column_sql: str, column_type: duckdb.DuckDBPyType, python_function: str) -> str:
    """A DuckDB expression printing the column as Athena does, calling `python_function` (see
    python_argument_type) only for the values DuckDB cannot print that way.

    Doubles: in Java's plain range (1e-3 <= |x| < 1e7, and zero) DuckDB's shortest digits are Java's
    Double.toString, measured on 600,000 values; only the rest go to Python.
    """
    kind = column_type.id
    if kind == "varchar":
        return column_sql
    if kind in _CAST_TO_TEXT:
        return f"CAST({column_sql} AS VARCHAR)"
    if kind.startswith("timestamp"):
        suffix = " || ' UTC'" if kind == "timestamp with time zone" else ""
        return f"strftime({column_sql}, {_TIMESTAMP_PATTERN}){suffix}"
    if kind == "double":
        plain = f"({column_sql} = 0 OR (abs({column_sql}) >= 1e-3 AND abs({column_sql}) < 1e7))"
        return f"CASE WHEN {plain} THEN CAST({column_sql} AS VARCHAR) ELSE {python_function}({column_sql}) END"
    argument_type = python_argument_type(column_type)
    if str(argument_type) != str(column_type):
        return f"{python_function}(CAST({column_sql} AS {argument_type}))"
    return f"{python_function}({column_sql})"


def python_formatter(column_type: duckdb.DuckDBPyType) -> Callable[[Any], str | None]:
    """The Python function text_sql calls: it prints one value (double, real, varbinary, array, row, map) as
    Athena does."""
    float32 = column_type.id == "float"

    def format_value(value: Any) -> str | None:
        return None if value is None else _text(value, float32)

    return format_value


def _text(value: Any, float32: bool = False) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_float(value) if float32 else java_double(value)
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, (int, decimal.Decimal, datetime.date, uuid.UUID, str)):
        return str(value)
    if isinstance(value, bytes):
        return " ".join(f"{byte:02x}" for byte in value)
    if isinstance(value, list):
        return "[" + ", ".join(_text(item) for item in value) + "]"
    if isinstance(value, dict):  # a row or a map
        return "{" + ", ".join(f"{_text(key)}={_text(item)}" for key, item in value.items()) + "}"
    return str(value)


def java_double(value: float) -> str:
    """Java's Double.toString: what Trino prints. 1234.5 -> "1234.5", 1e10 -> "1.0E10", 1e-4 -> "1.0E-4"."""
    if 1e-3 <= abs(value) < 1e7:
        return repr(value)  # the same shortest digits, and Python writes this range without an exponent too
    return _java_floating(value, repr(value))


def java_float(value: float) -> str:
    """Java's Float.toString, for real columns: the shortest text that reads back as the same float32."""
    shortest = numpy.format_float_scientific(numpy.float32(value), unique=True) if math.isfinite(value) else ""
    return _java_floating(value, shortest)


def _java_floating(value: float, shortest: str) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign, digit_tuple, exponent = decimal.Decimal(shortest).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    point = len(digits) + exponent  # digits[:point] . digits[point:]
    prefix = "-" if sign else ""
    if 1e-3 <= abs(value) < 1e7:
        if point <= 0:
            return f"{prefix}0.{'0' * -point}{digits}"
        whole, fraction = digits[:point].ljust(point, "0"), digits[point:]
        return f"{prefix}{whole}.{fraction or '0'}"
    return f"{prefix}{digits[0]}.{digits[1:] or '0'}E{point - 1}"
