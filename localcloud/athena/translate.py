"""Athena (Trino) SQL to DuckDB SQL, with sqlglot, keeping Trino's answers where a plain transpile would not.

sqlglot's athena->duckdb translation is right for most queries. Where it is not (the traps listed in
athena-contract.md), this module rewrites the parse tree before generating DuckDB SQL:

- integer division: DuckDB runs with `integer_division=true`, so `7/2` is 3 and `-7/2` is -3 as in Trino,
  using DuckDB's own knowledge of every operand's type. Decimal division gets Trino's decimal result type;
  DOUBLE and REAL division by zero gives Infinity or NaN, where integer and decimal division fail;
- `date_diff` counts whole units (DuckDB's `date_sub`), not boundaries crossed (`date_diff`);
- `format()` (Java format strings) becomes `printf`, `format_datetime`/`parse_datetime` (Java date
  patterns) become `strftime`/`strptime`;
- a DATE plus an interval stays a DATE; hours, minutes and seconds on a DATE fail, as in Trino;
- casts to integer types: text must be an integer (DuckDB would round '2.7'), doubles round half away from zero;
- unnamed output columns are called `_col0`, `_col1`, ... by their position;
- smaller ones: regexp_replace's `$1` group references, to_iso8601, approx_percentile's result type,
  reduce's output function, DECIMAL 'literal' precision.

What has no faithful translation (typeof(), Java-only format specifiers, ...) fails with NOT_SUPPORTED,
and so does a Trino function DuckDB does not have (`missing_function`): FUNCTION_NOT_FOUND would tell a
learner that they mistyped it.

It also reports errors the way Athena does (`COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved ...`),
with the line and column of the offending token in the SQL text the user sent.
"""

from __future__ import annotations

import decimal
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, OptimizeError, ParseError, TokenError, UnsupportedError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from localcloud.athena.query_error import QueryError

# The DuckDB session settings the generated SQL relies on: `/` on integers divides as Trino does (7/2 is 3,
# -7/2 is -3), and times are shown in UTC, Athena's session time zone.
DUCKDB_SETTINGS = "SET integer_division = true; SET TimeZone = 'UTC'"
UNNAMED_PREFIX = "__localcloud_unnamed_"
EXPLICIT = "localcloud_explicit"  # meta flag on hidden columns ("$path") the query names itself


def not_supported(what: str) -> QueryError:
    return QueryError("NOT_SUPPORTED", f"{what} is not supported by localcloud's Athena engine", error_type=1001)


class SqlText:
    """The SQL text as the user sent it, to report positions as Trino does: `line L:C`, both 1-based."""

    def __init__(self, sql: str):
        self.sql = sql

    def at(self, offset: int) -> str:
        line = self.sql.count("\n", 0, offset) + 1
        column = offset - (self.sql.rfind("\n", 0, offset) + 1) + 1
        return f"line {line}:{column}"

    def of(self, node: exp.Expression) -> str:
        """The position of the node's first token (its first identifier, when it has one)."""
        starts = [found.meta_get("start") for found in node.walk() if found.meta_get("start") is not None]
        return self.at(min(starts)) if starts else "line 1:1"


# ---- parsing --------------------------------------------------------------------------------------

def parse(sql: str) -> exp.Expression:
    """The one statement in sql, or SYNTAX_ERROR at the offending token."""
    text = SqlText(sql)
    try:
        statements = [statement for statement in sqlglot.parse(sql, read="athena") if statement is not None]
    except ParseError as error:
        raise _syntax_error(text, error) from None
    except TokenError as error:
        snippet = str(error).partition("Error tokenizing '")[2][:-1]  # the text up to the bad token
        quote = max(snippet.rfind("'"), snippet.rfind('"'), 0)
        raise QueryError("SYNTAX_ERROR", f"{text.at(quote)}: unterminated quoted text") from None
    if not statements:
        raise QueryError("SYNTAX_ERROR", f"{text.at(len(sql.rstrip()))}: mismatched input '<EOF>'. "
                                         "Expecting: a SQL statement")
    if len(statements) > 1:
        raise QueryError("INVALID_INPUT", f"Only one sql statement is allowed. Got: {len(statements)}")
    return statements[0]


def _syntax_error(text: SqlText, error: ParseError) -> QueryError:
    first = error.errors[0] if error.errors else {}
    token = first.get("highlight") or ""
    line, end_column = first.get("line") or 1, first.get("col") or 1
    column = max(end_column - len(token) + 1, 1)
    description = first.get("description") or str(error)
    expecting = f". {description.replace('Expecting', 'Expecting:')}" if description.startswith("Expecting") else ""
    return QueryError("SYNTAX_ERROR", f"line {line}:{column}: mismatched input '{token}'{expecting}")


