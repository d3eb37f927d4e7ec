"""The Athena SQL engine at its interface: errors, what it reads, DDL, CTAS and the text of results.

Data and tables are put into localcloud with boto3, as a user would; the engine is called directly
(QueryEngine(GlueCatalog(), S3Objects(), cache_dir)), as the Athena service calls it.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import io
import json
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from localcloud.athena.engine import QueryEngine, QueryError, QueryOutcome
from localcloud.athena.scan import ObjectCache
from localcloud.moto_state.glue import GlueCatalog
from localcloud.moto_state.s3 import S3Objects

JSON_SERDE = {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"}
PARQUET_SERDE = {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}
ORDER_COLUMNS = [("orderid", "string"), ("product_name", "string"), ("quantity", "int"), ("price", "double")]


@dataclass
class Athena:
    """A bucket and a database of one's own, and the engine to query them."""

    engine: QueryEngine
    s3: object
    glue: object
    bucket: str
    database: str

    def run(self, sql: str, database: str | None = None) -> QueryOutcome:
        return self.engine.execute(sql, database=database or self.database, query_id=f"q-{uuid.uuid4().hex[:12]}",
                                   output_location=f"s3://{self.bucket}/results/")

    def fails(self, sql: str, database: str | None = None) -> str:
        with pytest.raises(QueryError) as failure:
            self.run(sql, database)
        return failure.value.reason

    def put_lines(self, key: str, rows: list[dict], compress: bool = False) -> int:
        body = "".join(json.dumps(row) + "\n" for row in rows).encode()
        body = gzip.compress(body) if compress else body
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return len(body)

    def json_table(self, name: str, columns: list[tuple[str, str]], location: str, partition_keys: list[str] = (),
                   parameters: dict | None = None, serde: dict | None = None) -> None:
        self.glue.create_table(DatabaseName=self.database, TableInput={
            "Name": name, "TableType": "EXTERNAL_TABLE", "Parameters": parameters or {},
            "PartitionKeys": [{"Name": key, "Type": "string"} for key in partition_keys],
            "StorageDescriptor": {"Columns": [{"Name": n, "Type": t} for n, t in columns],
                                  "Location": f"s3://{self.bucket}/{location}", "SerdeInfo": serde or JSON_SERDE}})


@pytest.fixture(scope="module")
def clients(cloud) -> tuple[object, object]:
    """S3 and Glue clients for the whole module (a new session per test would load botocore's models again)."""
    session = boto3.Session(aws_access_key_id="localcloud", aws_secret_access_key="localcloud",
                            region_name="us-east-1")
    return session.client("s3", endpoint_url=cloud.endpoint_url), session.client("glue", endpoint_url=cloud.endpoint_url)


@pytest.fixture
def athena(clients: tuple[object, object], tmp_path: Path) -> Athena:
    suffix = uuid.uuid4().hex[:10]
    s3, glue = clients
    bucket, database = f"athena-engine-{suffix}", f"engine_{suffix}"
    s3.create_bucket(Bucket=bucket)
    glue.create_database(DatabaseInput={"Name": database})
    return Athena(QueryEngine(GlueCatalog(), S3Objects(), tmp_path), s3, glue, bucket, database)


def order(number: int, product: str = "Laptop", quantity: int = 1, price: float = 10.0) -> dict:
    return {"orderid": f"o{number}", "product_name": product, "quantity": quantity, "price": price}


@pytest.fixture
def hourly_orders(athena: Athena) -> dict[str, int]:
    """An `orders` table partitioned by hour (partition_0..3, crawler style); returns object sizes by hour."""
    sizes = {}
    for hour in ("07", "08", "09"):
        rows = [order(int(hour) * 10 + i, quantity=i + 1) for i in range(3)]
        sizes[hour] = athena.put_lines(f"orders/2024/01/20/{hour}/part-0", rows)
    athena.json_table("orders", ORDER_COLUMNS, "orders/", [f"partition_{i}" for i in range(4)])
    athena.glue.batch_create_partition(DatabaseName=athena.database, TableName="orders", PartitionInputList=[
        {"Values": ["2024", "01", "20", hour], "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t in ORDER_COLUMNS], "SerdeInfo": JSON_SERDE,
            "Location": f"s3://{athena.bucket}/orders/2024/01/20/{hour}/"}} for hour in sizes])
    return sizes


# ---- errors in Athena's form ----------------------------------------------------------------------

def test_missing_table_fails_with_table_not_found_at_the_table_name(athena: Athena):
    assert athena.fails("SELECT * FROM nothere") == (
        f"TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.{athena.database}.nothere' does not exist")


