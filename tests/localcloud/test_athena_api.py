"""The Athena query API through plain boto3: lifecycle, results in S3, paging, errors and workgroups.

Every query runs for real on localcloud's SQL engine. Facts about real Athena that these tests pin
(file names, CSV format, paging, error texts) are the ones listed in localcloud/athena/results.py
and localcloud/athena/service.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from datetime import datetime
from urllib.request import Request, urlopen

import pytest

ACCOUNT = "123456789012"
# Three cross-joined sequences: 10^12 rows, far longer than any test waits. Used to see RUNNING and QUEUED.
ENDLESS_QUERY = ("SELECT count(*) FROM UNNEST(sequence(1, 10000)) AS a(x) CROSS JOIN UNNEST(sequence(1, 10000)) "
                 "AS b(y) CROSS JOIN UNNEST(sequence(1, 10000)) AS c(z)")


@pytest.fixture
def athena(session):
    return session.client("athena")


@pytest.fixture
def s3(session):
    return session.client("s3")


@pytest.fixture
def bucket(s3):
    name = f"athena-api-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def output(bucket):
    return f"s3://{bucket}/results/"


@pytest.fixture
def orders_table(session, s3, bucket):
    """A JSON-lines Glue table, as the crawler makes it: (database, table, bytes of data in S3)."""
    database = f"api_{uuid.uuid4().hex[:8]}"
    glue = session.client("glue")
    glue.create_database(DatabaseInput={"Name": database})
    body = "".join(json.dumps({"order_id": f"o{i}", "amount": i * 1.5, "status": "NEW" if i % 2 else None}) + "\n"
                   for i in range(10)).encode()
    s3.put_object(Bucket=bucket, Key="orders/part-0.json", Body=body)
    glue.create_table(DatabaseName=database, TableInput={
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
    return database, "orders", len(body)


def start(athena, sql: str, output: str | None = None, **params) -> str:
    if output:
        params["ResultConfiguration"] = {"OutputLocation": output}
    return athena.start_query_execution(QueryString=sql, **params)["QueryExecutionId"]


def wait(athena, query_id: str, states=("SUCCEEDED", "FAILED", "CANCELLED"), timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        if execution["Status"]["State"] in states:
            return execution
        assert time.monotonic() < deadline, f"query stayed {execution['Status']['State']}"
        time.sleep(0.02)


def run(athena, sql: str, output: str | None = None, **params) -> dict:
    return wait(athena, start(athena, sql, output, **params))


def all_rows(athena, query_id: str, page_size: int = 1000) -> list[list[str | None]]:
    rows, token = [], None
    while True:
        page = athena.get_query_results(QueryExecutionId=query_id, MaxResults=page_size,
                                        **({"NextToken": token} if token else {}))
        rows += [[datum.get("VarCharValue") for datum in row["Data"]] for row in page["ResultSet"]["Rows"]]
        token = page.get("NextToken")
        if not token:
            return rows


# ---- lifecycle and GetQueryExecution ----------------------------------------------------------------------

def test_select_succeeds_with_the_fields_athena_reports(athena, output, orders_table):
    database, table, data_bytes = orders_table
    query = f"SELECT order_id FROM {table} WHERE amount > 3"
    execution = run(athena, query, output, QueryExecutionContext={"Database": database, "Catalog": "AwsDataCatalog"})
    query_id = execution["QueryExecutionId"]
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert execution["Query"] == query
    assert (execution["StatementType"], execution["SubstatementType"]) == ("DML", "SELECT")
    assert execution["ResultConfiguration"]["OutputLocation"] == f"{output}{query_id}.csv"
    assert execution["QueryExecutionContext"] == {"Database": database, "Catalog": "awsdatacatalog"}
    assert execution["WorkGroup"] == "primary"
    assert execution["EngineVersion"] == {"SelectedEngineVersion": "AUTO",
                                          "EffectiveEngineVersion": "Athena engine version 3"}
    status = execution["Status"]
    assert isinstance(status["SubmissionDateTime"], datetime)
    assert status["SubmissionDateTime"] <= status["CompletionDateTime"]
    statistics = execution["Statistics"]
    assert statistics["DataScannedInBytes"] == data_bytes
    assert statistics["TotalExecutionTimeInMillis"] >= statistics["EngineExecutionTimeInMillis"]
    assert statistics["ResultReuseInformation"] == {"ReusedPreviousResult": False}
    assert set(statistics) >= {"QueryQueueTimeInMillis", "ServicePreProcessingTimeInMillis",
                               "QueryPlanningTimeInMillis", "ServiceProcessingTimeInMillis"}


def test_a_running_query_has_no_results_yet_and_stop_cancels_it(athena, output):
    query_id = start(athena, ENDLESS_QUERY, output)
    execution = wait(athena, query_id, states=("RUNNING",))
    assert "CompletionDateTime" not in execution["Status"]
    with pytest.raises(athena.exceptions.InvalidRequestException,
                       match="Query has not yet finished. Current state: RUNNING"):
        athena.get_query_results(QueryExecutionId=query_id)
    athena.stop_query_execution(QueryExecutionId=query_id)
    execution = wait(athena, query_id)
    assert execution["Status"]["State"] == "CANCELLED"
    assert execution["Status"]["StateChangeReason"] == "Query cancelled by user"


def test_queries_wait_in_the_queue_while_both_workers_are_busy(athena, output):
    busy = [start(athena, ENDLESS_QUERY, output) for _ in range(2)]
    for query_id in busy:
        wait(athena, query_id, states=("RUNNING",))
    queued = start(athena, "SELECT 1", output)
    assert athena.get_query_execution(QueryExecutionId=queued)["QueryExecution"]["Status"]["State"] == "QUEUED"
    for query_id in busy:
        athena.stop_query_execution(QueryExecutionId=query_id)
    execution = wait(athena, queued)
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert execution["Statistics"]["QueryQueueTimeInMillis"] > 0


def test_restarting_localcloud_puts_running_queries_back_in_the_queue(athena, output, cloud):
    query_id = start(athena, ENDLESS_QUERY, output)
    wait(athena, query_id, states=("RUNNING",))
    urlopen(Request(f"{cloud.endpoint_url}/_localcloud/engines/restart", method="POST"), timeout=30).read()
    assert wait(athena, query_id, states=("RUNNING",))["Status"]["State"] == "RUNNING"
    athena.stop_query_execution(QueryExecutionId=query_id)
    assert wait(athena, query_id)["Status"]["State"] == "CANCELLED"


def test_failed_query_reports_athenas_reason_and_has_no_results(athena, output, orders_table):
    execution = run(athena, "SELECT * FROM no_such_table", output, QueryExecutionContext={"Database": orders_table[0]})
    status = execution["Status"]
    assert status["State"] == "FAILED"
    assert status["StateChangeReason"].startswith("TABLE_NOT_FOUND: line 1:15: Table ")
    assert status["AthenaError"]["ErrorMessage"] == status["StateChangeReason"]
    assert status["AthenaError"]["ErrorCategory"] == 2
    with pytest.raises(athena.exceptions.InvalidRequestException,
                       match="Query did not finish successfully. Final query state: FAILED"):
        athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])


def test_unknown_query_id_is_an_invalid_request(athena):
    unknown = str(uuid.uuid4())
    with pytest.raises(athena.exceptions.InvalidRequestException, match=f"QueryExecution {unknown} was not found"):
        athena.get_query_execution(QueryExecutionId=unknown)


def test_same_client_request_token_returns_the_same_query(athena, output):
    token = uuid.uuid4().hex
    first = start(athena, "SELECT 1", output, ClientRequestToken=token)
    assert start(athena, "SELECT 1", output, ClientRequestToken=token) == first
    with pytest.raises(athena.exceptions.InvalidRequestException, match="Idempotent parameters do not match"):
        start(athena, "SELECT 2", output, ClientRequestToken=token)
    assert start(athena, "SELECT 1", output) != first  # boto3 makes up a fresh token


def test_execution_parameters_fill_the_question_marks(athena, output):
    execution = run(athena, "SELECT ? AS word, ? AS number, '?' AS mark", output,
                    ExecutionParameters=["'hello'", "40 + 2"])
    assert execution["ExecutionParameters"] == ["'hello'", "40 + 2"]
    assert all_rows(athena, execution["QueryExecutionId"]) == [["word", "number", "mark"], ["hello", "42", "?"]]


def test_list_query_executions_is_newest_first_and_batch_get_reports_unknown_ids(athena, output, session):
    workgroup = f"wg-{uuid.uuid4().hex[:8]}"
    athena.create_work_group(Name=workgroup)
    ids = [start(athena, f"SELECT {n}", output, WorkGroup=workgroup) for n in range(3)]
    listed = athena.list_query_executions(WorkGroup=workgroup, MaxResults=2)
    assert listed["QueryExecutionIds"] == ids[::-1][:2]
    rest = athena.list_query_executions(WorkGroup=workgroup, NextToken=listed["NextToken"])
    assert rest["QueryExecutionIds"] == ids[:1] and "NextToken" not in rest
    unknown = str(uuid.uuid4())
    batch = athena.batch_get_query_execution(QueryExecutionIds=[ids[0], unknown])
    assert [e["QueryExecutionId"] for e in batch["QueryExecutions"]] == [ids[0]]
    assert batch["UnprocessedQueryExecutionIds"][0]["QueryExecutionId"] == unknown


# ---- result files and GetQueryResults ---------------------------------------------------------------------

def test_result_csv_quotes_every_value_and_leaves_null_fields_empty(athena, s3, bucket, output):
    execution = run(athena, "SELECT 'say \"hi\"' AS quoted, NULL AS missing, '' AS empty, 7 AS n, "
                            "'a,b' || chr(10) || 'c' AS multiline", output)
    key = f"results/{execution['QueryExecutionId']}.csv"
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    assert body == '"quoted","missing","empty","n","multiline"\n"say ""hi""",,"","7","a,b\nc"\n'
    metadata = s3.get_object(Bucket=bucket, Key=f"{key}.metadata")["Body"].read()
    assert metadata.startswith(b"\x0a") and b"\x0a\x04hive" in metadata and b"multiline" in metadata


