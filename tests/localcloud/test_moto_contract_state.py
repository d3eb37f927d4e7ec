"""moto internals that localcloud/moto_state relies on: if a moto upgrade changes them, these fail first."""

from __future__ import annotations

import uuid

from localcloud.moto_state.glue import GlueCatalog
from localcloud.moto_state.s3 import S3Objects


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_s3_objects_sees_what_boto3_put_and_boto3_sees_what_it_writes(session):
    s3, bucket = session.client("s3"), _name("contract")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="data/a.json", Body=b'{"a": 1}\n')
    s3.put_object(Bucket=bucket, Key="other/b.json", Body=b"{}")
    objects = S3Objects()
    listed = objects.list(bucket, "data/")
    assert [(o.key, o.size) for o in listed] == [("data/a.json", 9)]
    assert objects.read(bucket, "data/a.json") == b'{"a": 1}\n'
    objects.write(bucket, "data/c.json", b"written directly")
    assert s3.get_object(Bucket=bucket, Key="data/c.json")["Body"].read() == b"written directly"


def test_s3_objects_ignores_deleted_objects_in_versioned_buckets(session):
    s3, bucket = session.client("s3"), _name("contract")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="gone.json", Body=b"{}")
    s3.delete_object(Bucket=bucket, Key="gone.json")
    assert S3Objects().list(bucket) == []


def test_glue_catalog_reads_and_writes_the_same_catalog_as_the_glue_api(session):
    glue, database = session.client("glue"), _name("contract").replace("-", "_")
    glue.create_database(DatabaseInput={"Name": database})
    catalog = GlueCatalog()
    catalog.create_table(database, {"Name": "t", "PartitionKeys": [{"Name": "p", "Type": "string"}],
                                    "StorageDescriptor": {"Location": "s3://b/t/", "Columns": []}})
    assert glue.get_table(DatabaseName=database, Name="t")["Table"]["StorageDescriptor"]["Location"] == "s3://b/t/"
    glue.batch_create_partition(DatabaseName=database, TableName="t", PartitionInputList=[
        {"Values": ["1"], "StorageDescriptor": {"Location": "s3://b/t/1/"}}])
    assert catalog.add_partitions(database, "t", [{"Values": ["1"]}, {"Values": ["2"]}]) == 1
    assert sorted(p["Values"][0] for p in catalog.partitions(database, "t")) == ["1", "2"]
    assert catalog.table(database, "missing") is None
    assert catalog.table("no_such_database", "t") is None