def test_missing_column_fails_with_its_line_and_column(athena: Athena, hourly_orders):
    assert athena.fails("SELECT orderid,\n       nope\nFROM orders") == (
        "COLUMN_NOT_FOUND: line 2:8: Column 'nope' cannot be resolved or requester is not authorized to access "
        "requested resources")


def test_syntax_error_points_at_the_offending_token(athena: Athena, hourly_orders):
    assert athena.fails("SELECT *\nFROM orders\nWHERE quantity = = 1").startswith(
        "SYNTAX_ERROR: line 3:18: mismatched input '='")


def test_missing_database_fails_with_schema_not_found(athena: Athena):
    assert athena.fails("SELECT * FROM orders", database="no_such_db") == (
        "SCHEMA_NOT_FOUND: line 1:15: Schema 'no_such_db' does not exist")


def test_division_by_zero_fails_as_trino_does(athena: Athena, hourly_orders):
    assert athena.fails("SELECT sum(quantity) / count_if(quantity > 100) FROM orders") == (
        "DIVISION_BY_ZERO: Division by zero")


def test_what_cannot_be_translated_fails_as_not_supported(athena: Athena):
    assert athena.fails("SELECT format('%,d', 1234567)").startswith("NOT_SUPPORTED: The format() specifier '%,d'")


def test_a_trino_function_localcloud_does_not_run_fails_as_not_supported(athena: Athena, hourly_orders):
    assert athena.fails("SELECT map_agg(orderid, quantity) FROM orders") == (
        "NOT_SUPPORTED: line 1:8: Function 'map_agg' exists in Athena, but localcloud's Athena engine does not run "
        "it - try map(array_agg(key), array_agg(value))")
    assert athena.fails("SELECT url_extract_host('https://example.com/a')").startswith(
        "NOT_SUPPORTED: line 1:8: Function 'url_extract_host' exists in Athena, but localcloud's Athena engine does "
        "not run it - try regexp_extract(url, ")


def test_a_function_trino_does_not_have_fails_as_function_not_found(athena: Athena):
    assert athena.fails("SELECT url_host('https://example.com/a')") == (
        "FUNCTION_NOT_FOUND: line 1:8: Function 'url_host' not registered")


def test_text_that_is_not_an_integer_fails_to_cast_as_trino_does(athena: Athena, hourly_orders):
    assert athena.fails("SELECT CAST('2.7' AS integer)") == "INVALID_CAST_ARGUMENT: Cannot cast '2.7' to INT"
    assert athena.fails("SELECT CAST(orderid AS bigint) FROM orders WHERE orderid = 'o70'") == (
        "INVALID_CAST_ARGUMENT: Cannot cast 'o70' to BIGINT")


def test_hours_added_to_a_date_fail_as_trino_does(athena: Athena):
    assert athena.fails("SELECT DATE '2024-01-20' + INTERVAL '1' HOUR") == (
        "INVALID_FUNCTION_ARGUMENT: Cannot add hour, minutes or seconds to a date - cast the date to a timestamp "
        "first, as in CAST(day AS timestamp)")


# ---- what a query reads ---------------------------------------------------------------------------

def test_partition_filter_reads_only_the_matching_objects(athena: Athena, hourly_orders: dict[str, int]):
    everything = athena.run("SELECT count(*) FROM orders")
    one_hour = athena.run("SELECT count(*) FROM orders WHERE partition_3 = '08'")
    two_hours = athena.run("SELECT count(*) FROM orders WHERE partition_3 IN ('07', '09') AND partition_0 >= '2024'")
    assert (everything.rows, one_hour.rows, two_hours.rows) == ([["9"]], [["3"]], [["6"]])
    assert everything.data_scanned_bytes == sum(hourly_orders.values())
    assert one_hour.data_scanned_bytes == hourly_orders["08"]
    assert two_hours.data_scanned_bytes == hourly_orders["07"] + hourly_orders["09"]


def test_path_names_each_object_and_is_not_part_of_select_star(athena: Athena, hourly_orders):
    outcome = athena.run('SELECT "$path", count(*) AS n FROM orders GROUP BY 1 ORDER BY 1')
    assert outcome.rows == [[f"s3://{athena.bucket}/orders/2024/01/20/{hour}/part-0", "3"] for hour in hourly_orders]
    assert "$path" not in [column.name for column in athena.run("SELECT * FROM orders").columns]


def test_path_filter_reads_only_that_object(athena: Athena, hourly_orders):
    path = f"s3://{athena.bucket}/orders/2024/01/20/09/part-0"
    outcome = athena.run(f"SELECT sum(quantity) FROM orders WHERE \"$path\" = '{path}'")
    assert (outcome.rows, outcome.data_scanned_bytes) == ([["6"]], hourly_orders["09"])