# ---- tables ---------------------------------------------------------------------------------------

def catalog_tables(query: exp.Expression) -> list[exp.Table]:
    """The table references that name catalog tables or views (not CTEs, UNNEST or VALUES)."""
    cte_names = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    return [
        table for table in query.find_all(exp.Table)
        if table.name and not isinstance(table.this, exp.Func)
        and not (not table.db and table.name.lower() in cte_names)
    ]


# ---- naming and resolving columns ----------------------------------------------------------------

def output_select(query: exp.Expression) -> exp.Select | None:
    """The SELECT whose projections name the result's columns (the leftmost one of a UNION)."""
    node = query
    while True:
        if isinstance(node, exp.SetOperation):
            node = node.this
        elif isinstance(node, exp.Subquery):
            node = node.this
        else:
            return node if isinstance(node, exp.Select) else None


def qualify_query(query: exp.Expression, schema: dict, database: str, text: SqlText,
                  hidden_columns: set[str]) -> exp.Expression:
    """Resolve every column against the Glue schemas (COLUMN_NOT_FOUND otherwise) and annotate types.

    `schema` is {database: {table: {column: sqlglot DataType}}}. Hidden columns ("$path") are in it but
    are only part of `SELECT *` when the query names them explicitly.
    """
    select = output_select(query)
    if select is not None:
        for index, projection in enumerate(select.expressions):
            if not isinstance(projection, (exp.Alias, exp.Column, exp.Star, exp.Dot)):
                projection.replace(exp.alias_(projection.copy(), f"{UNNAMED_PREFIX}{index}", quoted=True))
    for column in query.find_all(exp.Column):
        if column.name.lower() in hidden_columns:
            column.meta[EXPLICIT] = True
    mapping = MappingSchema(schema, dialect="athena")
    try:
        qualify(query, schema=mapping, dialect="athena", db=database, validate_qualify_columns=True,
                quote_identifiers=True, identify=True)
    except OptimizeError as error:
        raise _column_error(query, text, str(error), schema) from None
    _drop_unrequested_hidden_columns(query, hidden_columns)
    if select is not None:
        for index, projection in enumerate(select.expressions):
            if projection.alias.startswith(UNNAMED_PREFIX):
                projection.set("alias", exp.to_identifier(f"_col{index}"))
    annotate_types(query, schema=mapping, dialect="athena")
    _check_comparisons(query, text)
    return query


