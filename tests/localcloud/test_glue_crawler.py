"""Glue crawler runs through boto3: data in S3 becomes a table with the right columns and partitions.

Each test writes objects the way Firehose (YYYY/MM/DD/HH/<stream>-1-<timestamp>-<uuid>) or a Hive
writer (key=value folders) would, runs a crawler, polls get_crawler until READY, and reads the catalog.
"""

from __future__ import annotations

import gzip
import json
import time
import uuid

import boto3
import pytest

ROLE = "arn:aws:iam::123456789012:role/crawler-role"


@pytest.fixture(scope="module")
def boto_session(cloud):
    """One session for the module: creating the Glue client costs ~0.2 s, too much to pay per test."""
    environment = cloud.client_environment()
    return boto3.Session(aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
                         aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
                         region_name=environment["AWS_REGION"])


@pytest.fixture(scope="module")
def glue(boto_session, cloud):
    return boto_session.client("glue", endpoint_url=cloud.endpoint_url)


@pytest.fixture(scope="module")
def s3(boto_session, cloud):
    return boto_session.client("s3", endpoint_url=cloud.endpoint_url)


@pytest.fixture(scope="module")
def logs(boto_session, cloud):
    return boto_session.client("logs", endpoint_url=cloud.endpoint_url)


@pytest.fixture
def bucket(s3):
    name = f"crawl-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def database(glue):
    name = f"db_{uuid.uuid4().hex[:8]}"
    glue.create_database(DatabaseInput={"Name": name})
    return name


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def json_lines(records: list[dict]) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()


def put_firehose_object(s3, bucket: str, hour_folder: str, body: bytes, folder: str = "orders") -> str:
    """Store an object the way Firehose names it: <folder>/YYYY/MM/DD/HH/<stream>-1-<timestamp>-<uuid>."""
    year, month, day, hour = hour_folder.split("/")
    key = f"{folder}/{hour_folder}/orders-to-s3-1-{year}-{month}-{day}-{hour}-13-45-{uuid.uuid4()}"
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return key


def create_crawler(glue, database: str, path: str, **settings) -> str:
    name = unique("crawler")
    glue.create_crawler(Name=name, Role=ROLE, DatabaseName=database,
                        Targets={"S3Targets": [{"Path": path, **settings.pop("target", {})}]}, **settings)
    return name


def run_crawler(glue, name: str, timeout: float = 5.0) -> dict:
    """Start the crawler and poll until it is READY again, as a notebook would; returns the crawler."""
    glue.start_crawler(Name=name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        crawler = glue.get_crawler(Name=name)["Crawler"]
        if crawler["State"] == "READY":
            return crawler
        time.sleep(0.05)
    raise AssertionError(f"crawler {name} still {crawler['State']} after {timeout} s")


def columns(table: dict) -> dict[str, str]:
    return {column["Name"]: column["Type"] for column in table["StorageDescriptor"]["Columns"]}


def partition_values(glue, database: str, table: str) -> list[list[str]]:
    partitions = glue.get_partitions(DatabaseName=database, TableName=table)["Partitions"]
    return sorted(partition["Values"] for partition in partitions)


ORDER = {"OrderId": "o-1", "Amount": 12, "Paid": True, "Discount": 0.5,
         "Customer": {"Id": "c-9", "Tier": 2}, "Items": [{"Sku": "A1", "Qty": 3}], "Note": None}


# ---- tables, columns and partitions ---------------------------------------------------------------

def test_firehose_layout_gives_four_string_partitions_and_typed_columns(glue, s3, bucket, database):
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([ORDER, {**ORDER, "OrderId": "o-2"}]))
    put_firehose_object(s3, bucket, "2026/11/22/08", json_lines([ORDER]))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")

    assert run_crawler(glue, crawler)["LastCrawl"]["Status"] == "SUCCEEDED"

    table = glue.get_table(DatabaseName=database, Name="orders")["Table"]
    assert columns(table) == {
        "orderid": "string", "amount": "int", "paid": "boolean", "discount": "double",
        "customer": "struct<Id:string,Tier:int>", "items": "array<struct<Sku:string,Qty:int>>", "note": "string",
    }
    assert table["PartitionKeys"] == [{"Name": f"partition_{level}", "Type": "string"} for level in range(4)]
    assert partition_values(glue, database, "orders") == [["2026", "11", "22", "07"], ["2026", "11", "22", "08"]]