def test_gzip_objects_are_read_like_plain_ones(athena: Athena):
    plain = athena.put_lines("mixed/a.json", [order(1), order(2)])
    packed = athena.put_lines("mixed/b.json.gz", [order(3), order(4, quantity=5)], compress=True)
    athena.json_table("mixed", ORDER_COLUMNS, "mixed/")
    outcome = athena.run("SELECT count(*), sum(quantity) FROM mixed")
    assert (outcome.rows, outcome.data_scanned_bytes) == ([["4", "8"]], plain + packed)


def test_queries_reading_other_columns_than_the_first_query_still_see_every_row(athena: Athena):
    """The first query decodes only the columns it reads; a later one needing more decodes the whole schema."""
    athena.put_lines("widening/a.json", [order(1, quantity=2), order(2, quantity=3)])
    athena.json_table("widening", ORDER_COLUMNS, "widening/")
    assert athena.run("SELECT sum(quantity) FROM widening").rows == [["5"]]
    athena.put_lines("widening/b.json", [order(3, quantity=4)])
    assert athena.run("SELECT orderid, quantity FROM widening ORDER BY orderid").rows == [
        ["o1", "2"], ["o2", "3"], ["o3", "4"]]
    assert athena.run("SELECT sum(quantity), count(*) FROM widening").rows == [["9", "3"]]


def test_json_keys_match_columns_in_any_case(athena: Athena):
    athena.s3.put_object(Bucket=athena.bucket, Key="camel/a.json",
                         Body=b'{"OrderId": "o1", "Product_Name": "Phone", "QUANTITY": 2, "Price": 1.5}\n')
    athena.json_table("camel", ORDER_COLUMNS, "camel/")
    assert athena.run("SELECT * FROM camel").rows == [["o1", "Phone", "2", "1.5"]]


def test_malformed_line_fails_unless_the_serde_ignores_it(athena: Athena):
    athena.s3.put_object(Bucket=athena.bucket, Key="bad/a.json",
                         Body=b'{"orderid": "o1", "quantity": 1}\nnot json\n{"orderid": "o2", "quantity": 2}\n')
    athena.json_table("strict", ORDER_COLUMNS, "bad/")
    athena.json_table("lenient", ORDER_COLUMNS, "bad/", serde={
        **JSON_SERDE, "Parameters": {"ignore.malformed.json": "true"}})
    reason = athena.fails("SELECT count(*) FROM strict")
    assert reason.startswith("HIVE_CURSOR_ERROR: Row is not a valid JSON Object")
    assert f"s3://{athena.bucket}/bad/a.json" in reason
    assert athena.run("SELECT count(*), count(orderid), sum(quantity) FROM lenient").rows == [["3", "2", "3"]]


def test_records_without_newlines_fail_with_a_hint(athena: Athena):
    athena.s3.put_object(Bucket=athena.bucket, Key="glued/a.json", Body=b'{"orderid": "o1"}{"orderid": "o2"}')
    athena.json_table("glued", ORDER_COLUMNS, "glued/")
    assert "end each record with a newline" in athena.fails("SELECT * FROM glued")


def test_nested_and_typed_json_values_are_read_with_the_glue_types(athena: Athena):
    athena.put_lines("typed/a.json", [{"tags": ["a", "b"], "ship": {"city": "Oslo", "zip": 150},
                                       "counts": {"x": 1}, "amount": 12.5, "at": "2024-01-20T07:13:45.123Z",
                                       "day": "2024-01-20", "flag": True}])
    athena.json_table("typed", [("tags", "array<string>"), ("ship", "struct<city:string,zip:int>"),
                                ("counts", "map<string,bigint>"), ("amount", "decimal(10,2)"),
                                ("at", "timestamp"), ("day", "date"), ("flag", "boolean")], "typed/")
    outcome = athena.run("SELECT * FROM typed")
    assert outcome.rows == [["[a, b]", "{city=Oslo, zip=150}", "{x=1}", "12.50", "2024-01-20 07:13:45.123",
                             "2024-01-20", "true"]]
    assert [(c.type, c.precision, c.scale) for c in outcome.columns] == [
        ("array", 0, 0), ("row", 0, 0), ("map", 0, 0), ("decimal", 10, 2), ("timestamp", 3, 0), ("date", 0, 0),
        ("boolean", 0, 0)]


def test_parquet_columns_are_matched_by_name(athena: Athena):
    table = pa.table({"PRICE": [2.5, 4.0], "orderid": ["o1", "o2"], "unused": [1, 2]})
    body = io.BytesIO()
    pq.write_table(table, body)
    athena.s3.put_object(Bucket=athena.bucket, Key="parquet/part-0.parquet", Body=body.getvalue())
    athena.json_table("facts", [("orderid", "string"), ("price", "double"), ("quantity", "int")], "parquet/",
                      serde=PARQUET_SERDE)
    assert athena.run("SELECT orderid, price, quantity FROM facts ORDER BY orderid").rows == [
        ["o1", "2.5", None], ["o2", "4.0", None]]