_COMPARISONS = {exp.EQ: "=", exp.NEQ: "<>", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
_TRINO_TYPE_NAMES = {exp.DType.TINYINT: "tinyint", exp.DType.SMALLINT: "smallint", exp.DType.INT: "integer",
                     exp.DType.BIGINT: "bigint", exp.DType.DOUBLE: "double", exp.DType.FLOAT: "real",
                     exp.DType.DECIMAL: "decimal", exp.DType.VARCHAR: "varchar", exp.DType.TEXT: "varchar",
                     exp.DType.CHAR: "char"}


def _check_comparisons(query: exp.Expression, text: SqlText) -> None:
    """Trino never compares a string with a number (DuckDB would cast one): `partition_0 = 2024` is an error."""
    def kind(node: exp.Expression) -> str | None:
        if node.type is None or node.type.this not in _TRINO_TYPE_NAMES:
            return None
        return "text" if node.type.this in exp.DataType.TEXT_TYPES else "number"

    for node in query.find_all(*_COMPARISONS, exp.In):
        if isinstance(node, exp.In):
            others = node.expressions
            if not others or any(kind(other) is None for other in others):
                continue
            if {kind(node.this)} | {kind(other) for other in others} == {"text", "number"}:
                raise QueryError("TYPE_MISMATCH", f"{text.of(node)}: IN value and list items must be the same type: "
                                                  f"{_TRINO_TYPE_NAMES[node.this.type.this]}")
        elif {kind(node.left), kind(node.right)} == {"text", "number"}:
            left, right = (f"varchar({len(side.this)})" if isinstance(side, exp.Literal) and side.is_string
                           else _TRINO_TYPE_NAMES[side.type.this] for side in (node.left, node.right))
            raise QueryError("TYPE_MISMATCH", f"{text.of(node)}: Cannot apply operator: {left} "
                                              f"{_COMPARISONS[type(node)]} {right}")


def output_names(query: exp.Expression) -> list[str]:
    select = output_select(query)
    return [projection.alias_or_name for projection in select.expressions] if select is not None else []


def _drop_unrequested_hidden_columns(query: exp.Expression, hidden_columns: set[str]) -> None:
    """`SELECT *` expanded to every schema column; hidden ones stay only where the query asked for them."""
    for select in query.find_all(exp.Select):
        kept = [
            projection for projection in select.expressions
            if not (isinstance(projection.unalias(), exp.Column)
                    and projection.unalias().name in hidden_columns
                    and not projection.unalias().meta_get(EXPLICIT))
        ]
        if len(kept) != len(select.expressions):
            select.set("expressions", kept)


_COLUMN_IN_ERROR = re.compile(r"^(?:Column '(?P<a>[^']+)' could not be resolved|Unknown column: (?P<b>\S+)"
                              r"|Ambiguous column '(?P<c>[^']+)'|Unknown output column: (?P<d>\S+))")
_TABLE_IN_ERROR = re.compile(r"^Unknown table: (?P<table>\S+)")


def _column_error(query: exp.Expression, text: SqlText, message: str, schema: dict) -> QueryError:
    """COLUMN_NOT_FOUND / AMBIGUOUS_NAME at the column's position, from sqlglot's OptimizeError text."""
    column_match = _COLUMN_IN_ERROR.match(message)
    table_match = _TABLE_IN_ERROR.match(message)
    if column_match:
        name = next(group for group in column_match.groups() if group).strip('"').lower()
        candidates = [column for column in query.find_all(exp.Column) if column.name.lower() == name]
    elif table_match:
        qualifier = table_match.group("table").strip('"').lower()
        candidates = [column for column in query.find_all(exp.Column) if column.table.lower() == qualifier]
    else:
        raise QueryError("SYNTAX_ERROR", f"line 1:1: {message}")
    column = min(candidates, key=_start, default=None)
    shown = column.sql("athena").replace('"', "") if column is not None else message
    where = text.of(column) if column is not None else "line 1:1"
    tables_with_it = sum(
        1 for tables in schema.values() for columns in tables.values()
        if column is not None and column.name.lower() in columns
    )
    if column is not None and not column.table and tables_with_it > 1:
        return QueryError("AMBIGUOUS_NAME", f"{where}: Column '{shown}' is ambiguous")
    return QueryError("COLUMN_NOT_FOUND", f"{where}: Column '{shown}' cannot be resolved or requester is not "
                                          "authorized to access requested resources")


def _start(node: exp.Expression) -> int:
    starts = [found.meta_get("start") for found in node.walk() if found.meta_get("start") is not None]
    return min(starts, default=1 << 30)


def referenced_columns(query: exp.Expression, table: exp.Table) -> set[str]:
    """Names of the table's columns the (qualified) query uses anywhere."""
    alias = table.alias_or_name
    return {column.name for column in query.find_all(exp.Column) if column.table == alias}


def partition_filters(table: exp.Table, columns: set[str]) -> list[exp.Expression]:
    """The WHERE conditions on `table` that use only `columns` (its partition columns), unqualified.

    They decide which partitions and objects are read. Only conditions of the SELECT that reads the
    table directly are used, and none across an outer join (pruning there would change NULL rows).
    """
    select = table.find_ancestor(exp.Select)
    if select is None or not isinstance(table.parent, (exp.From, exp.Join)):
        return []
    if any(join.side for join in select.args.get("joins") or []):
        return []
    where = select.args.get("where")
    if where is None:
        return []
    alias = table.alias_or_name
    filters = []
    for condition in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        used = list(condition.find_all(exp.Column))
        if not used or any(column.table != alias or column.name not in columns for column in used):
            continue
        if condition.find(exp.Subquery, exp.Select, exp.AggFunc, exp.Window):
            continue
        unqualified = condition.copy()
        for column in unqualified.find_all(exp.Column):
            column.set("table", None)
        filters.append(unqualified)
    return filters


# ---- DuckDB generation with Trino's semantics ---------------------------------------------------

def to_duckdb(query: exp.Expression) -> str:
    """DuckDB SQL for a qualified, type-annotated Athena query (NOT_SUPPORTED if sqlglot cannot say it)."""
    _use_duckdb_names(query)
    for node in reversed(list(query.find_all(exp.Div, exp.Avg))):  # innermost first
        _keep_decimal_result(node)
    for node in list(query.find_all(exp.Div)):
        node.set("typed", False)  # DuckDB's integer_division gives Trino's integer division
        _divide_floats_as_ieee(node)
    for node in list(query.find_all(exp.DateDiff)):
        if node.this.is_type(exp.DType.DATE) and node.expression.is_type(exp.DType.DATE):
            _refuse_time_field_of_date(node)
        node.replace(exp.Anonymous(this="date_sub", expressions=[
            exp.Literal.string(node.text("unit") or "day"), node.expression, node.this]))
    for node in list(query.find_all(exp.Add, exp.Sub, exp.DateAdd, exp.DateSub, exp.DateTrunc,
                                    exp.TimestampTrunc)):
        _keep_date(node)
    for node in list(query.find_all(exp.Format)):
        node.replace(exp.Anonymous(this="printf", expressions=[
            exp.Literal.string(java_format_to_printf(_literal_argument(node.this, "format()"))),
            *node.expressions]))
    for node in list(query.find_all(exp.ParseDatetime)):
        pattern = java_date_pattern_to_strftime(_literal_argument(node.args["format"], "parse_datetime()"))
        node.replace(exp.Anonymous(this="strptime", expressions=[node.this, exp.Literal.string(pattern)]))
    for node in list(query.find_all(exp.RegexpReplace)):
        replacement = node.args.get("replacement")
        if replacement is not None:
            node.set("replacement", exp.Literal.string(java_replacement_to_re2(
                _literal_argument(replacement, "regexp_replace() replacement"))))
    for node in list(query.find_all(exp.Reduce)):
        _drop_identity_finish(node)
    if query.find(exp.Typeof):
        raise not_supported("typeof()")
    for node in list(query.find_all(exp.Anonymous)):
        if node.name.lower() == "to_iso8601" and len(node.expressions) == 1:
            node.replace(_to_iso8601(node.expressions[0]))
        elif node.name.lower() == "format_datetime" and len(node.expressions) == 2:
            value, pattern = node.expressions
            node.replace(exp.Anonymous(this="strftime", expressions=[
                value, exp.Literal.string(java_date_pattern_to_strftime(
                    _literal_argument(pattern, "format_datetime()")))]))
    for node in list(query.find_all(exp.Cast)):  # TRY_CAST too
        _type_decimal_literal(node)
        _cast_to_integer_as_trino(node)
    for node in query.find_all(exp.ApproxQuantile):  # sqlglot types every approx_percentile as one double
        if isinstance(node.args.get("quantile"), exp.Array):
            node.type = exp.DataType.build("ARRAY<DOUBLE>")
        elif node.this.is_type(*exp.DataType.INTEGER_TYPES):  # Trino keeps the integer type
            node.type = node.this.type
    try:
        return query.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as error:
        raise not_supported(f"This expression ({error})") from None


def _duckdb_template(sql: str, value: exp.Expression) -> exp.Expression:
    """A DuckDB expression in which each `__value` stands for a copy of value."""
    return sqlglot.parse_one(sql, read="duckdb").transform(
        lambda node: value.copy() if isinstance(node, exp.Column) and node.name == "__value" else node)


def _to_iso8601(value: exp.Expression) -> exp.Expression:
    """Trino's to_iso8601: 2024-01-20T07:13:45.123 for a timestamp, with Z for one with a time zone (UTC here).

    Whether the value has a time zone is asked at run time: sqlglot does not always know.
    """
    if value.is_type(exp.DType.DATE):
        return exp.cast(value, "VARCHAR")
    return _duckdb_template(
        "CASE WHEN typeof(__value) = 'DATE' THEN CAST(__value AS VARCHAR) "
        "ELSE strftime(__value, '%Y-%m-%dT%H:%M:%S.%g') "
        "|| CASE WHEN typeof(__value) LIKE '%TIME ZONE' THEN 'Z' ELSE '' END END", value)


def _drop_identity_finish(node: exp.Reduce) -> None:
    """Trino's reduce() always has an output function; DuckDB's has none, which is fine when it is `s -> s`."""
    finish = node.args.get("finish")
    if isinstance(finish, exp.Lambda) and len(finish.expressions) == 1 \
            and isinstance(finish.this, (exp.Column, exp.Identifier)) and finish.this.name == finish.expressions[0].name:
        node.set("finish", None)


def _literal_argument(node: exp.Expression, function: str) -> str:
    if not (isinstance(node, exp.Literal) and node.is_string):
        raise not_supported(f"A {function} pattern that is not a string literal")
    return node.this


def _wrap_in_cast(node: exp.Expression, to: str) -> None:
    cast = exp.Cast(to=exp.DataType.build(to, dialect="duckdb"))
    node.replace(cast)
    cast.set("this", node)


def _keep_date(node: exp.Expression) -> None:
    """DATE +/- interval, date_add on a DATE and date_trunc of a DATE are DATEs in Trino (DuckDB: TIMESTAMPs).

    Trino refuses the hours, minutes and seconds that DuckDB would add and then lose in the cast to DATE.
    """
    if isinstance(node, (exp.Add, exp.Sub)):
        sides = (node.left, node.right)
        intervals = [side for side in sides if isinstance(side, exp.Interval) or side.is_type(exp.DType.INTERVAL)]
        if not (intervals and any(side.is_type(exp.DType.DATE) for side in sides)):
            return
        if isinstance(intervals[0], exp.Interval):
            _refuse_part_of_a_day(node, intervals[0])
    elif node.this.is_type(exp.DType.DATE):
        _refuse_time_field_of_date(node)
    else:
        return
    _wrap_in_cast(node, "DATE")


_MILLISECONDS_OF_TIME_UNIT = {"HOUR": 3_600_000, "MINUTE": 60_000, "SECOND": 1000, "MILLISECOND": 1}
_MILLISECONDS_OF_A_DAY = 86_400_000
_CAST_TO_TIMESTAMP = "cast the date to a timestamp first, as in CAST(day AS timestamp)"


def _refuse_part_of_a_day(node: exp.Add | exp.Sub, interval: exp.Interval) -> None:
    """DATE + INTERVAL '1' HOUR fails in Trino; only whole days can be added (INTERVAL '48' HOUR is 2 days)."""
    unit = _MILLISECONDS_OF_TIME_UNIT.get(interval.text("unit").upper())
    if unit is None:
        return
    try:
        milliseconds = decimal.Decimal(interval.name) * unit
    except decimal.InvalidOperation:  # not a number: DuckDB reports it
        return
    if milliseconds % _MILLISECONDS_OF_A_DAY:
        what = "add hour, minutes or seconds to" if isinstance(node, exp.Add) else \
            "subtract hour, minutes or seconds from"
        raise QueryError("INVALID_FUNCTION_ARGUMENT", f"Cannot {what} a date - {_CAST_TO_TIMESTAMP}")


def _refuse_time_field_of_date(node: exp.Expression) -> None:
    """date_add, date_trunc and date_diff on DATEs take only day, week, month, quarter and year in Trino."""
    unit = node.text("unit").upper()
    if unit in _MILLISECONDS_OF_TIME_UNIT:
        raise QueryError("INVALID_FUNCTION_ARGUMENT",
                         f"'{unit.lower()}' is not a valid DATE field - {_CAST_TO_TIMESTAMP}")


_FLOATING_POINT = (exp.DType.DOUBLE, exp.DType.FLOAT)


def _is_floating_point(node: exp.Expression) -> bool:
    """DOUBLE or REAL in Trino. sqlglot types 1.5 as a DOUBLE, but Trino reads it as a DECIMAL."""
    return node.is_type(*_FLOATING_POINT) and _decimal_type(node) is None


def _divide_floats_as_ieee(node: exp.Div) -> None:
    """DOUBLE and REAL division by zero is Infinity, -Infinity or NaN in Trino, as IEEE 754 says.

    With integer_division on, DuckDB's `/` operator raises on every zero divisor. Its "/" function, called by
    name, is the plain operator: IEEE division for floating point operands. Only operands sqlglot knows to be
    DOUBLE or REAL are rewritten, so integer and decimal division still fail with DIVISION_BY_ZERO, as in Trino.
    """
    if _is_floating_point(node.left) or _is_floating_point(node.right):
        node.replace(exp.Anonymous(this=exp.to_identifier("/", quoted=True), expressions=[node.left, node.right]))


# Appended to text that Trino would not cast to an integer type, so that DuckDB's cast fails on it; engine.py
# drops it from DuckDB's message, which then shows the text as the user's query had it.
NOT_AN_INTEGER = "<localcloud: not an integer>"
_INTEGER_TEXT = "^[[:space:]]*[+-]?[0-9]+[[:space:]]*$"


def _cast_to_integer_as_trino(node: exp.Cast) -> None:
    """CAST to an integer type as Trino does it, where DuckDB's differs.

    - text must be an integer: CAST('2.7' AS integer) fails, where DuckDB rounds it to 3. Other text gets
      NOT_AN_INTEGER appended, so that DuckDB's own cast fails on it, and TRY_CAST and try() give NULL as in
      Trino. Spaces around the digits are allowed: Trino trims them (trinodb/trino#23375);
    - a DOUBLE or REAL rounds half away from zero: CAST(2.5e0 AS integer) is 3 (DuckDB rounds half to even).
    """
    if node.to.this not in _INTEGER_PRECISION:
        return
    value = node.this
    if value.is_type(*exp.DataType.TEXT_TYPES):
        value.replace(_duckdb_template(f"CASE WHEN NOT regexp_matches(__value, '{_INTEGER_TEXT}') "
                                       f"THEN __value || '{NOT_AN_INTEGER}' ELSE __value END", value))
    elif _is_floating_point(value):
        value.replace(exp.Round(this=value.copy()))


# Trino's decimal rules (precision, scale). DuckDB agrees for + - * but divides and averages in DOUBLE.
_INTEGER_PRECISION = {exp.DType.TINYINT: 3, exp.DType.SMALLINT: 5, exp.DType.INT: 10, exp.DType.BIGINT: 19}


def _decimal_type(node: exp.Expression) -> tuple[int, int, bool] | None:
    """(precision, scale, is_decimal) of an exact numeric expression in Trino, or None if not exact."""
    if isinstance(node, (exp.Paren, exp.Neg)):
        return _decimal_type(node.this)
    if isinstance(node, exp.Literal) and not node.is_string:
        text = node.this.lstrip("-")
        if "e" in text.lower():
            return None
        if "." in text:
            whole, fraction = text.split(".", 1)
            return max(len(whole.lstrip("0") + fraction), len(fraction), 1), len(fraction), True
        return (10 if abs(int(text)) <= 2**31 - 1 else 19), 0, False
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)):
        left, right = _decimal_type(node.left), _decimal_type(node.right)
        if left is None or right is None or not (left[2] or right[2]):
            return None
        (p1, s1, _), (p2, s2, _) = left, right
        if isinstance(node, (exp.Add, exp.Sub)):
            return min(38, 1 + max(s1, s2) + max(p1 - s1, p2 - s2)), max(s1, s2), True
        if isinstance(node, exp.Mul):
            return min(38, p1 + p2), s1 + s2, True
        if isinstance(node, exp.Div):
            return min(38, p1 + s2 + max(0, s2 - s1)), max(s1, s2), True
        return min(p1 - s1, p2 - s2) + max(s1, s2), max(s1, s2), True
    data_type = node.type
    if data_type is None:
        return None
    if data_type.this == exp.DType.DECIMAL:
        parameters = [int(param.name) for param in data_type.expressions]
        if len(parameters) == 2:
            return parameters[0], parameters[1], True
        return None
    if data_type.this in _INTEGER_PRECISION:
        return _INTEGER_PRECISION[data_type.this], 0, False
    return None


