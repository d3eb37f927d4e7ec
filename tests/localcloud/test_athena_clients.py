"""awswrangler and pyathena, unchanged, against localcloud's Athena: what learners will actually call.

Both find localcloud through AWS_ENDPOINT_URL (the aws_env fixture), as they would find AWS.
"""

from __future__ import annotations

import json
import uuid

import awswrangler as wr
import pandas as pd
import pytest
from pyathena import connect
from pyathena.pandas.cursor import PandasCursor

POLL = 0.1  # seconds between GetQueryExecution calls; both clients default to 1 s


@pytest.fixture
def bucket(session):
    name = f"athena-clients-{uuid.uuid4().hex[:12]}"
    session.client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture
def output(bucket):
    return f"s3://{bucket}/results/"


@pytest.fixture
def database(session, bucket):
    """A database with an `orders` JSON-lines table, as the Glue crawler makes it."""
    name = f"clients_{uuid.uuid4().hex[:8]}"
    glue = session.client("glue")
    glue.create_database(DatabaseInput={"Name": name})
    body = "".join(json.dumps({"order_id": f"o{i}", "amount": i * 1.5, "status": "NEW" if i % 2 else None}) + "\n"
                   for i in range(6))
    session.client("s3").put_object(Bucket=bucket, Key="orders/part-0.json", Body=body.encode())
    glue.create_table(DatabaseName=name, TableInput={
        "Name": "orders", "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "json"},
        "StorageDescriptor": {
            "Columns": [{"Name": "order_id", "Type": "string"}, {"Name": "amount", "Type": "double"},
                        {"Name": "status", "Type": "string"}],
            "Location": f"s3://{bucket}/orders/",
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
        },
    })
    return name


QUERY = "SELECT order_id, amount, status FROM orders WHERE amount >= 3 ORDER BY order_id"
EXPECTED_ROWS = [("o2", 3.0, None), ("o3", 4.5, "NEW"), ("o4", 6.0, None), ("o5", 7.5, "NEW")]


def assert_expected_orders(frame: pd.DataFrame) -> None:
    """The rows of QUERY, NULL status included (pandas shows it as NA, NaN or None depending on the reader)."""
    assert list(frame.columns) == ["order_id", "amount", "status"]
    rows = [tuple(None if pd.isna(value) else value for value in row) for row in frame.itertuples(index=False)]
    assert rows == EXPECTED_ROWS


def test_awswrangler_reads_the_result_csv_without_ctas(session, database, output):
    frame = wr.athena.read_sql_query(QUERY, database=database, ctas_approach=False, s3_output=output,
                                     boto3_session=session, athena_query_wait_polling_delay=POLL)
    assert_expected_orders(frame)
    assert str(frame["amount"].dtype) == "float64" and str(frame["order_id"].dtype) == "string"
    assert frame.query_metadata["Statistics"]["DataScannedInBytes"] > 0


def test_awswrangler_default_ctas_approach_reads_parquet_and_drops_its_temporary_table(session, database, output):
    frame = wr.athena.read_sql_query(QUERY, database=database, s3_output=output, boto3_session=session,
                                     athena_query_wait_polling_delay=POLL)
    assert_expected_orders(frame)
    assert "DataManifestLocation" in frame.query_metadata["Statistics"]
    tables = session.client("glue").get_tables(DatabaseName=database)["TableList"]
    assert [table["Name"] for table in tables] == ["orders"]


def test_awswrangler_uses_the_primary_workgroup_and_its_default_bucket_when_given_no_output(session, database):
    with pytest.warns(UserWarning, match="Falling back to the default bucket"):
        frame = wr.athena.read_sql_query(QUERY, database=database, ctas_approach=False, boto3_session=session,
                                         athena_query_wait_polling_delay=POLL)
    assert_expected_orders(frame)
    location = frame.query_metadata["ResultConfiguration"]["OutputLocation"]
    assert location.startswith("s3://aws-athena-query-results-123456789012-us-east-1/")


def test_awswrangler_start_query_execution_and_wait_query(session, database, output):
    query_id = wr.athena.start_query_execution("SELECT count(*) AS n FROM orders", database=database,
                                               s3_output=output, boto3_session=session)
    response = wr.athena.wait_query(query_id, boto3_session=session, athena_query_wait_polling_delay=POLL)
    assert response["Status"]["State"] == "SUCCEEDED"
    assert wr.athena.get_query_results(query_id, boto3_session=session)["n"].tolist() == [6]


def test_awswrangler_raises_query_failed_with_athenas_reason(session, database, output):
    with pytest.raises(wr.exceptions.QueryFailed, match="TABLE_NOT_FOUND: line 1:15: Table .*no_such_table"):
        wr.athena.read_sql_query("SELECT * FROM no_such_table", database=database, ctas_approach=False,
                                 s3_output=output, boto3_session=session, athena_query_wait_polling_delay=POLL)


def test_pyathena_cursor_pages_through_get_query_results(aws_env, database, output):
    cursor = connect(s3_staging_dir=output, region_name="us-east-1", schema_name=database,
                     poll_interval=POLL).cursor()
    cursor.execute(QUERY)
    assert cursor.fetchall() == EXPECTED_ROWS
    assert [(column[0], column[1]) for column in cursor.description] == [
        ("order_id", "varchar"), ("amount", "double"), ("status", "varchar")]
    cursor.execute("SELECT %(status)s AS status", {"status": "NEW"})
    assert cursor.fetchall() == [("NEW",)]


def test_pyathena_pandas_cursor_reads_the_result_csv(aws_env, database, output):
    cursor = connect(s3_staging_dir=output, region_name="us-east-1", schema_name=database,
                     poll_interval=POLL, cursor_class=PandasCursor).cursor()
    frame = cursor.execute(QUERY).as_pandas()
    assert_expected_orders(frame)