def test_crawled_table_has_the_shape_aws_gives_it(glue, s3, bucket, database):
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([ORDER] * 3))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders")
    run_crawler(glue, crawler)

    table = glue.get_table(DatabaseName=database, Name="orders")["Table"]
    storage = table["StorageDescriptor"]
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert storage["Location"] == f"s3://{bucket}/orders/"
    assert storage["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert storage["OutputFormat"] == "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    assert storage["SerdeInfo"] == {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
                                    "Parameters": {"paths": "Amount,Customer,Discount,Items,Note,OrderId,Paid"}}
    parameters = table["Parameters"]
    assert storage["Parameters"] == parameters
    assert {key: parameters[key] for key in ("classification", "compressionType", "typeOfData", "recordCount",
                                             "objectCount", "UPDATED_BY_CRAWLER")} == {
        "classification": "json", "compressionType": "none", "typeOfData": "file", "recordCount": "3",
        "objectCount": "1", "UPDATED_BY_CRAWLER": crawler}
    size = s3.list_objects_v2(Bucket=bucket)["Contents"][0]["Size"]
    assert parameters["sizeKey"] == str(size)
    assert parameters["averageRecordSize"] == str(size // 3)
    assert parameters["CrawlerSchemaSerializerVersion"] == parameters["CrawlerSchemaDeserializerVersion"] == "1.0"


def test_partitions_point_at_their_leaf_folder(glue, s3, bucket, database):
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([ORDER]))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")
    run_crawler(glue, crawler)

    [partition] = glue.get_partitions(DatabaseName=database, TableName="orders")["Partitions"]
    assert partition["StorageDescriptor"]["Location"] == f"s3://{bucket}/orders/2026/11/22/07/"
    assert partition["StorageDescriptor"]["Parameters"]["recordCount"] == "1"


def test_hive_layout_keeps_the_key_names(glue, s3, bucket, database):
    for day in ("21", "22"):
        s3.put_object(Bucket=bucket, Key=f"sales/year=2026/month=11/day={day}/part-0.json", Body=json_lines([ORDER]))
    crawler = create_crawler(glue, database, f"s3://{bucket}/sales/")
    run_crawler(glue, crawler)

    table = glue.get_table(DatabaseName=database, Name="sales")["Table"]
    assert [key["Name"] for key in table["PartitionKeys"]] == ["year", "month", "day"]
    assert partition_values(glue, database, "sales") == [["2026", "11", "21"], ["2026", "11", "22"]]


def test_table_prefix_is_prepended_and_hyphens_become_underscores(glue, s3, bucket, database):
    s3.put_object(Bucket=bucket, Key="web-Orders/part-0.json", Body=json_lines([ORDER]))
    crawler = create_crawler(glue, database, f"s3://{bucket}/web-Orders/", TablePrefix="raw_")
    run_crawler(glue, crawler)

    assert [table["Name"] for table in glue.get_tables(DatabaseName=database)["TableList"]] == ["raw_web_orders"]
    assert glue.get_table(DatabaseName=database, Name="raw_web_orders")["Table"]["PartitionKeys"] == []


def test_exclusions_and_hidden_files_are_not_crawled(glue, s3, bucket, database):
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([ORDER]))
    s3.put_object(Bucket=bucket, Key="orders/2026/11/22/07/notes.txt", Body=b"not json at all")
    s3.put_object(Bucket=bucket, Key="orders/2026/11/22/07/_SUCCESS", Body=b"{}")
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/", target={"Exclusions": ["**.txt"]})
    run_crawler(glue, crawler)

    table = glue.get_table(DatabaseName=database, Name="orders")["Table"]
    assert table["Parameters"]["objectCount"] == "1"


# ---- classifiers and file formats -----------------------------------------------------------------