def _keep_decimal_result(node: exp.Expression) -> None:
    """Decimal division and avg(decimal) return decimals in Trino (0.4 for 2.0/5, not 0.4000000000000001)."""
    if isinstance(node, exp.Avg):
        argument = _decimal_type(node.this)
        if argument is not None and argument[2]:
            _wrap_in_cast(node, f"DECIMAL({argument[0]},{argument[1]})")
        return
    result = _decimal_type(node)
    if result is not None:
        _wrap_in_cast(node, f"DECIMAL({result[0]},{result[1]})")


def _type_decimal_literal(node: exp.Cast) -> None:
    """DECIMAL '1.20' is decimal(3,2) in Trino; sqlglot leaves a bare DECIMAL, which DuckDB reads as (18,3)."""
    to = node.to
    if to.this == exp.DType.DECIMAL and not to.expressions and isinstance(node.this, exp.Literal) \
            and node.this.is_string and re.fullmatch(r"[+-]?\d*\.?\d+", node.this.this.strip()):
        whole, _, fraction = node.this.this.strip().lstrip("+-").partition(".")
        precision = max(len(whole.lstrip("0") + fraction), len(fraction), 1)
        node.set("to", exp.DataType.build(f"DECIMAL({precision},{len(fraction)})", dialect="duckdb"))


