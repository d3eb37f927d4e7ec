"""Athena (Trino) SQL to DuckDB: each translation trap, checked by running the translated SQL on DuckDB.

Every expected value here is Trino's documented answer, not whatever DuckDB returns.
"""

from __future__ import annotations

import datetime
import math
from decimal import Decimal

import duckdb
import pytest

from localcloud.athena import formatting, translate
from localcloud.athena.translate import QueryError, SqlText

SCHEMA = {"db": {"t": {"a": "int", "b": "bigint", "name": "string", "price": "decimal(10,2)", "day": "date",
                       "dt": "string", "hour": "string", "$path": "string"},
                 "u": {"a": "int", "label": "string"}}}
HIDDEN = {"$path"}


def translated(sql: str) -> tuple[str, list[str]]:
    """(DuckDB SQL, output column names) for Athena SQL over SCHEMA."""
    from sqlglot import exp

    query = translate.parse(sql)
    schema = {db: {table: {column: exp.DataType.build(kind, dialect="hive") for column, kind in columns.items()}
                   for table, columns in tables.items()} for db, tables in SCHEMA.items()}
    translate.qualify_query(query, schema, "db", SqlText(sql), HIDDEN)
    names = translate.output_names(query)
    return translate.to_duckdb(query), names


@pytest.fixture
def duck() -> duckdb.DuckDBPyConnection:
    """DuckDB with the engine's session settings and SCHEMA's tables."""
    connection = duckdb.connect()
    connection.execute(translate.DUCKDB_SETTINGS)
    connection.execute("CREATE SCHEMA db; CREATE TABLE db.t (a INTEGER, b BIGINT, name VARCHAR, price DECIMAL(10,2), "
                       "day DATE, dt VARCHAR, hour VARCHAR, \"$path\" VARCHAR); CREATE TABLE db.u (a INTEGER, label VARCHAR)")
    connection.execute("INSERT INTO db.t VALUES (7, 2, 'x', 7.00, DATE '2024-01-31', '1', '01', 's3://b/k'), "
                       "(-9, 4, 'y', 2.50, DATE '2024-02-29', '2', '02', 's3://b/l')")
    yield connection
    connection.close()