def test_array_classifier_makes_each_element_a_row(glue, s3, bucket, database):
    classifier = unique("array")
    glue.create_classifier(JsonClassifier={"Name": classifier, "JsonPath": "$[*]"})
    s3.put_object(Bucket=bucket, Key="batches/b1.json", Body=json.dumps([ORDER, ORDER, ORDER]).encode())
    crawler = create_crawler(glue, database, f"s3://{bucket}/batches/", Classifiers=[classifier])
    run_crawler(glue, crawler)

    table = glue.get_table(DatabaseName=database, Name="batches")["Table"]
    assert set(columns(table)) == {"orderid", "amount", "paid", "discount", "customer", "items", "note"}
    assert table["Parameters"]["recordCount"] == "3"


def test_top_level_array_without_classifier_is_one_record_column(glue, s3, bucket, database):
    s3.put_object(Bucket=bucket, Key="batches/b1.json",
                  Body=json.dumps([{"id": 1}, {"id": 2}], indent=2).encode())
    crawler = create_crawler(glue, database, f"s3://{bucket}/batches/")
    run_crawler(glue, crawler)

    table = glue.get_table(DatabaseName=database, Name="batches")["Table"]
    assert columns(table) == {"record": "array<struct<id:int>>"}
    assert table["Parameters"]["recordCount"] == "1"


def test_nested_json_path_selects_the_records(glue, s3, bucket, database):
    classifier = unique("nested")
    glue.create_classifier(JsonClassifier={"Name": classifier, "JsonPath": "$.records[*]"})
    document = {"source": "export", "records": [{"id": 1, "city": "Oslo"}, {"id": 2, "city": "Lima"}]}
    s3.put_object(Bucket=bucket, Key="export/e1.json", Body=json.dumps(document).encode())
    crawler = create_crawler(glue, database, f"s3://{bucket}/export/", Classifiers=[classifier])
    run_crawler(glue, crawler)

    assert columns(glue.get_table(DatabaseName=database, Name="export")["Table"]) == {"id": "int", "city": "string"}


@pytest.mark.parametrize("json_path", ["$[*]", "$.records[*]"])
def test_classifier_that_selects_no_objects_falls_back_to_the_built_in_json_one(glue, s3, bucket, database,
                                                                                 json_path):
    classifier = unique("nomatch")
    glue.create_classifier(JsonClassifier={"Name": classifier, "JsonPath": json_path})
    lines = [{"customer": {"id": 1}, "id": 1}, {"customer": {"id": 2}, "id": 2}]
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines(lines))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/", Classifiers=[classifier])
    run_crawler(glue, crawler)

    table = glue.get_table(DatabaseName=database, Name="orders")["Table"]
    assert columns(table) == {"customer": "struct<id:int>", "id": "int"}
    assert table["Parameters"]["recordCount"] == "2"


def test_types_widen_across_files(glue, s3, bucket, database):
    put_firehose_object(s3, bucket, "2026/11/22/07",
                        json_lines([{"qty": 1, "amount": 2, "code": 7, "flag": True, "tags": []}]))
    put_firehose_object(s3, bucket, "2026/11/22/08",
                        json_lines([{"qty": 2**40, "amount": 2.5, "code": "X7", "flag": None, "tags": ["a"]}]))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")
    run_crawler(glue, crawler)

    assert columns(glue.get_table(DatabaseName=database, Name="orders")["Table"]) == {
        "qty": "bigint", "amount": "double", "code": "string", "flag": "boolean", "tags": "array<string>"}


def test_struct_fields_from_different_files_are_merged(glue, s3, bucket, database):
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([{"customer": {"id": 1}}]))
    put_firehose_object(s3, bucket, "2026/11/22/08", json_lines([{"customer": {"id": 2.5, "tier": "gold"}}]))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")
    run_crawler(glue, crawler)

    assert columns(glue.get_table(DatabaseName=database, Name="orders")["Table"]) == {
        "customer": "struct<id:double,tier:string>"}


def test_gzip_objects_are_read_and_marked_compressed(glue, s3, bucket, database):
    s3.put_object(Bucket=bucket, Key=f"orders/2026/11/22/07/orders-1-{uuid.uuid4()}.gz",
                  Body=gzip.compress(json_lines([ORDER, ORDER])))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")
    run_crawler(glue, crawler)

    table = glue.get_table(DatabaseName=database, Name="orders")["Table"]
    assert "orderid" in columns(table)
    assert (table["Parameters"]["compressionType"], table["Parameters"]["recordCount"]) == ("gzip", "2")
    assert table["StorageDescriptor"]["Compressed"] is True