# ---- Trino functions that DuckDB names differently or does not have ------------------------------

# Trino functions that DuckDB has under another name, with the same arguments and answers.
_DUCKDB_NAMES = {"every": "bool_and", "is_finite": "isfinite", "is_infinite": "isinf"}
_DOUBLE_CONSTANTS = {"infinity": "Infinity", "nan": "NaN"}  # infinity(), nan()


def _use_duckdb_names(query: exp.Expression) -> None:
    """Rename Trino functions DuckDB has under another name; infinity() and nan() become DOUBLE constants.

    This runs first, so that the division rules see those constants as the doubles they are.
    """
    for node in list(query.find_all(exp.Anonymous)):
        name = node.name.lower()
        if name in _DUCKDB_NAMES:
            node.set("this", _DUCKDB_NAMES[name])
        elif name in _DOUBLE_CONSTANTS and not node.expressions:
            node.replace(exp.cast(exp.Literal.string(_DOUBLE_CONSTANTS[name]), "DOUBLE"))


# The functions of Trino (Athena engine v3), by the topics of Trino's documentation.
_TRINO_FUNCTIONS = frozenset("""
    any_value approx_distinct approx_most_frequent approx_percentile approx_set arbitrary array_agg avg
    bitwise_and_agg bitwise_or_agg bitwise_xor_agg bool_and bool_or checksum corr count count_if covar_pop
    covar_samp every geometric_mean histogram kurtosis listagg map_agg map_union max max_by merge min min_by
    multimap_agg numeric_histogram qdigest_agg reduce_agg regr_intercept regr_slope skewness stddev stddev_pop
    stddev_samp sum tdigest_agg var_pop var_samp variance
    all_match any_match array_distinct array_except array_histogram array_intersect array_join array_max
    array_min array_position array_remove array_sort array_union arrays_overlap cardinality combinations concat
    contains contains_sequence element_at filter flatten ngrams none_match reduce repeat reverse sequence
    shuffle slice transform trim_array zip zip_with
    map map_concat map_entries map_filter map_from_entries map_keys map_values map_zip_with
    multimap_from_entries transform_keys transform_values
    chr codepoint concat_ws format from_utf8 hamming_distance length levenshtein_distance lower lpad ltrim
    luhn_check normalize position replace rpad rtrim soundex split split_part split_to_map split_to_multimap
    starts_with strpos substr substring to_utf8 translate trim upper word_stem
    regexp_count regexp_extract regexp_extract_all regexp_like regexp_position regexp_replace regexp_split
    abs acos asin atan atan2 beta_cdf cbrt ceil ceiling cos cosh cosine_similarity degrees e exp floor
    from_base infinity inverse_beta_cdf inverse_normal_cdf is_finite is_infinite is_nan ln log log10 log2 mod
    nan normal_cdf pi pow power radians rand random round sign sin sinh sqrt tan tanh to_base truncate
    width_bucket wilson_interval_lower wilson_interval_upper
    bit_count bitwise_and bitwise_left_shift bitwise_not bitwise_or bitwise_right_shift
    bitwise_right_shift_arithmetic bitwise_xor
    crc32 from_base32 from_base64 from_base64url from_big_endian_32 from_big_endian_64 from_hex
    from_ieee754_32 from_ieee754_64 hmac_md5 hmac_sha1 hmac_sha256 hmac_sha512 md5 murmur3 sha1 sha256 sha512
    spooky_hash_v2_32 spooky_hash_v2_64 to_base32 to_base64 to_base64url to_big_endian_32 to_big_endian_64
    to_hex to_ieee754_32 to_ieee754_64 xxhash64
    at_timezone current_date current_time current_timestamp current_timezone date date_add date_diff
    date_format date_parse date_trunc day day_of_month day_of_week day_of_year dow doy format_datetime
    from_iso8601_date from_iso8601_timestamp from_iso8601_timestamp_nanos from_unixtime from_unixtime_nanos
    hour human_readable_seconds last_day_of_month localtime localtimestamp millisecond minute month now
    parse_datetime parse_duration quarter second timezone_hour timezone_minute to_iso8601 to_milliseconds
    to_unixtime week week_of_year with_timezone year year_of_week yow
    is_json_scalar json_array_contains json_array_get json_array_length json_extract json_extract_scalar
    json_format json_parse json_size
    url_decode url_encode url_extract_fragment url_extract_host url_extract_parameter url_extract_path
    url_extract_port url_extract_protocol url_extract_query
    coalesce greatest if least nullif try format_number parse_data_size typeof uuid
    cume_dist dense_rank first_value lag last_value lead nth_value ntile percent_rank rank row_number
    empty_approx_set hash_counts intersection_cardinality jaccard_index make_set_digest merge_set_digest
    quantile_at_value value_at_quantile values_at_quantiles
    bing_tile bing_tile_at bing_tile_coordinates bing_tile_polygon bing_tile_quadkey bing_tile_zoom_level
    bing_tiles_around geometry_to_bing_tiles great_circle_distance st_area st_astext st_buffer st_centroid
    st_contains st_crosses st_difference st_distance st_envelope st_equals st_geometryfromtext st_intersection
    st_intersects st_length st_linefromtext st_point st_polygon st_touches st_union st_within st_x st_y
    to_geometry to_spherical_geography
    bar color render rgb current_user version
""".split())