def test_metadata_file_is_athenas_protobuf_column_description(athena, s3, bucket, output):
    execution = run(athena, "SELECT 'x' AS s", output)
    metadata = s3.get_object(Bucket=bucket, Key=f"results/{execution['QueryExecutionId']}.csv.metadata")["Body"].read()
    engine_query_id = metadata[2:2 + metadata[1]].decode()
    assert re.fullmatch(r"\d{8}_\d{6}_\d{5}_[a-z]{5}", engine_query_id)
    column = b"\x0a\x04hive\x22\x01s\x2a\x01s\x32\x07varchar\x38\xff\xff\xff\xff\x07\x40\x00\x48\x03\x50\x01"
    assert metadata[2 + len(engine_query_id):] == b"\x22" + bytes([len(column)]) + column


def test_ctas_writes_the_table_and_reports_its_row_count_and_manifest(athena, s3, bucket, output, orders_table):
    database, _, _ = orders_table
    execution = run(athena, "CREATE TABLE big_orders WITH (format = 'PARQUET') AS SELECT order_id FROM orders "
                            "WHERE amount > 6", output, QueryExecutionContext={"Database": database})
    query_id = execution["QueryExecutionId"]
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert (execution["StatementType"], execution["SubstatementType"]) == ("DDL", "CREATE_TABLE_AS_SELECT")
    assert execution["ResultConfiguration"]["OutputLocation"] == f"{output}tables/{query_id}"
    assert execution["Statistics"]["DataManifestLocation"].endswith(f"tables/{query_id}-manifest.csv")
    manifest_bucket, _, manifest_key = execution["Statistics"]["DataManifestLocation"][5:].partition("/")
    written = s3.get_object(Bucket=manifest_bucket, Key=manifest_key)["Body"].read().decode().split()
    assert len(written) == 1 and written[0].startswith(f"{output}tables/{query_id}/")
    page = athena.get_query_results(QueryExecutionId=query_id)
    assert page["UpdateCount"] == 5 and page["ResultSet"]["Rows"] == []
    assert [c["Name"] for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]] == ["rows"]
    metadata = s3.get_object(Bucket=bucket, Key=f"results/tables/{query_id}.metadata")["Body"].read()
    assert metadata[29:45] == b"\x12\x0cCREATE TABLE\x18\x05"
    assert all_rows(athena, run(athena, "SELECT count(*) FROM big_orders", output,
                                QueryExecutionContext={"Database": database})["QueryExecutionId"]) == [["_col0"], ["5"]]