def test_parquet_scans_count_the_footer_and_the_column_chunks_they_read(athena: Athena):
    """As Athena bills Parquet: the columns a query reads, not the whole object."""
    table = pa.table({"orderid": [f"o{i}" for i in range(5000)], "price": [i / 4 for i in range(5000)],
                      "note": ["x" * 40] * 5000})
    body = io.BytesIO()
    pq.write_table(table, body, row_group_size=2000)
    athena.s3.put_object(Bucket=athena.bucket, Key="facts/part-0.parquet", Body=body.getvalue())
    athena.json_table("facts", [("orderid", "string"), ("price", "double"), ("note", "string")], "facts/",
                      serde=PARQUET_SERDE)
    metadata = pq.ParquetFile(io.BytesIO(body.getvalue())).metadata
    footer = metadata.serialized_size + 8

    def chunks(*names: str) -> int:
        return sum(metadata.row_group(group).column(index).total_compressed_size
                   for group in range(metadata.num_row_groups) for index in range(metadata.num_columns)
                   if metadata.row_group(group).column(index).path_in_schema in names)

    assert athena.run("SELECT sum(price) FROM facts").data_scanned_bytes == footer + chunks("price")
    assert athena.run("SELECT orderid, note FROM facts").data_scanned_bytes == footer + chunks("orderid", "note")
    assert athena.run("SELECT count(*) FROM facts").data_scanned_bytes == footer
    everything = athena.run("SELECT * FROM facts").data_scanned_bytes
    assert everything == footer + chunks("orderid", "price", "note") == len(body.getvalue()) - 4  # all but b"PAR1"


def test_an_overwritten_object_is_read_again(athena: Athena, hourly_orders):
    assert athena.run("SELECT sum(quantity) FROM orders WHERE partition_3 = '07'").rows == [["6"]]
    athena.put_lines("orders/2024/01/20/07/part-0", [order(1, quantity=100)])
    assert athena.run("SELECT sum(quantity) FROM orders WHERE partition_3 = '07'").rows == [["100"]]


def test_an_object_written_again_and_again_keeps_only_its_latest_rows_decoded(athena: Athena):
    athena.json_table("counts", [("n", "int")], "counts/")
    for version in range(1, 6):
        athena.put_lines("counts/part-0", [{"n": version}] * version)
        assert athena.run("SELECT count(*), sum(n) FROM counts").rows == [[str(version), str(version * version)]]
    database = athena.engine._database
    tables = [name for (name,) in database.execute(
        "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '__localcloud_json_%'").fetchall()]
    decoded = sum(database.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in tables)
    assert decoded == 5  # the latest version's rows; the four it replaced are gone


def test_partition_projection_needs_no_glue_partitions(athena: Athena):
    for region, day, hour in (("eu", "2024/01/20", "07"), ("eu", "2024/01/21", "00"), ("us", "2024/01/20", "07")):
        athena.put_lines(f"projected/{region}/{day}/{hour}/a.json", [order(1, quantity=2)])
    athena.json_table("projected", ORDER_COLUMNS, "projected/", ["region", "dt", "hour"], parameters={
        "projection.enabled": "true",
        "projection.region.type": "enum", "projection.region.values": "eu,us,ap",
        "projection.dt.type": "date", "projection.dt.format": "yyyy/MM/dd", "projection.dt.range": "2024/01/19,2024/01/22",
        "projection.hour.type": "integer", "projection.hour.range": "0,23", "projection.hour.digits": "2",
        "storage.location.template": f"s3://{athena.bucket}/projected/${{region}}/${{dt}}/${{hour}}/"})
    everything = athena.run("SELECT region, dt, hour, sum(quantity) FROM projected GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")
    assert everything.rows == [["eu", "2024/01/20", "07", "2"], ["eu", "2024/01/21", "00", "2"],
                               ["us", "2024/01/20", "07", "2"]]
    europe = athena.run("SELECT count(*) FROM projected WHERE region = 'eu' AND dt = '2024/01/20'")
    assert europe.rows == [["1"]]
    assert europe.data_scanned_bytes * 3 == everything.data_scanned_bytes