def one_row(duck: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    return duck.execute(translated(sql)[0]).fetchone()


# ---- integer and decimal division ---------------------------------------------------------------

def test_integer_division_truncates_toward_zero(duck):
    assert one_row(duck, "SELECT 7 / 2, -7 / 2, 7 % -2, -7 % 2") == (3, -3, 1, -1)


def test_integer_columns_divide_as_integers(duck):
    assert duck.execute(translated("SELECT a / b, sum(a) / count(*) FROM t GROUP BY a, b ORDER BY a")[0]).fetchall() \
        == [(-2, -9), (3, 7)]


def test_doubles_divide_as_doubles(duck):
    assert one_row(duck, "SELECT 7e0 / 2, CAST(7 AS double) / 2") == (3.5, 3.5)


def test_decimal_division_keeps_trinos_scale(duck):
    assert one_row(duck, "SELECT 7.0 / 2, 2.0 / 3, 1.00 / 3, count(*) * 1.0 / 3 FROM t") == (
        Decimal("3.5"), Decimal("0.7"), Decimal("0.33"), Decimal("0.7"))


def test_avg_of_a_decimal_column_is_a_decimal(duck):
    assert one_row(duck, "SELECT avg(price) FROM t") == (Decimal("4.75"),)


def test_integer_and_decimal_division_by_zero_raises(duck):
    for sql in ("SELECT 1 / 0", "SELECT a / (b - b) FROM t", "SELECT 5 % 0", "SELECT 1.0 / 0", "SELECT price / 0 FROM t",
                "SELECT avg(price) / 0 FROM t"):
        with pytest.raises(duckdb.Error, match="Division by zero"):
            duck.execute(translated(sql)[0]).fetchall()


def test_double_division_by_zero_is_infinity_or_nan_as_in_trino(duck):
    up, down, undefined, column, average = one_row(
        duck, "SELECT 1e0 / 0, -1e0 / 0, 0e0 / 0, CAST(a AS double) / 0, "
              "(SELECT avg(a) FROM t) / 0 FROM t WHERE a = 7")
    assert (up, down, column, average) == (math.inf, -math.inf, math.inf, -math.inf)
    assert math.isnan(undefined)


def test_real_division_by_zero_is_infinity_as_in_trino(duck):
    assert one_row(duck, "SELECT CAST(1 AS real) / 0, a / CAST(0 AS real) FROM t WHERE a = 7") == (math.inf, math.inf)


def test_double_modulo_by_zero_is_nan_as_in_trino(duck):
    assert math.isnan(one_row(duck, "SELECT 5e0 % 0")[0])


def test_nan_and_infinity_functions_run_as_in_trino(duck):
    assert one_row(duck, "SELECT is_nan(nan()), is_infinite(-infinity()), is_finite(1e0 / 0), 1e0 / infinity(), "
                         "every(a > 0) FROM t") == (True, True, False, 0.0, False)


# ---- dates ----------------------------------------------------------------------------------------

def test_date_diff_counts_whole_units_not_boundaries(duck):
    assert one_row(duck, "SELECT date_diff('day', TIMESTAMP '2024-01-01 23:00:00', TIMESTAMP '2024-01-02 01:00:00'), "
                         "date_diff('hour', TIMESTAMP '2024-01-02 01:30:00', TIMESTAMP '2024-01-01 00:00:00'), "
                         "date_diff('month', DATE '2024-01-31', DATE '2024-02-28'), "
                         "date_diff('day', DATE '2024-02-28', DATE '2024-03-01')") == (0, -25, 0, 2)


def test_date_plus_interval_stays_a_date(duck):
    assert one_row(duck, "SELECT DATE '2024-01-31' + INTERVAL '1' MONTH, day - INTERVAL '1' DAY, "
                         "date_add('day', 1, DATE '2024-12-31'), date_trunc('month', DATE '2024-01-20') "
                         "FROM t WHERE a = 7") == (
        datetime.date(2024, 2, 29), datetime.date(2024, 1, 30), datetime.date(2025, 1, 1), datetime.date(2024, 1, 1))


def test_timestamp_plus_interval_stays_a_timestamp(duck):
    assert one_row(duck, "SELECT TIMESTAMP '2024-01-01 10:00:00' + INTERVAL '90' MINUTE") == (
        datetime.datetime(2024, 1, 1, 11, 30),)


@pytest.mark.parametrize("sql", ["SELECT DATE '2024-01-20' + INTERVAL '1' HOUR", "SELECT INTERVAL '90' MINUTE + day FROM t",
                                 "SELECT day - INTERVAL '1.5' SECOND FROM t"])
def test_hours_minutes_or_seconds_on_a_date_fail_as_in_trino(sql):
    with pytest.raises(QueryError, match=r"^INVALID_FUNCTION_ARGUMENT: Cannot (add|subtract) hour, minutes or "
                                         r"seconds (to|from) a date - cast the date to a timestamp first"):
        translated(sql)


def test_whole_days_of_hours_on_a_date_stay_a_date_as_in_trino(duck):
    assert one_row(duck, "SELECT DATE '2024-01-20' + INTERVAL '48' HOUR, DATE '2024-01-20' - INTERVAL '1440' MINUTE") \
        == (datetime.date(2024, 1, 22), datetime.date(2024, 1, 19))


@pytest.mark.parametrize(("sql", "unit"), [("SELECT date_add('hour', 1, day) FROM t", "hour"),
                                           ("SELECT date_trunc('minute', DATE '2024-01-20')", "minute"),
                                           ("SELECT date_diff('second', day, day) FROM t", "second")])
def test_date_functions_refuse_time_units_on_a_date_as_in_trino(sql, unit):
    with pytest.raises(QueryError, match=f"^INVALID_FUNCTION_ARGUMENT: '{unit}' is not a valid DATE field - cast"):
        translated(sql)


def test_time_units_on_a_date_cast_to_a_timestamp_work(duck):
    assert one_row(duck, "SELECT date_add('hour', 1, CAST(day AS timestamp)), CAST(day AS timestamp) + INTERVAL '1' "
                         "HOUR FROM t WHERE a = 7") == (datetime.datetime(2024, 1, 31, 1, 0),) * 2


def test_format_datetime_reads_java_patterns(duck):
    assert one_row(duck, "SELECT format_datetime(TIMESTAMP '2024-01-05 07:03:09.123', "
                         "'yyyy-MM-dd''T''HH:mm:ss.SSS EEE MMM d')") == ("2024-01-05T07:03:09.123 Fri Jan 5",)


def test_parse_datetime_reads_java_patterns(duck):
    assert one_row(duck, "SELECT parse_datetime('05/01/2024 07:03', 'dd/MM/yyyy HH:mm')") == (
        datetime.datetime(2024, 1, 5, 7, 3),)


def test_java_pattern_letters_without_an_equivalent_are_not_supported():
    with pytest.raises(QueryError, match="NOT_SUPPORTED: The date pattern field 'G'"):
        translated("SELECT format_datetime(TIMESTAMP '2024-01-05 07:03:09', 'G yyyy')")


# ---- format() ---------------------------------------------------------------------------------------

def test_format_uses_java_format_strings(duck):
    assert one_row(duck, "SELECT format('%s-%05d|%.2f|%%|%-3s|', 'a', 42, 3.14159, 'b')") == ("a-00042|3.14|%|b  |",)


def test_format_specifiers_only_java_knows_are_not_supported():
    for specifier in ("%,d", "%1$s", "%tY"):
        with pytest.raises(QueryError, match="NOT_SUPPORTED"):
            translated(f"SELECT format('{specifier}', 1)")


def test_format_with_a_computed_pattern_is_not_supported():
    with pytest.raises(QueryError, match="NOT_SUPPORTED: A format\\(\\) pattern that is not a string literal"):
        translated("SELECT format(name, 1) FROM t")


# ---- other functions whose plain transpile differs ---------------------------------------------------

def test_regexp_replace_reads_java_group_references(duck):
    assert one_row(duck, "SELECT regexp_replace('a1b22', '(\\d+)', '<$1>'), regexp_replace('cost', 'o', '\\$'), "
                         "regexp_replace('a.b', '[.]')") == ("a<1>b<22>", "c$st", "ab")


def test_regexp_replace_with_named_groups_is_not_supported():
    with pytest.raises(QueryError, match="NOT_SUPPORTED"):
        translated("SELECT regexp_replace('ab', '(?<x>b)', '${x}')")


def test_to_iso8601_prints_trinos_iso_text(duck):
    assert one_row(duck, "SELECT to_iso8601(TIMESTAMP '2024-01-20 07:13:45.5'), to_iso8601(DATE '2024-01-20'), "
                         "to_iso8601(from_iso8601_timestamp('2024-01-20T07:13:45Z'))") == (
        "2024-01-20T07:13:45.500", "2024-01-20", "2024-01-20T07:13:45.000Z")


def test_approx_percentile_of_integers_stays_an_integer(duck):
    assert one_row(duck, "SELECT approx_percentile(a, 0.5), approx_percentile(a, ARRAY[0.0, 1.0]) FROM t "
                         "WHERE a = 7") == (7, [7, 7])


def test_reduce_with_an_identity_output_function(duck):
    assert one_row(duck, "SELECT reduce(ARRAY[1, 2, 3], 0, (s, x) -> s + x, s -> s)") == (6,)


def test_typeof_is_not_supported_rather_than_answered_with_duckdb_names():
    with pytest.raises(QueryError, match="NOT_SUPPORTED: typeof"):
        translated("SELECT typeof(1)")


# ---- casts -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("sql", ["SELECT CAST('2.7' AS integer)", "SELECT CAST('1e3' AS bigint)",
                                 "SELECT CAST(name AS smallint) FROM t", "SELECT CAST('' AS tinyint)"])