# ---- empty data and failures ----------------------------------------------------------------------

def test_empty_folder_succeeds_without_a_table(glue, s3, bucket, database):
    s3.put_object(Bucket=bucket, Key="orders/", Body=b"")
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")

    assert run_crawler(glue, crawler)["LastCrawl"]["Status"] == "SUCCEEDED"
    assert glue.get_tables(DatabaseName=database)["TableList"] == []


def test_crawler_with_no_data_at_all_succeeds_without_a_table(glue, bucket, database):
    crawler = create_crawler(glue, database, f"s3://{bucket}/nothing-here/")

    assert run_crawler(glue, crawler)["LastCrawl"]["Status"] == "SUCCEEDED"
    assert glue.get_crawler_metrics(CrawlerNameList=[crawler])["CrawlerMetricsList"][0]["TablesCreated"] == 0


def test_missing_database_fails_the_crawl_with_a_message(glue, s3, bucket):
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([ORDER]))
    crawler = create_crawler(glue, "no_such_db", f"s3://{bucket}/orders/")

    last_crawl = run_crawler(glue, crawler)["LastCrawl"]

    assert last_crawl["Status"] == "FAILED"
    assert "no_such_db does not exist" in last_crawl["ErrorMessage"]
    assert "create_database" in last_crawl["ErrorMessage"]


def test_missing_classifier_fails_the_crawl(glue, s3, bucket, database):
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([ORDER]))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/", Classifiers=["never-created"])

    last_crawl = run_crawler(glue, crawler)["LastCrawl"]

    assert (last_crawl["Status"], "never-created" in last_crawl["ErrorMessage"]) == ("FAILED", True)
    assert glue.get_tables(DatabaseName=database)["TableList"] == []


# ---- crawler states, errors, metrics and logs -----------------------------------------------------

def test_states_go_running_stopping_ready_within_two_seconds(glue, s3, bucket, database):
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([ORDER] * 200))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")
    started = time.monotonic()
    glue.start_crawler(Name=crawler)

    seen = []
    while not seen or seen[-1] != "READY":
        state = glue.get_crawler(Name=crawler)["Crawler"]["State"]
        if not seen or seen[-1] != state:
            seen.append(state)
        time.sleep(0.02)

    assert seen == ["RUNNING", "STOPPING", "READY"]
    assert time.monotonic() - started < 2.0
    last_crawl = glue.get_crawler(Name=crawler)["Crawler"]["LastCrawl"]
    assert (last_crawl["LogGroup"], last_crawl["LogStream"]) == ("/aws-glue/crawlers", crawler)


def test_start_while_running_is_crawler_running(glue, bucket, database):
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")
    glue.start_crawler(Name=crawler)

    with pytest.raises(glue.exceptions.CrawlerRunningException):
        glue.start_crawler(Name=crawler)


def test_get_crawlers_and_batch_get_crawlers_show_the_running_state(glue, bucket, database):
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")
    glue.start_crawler(Name=crawler)

    listed = {entry["Name"]: entry["State"] for entry in glue.get_crawlers()["Crawlers"]}
    [batch] = glue.batch_get_crawlers(CrawlerNames=[crawler])["Crawlers"]

    assert (listed[crawler], batch["State"]) == ("RUNNING", "RUNNING")


def test_delete_while_running_is_crawler_running(glue, bucket, database):
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")
    glue.start_crawler(Name=crawler)

    with pytest.raises(glue.exceptions.CrawlerRunningException):
        glue.delete_crawler(Name=crawler)


def test_stop_cancels_a_running_crawl_before_it_writes(glue, s3, bucket, database):
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([ORDER]))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")
    glue.start_crawler(Name=crawler)

    glue.stop_crawler(Name=crawler)

    assert glue.get_crawler(Name=crawler)["Crawler"]["State"] == "STOPPING"
    with pytest.raises(glue.exceptions.CrawlerStoppingException):
        glue.stop_crawler(Name=crawler)
    while glue.get_crawler(Name=crawler)["Crawler"]["State"] != "READY":
        time.sleep(0.05)
    assert glue.get_crawler(Name=crawler)["Crawler"]["LastCrawl"]["Status"] == "CANCELLED"
    assert glue.get_tables(DatabaseName=database)["TableList"] == []


