"""What the Glue engine relies on in moto 5.2.5; a moto upgrade that changes any of it fails here.

The engine reads crawler configuration and writes tables and partitions through
localcloud/moto_state/glue.py (GlueCatalog), and answers the operations moto lacks itself.
"""

from __future__ import annotations

import uuid

import boto3
import pytest
from moto.glue.responses import GlueResponse

from localcloud.moto_state.glue import UPDATABLE_CRAWLER_FIELDS, GlueCatalog


@pytest.fixture(scope="module")
def glue(cloud):
    environment = cloud.client_environment()
    return boto3.client("glue", endpoint_url=cloud.endpoint_url, region_name=environment["AWS_REGION"],
                        aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"])


@pytest.fixture
def catalog(glue):
    return GlueCatalog(region="us-east-1")


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("action", ["create_classifier", "get_classifier", "update_classifier",
                                    "delete_classifier", "get_classifiers", "update_crawler",
                                    "get_crawler_metrics"])
def test_moto_lacks_the_operations_the_engine_answers(action):
    assert not hasattr(GlueResponse, action), f"moto now implements {action}: the engine may be able to use it"


def test_moto_keeps_the_crawler_configuration_the_engine_reads(glue, catalog):
    name = unique("crawler")
    settings = {
        "Role": "arn:aws:iam::123456789012:role/crawler-role",
        "DatabaseName": "sales",
        "Targets": {"S3Targets": [{"Path": "s3://bucket/orders/", "Exclusions": ["**.txt"]}]},
        "Classifiers": ["orders-json"],
        "TablePrefix": "raw_",
        "SchemaChangePolicy": {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"},
        "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"},
    }
    glue.create_crawler(Name=name, **settings)

    config = catalog.crawler(name)

    assert {key: config[key] for key in settings} == settings
    assert name in catalog.crawler_names()
    assert catalog.crawler(unique("ghost")) is None


def test_update_crawler_sets_every_updatable_field(glue, catalog):
    name = unique("crawler")
    glue.create_crawler(Name=name, Role="r", DatabaseName="sales",
                        Targets={"S3Targets": [{"Path": "s3://bucket/a/"}]})
    changes = {
        "Role": "r2", "DatabaseName": "sales2", "Description": "nightly",
        "Targets": {"S3Targets": [{"Path": "s3://b/x/"}]},
        "Schedule": "cron(0 * * * ? *)", "Classifiers": ["c1"], "TablePrefix": "p_",
        "SchemaChangePolicy": {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"},
        "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_EVERYTHING"},
        "LineageConfiguration": {"CrawlerLineageSettings": "ENABLE"}, "Configuration": '{"Version": 1.0}',
        "CrawlerSecurityConfiguration": "security",
    }
    assert set(changes) == set(UPDATABLE_CRAWLER_FIELDS)

    catalog.update_crawler(name, changes)

    crawler = glue.get_crawler(Name=name)["Crawler"]
    assert crawler["Schedule"]["ScheduleExpression"] == changes.pop("Schedule")
    assert {key: crawler[key] for key in changes} == changes
    assert crawler["Version"] == 2


def test_moto_stores_table_inputs_verbatim_and_versions_updates(glue, catalog):
    database, table = unique("db"), unique("orders")
    catalog.create_database(database)
    table_input = {
        "Name": table, "Owner": "owner", "Retention": 0, "TableType": "EXTERNAL_TABLE",
        "CreatedBy": "arn:aws:sts::123456789012:assumed-role/r/AWS-Crawler",
        "Parameters": {"classification": "json", "recordCount": "3"},
        "PartitionKeys": [{"Name": "partition_0", "Type": "string"}],
        "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "int"}], "Location": "s3://bucket/orders/",
                              "NumberOfBuckets": -1, "Parameters": {"classification": "json"},
                              "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
                                            "Parameters": {"paths": "id"}}},
    }
    catalog.create_table(database, table_input)
    catalog.update_table(database, {**table_input, "Parameters": {"classification": "json", "recordCount": "4"}})

    stored = glue.get_table(DatabaseName=database, Name=table)["Table"]

    unchanged = [key for key in table_input if key != "Parameters"]
    assert {key: stored[key] for key in unchanged} == {key: table_input[key] for key in unchanged}
    assert (stored["Parameters"]["recordCount"], stored["VersionId"]) == ("4", "2")
    assert catalog.table(database, table)["Parameters"]["recordCount"] == "4"
    assert catalog.table(database, unique("missing")) is None


def test_moto_creates_only_new_partitions_and_deletes_by_values(glue, catalog):
    database, table = unique("db"), unique("orders")
    catalog.create_database(database)
    catalog.create_table(database, {"Name": table, "PartitionKeys": [{"Name": "partition_0", "Type": "string"}],
                                    "StorageDescriptor": {"Columns": [], "Location": "s3://bucket/orders/"}})
    partition = {"Values": ["07"], "StorageDescriptor": {"Location": "s3://bucket/orders/07/"}}

    assert catalog.add_partitions(database, table, [partition]) == 1
    assert catalog.add_partitions(database, table, [partition, {**partition, "Values": ["08"]}]) == 1
    catalog.delete_partition(database, table, ["07"])

    partitions = glue.get_partitions(DatabaseName=database, TableName=table)["Partitions"]
    assert [p["Values"] for p in partitions] == [["08"]]
    assert [p["Values"] for p in catalog.partitions(database, table)] == [["08"]]


def test_moto_answers_get_crawler_of_an_unknown_name_with_entity_not_found(glue):
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_crawler(Name=unique("ghost"))