def test_projected_dates_can_be_relative_to_now(athena: Athena):
    now = datetime.datetime.now(datetime.timezone.utc)
    for moment in (now, now - datetime.timedelta(hours=5), now - datetime.timedelta(days=3)):
        athena.put_lines(f"recent/{moment:%Y/%m/%d/%H}/a.json", [order(1)])
    athena.json_table("recent", ORDER_COLUMNS, "recent/", ["hour"], parameters={
        "projection.enabled": "true", "projection.hour.type": "date", "projection.hour.format": "yyyy/MM/dd/HH",
        "projection.hour.range": "NOW-2DAYS,NOW", "projection.hour.interval": "1",
        "projection.hour.interval.unit": "HOURS",
        "storage.location.template": f"s3://{athena.bucket}/recent/${{hour}}/"})
    assert athena.run("SELECT count(*) FROM recent").rows == [["2"]]


def test_injected_projection_takes_values_from_the_where_clause(athena: Athena):
    athena.put_lines("by_customer/c1/a.json", [order(1)])
    athena.put_lines("by_customer/c2/a.json", [order(2), order(3)])
    athena.json_table("by_customer", ORDER_COLUMNS, "by_customer/", ["customer"], parameters={
        "projection.enabled": "true", "projection.customer.type": "injected",
        "storage.location.template": f"s3://{athena.bucket}/by_customer/${{customer}}/"})
    assert athena.run("SELECT count(*) FROM by_customer WHERE customer = 'c2'").rows == [["2"]]
    assert athena.fails("SELECT count(*) FROM by_customer").startswith(
        "CONSTRAINT_VIOLATION: For the injected projected partition column customer")


# ---- DDL ------------------------------------------------------------------------------------------

def test_create_external_table_round_trips_through_glue(athena: Athena):
    athena.put_lines("ddl/dt=2024-01-20/a.json", [order(1), order(2)])
    created = athena.run(
        "CREATE EXTERNAL TABLE IF NOT EXISTS sales (orderid string, quantity int, ship struct<city:string>) "
        "PARTITIONED BY (dt string) ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' "
        "WITH SERDEPROPERTIES ('ignore.malformed.json' = 'true') "
        f"LOCATION 's3://{athena.bucket}/ddl/' TBLPROPERTIES ('classification' = 'json')")
    assert (created.statement_type, created.substatement_type) == ("DDL", "CREATE_TABLE")
    table = athena.glue.get_table(DatabaseName=athena.database, Name="sales")["Table"]
    descriptor = table["StorageDescriptor"]
    assert descriptor["SerdeInfo"] == {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
                                       "Parameters": {"ignore.malformed.json": "true"}}
    assert [(c["Name"], c["Type"]) for c in descriptor["Columns"]] == [
        ("orderid", "string"), ("quantity", "int"), ("ship", "struct<city:string>")]
    assert (descriptor["Location"], table["PartitionKeys"], table["Parameters"]["classification"]) == (
        f"s3://{athena.bucket}/ddl/", [{"Name": "dt", "Type": "string"}], "json")
    shown = athena.run("SHOW TABLES")
    assert (shown.statement_type, shown.substatement_type, [c.name for c in shown.columns], shown.rows) == (
        "UTILITY", "SHOW_TABLES", ["tab_name"], [["sales"]])
    described = athena.run("DESCRIBE sales")
    assert [row[0].strip() for row in described.rows if row[0].strip()] == [
        "orderid", "quantity", "ship", "dt", "# Partition Information", "# col_name", "dt"]
    assert f"  's3://{athena.bucket}/ddl/'" in [row[0] for row in athena.run("SHOW CREATE TABLE sales").rows]
    athena.run("DROP TABLE sales")
    assert athena.run("SHOW TABLES").rows == []


def test_create_external_table_stored_as_parquet_reads_parquet(athena: Athena):
    body = io.BytesIO()
    pq.write_table(pa.table({"orderid": ["o1"], "quantity": [3]}), body)
    athena.s3.put_object(Bucket=athena.bucket, Key="pq/a.parquet", Body=body.getvalue())
    athena.run(f"CREATE EXTERNAL TABLE pq_orders (orderid string, quantity bigint) STORED AS PARQUET "
               f"LOCATION 's3://{athena.bucket}/pq/'")
    descriptor = athena.glue.get_table(DatabaseName=athena.database, Name="pq_orders")["Table"]["StorageDescriptor"]
    assert descriptor["InputFormat"] == "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    assert athena.run("SELECT * FROM pq_orders").rows == [["o1", "3"]]