# What to write instead, where localcloud runs something close.
_ALTERNATIVES = {
    "map_agg": "map(array_agg(key), array_agg(value))",
    "url_extract_host": "regexp_extract(url, '^[a-z]+://([^/:?#]+)', 1)",
    "url_extract_path": "regexp_extract(url, '^[a-z]+://[^/?#]*([^?#]*)', 1)",
    "url_extract_protocol": "regexp_extract(url, '^([a-z]+):', 1)",
    "url_extract_query": "regexp_extract(url, '[?]([^#]*)', 1)",
    "url_extract_parameter": "regexp_extract(url, '[?&]name=([^&#]*)', 1)",
    "any_match": "cardinality(filter(array, x -> condition)) > 0",
    "all_match": "cardinality(filter(array, x -> NOT condition)) = 0",
    "none_match": "cardinality(filter(array, x -> condition)) = 0",
    "arrays_overlap": "cardinality(array_intersect(a, b)) > 0",
    "array_union": "array_distinct(concat(a, b))",
    "json_array_get": "json_extract(json, '$[0]')",
    "at_timezone": "timestamp AT TIME ZONE 'zone'",
    "approx_set": "approx_distinct(x)",
}

# DuckDB names in DuckDB's errors for the Trino functions that sqlglot renames.
_TRINO_NAMES = {"str_to_map": "split_to_map"}