def test_get_query_results_starts_with_the_header_row_and_describes_the_columns(athena, output):
    execution = run(athena, "SELECT 1 AS i, CAST(2 AS bigint) AS b, 2.5E0 AS d, CAST(1.25 AS decimal(10, 2)) AS m, "
                            "'x' AS s, true AS flag, DATE '2024-01-20' AS day, NULL AS nothing", output)
    page = athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])
    rows = page["ResultSet"]["Rows"]
    assert [datum["VarCharValue"] for datum in rows[0]["Data"]] == ["i", "b", "d", "m", "s", "flag", "day", "nothing"]
    assert rows[1]["Data"][:7] == [{"VarCharValue": v} for v in ["1", "2", "2.5", "1.25", "x", "true", "2024-01-20"]]
    assert rows[1]["Data"][7] == {}
    columns = {c["Name"]: c for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]}
    assert {name: c["Type"] for name, c in columns.items()} == {
        "i": "integer", "b": "bigint", "d": "double", "m": "decimal", "s": "varchar", "flag": "boolean",
        "day": "date", "nothing": columns["nothing"]["Type"]}
    assert (columns["i"]["Precision"], columns["b"]["Precision"]) == (10, 19)
    assert (columns["m"]["Precision"], columns["m"]["Scale"]) == (10, 2)
    assert columns["s"] == {"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": "s", "Label": "s",
                            "Type": "varchar", "Precision": 2147483647, "Scale": 0, "Nullable": "UNKNOWN",
                            "CaseSensitive": True}
    assert page["UpdateCount"] == 0