def test_text_that_is_not_an_integer_does_not_cast_to_an_integer_as_in_trino(duck, sql):
    with pytest.raises(duckdb.ConversionException, match=translate.NOT_AN_INTEGER):
        duck.execute(translated(sql)[0]).fetchall()


def test_integer_text_casts_to_integer_types(duck):
    assert one_row(duck, "SELECT CAST(' 12 ' AS integer), CAST('-7' AS bigint), CAST('+3' AS smallint), "
                         "CAST(dt AS tinyint), CAST(NULL AS integer) FROM t WHERE a = 7") == (12, -7, 3, 1, None)


def test_try_cast_of_text_that_is_not_an_integer_is_null_as_in_trino(duck):
    assert one_row(duck, "SELECT TRY_CAST('2.7' AS integer), try(CAST('2.7' AS integer)), TRY_CAST(name AS bigint), "
                         "TRY_CAST('12' AS integer) FROM t WHERE a = 7") == (None, None, None, 12)


def test_doubles_and_decimals_cast_to_integers_round_half_away_from_zero_as_in_trino(duck):
    assert one_row(duck, "SELECT CAST(2.7 AS integer), CAST(2.5e0 AS integer), CAST(-2.5e0 AS bigint), "
                         "CAST(2.5 AS integer), CAST(price AS integer) FROM t WHERE a = -9") == (3, 3, -3, 3, 3)