def missing_function(duckdb_name: str, text: SqlText) -> QueryError:
    """The error for a function DuckDB does not have: NOT_SUPPORTED for a Trino function, else FUNCTION_NOT_FOUND.

    FUNCTION_NOT_FOUND, Trino's error for an unknown name, would tell a learner that they mistyped a
    function that Athena has.
    """
    name = _TRINO_NAMES.get(duckdb_name.lower(), duckdb_name.lower())
    found = re.search(rf"\b{re.escape(name)}\s*\(", text.sql, re.I)
    where = text.at(found.start()) if found else "line 1:1"
    if name not in _TRINO_FUNCTIONS:
        return QueryError("FUNCTION_NOT_FOUND", f"{where}: Function '{name}' not registered")
    instead = f" - try {_ALTERNATIVES[name]}" if name in _ALTERNATIVES else ""
    return QueryError("NOT_SUPPORTED", f"{where}: Function '{name}' exists in Athena, but localcloud's Athena "
                                       f"engine does not run it{instead}", error_type=1001)


# ---- Java format strings -------------------------------------------------------------------------

def java_replacement_to_re2(replacement: str) -> str:
    """regexp_replace's replacement: Java writes groups as $1 and escapes with \\; RE2 (DuckDB) writes \\1."""
    out, index = [], 0
    while index < len(replacement):
        char = replacement[index]
        if char == "\\" and index + 1 < len(replacement):
            escaped = replacement[index + 1]
            out.append("\\\\" if escaped == "\\" else escaped)
            index += 2
        elif char == "$":
            digits = re.match(r"\d+", replacement[index + 1:])
            if digits is None:
                raise not_supported(f"The regexp_replace() replacement {replacement!r} (named groups)")
            out.append("\\" + digits.group(0))
            index += 1 + len(digits.group(0))
        else:
            out.append("\\\\" if char == "\\" else char)
            index += 1
    return "".join(out)