def test_stop_when_ready_is_crawler_not_running(glue, bucket, database):
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")

    with pytest.raises(glue.exceptions.CrawlerNotRunningException):
        glue.stop_crawler(Name=crawler)


@pytest.mark.parametrize("call", ["start_crawler", "stop_crawler", "get_crawler"])
def test_unknown_crawler_is_entity_not_found(glue, call):
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        getattr(glue, call)(Name=unique("ghost"))


def test_crawler_metrics_report_the_last_run(glue, s3, bucket, database):
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([ORDER]))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")
    run_crawler(glue, crawler)

    [metrics] = glue.get_crawler_metrics(CrawlerNameList=[crawler])["CrawlerMetricsList"]

    assert (metrics["CrawlerName"], metrics["TablesCreated"], metrics["TablesUpdated"],
            metrics["TablesDeleted"]) == (crawler, 1, 0, 0)
    assert 0 < metrics["LastRuntimeSeconds"] == metrics["MedianRuntimeSeconds"] < 2
    assert (metrics["TimeLeftSeconds"], metrics["StillEstimating"]) == (0, False)


def test_crawl_log_is_written_to_cloudwatch_logs(glue, s3, logs, bucket, database):
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([ORDER]))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")
    prefix = run_crawler(glue, crawler)["LastCrawl"]["MessagePrefix"]

    events = logs.get_log_events(logGroupName="/aws-glue/crawlers", logStreamName=crawler)
    messages = [event["message"] for event in events["events"]]
    assert all(message.startswith(f"[{prefix}]") for message in messages)
    assert any(f"Created table orders in database {database}" in message for message in messages)


def test_get_crawler_shows_aws_default_policies(glue, bucket, database):
    crawler = glue.get_crawler(Name=create_crawler(glue, database, f"s3://{bucket}/orders/"))["Crawler"]

    assert crawler["SchemaChangePolicy"] == {"UpdateBehavior": "UPDATE_IN_DATABASE",
                                             "DeleteBehavior": "DEPRECATE_IN_DATABASE"}
    assert crawler["RecrawlPolicy"] == {"RecrawlBehavior": "CRAWL_EVERYTHING"}
    assert "LastCrawl" not in crawler


def test_update_crawler_changes_the_configuration_and_version(glue, bucket, database):
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")

    glue.update_crawler(Name=crawler, TablePrefix="raw_", Targets={"S3Targets": [{"Path": f"s3://{bucket}/x/"}]})

    updated = glue.get_crawler(Name=crawler)["Crawler"]
    assert (updated["TablePrefix"], updated["Targets"]["S3Targets"][0]["Path"], updated["Version"]) == (
        "raw_", f"s3://{bucket}/x/", 2)


# ---- recrawls and schema change policies ----------------------------------------------------------

def test_recrawl_adds_new_partitions(glue, s3, bucket, database):
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([ORDER]))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")
    run_crawler(glue, crawler)
    put_firehose_object(s3, bucket, "2026/11/22/08", json_lines([ORDER]))

    run_crawler(glue, crawler)

    assert partition_values(glue, database, "orders") == [["2026", "11", "22", "07"], ["2026", "11", "22", "08"]]
    assert glue.get_table(DatabaseName=database, Name="orders")["Table"]["Parameters"]["recordCount"] == "2"


def test_update_in_database_applies_a_new_column(glue, s3, bucket, database):
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([{"id": 1}]))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")
    run_crawler(glue, crawler)
    put_firehose_object(s3, bucket, "2026/11/22/08", json_lines([{"id": 2, "status": "NEW"}]))

    run_crawler(glue, crawler)

    assert columns(glue.get_table(DatabaseName=database, Name="orders")["Table"]) == {"id": "int", "status": "string"}
    assert glue.get_crawler_metrics(CrawlerNameList=[crawler])["CrawlerMetricsList"][0]["TablesUpdated"] == 1


