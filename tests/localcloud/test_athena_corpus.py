"""The Athena query corpus, run as a user runs it: awswrangler.athena.read_sql_query against localcloud.

Every answer is compared with the one pandas computes from the same generated data (athena_corpus.py).
"""

from __future__ import annotations

import datetime
import math
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import awswrangler as wr
import boto3
import pandas as pd
import pytest

from localcloud.athena.engine import QueryEngine
from localcloud.moto_state.glue import GlueCatalog
from localcloud.moto_state.s3 import S3Objects
from tests.localcloud import athena_corpus
from tests.localcloud.athena_corpus import CORPUS, CorpusData, CorpusQuery

ORDER_COLUMNS = [("orderid", "string"), ("product_name", "string"), ("quantity", "int"), ("price", "double"),
                 ("event_name", "string"), ("is_deleted", "boolean"), ("event_time", "string"),
                 ("sequence_number", "string"), ("event_id", "string")]
JSON_SERDE = {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe", "Parameters": {"paths": "orderid"}}
PARQUET_SERDE = {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}


@dataclass
class LoadedCorpus:
    database: str
    bucket: str
    data: CorpusData
    session: boto3.Session  # one for the module: each new session would load botocore's models again

    @property
    def output(self) -> str:
        return f"s3://{self.bucket}/athena-results/"


@pytest.fixture(scope="module")
def corpus(cloud) -> LoadedCorpus:
    """The change log in S3 under a Firehose layout, with Glue tables and partitions made through boto3."""
    session = boto3.Session(aws_access_key_id="localcloud", aws_secret_access_key="localcloud",
                            region_name="us-east-1")
    s3 = session.client("s3", endpoint_url=cloud.endpoint_url)
    glue = session.client("glue", endpoint_url=cloud.endpoint_url)
    suffix = uuid.uuid4().hex[:8]
    bucket, database = f"athena-corpus-{suffix}", f"corpus_{suffix}"
    events = athena_corpus.change_log()
    details = athena_corpus.order_details(events)
    layout = athena_corpus.firehose_layout(events)

    s3.create_bucket(Bucket=bucket)
    for key, rows in layout.items():
        s3.put_object(Bucket=bucket, Key=key, Body=athena_corpus.object_body(key, rows))
    s3.put_object(Bucket=bucket, Key="details/part-0.parquet", Body=athena_corpus.details_parquet(details))
    s3.put_object(Bucket=bucket, Key="products/products.json", Body="".join(
        f'{{"product_name": "{name}", "category": "{category}"}}\n'
        for name, category in athena_corpus.CATEGORIES.items()).encode())

    glue.create_database(DatabaseInput={"Name": database})
    orders = _descriptor(ORDER_COLUMNS, f"s3://{bucket}/orders/", JSON_SERDE)
    glue.create_table(DatabaseName=database, TableInput={
        "Name": "orders", "TableType": "EXTERNAL_TABLE", "StorageDescriptor": orders,
        "PartitionKeys": [{"Name": f"partition_{i}", "Type": "string"} for i in range(4)],
        "Parameters": {"classification": "json"}})
    folders = sorted({key.rsplit("/", 1)[0] for key in layout})
    glue.batch_create_partition(DatabaseName=database, TableName="orders", PartitionInputList=[
        {"Values": folder.split("/")[1:], "StorageDescriptor": {**orders, "Location": f"s3://{bucket}/{folder}/"}}
        for folder in folders])
    glue.create_table(DatabaseName=database, TableInput={
        "Name": "order_details", "TableType": "EXTERNAL_TABLE", "StorageDescriptor": _descriptor(
            [("orderid", "string"), ("tags", "array<string>"), ("shipping", "struct<city:string,express:boolean>"),
             ("attributes", "string")], f"s3://{bucket}/details/", PARQUET_SERDE)})
    glue.create_table(DatabaseName=database, TableInput={
        "Name": "products", "TableType": "EXTERNAL_TABLE", "StorageDescriptor": _descriptor(
            [("product_name", "string"), ("category", "string")], f"s3://{bucket}/products/", JSON_SERDE)})
    return LoadedCorpus(database, bucket, athena_corpus.corpus_data(events, details, layout, bucket), session)


def _descriptor(columns: list[tuple[str, str]], location: str, serde: dict) -> dict:
    return {"Columns": [{"Name": name, "Type": kind} for name, kind in columns], "Location": location,
            "SerdeInfo": serde}


def read_sql(corpus: LoadedCorpus, sql: str, **options) -> pd.DataFrame:
    """What a learner calls; awswrangler finds localcloud through AWS_ENDPOINT_URL (the aws_env fixture)."""
    return wr.athena.read_sql_query(sql, database=corpus.database, s3_output=corpus.output,
                                    boto3_session=corpus.session, athena_query_wait_polling_delay=0.01,
                                    **{"ctas_approach": False, **options})


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_query_answers_as_pandas_computes(case: CorpusQuery, corpus: LoadedCorpus, aws_env: dict[str, str]):
    if case.error:
        with pytest.raises(wr.exceptions.QueryFailed, match=case.error):
            read_sql(corpus, case.sql)
        return
    actual = read_sql(corpus, case.sql)
    assert_same_rows(actual, case.expected(corpus.data), ordered=case.ordered, rel_tol=case.rel_tol)


def test_corpus_covers_at_least_forty_queries():
    assert len([case for case in CORPUS if not case.error]) >= 40


def test_ctas_approach_reads_the_parquet_that_ctas_wrote(corpus: LoadedCorpus, aws_env: dict[str, str]):
    """awswrangler's default: CTAS into a temporary Parquet table, read the files it lists, drop the table."""
    sql = "SELECT product_name, count(*) AS n, sum(quantity) AS units FROM orders GROUP BY product_name"
    actual = read_sql(corpus, sql, ctas_approach=True)
    grouped = corpus.data.events.groupby("product_name").quantity.agg(["count", "sum"])
    expected = pd.DataFrame({"product_name": grouped.index, "n": grouped["count"].values,
                             "units": grouped["sum"].values})
    assert_same_rows(actual, expected, ordered=False)
    glue = corpus.session.client("glue")
    leftovers = [t["Name"] for t in glue.get_tables(DatabaseName=corpus.database)["TableList"]]
    assert sorted(leftovers) == ["order_details", "orders", "products"]


def test_engine_prints_values_as_athena_does(corpus: LoadedCorpus, tmp_path: Path):
    """The one corpus query checked at the engine's interface: text values and column types."""
    engine = QueryEngine(GlueCatalog(), S3Objects(), tmp_path)
    outcome = engine.execute(
        "SELECT count(*), min(from_iso8601_timestamp(event_time)), sum(quantity) / 2, count_if(is_deleted) > 0 "
        "FROM orders WHERE partition_3 = '07'", database=corpus.database, query_id="corpus-engine",
        output_location=corpus.output)
    hour = corpus.data.events[corpus.data.events.p3 == "07"]
    assert [(c.name, c.type) for c in outcome.columns] == [
        ("_col0", "bigint"), ("_col1", "timestamp with time zone"), ("_col2", "bigint"), ("_col3", "boolean")]
    assert outcome.rows == [[str(len(hour)), hour.ts.min().strftime("%Y-%m-%d %H:%M:%S.000 UTC"),
                             str(hour.quantity.sum() // 2), "true" if hour.is_deleted.any() else "false"]]


def test_infinity_and_nan_are_written_as_athena_writes_them(corpus: LoadedCorpus, aws_env: dict[str, str]):
    """Double division by zero, in the result CSV and in GetQueryResults."""
    athena, s3 = corpus.session.client("athena"), corpus.session.client("s3")
    query_id = athena.start_query_execution(
        QueryString="SELECT sum(price) / 0 AS up, -sum(price) / 0 AS down, 0e0 / 0 AS undefined FROM orders",
        QueryExecutionContext={"Database": corpus.database},
        ResultConfiguration={"OutputLocation": corpus.output})["QueryExecutionId"]
    execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    for _ in range(500):
        if execution["Status"]["State"] not in ("QUEUED", "RUNNING"):
            break
        time.sleep(0.01)
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    rows = athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]["Rows"]
    assert [[field.get("VarCharValue") for field in row["Data"]] for row in rows] == [
        ["up", "down", "undefined"], ["Infinity", "-Infinity", "NaN"]]
    key = execution["ResultConfiguration"]["OutputLocation"].removeprefix(f"s3://{corpus.bucket}/")
    assert s3.get_object(Bucket=corpus.bucket, Key=key)["Body"].read() == (
        b'"up","down","undefined"\n"Infinity","-Infinity","NaN"\n')


# ---- comparing results ---------------------------------------------------------------------------

def assert_same_rows(actual: pd.DataFrame, expected: pd.DataFrame, *, ordered: bool, rel_tol: float = 1e-9) -> None:
    """Same column names, and the same rows (in order, or as multisets), doubles within rel_tol."""
    assert list(actual.columns) == list(expected.columns)
    actual_rows = [tuple(_plain(value) for value in row) for row in actual.itertuples(index=False)]
    expected_rows = [tuple(_plain(value) for value in row) for row in expected.itertuples(index=False)]
    if not ordered:
        actual_rows, expected_rows = sorted(actual_rows, key=_sort_key), sorted(expected_rows, key=_sort_key)
    assert len(actual_rows) == len(expected_rows), f"{len(actual_rows)} rows, expected {len(expected_rows)}"
    for got, wanted in zip(actual_rows, expected_rows):
        assert len(got) == len(wanted)
        for value, expected_value in zip(got, wanted):
            if _is_number(value) and _is_number(expected_value):
                assert math.isclose(value, expected_value, rel_tol=rel_tol), (got, wanted)
            else:
                assert value == expected_value, (got, wanted)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _plain(value: object) -> object:
    """One cell as a plain Python value: None for any NA, UTC-naive datetimes, int and float from numpy."""
    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return (value.tz_convert("UTC").tz_localize(None) if value.tzinfo else value).to_pydatetime()
    if isinstance(value, (Decimal, str, bool, datetime.date)):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _sort_key(row: tuple) -> tuple:
    return tuple((value is None, round(value, 6) if isinstance(value, float) else str(value)) for value in row)