_JAVA_FORMAT_SPECIFIER = re.compile(r"%(?P<index>\d+\$)?(?P<flags>[-#+ 0,(<]*)(?P<width>\d+)?"
                                    r"(?:\.(?P<precision>\d+))?(?P<conversion>[a-zA-Z%])")


def java_format_to_printf(pattern: str) -> str:
    """Trino's format() uses Java's Formatter; DuckDB's printf understands the common subset of it."""
    def convert(match: re.Match[str]) -> str:
        conversion = match.group("conversion")
        if match.group("index") or set(match.group("flags")) & set(",(<"):
            raise not_supported(f"The format() specifier {match.group(0)!r}")
        if conversion == "%":
            return "%%"
        if conversion == "n":
            return "\n"
        if conversion not in "sdfeExXoc":
            raise not_supported(f"The format() specifier {match.group(0)!r}")
        return match.group(0)

    return _JAVA_FORMAT_SPECIFIER.sub(convert, pattern)


# Joda-Time pattern letters (format_datetime, parse_datetime) -> strftime. Longest runs first.
_JAVA_DATE_FIELDS = {
    "yyyy": "%Y", "YYYY": "%Y", "yy": "%y", "YY": "%y", "y": "%Y", "Y": "%Y",
    "MMMM": "%B", "MMM": "%b", "MM": "%m", "M": "%-m",
    "dd": "%d", "d": "%-d", "DDD": "%j", "D": "%-j",
    "HH": "%H", "H": "%-H", "hh": "%I", "h": "%-I",
    "mm": "%M", "m": "%-M", "ss": "%S", "s": "%-S",
    "SSSSSS": "%f", "SSS": "%g", "a": "%p",
    "EEEE": "%A", "EEE": "%a", "E": "%a", "ZZ": "%z", "Z": "%z", "z": "%Z",
}
_JAVA_DATE_TOKEN = re.compile(r"'(?:[^']|'')*'|([A-Za-z])\1*|.", re.DOTALL)


def java_date_pattern_to_strftime(pattern: str) -> str:
    out = []
    for match in _JAVA_DATE_TOKEN.finditer(pattern):
        token = match.group(0)
        if token.startswith("'"):
            out.append(token[1:-1].replace("''", "'").replace("%", "%%") if token != "''" else "'")
        elif token[0].isalpha():
            if token not in _JAVA_DATE_FIELDS:
                raise not_supported(f"The date pattern field {token!r}")
            out.append(_JAVA_DATE_FIELDS[token])
        else:
            out.append(token.replace("%", "%%"))
    return "".join(out)