def test_get_query_results_pages_through_more_than_1000_rows(athena, output):
    execution = run(athena, "SELECT n FROM UNNEST(sequence(1, 2500)) AS t(n) ORDER BY n", output)
    query_id = execution["QueryExecutionId"]
    first = athena.get_query_results(QueryExecutionId=query_id)
    assert len(first["ResultSet"]["Rows"]) == 1000 and "NextToken" in first
    rows = all_rows(athena, query_id)
    assert rows[0] == ["n"] and rows[1:] == [[str(n)] for n in range(1, 2501)]
    assert all_rows(athena, query_id, page_size=7) == rows
    with pytest.raises(athena.exceptions.InvalidRequestException, match="Malformed nextPageToken"):
        athena.get_query_results(QueryExecutionId=query_id, NextToken="not-a-token")


def test_ddl_and_show_results_are_text_without_a_header_row(athena, s3, bucket, output, orders_table):
    database, table, _ = orders_table
    execution = run(athena, "SHOW TABLES", output, QueryExecutionContext={"Database": database})
    query_id = execution["QueryExecutionId"]
    assert execution["StatementType"] == "UTILITY"
    assert execution["ResultConfiguration"]["OutputLocation"] == f"{output}{query_id}.txt"
    assert s3.get_object(Bucket=bucket, Key=f"results/{query_id}.txt")["Body"].read() == table.encode()
    assert all_rows(athena, query_id) == [[table]]
    created = run(athena, f"CREATE DATABASE api_ddl_{uuid.uuid4().hex[:8]}", output)
    assert created["StatementType"] == "DDL"
    assert s3.get_object(Bucket=bucket, Key=f"results/{created['QueryExecutionId']}.txt")["Body"].read() == b""


# ---- output locations and workgroups ----------------------------------------------------------------------

def test_without_any_output_location_the_query_is_refused_as_athena_does(athena):
    with pytest.raises(athena.exceptions.InvalidRequestException, match="No output location provided"):
        athena.start_query_execution(QueryString="SELECT 1")


def test_workgroup_output_location_is_used_and_enforcement_overrides_the_query(athena, bucket):
    relaxed, enforced = f"relaxed-{uuid.uuid4().hex[:8]}", f"enforced-{uuid.uuid4().hex[:8]}"
    for name, enforce in ((relaxed, False), (enforced, True)):
        athena.create_work_group(Name=name, Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{bucket}/{name}/"},
            "EnforceWorkGroupConfiguration": enforce})
    own = f"s3://{bucket}/own/"
    by_workgroup = run(athena, "SELECT 1", WorkGroup=relaxed)
    assert by_workgroup["ResultConfiguration"]["OutputLocation"].startswith(f"s3://{bucket}/{relaxed}/")
    assert run(athena, "SELECT 1", own, WorkGroup=relaxed)["ResultConfiguration"]["OutputLocation"].startswith(own)
    overridden = run(athena, "SELECT 1", own, WorkGroup=enforced)
    assert overridden["ResultConfiguration"]["OutputLocation"].startswith(f"s3://{bucket}/{enforced}/")
    assert overridden["Status"]["State"] == "SUCCEEDED"


def test_bytes_scanned_cutoff_cancels_a_query_that_reads_more(session, athena, s3, bucket, orders_table):
    database, table, data_bytes = orders_table
    s3.put_object(Bucket=bucket, Key="orders/big.json", Body=b'{"order_id": "padding"}\n' * 450_000)
    name = f"capped-{uuid.uuid4().hex[:8]}"
    athena.create_work_group(Name=name, Configuration={
        "ResultConfiguration": {"OutputLocation": f"s3://{bucket}/capped/"}, "BytesScannedCutoffPerQuery": 10_000_000})
    execution = run(athena, f"SELECT count(*) FROM {table}", WorkGroup=name,
                    QueryExecutionContext={"Database": database})
    assert execution["Status"]["State"] == "CANCELLED"
    assert execution["Status"]["StateChangeReason"] == "Bytes scanned limit was exceeded"
    assert execution["Statistics"]["DataScannedInBytes"] == 10_000_000