# ---- literals and names -----------------------------------------------------------------------------

def test_decimal_literal_keeps_its_precision_and_scale(duck):
    assert one_row(duck, "SELECT DECIMAL '1.20', DECIMAL '-0.5'") == (Decimal("1.20"), Decimal("-0.5"))


def test_unnamed_columns_are_named_by_their_position():
    _, names = translated("SELECT *, count(*) OVER (), 1 + 1 AS two, upper(label) FROM u CROSS JOIN (SELECT 1 AS k)")
    assert names == ["a", "label", "k", "_col3", "two", "_col5"]


def test_union_columns_are_named_by_the_first_select():
    _, names = translated("SELECT a, 1 FROM u UNION ALL SELECT 2, 3")
    assert names == ["a", "_col1"]


def test_hidden_columns_are_only_returned_when_named():
    assert "$path" not in translated("SELECT * FROM t")[1]
    assert translated('SELECT *, "$path" FROM t')[1].count("$path") == 1


# ---- partition filters ------------------------------------------------------------------------------

def _filters(sql: str) -> list[str]:
    from sqlglot import exp

    query = translate.parse(sql)
    schema = {db: {table: {c: exp.DataType.build(k, dialect="hive") for c, k in cols.items()}
                   for table, cols in tables.items()} for db, tables in SCHEMA.items()}
    translate.qualify_query(query, schema, "db", SqlText(sql), HIDDEN)
    table = next(node for node in query.find_all(exp.Table) if node.name == "t")
    return [translate.to_duckdb(condition) for condition in translate.partition_filters(table, {"dt", "hour", "$path"})]


def test_partition_filters_are_the_and_conditions_on_partition_columns():
    assert _filters("SELECT a FROM t WHERE dt = '1' AND a > 2 AND (dt = '2' OR a = 1) AND hour IN ('01', '02') "
                    "AND \"$path\" LIKE '%x'") == ['"dt" = \'1\'', '"hour" IN (\'01\', \'02\')', '"$path" LIKE \'%x\'']


def test_no_partition_filters_across_an_outer_join():
    assert _filters("SELECT t.a FROM u LEFT JOIN t ON u.a = t.a WHERE t.dt = '1'") == []


def test_partition_filters_of_a_subquery_stay_in_it():
    assert _filters("SELECT * FROM (SELECT a, dt FROM t WHERE hour = '01') WHERE dt = '1'") == ['"hour" = \'01\'']


# ---- errors at their position -----------------------------------------------------------------------

def test_syntax_error_reports_the_offending_token():
    with pytest.raises(QueryError) as failure:
        translate.parse("SELECT a,\n  b c d\nFROM t")
    assert failure.value.reason == "SYNTAX_ERROR: line 2:7: mismatched input 'd'"


def test_unterminated_string_is_a_syntax_error():
    with pytest.raises(QueryError, match="SYNTAX_ERROR: line 1:8: unterminated quoted text"):
        translate.parse("SELECT 'abc FROM t")


def test_unknown_column_is_reported_where_it_is_written():
    with pytest.raises(QueryError) as failure:
        translated("SELECT a,\n   t.nope FROM t")
    assert failure.value.reason == ("COLUMN_NOT_FOUND: line 2:4: Column 't.nope' cannot be resolved or requester is "
                                    "not authorized to access requested resources")


