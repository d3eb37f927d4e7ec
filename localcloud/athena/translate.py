"""Athena (Trino) SQL to DuckDB SQL, with sqlglot, keeping Trino's answers where a plain transpile would not.

sqlglot's athena->duckdb translation is right for most queries. Where it is not (the traps listed in
athena-contract.md), this module rewrites the parse tree before generating DuckDB SQL:

- integer division: DuckDB runs with `integer_division=true`, so `7/2` is 3 and `-7/2` is -3 as in Trino,
  using DuckDB's own knowledge of every operand's type. Decimal division gets Trino's decimal result type;
- `date_diff` counts whole units (DuckDB's `date_sub`), not boundaries crossed (`date_diff`);
- `format()` (Java format strings) becomes `printf`, `format_datetime`/`parse_datetime` (Java date
  patterns) become `strftime`/`strptime`;
- a DATE plus an interval stays a DATE;
- unnamed output columns are called `_col0`, `_col1`, ... by their position;
- smaller ones: regexp_replace's `$1` group references, to_iso8601, approx_percentile's result type,
  reduce's output function, DECIMAL 'literal' precision.

What has no faithful translation (typeof(), Java-only format specifiers, ...) fails with NOT_SUPPORTED.

It also reports errors the way Athena does (`COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved ...`),
with the line and column of the offending token in the SQL text the user sent.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, OptimizeError, ParseError, TokenError, UnsupportedError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

# The DuckDB session settings the generated SQL relies on: `/` on integers divides as Trino does (7/2 is 3,
# -7/2 is -3), and times are shown in UTC, Athena's session time zone.
DUCKDB_SETTINGS = "SET integer_division = true; SET TimeZone = 'UTC'"
UNNAMED_PREFIX = "__localcloud_unnamed_"
EXPLICIT = "localcloud_explicit"  # meta flag on hidden columns ("$path") the query names itself


class QueryError(Exception):
    """A query failed, as Athena reports it: StateChangeReason is `reason`, AthenaError has the rest."""

    def __init__(self, error_name: str, message: str, *, category: int = 2, error_type: int = 1006,
                 retryable: bool = False):
        self.error_name = error_name
        self.message = message
        self.category = category
        self.error_type = error_type
        self.retryable = retryable
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        return f"{self.error_name}: {self.message}"


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
    for node in reversed(list(query.find_all(exp.Div, exp.Avg))):  # innermost first
        _keep_decimal_result(node)
    for node in list(query.find_all(exp.Div)):
        node.set("typed", False)  # DuckDB's integer_division gives Trino's integer division
    for node in list(query.find_all(exp.DateDiff)):
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
    for node in list(query.find_all(exp.Cast)):
        _type_decimal_literal(node)
    for node in query.find_all(exp.ApproxQuantile):  # sqlglot types every approx_percentile as one double
        if isinstance(node.args.get("quantile"), exp.Array):
            node.type = exp.DataType.build("ARRAY<DOUBLE>")
        elif node.this.is_type(*exp.DataType.INTEGER_TYPES):  # Trino keeps the integer type
            node.type = node.this.type
    try:
        return query.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as error:
        raise not_supported(f"This expression ({error})") from None


def _to_iso8601(value: exp.Expression) -> exp.Expression:
    """Trino's to_iso8601: 2024-01-20T07:13:45.123 for a timestamp, with Z for one with a time zone (UTC here).

    Whether the value has a time zone is asked at run time: sqlglot does not always know.
    """
    if value.is_type(exp.DType.DATE):
        return exp.cast(value, "VARCHAR")
    return sqlglot.parse_one(
        "CASE WHEN typeof(v) = 'DATE' THEN CAST(v AS VARCHAR) "
        "ELSE strftime(v, '%Y-%m-%dT%H:%M:%S.%g') || CASE WHEN typeof(v) LIKE '%TIME ZONE' THEN 'Z' ELSE '' END END",
        read="duckdb").transform(lambda node: value.copy() if isinstance(node, exp.Column) and node.name == "v" else node)


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
    """DATE +/- interval, date_add on a DATE and date_trunc of a DATE are DATEs in Trino."""
    if isinstance(node, (exp.Add, exp.Sub)):
        sides = (node.left, node.right)
        is_date_arithmetic = (any(side.is_type(exp.DType.DATE) for side in sides)
                              and any(isinstance(side, exp.Interval) or side.is_type(exp.DType.INTERVAL)
                                      for side in sides))
    elif isinstance(node, (exp.DateTrunc, exp.TimestampTrunc)):
        is_date_arithmetic = node.this.is_type(exp.DType.DATE)
    else:
        is_date_arithmetic = node.this.is_type(exp.DType.DATE)
    if is_date_arithmetic:
        _wrap_in_cast(node, "DATE")


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