def test_workgroup_lifecycle_through_the_api(athena, bucket):
    name = f"wg-{uuid.uuid4().hex[:8]}"
    athena.create_work_group(Name=name, Description="course queries", Tags=[{"Key": "project", "Value": "x"}],
                             Configuration={"ResultConfiguration": {"OutputLocation": f"s3://{bucket}/wg/"},
                                            "EnforceWorkGroupConfiguration": True,
                                            "BytesScannedCutoffPerQuery": 10_000_000})
    with pytest.raises(athena.exceptions.InvalidRequestException, match="WorkGroup already exists"):
        athena.create_work_group(Name=name)
    workgroup = athena.get_work_group(WorkGroup=name)["WorkGroup"]
    assert (workgroup["State"], workgroup["Description"]) == ("ENABLED", "course queries")
    assert isinstance(workgroup["CreationTime"], datetime)
    assert workgroup["Configuration"]["ResultConfiguration"] == {"OutputLocation": f"s3://{bucket}/wg/"}

    athena.update_work_group(WorkGroup=name, State="DISABLED", ConfigurationUpdates={
        "ResultConfigurationUpdates": {"OutputLocation": f"s3://{bucket}/moved/"},
        "RemoveBytesScannedCutoffPerQuery": True})
    updated = athena.get_work_group(WorkGroup=name)["WorkGroup"]
    assert updated["State"] == "DISABLED"
    assert updated["Configuration"]["ResultConfiguration"]["OutputLocation"] == f"s3://{bucket}/moved/"
    assert "BytesScannedCutoffPerQuery" not in updated["Configuration"]
    with pytest.raises(athena.exceptions.InvalidRequestException, match="is disabled"):
        athena.start_query_execution(QueryString="SELECT 1", WorkGroup=name)

    listed = {w["Name"]: w for w in athena.list_work_groups()["WorkGroups"]}
    assert listed[name]["Description"] == "course queries" and listed["primary"]["Description"] == ""
    arn = f"arn:aws:athena:us-east-1:{ACCOUNT}:workgroup/{name}"
    assert athena.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "project", "Value": "x"}]

    athena.create_named_query(Name="saved", Database="default", QueryString="SELECT 1", WorkGroup=name)
    with pytest.raises(athena.exceptions.InvalidRequestException, match="RecursiveDeleteOption"):
        athena.delete_work_group(WorkGroup=name)
    athena.delete_work_group(WorkGroup=name, RecursiveDeleteOption=True)
    with pytest.raises(athena.exceptions.InvalidRequestException, match="WorkGroup is not found."):
        athena.get_work_group(WorkGroup=name)


def test_a_workgroup_without_tags_lists_no_tags_and_primary_cannot_be_deleted(athena):
    name = f"wg-{uuid.uuid4().hex[:8]}"
    athena.create_work_group(Name=name)
    assert athena.list_tags_for_resource(
        ResourceARN=f"arn:aws:athena:us-east-1:{ACCOUNT}:workgroup/{name}")["Tags"] == []
    with pytest.raises(athena.exceptions.InvalidRequestException, match="primary workgroup cannot be deleted"):
        athena.delete_work_group(WorkGroup="primary")


def test_workgroup_names_are_checked(athena):
    with pytest.raises(athena.exceptions.InvalidRequestException, match="regular expression pattern"):
        athena.create_work_group(Name="has spaces")


def test_the_sql_engine_is_imported_after_the_server_is_up_or_by_the_first_query(tmp_path):
    """Importing DuckDB and pandas at start delayed the server's first answers by 0.5 s, and sqlglot by 0.15 s
    more (bench/RESULTS.md)."""
    script = f"""
import sys, time, boto3
from localcloud.server import LocalCloud
with LocalCloud(port=0, state_dir={str(tmp_path)!r}) as cloud:
    print("localcloud.athena.engine" in sys.modules, "pandas" in sys.modules, "sqlglot" in sys.modules)
    session = boto3.Session(region_name="us-east-1", aws_access_key_id="localcloud",
                            aws_secret_access_key="localcloud")
    session.client("s3", endpoint_url=cloud.endpoint_url).create_bucket(Bucket="results")
    athena = session.client("athena", endpoint_url=cloud.endpoint_url)
    query_id = athena.start_query_execution(QueryString="SELECT 1", ResultConfiguration={{
        "OutputLocation": "s3://results/"}})["QueryExecutionId"]
    while athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"] in (
            "QUEUED", "RUNNING"):
        time.sleep(0.05)
    print("localcloud.athena.engine" in sys.modules)
"""
    answer = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert answer.stdout.split() == ["False", "False", "False", "True"]