def test_a_column_of_two_joined_tables_is_ambiguous():
    with pytest.raises(QueryError, match="AMBIGUOUS_NAME: line 1:8: Column 'a' is ambiguous"):
        translated("SELECT a FROM t CROSS JOIN u")


def test_comparing_a_string_with_a_number_is_a_type_mismatch():
    with pytest.raises(QueryError, match=r"TYPE_MISMATCH: line 1:23: Cannot apply operator: varchar = integer"):
        translated("SELECT a FROM t WHERE dt = 1")
    with pytest.raises(QueryError, match=r"Cannot apply operator: integer > varchar\(1\)"):
        translated("SELECT a FROM t WHERE a > '1'")
    with pytest.raises(QueryError, match="IN value and list items must be the same type: varchar"):
        translated("SELECT a FROM t WHERE hour IN (1, 2)")


def test_a_trino_function_duckdb_lacks_is_not_supported_with_an_alternative():
    assert translate.missing_function("map_agg", SqlText("SELECT k,\n  map_agg(k, v) FROM t")).reason == (
        "NOT_SUPPORTED: line 2:3: Function 'map_agg' exists in Athena, but localcloud's Athena engine does not run "
        "it - try map(array_agg(key), array_agg(value))")


def test_a_trino_function_sqlglot_renames_is_reported_by_its_trino_name():
    assert translate.missing_function("STR_TO_MAP", SqlText("SELECT split_to_map('a=1', ',', '=')")).reason == (
        "NOT_SUPPORTED: line 1:8: Function 'split_to_map' exists in Athena, but localcloud's Athena engine does not "
        "run it")


def test_a_function_trino_does_not_have_is_not_found():
    assert translate.missing_function("map_aggregate", SqlText("SELECT map_aggregate(k, v) FROM t")).reason == (
        "FUNCTION_NOT_FOUND: line 1:8: Function 'map_aggregate' not registered")


def test_two_statements_are_refused():
    with pytest.raises(QueryError, match="Only one sql statement is allowed. Got: 2"):
        translate.parse("SELECT 1; SELECT 2")


# ---- types and text (formatting.py) -----------------------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [
    (1.0, "1.0"), (0.1, "0.1"), (1234.5, "1234.5"), (9999999.0, "9999999.0"), (1e7, "1.0E7"),
    (12345678.9, "1.23456789E7"), (1e-3, "0.001"), (9.9e-4, "9.9E-4"), (-2.5e-7, "-2.5E-7"),
    (float("nan"), "NaN"), (float("-inf"), "-Infinity"), (-0.0, "-0.0")])
def test_doubles_are_printed_as_java_prints_them(value, text):
    assert formatting.java_double(value) == text


@pytest.mark.parametrize(("glue_type", "duckdb_type"), [
    ("string", "VARCHAR"), ("varchar(20)", "VARCHAR"), ("int", "INTEGER"), ("bigint", "BIGINT"),
    ("double", "DOUBLE"), ("boolean", "BOOLEAN"), ("decimal(10,2)", "DECIMAL(10,2)"), ("timestamp", "TIMESTAMP"),
    ("array<string>", "VARCHAR[]"), ("map<string,bigint>", "MAP(VARCHAR, BIGINT)"),
    ("struct<City:string,zip:array<int>>", 'STRUCT("city" VARCHAR, "zip" INTEGER[])')])
def test_glue_types_become_duckdb_types(glue_type, duckdb_type):
    assert formatting.duckdb_type(glue_type) == duckdb_type


def test_a_glue_type_duckdb_cannot_read_is_refused():
    with pytest.raises(formatting.UnsupportedGlueType, match="uniontype"):
        formatting.duckdb_type("uniontype<int,string>")


def test_result_types_follow_athenas_column_info():
    relation = duckdb.sql("SELECT 1::HUGEINT, 2.5::DECIMAL(12,3), 'x', uuid(), INTERVAL 1 DAY, 1::FLOAT, [1], NULL")
    assert [(c.type, c.precision, c.scale) for c in map(formatting.result_column, relation.columns,
                                                          relation.types)] == [
        ("bigint", 19, 0), ("decimal", 12, 3), ("varchar", 2147483647, 0), ("varchar", 2147483647, 0),
        ("varchar", 2147483647, 0), ("real", 17, 0), ("array", 0, 0), ("unknown", 0, 0)]