def test_msck_repair_adds_the_hive_style_folders_as_partitions(athena: Athena):
    for day in ("2024-01-20", "2024-01-21"):
        athena.put_lines(f"hive/dt={day}/region=eu/a.json", [order(1)])
    athena.put_lines("hive/not-a-partition/a.json", [order(9)])
    athena.run("CREATE EXTERNAL TABLE hive_orders (orderid string) PARTITIONED BY (dt string, region string) "
               f"ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://{athena.bucket}/hive/'")
    assert athena.run("SELECT count(*) FROM hive_orders").rows == [["0"]]
    repaired = athena.run("MSCK REPAIR TABLE hive_orders")
    assert repaired.rows[-1] == ["Repair: Added partition to metastore hive_orders:dt=2024-01-21/region=eu"]
    assert athena.run("SHOW PARTITIONS hive_orders").rows == [["dt=2024-01-20/region=eu"], ["dt=2024-01-21/region=eu"]]
    assert athena.run("SELECT dt, count(*) FROM hive_orders GROUP BY dt ORDER BY dt").rows == [
        ["2024-01-20", "1"], ["2024-01-21", "1"]]


def test_alter_table_adds_and_drops_partitions(athena: Athena):
    athena.put_lines("elsewhere/x/a.json", [order(1), order(2)])
    athena.json_table("manual", ORDER_COLUMNS, "manual/", ["dt"])
    athena.run(f"ALTER TABLE manual ADD IF NOT EXISTS PARTITION (dt = '2024-01-20') "
               f"LOCATION 's3://{athena.bucket}/elsewhere/x/'")
    assert athena.run("SELECT dt, count(*) FROM manual GROUP BY dt").rows == [["2024-01-20", "2"]]
    assert athena.fails("ALTER TABLE manual ADD PARTITION (dt = '2024-01-20')").startswith("ALREADY_EXISTS")
    athena.run("ALTER TABLE manual DROP PARTITION (dt = '2024-01-20')")
    assert athena.run("SELECT count(*) FROM manual").rows == [["0"]]


def test_view_is_stored_as_a_presto_view_and_can_be_queried(athena: Athena, hourly_orders):
    athena.run("CREATE VIEW units_by_hour AS SELECT partition_3 AS hour, sum(quantity) AS units FROM orders "
               "GROUP BY partition_3")
    view = athena.glue.get_table(DatabaseName=athena.database, Name="units_by_hour")["Table"]
    encoded = view["ViewOriginalText"].removeprefix("/* Presto View: ").removesuffix(" */")
    definition = json.loads(base64.b64decode(encoded))
    assert (view["TableType"], definition["schema"], definition["columns"]) == (
        "VIRTUAL_VIEW", athena.database, [{"name": "hour", "type": "varchar"}, {"name": "units", "type": "bigint"}])
    assert athena.run("SELECT * FROM units_by_hour WHERE units > 0 ORDER BY hour").rows == [
        ["07", "6"], ["08", "6"], ["09", "6"]]
    athena.run("CREATE OR REPLACE VIEW units_by_hour AS SELECT 1 AS one")
    assert athena.run("SELECT * FROM units_by_hour").rows == [["1"]]


def test_drop_database_needs_cascade_when_tables_remain(athena: Athena, hourly_orders):
    assert athena.fails(f"DROP DATABASE {athena.database}").startswith("SCHEMA_NOT_EMPTY")
    athena.run(f"DROP DATABASE {athena.database} CASCADE")
    assert athena.database not in [row[0] for row in athena.run("SHOW DATABASES", database="default").rows]


# ---- CTAS and INSERT INTO -------------------------------------------------------------------------

def test_ctas_writes_parquet_registers_the_table_and_a_manifest(athena: Athena, hourly_orders):
    outcome = athena.run(
        f"CREATE TABLE by_hour WITH (format = 'PARQUET', external_location = 's3://{athena.bucket}/ctas/by_hour/', "
        "partitioned_by = ARRAY['hour']) AS SELECT orderid, quantity * 2 AS doubled, partition_3 AS hour FROM orders")
    assert (outcome.statement_type, outcome.substatement_type, outcome.rows) == (
        "DDL", "CREATE_TABLE_AS_SELECT", [["9"]])
    bucket, key = outcome.data_manifest_location.removeprefix("s3://").split("/", 1)
    assert key.startswith("results/") and key.endswith("-manifest.csv")
    files = athena.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().split()
    assert len(files) == 3 and all(f.startswith(f"s3://{athena.bucket}/ctas/by_hour/hour=") for f in files)
    first = athena.s3.get_object(Bucket=athena.bucket, Key=files[0].split("/", 3)[3])["Body"].read()
    assert first[:4] == b"PAR1"
    table = athena.glue.get_table(DatabaseName=athena.database, Name="by_hour")["Table"]
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ["orderid", "doubled"]
    assert athena.run("SELECT hour, sum(doubled) FROM by_hour GROUP BY hour ORDER BY hour").rows == [
        ["07", "12"], ["08", "12"], ["09", "12"]]