@pytest.mark.parametrize("update_behavior, expected_records", [("UPDATE_IN_DATABASE", "3"), ("LOG", "1")])
def test_recrawl_updates_an_existing_partition_only_with_update_in_database(glue, s3, bucket, database,
                                                                             update_behavior, expected_records):
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([{"id": 1}]))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/",
                             SchemaChangePolicy={"UpdateBehavior": update_behavior, "DeleteBehavior": "LOG"})
    run_crawler(glue, crawler)
    before = glue.get_partition(DatabaseName=database, TableName="orders",
                                PartitionValues=["2026", "11", "22", "07"])["Partition"]
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([{"id": 2}, {"id": 3}]))

    run_crawler(glue, crawler)

    after = glue.get_partition(DatabaseName=database, TableName="orders",
                               PartitionValues=["2026", "11", "22", "07"])["Partition"]
    assert after["StorageDescriptor"]["Parameters"]["recordCount"] == expected_records
    assert after["CreationTime"] == before["CreationTime"]


def test_log_update_behavior_leaves_the_schema_but_adds_partitions(glue, s3, bucket, database):
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([{"id": 1}]))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/",
                             SchemaChangePolicy={"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"})
    run_crawler(glue, crawler)
    put_firehose_object(s3, bucket, "2026/11/22/08", json_lines([{"id": 2.5, "status": "NEW"}]))

    run_crawler(glue, crawler)

    assert columns(glue.get_table(DatabaseName=database, Name="orders")["Table"]) == {"id": "int"}
    assert len(partition_values(glue, database, "orders")) == 2


def test_delete_from_database_drops_empty_partitions_and_tables(glue, s3, bucket, database):
    keys = [put_firehose_object(s3, bucket, hour, json_lines([ORDER])) for hour in ("2026/11/22/07", "2026/11/22/08")]
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/",
                             SchemaChangePolicy={"UpdateBehavior": "UPDATE_IN_DATABASE",
                                                 "DeleteBehavior": "DELETE_FROM_DATABASE"})
    run_crawler(glue, crawler)

    s3.delete_object(Bucket=bucket, Key=keys[0])
    run_crawler(glue, crawler)
    assert partition_values(glue, database, "orders") == [["2026", "11", "22", "08"]]

    s3.delete_object(Bucket=bucket, Key=keys[1])
    run_crawler(glue, crawler)
    assert glue.get_tables(DatabaseName=database)["TableList"] == []
    assert glue.get_crawler_metrics(CrawlerNameList=[crawler])["CrawlerMetricsList"][0]["TablesDeleted"] == 1


def test_deprecate_in_database_marks_a_table_whose_data_is_gone(glue, s3, bucket, database):
    key = put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([ORDER]))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/")
    run_crawler(glue, crawler)
    s3.delete_object(Bucket=bucket, Key=key)

    run_crawler(glue, crawler)

    assert "DEPRECATED_BY_CRAWLER" in glue.get_table(DatabaseName=database, Name="orders")["Table"]["Parameters"]


def test_crawl_new_folders_only_needs_log_policies(glue, bucket, database):
    with pytest.raises(glue.exceptions.InvalidInputException, match="LOG"):
        create_crawler(glue, database, f"s3://{bucket}/orders/",
                       RecrawlPolicy={"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"})


def test_crawl_new_folders_only_reads_only_new_folders(glue, s3, bucket, database):
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([{"id": 1}]))
    crawler = create_crawler(glue, database, f"s3://{bucket}/orders/",
                             RecrawlPolicy={"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"},
                             SchemaChangePolicy={"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"})
    run_crawler(glue, crawler)
    put_firehose_object(s3, bucket, "2026/11/22/07", json_lines([{"id": 2}]))
    put_firehose_object(s3, bucket, "2026/11/22/08", json_lines([{"id": 3}]))

    run_crawler(glue, crawler)

    partitions = glue.get_partitions(DatabaseName=database, TableName="orders")["Partitions"]
    records = {partition["Values"][-1]: partition["StorageDescriptor"]["Parameters"]["recordCount"]
               for partition in partitions}
    assert records == {"07": "1", "08": "1"}