def test_ctas_without_a_location_writes_under_the_output_location(athena: Athena):
    outcome = athena.run("CREATE TABLE small AS SELECT 1 AS one, 'a' AS letter")
    location = athena.glue.get_table(DatabaseName=athena.database, Name="small")["Table"]["StorageDescriptor"]["Location"]
    assert location.startswith(f"s3://{athena.bucket}/results/tables/")
    assert (outcome.rows, athena.run("SELECT * FROM small").rows) == ([["1"]], [["1", "a"]])


def test_ctas_needs_a_name_for_every_column(athena: Athena, hourly_orders):
    assert athena.fails("CREATE TABLE unnamed AS SELECT product_name, count(*) FROM orders GROUP BY 1") == (
        "MISSING_COLUMN_NAME: line 1:1: Column name not specified at position 2")


def test_ctas_partition_columns_must_come_last(athena: Athena, hourly_orders):
    assert athena.fails("CREATE TABLE wrong WITH (partitioned_by = ARRAY['orderid']) AS "
                        "SELECT orderid, quantity FROM orders").startswith("HIVE_COLUMN_ORDER_MISMATCH")


def test_ctas_refuses_a_location_that_has_objects(athena: Athena, hourly_orders):
    reason = athena.fails(f"CREATE TABLE again WITH (external_location = 's3://{athena.bucket}/orders/') AS "
                          "SELECT 1 AS one")
    assert reason.startswith("HIVE_PATH_ALREADY_EXISTS")


def test_insert_into_appends_to_a_partitioned_table(athena: Athena, hourly_orders):
    athena.run(f"CREATE TABLE kept WITH (external_location = 's3://{athena.bucket}/kept/', partitioned_by = ARRAY['hour']) "
               "AS SELECT orderid, quantity, partition_3 AS hour FROM orders WHERE partition_3 = '07'")
    inserted = athena.run("INSERT INTO kept SELECT orderid, quantity, partition_3 FROM orders WHERE partition_3 = '08'")
    assert (inserted.statement_type, inserted.substatement_type, inserted.rows) == ("DML", "INSERT", [["3"]])
    assert athena.run("SHOW PARTITIONS kept").rows == [["hour=07"], ["hour=08"]]
    assert athena.run("SELECT count(*) FROM kept").rows == [["6"]]


# ---- result types and text ------------------------------------------------------------------------

def test_result_types_and_values_are_printed_as_athena_does(athena: Athena):
    outcome = athena.run(
        "SELECT sum(x) AS total, 1e10 AS big, 0.1e0 AS small, CAST(2.5 AS real) AS r, DECIMAL '1.50' AS price, "
        "TIMESTAMP '2024-01-20 07:13:45' AS at, DATE '2024-01-20' + INTERVAL '1' DAY AS next_day, true AS yes, "
        "ARRAY[1, 2] AS list, CAST(ROW(1, 'a') AS ROW(x integer, y varchar)) AS pair, MAP(ARRAY['k'], ARRAY[1]) AS m, "
        "NULL AS nothing, 'text' AS label FROM (VALUES 1, 2) AS t(x)")
    assert [(c.name, c.type, c.precision, c.scale) for c in outcome.columns] == [
        ("total", "bigint", 19, 0), ("big", "double", 17, 0), ("small", "double", 17, 0), ("r", "real", 17, 0),
        ("price", "decimal", 3, 2), ("at", "timestamp", 3, 0), ("next_day", "date", 0, 0), ("yes", "boolean", 0, 0),
        ("list", "array", 0, 0), ("pair", "row", 0, 0), ("m", "map", 0, 0), ("nothing", "unknown", 0, 0),
        ("label", "varchar", 2147483647, 0)]
    assert outcome.rows == [["3", "1.0E10", "0.1", "2.5", "1.50", "2024-01-20 07:13:45.000", "2024-01-21", "true",
                             "[1, 2]", "{x=1, y=a}", "{k=1}", None, "text"]]


def test_double_division_by_zero_is_printed_as_athena_prints_it(athena: Athena, hourly_orders):
    outcome = athena.run("SELECT sum(price) / count_if(quantity > 100) AS up, -sum(price) / 0 AS down, "
                         "(sum(price) - sum(price)) / 0 AS undefined, CAST(1 AS real) / 0 AS r FROM orders")
    assert [(c.name, c.type) for c in outcome.columns] == [("up", "double"), ("down", "double"),
                                                           ("undefined", "double"), ("r", "real")]
    assert outcome.rows == [["Infinity", "-Infinity", "NaN", "Infinity"]]


def test_show_and_describe_are_utility_statements(athena: Athena, hourly_orders):
    outcome = athena.run("SHOW COLUMNS IN orders")
    assert (outcome.statement_type, [c.name for c in outcome.columns], outcome.rows[:2]) == (
        "UTILITY", ["field"], [["orderid"], ["product_name"]])
    assert [c.name for c in athena.run("DESCRIBE orders").columns] == ["col_name", "data_type", "comment"]


# ---- running queries ------------------------------------------------------------------------------

def test_cancel_interrupts_a_running_query(athena: Athena):
    failure: list[QueryError] = []

    def slow_query() -> None:
        try:
            athena.engine.execute("SELECT count(*) FROM (SELECT a.x * b.x AS v FROM UNNEST(sequence(1, 30000)) AS a(x) "
                                  "CROSS JOIN UNNEST(sequence(1, 30000)) AS b(x)) WHERE v % 7 = 3",
                                  database=athena.database, query_id="slow", output_location=None)
        except QueryError as error:
            failure.append(error)

    worker = threading.Thread(target=slow_query)
    worker.start()
    time.sleep(0.3)
    athena.engine.cancel("slow")
    worker.join(timeout=20)
    assert not worker.is_alive()
    assert [error.error_name for error in failure] == ["USER_CANCELLED"]


def test_queries_run_concurrently_on_worker_threads(athena: Athena, hourly_orders):
    answers: list[list[list[str]]] = []

    def query(hour: str) -> None:
        answers.append(athena.run(f"SELECT partition_3, sum(quantity) FROM orders WHERE partition_3 = '{hour}' "
                                  "GROUP BY 1").rows)

    threads = [threading.Thread(target=query, args=(hour,)) for hour in ("07", "08", "09") * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == sorted([[[hour, "6"]] for hour in ("07", "08", "09")] * 3)


def test_doubles_print_as_java_does_whether_duckdb_or_python_prints_them(athena: Athena):
    """DuckDB prints the plain range (1e-3 <= |x| < 1e7, and zero); Python prints the rest with an exponent."""
    outcome = athena.run("SELECT x FROM (VALUES (1, 0.1e0), (2, 1e10), (3, 12345678.9e0), (4, 0e0), (5, -0e0), "
                         "(6, 1e-4), (7, 999.99e0), (8, 9999999e0), (9, NULL)) AS t(n, x) ORDER BY n")
    assert [row[0] for row in outcome.rows] == ["0.1", "1.0E10", "1.23456789E7", "0.0", "-0.0", "1.0E-4", "999.99",
                                                "9999999.0", None]


def test_a_large_ordered_result_keeps_its_order_with_python_printed_values_mixed_in(athena: Athena):
    """DuckDB writes the result CSV on several threads; the rows must still come in the query's order."""
    outcome = athena.run("SELECT n, CASE WHEN n % 1000 = 0 THEN n * 1e10 ELSE n / 4e0 END AS x "
                         "FROM UNNEST(sequence(1, 300000)) AS t(n) ORDER BY n DESC")

    def java_text(n: int) -> str:  # Java's Double.toString: an exponent from 1e7 up, the shortest digits
        if n % 1000:
            return repr(n / 4)
        mantissa, exponent = f"{n * 1e10:.6e}".split("e")
        mantissa = mantissa.rstrip("0")
        return f"{mantissa}0E{int(exponent)}" if mantissa.endswith(".") else f"{mantissa}E{int(exponent)}"

    assert outcome.rows == [[str(n), java_text(n)] for n in range(300000, 0, -1)]
    assert java_text(300000) == "3.0E15" and java_text(123000) == "1.23E15"


def test_result_text_keeps_quotes_commas_newlines_and_tells_empty_from_null(athena: Athena):
    outcome = athena.run("""SELECT * FROM (VALUES (1, 'say "hi", then go', ''), (2, 'two
lines', NULL)) AS t(n, a, b) ORDER BY n""")
    assert outcome.rows == [["1", 'say "hi", then go', ""], ["2", "two\nlines", None]]
    assert outcome.csv_rows == b'"1","say ""hi"", then go",""\n"2","two\nlines",\n'


def test_nested_timestamps_with_time_zone_are_printed_in_utc(athena: Athena):
    outcome = athena.run("SELECT ARRAY[TIMESTAMP '2024-01-20 07:13:45.120 UTC'] AS at")
    assert outcome.rows == [["[2024-01-20 07:13:45.120]"]]


def test_the_print_functions_of_a_query_are_gone_after_it(athena: Athena):
    athena.run("SELECT 1e10 AS big, ARRAY[1] AS list")
    registered = athena.engine._database.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name LIKE '__localcloud_print_%'").fetchone()[0]
    assert registered == 0


def test_objects_are_staged_on_disk_when_shared_memory_is_nearly_full(monkeypatch, tmp_path: Path):
    """A container's /dev/shm is often 64 MB: staging falls back to the temporary folder."""
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=64 << 20))
    assert not str(ObjectCache(S3Objects(), tmp_path / "objects").staging).startswith("/dev/shm")
