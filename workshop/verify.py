"""Checks that the pipeline delivered what was written: used by notebooks 06, 08 and 09 and by `make run`.

Every delivered row carries the DynamoDB eventID, so "nothing lost" is a set comparison, and the
current state rebuilt from the change log must equal a scan of the table, row for row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from boto3.dynamodb.types import TypeDeserializer

from workshop.config import DATA_FOLDER, ERROR_FOLDER
from workshop.session import Connection
from workshop.waiting import wait_until

ORDER_COLUMNS = ["orderid", "product_name", "quantity", "price"]


def _json_lines(conn: Connection, prefix: str) -> list[dict[str, Any]]:
    """Every JSON line of every object under prefix in the participant's bucket."""
    s3 = conn.client("s3")
    rows: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=conn.bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            body = s3.get_object(Bucket=conn.bucket, Key=entry["Key"])["Body"].read().decode()
            rows.extend(json.loads(line, parse_float=Decimal) for line in body.splitlines() if line.strip())
    return rows


def delivered_changes(conn: Connection) -> pd.DataFrame:
    """The change log Firehose delivered under orders/: one row per change (duplicates possible: at least once)."""
    return pd.DataFrame(_json_lines(conn, f"{DATA_FOLDER}/"))


def failed_records(conn: Connection) -> pd.DataFrame:
    """Records Firehose could not process, from the error prefix (errorCode, errorMessage, rawData, ...)."""
    return pd.DataFrame(_json_lines(conn, f"{ERROR_FOLDER}/"))


def wait_for_delivery(conn: Connection, expected_changes: int, *, timeout: float = 180) -> pd.DataFrame:
    """Wait until at least expected_changes distinct event_ids have reached S3; return the change log."""
    def enough() -> pd.DataFrame | None:
        changes = delivered_changes(conn)
        delivered = changes["event_id"].nunique() if len(changes) else 0
        return changes if delivered >= expected_changes else None

    return wait_until(enough, what=f"{expected_changes} changes in s3://{conn.bucket}/{DATA_FOLDER}/",
                      timeout=timeout, interval=1,
                      hint="Check the pipe is RUNNING (notebook 03), the delivery stream is ACTIVE (06), "
                           f"and look for failed records under s3://{conn.bucket}/{ERROR_FOLDER}/.")


# DynamoDB Streams has no MillisBehindLatest, and an open shard may answer several empty pages before
# later records ("it might take multiple calls to get to a portion of the shard that contains stream
# records", GetRecords API reference). So a reader of an open shard stops after this many empty pages in a row.
EMPTY_PAGES_AT_NEWEST_RECORD = 3


def caught_up(page: dict[str, Any], empty_pages_in_a_row: int = 0) -> bool:
    """Whether a shard reader may stop after this GetRecords page, from Kinesis or DynamoDB Streams.

    An empty page alone does not mean the end: both services can return empty pages before later
    records. A reader has caught up when
    - the page has no NextShardIterator: the shard is closed and read to its end;
    - Kinesis: the page is empty and MillisBehindLatest is 0, so nothing newer exists;
    - DynamoDB Streams (no MillisBehindLatest): the page is the EMPTY_PAGES_AT_NEWEST_RECORD-th empty
      page in a row, so the reader has reached the newest record.

    Example:
        >>> page = kinesis.get_records(ShardIterator=iterator, Limit=1000)
        >>> caught_up(page)        # False while MillisBehindLatest > 0, even for an empty page
    """
    if not page.get("NextShardIterator"):
        return True
    if page["Records"]:
        return False
    if "MillisBehindLatest" in page:
        return page["MillisBehindLatest"] == 0
    return empty_pages_in_a_row >= EMPTY_PAGES_AT_NEWEST_RECORD


def read_shard(client: Any, iterator: str, *, limit: int) -> list[dict[str, Any]]:
    """Every record from iterator on, following NextShardIterator until caught_up (a Kinesis or Streams client)."""
    records: list[dict[str, Any]] = []
    empty_pages = 0
    while True:
        page = client.get_records(ShardIterator=iterator, Limit=limit)
        records.extend(page["Records"])
        empty_pages = 0 if page["Records"] else empty_pages + 1
        if caught_up(page, empty_pages):
            return records
        iterator = page["NextShardIterator"]


def kinesis_records(conn: Connection) -> pd.DataFrame:
    """Every record in the Kinesis stream (TRIM_HORIZON to now), one row each: shard, key, decoded change.

    A record that is not a change (notebook 06 puts one in on purpose) has no event name or id.
    """
    from workshop.inspect.streams import KinesisShards

    kinesis = conn.client("kinesis")
    stream = KinesisShards(kinesis, conn.config.kinesis_stream_name)
    rows = []
    for shard in stream.shards():
        iterator = stream.iterator(shard["ShardId"], "TRIM_HORIZON")
        for record in read_shard(kinesis, iterator, limit=stream.max_page):
            change = _change_in(record["Data"])
            rows.append({"shard": shard["ShardId"], "partition_key": record["PartitionKey"],
                         "event_name": change.get("eventName"), "event_id": change.get("eventID")})
    return pd.DataFrame(rows, columns=["shard", "partition_key", "event_name", "event_id"])


def _change_in(data: bytes) -> dict[str, Any]:
    """The DynamoDB change a Kinesis record carries, or {} when its data is not a JSON object."""
    try:
        change = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return change if isinstance(change, dict) else {}


def table_items(conn: Connection) -> pd.DataFrame:
    """The orders table as it is now, from a full scan, with plain Python values."""
    deserialize = TypeDeserializer().deserialize
    items = []
    for page in conn.client("dynamodb").get_paginator("scan").paginate(TableName=conn.config.table_name):
        items.extend({k: deserialize(v) for k, v in item.items()} for item in page["Items"])
    return _orders_frame(pd.DataFrame(items, columns=ORDER_COLUMNS))


def _orders_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Orders with comparable types, sorted by orderid, so two sources can be compared row for row."""
    frame = frame[ORDER_COLUMNS].copy()
    frame["orderid"] = frame["orderid"].astype(str)
    frame["quantity"] = frame["quantity"].astype(int)
    frame["price"] = frame["price"].map(lambda p: Decimal(str(p)).quantize(Decimal("0.01")))
    return frame.sort_values("orderid").reset_index(drop=True)


@dataclass
class ProjectionCheck:
    """The result of comparing the state rebuilt from the change log with the table itself."""

    table_rows: int
    projected_rows: int
    missing: list[str]
    unexpected: list[str]
    different: list[str]

    @property
    def matches(self) -> bool:
        return not (self.missing or self.unexpected or self.different)

    def __str__(self) -> str:
        if self.matches:
            return f"projection matches DynamoDB: {self.table_rows} orders, row for row"
        return (f"projection differs from DynamoDB: {len(self.missing)} missing, {len(self.unexpected)} "
                f"unexpected, {len(self.different)} different (e.g. {(self.missing + self.unexpected + self.different)[:3]})")


def compare_with_table(conn: Connection, projected: pd.DataFrame) -> ProjectionCheck:
    """Compare a current-state projection (orderid, product_name, quantity, price) with a table scan."""
    table, projected = table_items(conn), _orders_frame(projected)
    merged = table.merge(projected, on="orderid", how="outer", suffixes=("_table", "_projected"), indicator=True)
    both = merged[merged["_merge"] == "both"]
    differs = both[(both["product_name_table"] != both["product_name_projected"])
                   | (both["quantity_table"] != both["quantity_projected"])
                   | (both["price_table"] != both["price_projected"])]
    return ProjectionCheck(
        table_rows=len(table),
        projected_rows=len(projected),
        missing=merged.loc[merged["_merge"] == "left_only", "orderid"].tolist(),
        unexpected=merged.loc[merged["_merge"] == "right_only", "orderid"].tolist(),
        different=differs["orderid"].tolist(),
    )


def stream_records(conn: Connection) -> list[dict[str, Any]]:
    """Every record the table's DynamoDB stream holds (every shard, from TRIM_HORIZON, parents first)."""
    from workshop.inspect.streams import DynamoDBStreamShards

    streams = conn.client("dynamodbstreams")
    stream = DynamoDBStreamShards.of_table(conn.client("dynamodb"), streams, conn.config.table_name)
    return [record for shard in stream.shards()
            for record in read_shard(streams, stream.iterator(shard["ShardId"], "TRIM_HORIZON"),
                                     limit=stream.max_page)]


def stream_record_count(conn: Connection) -> int:
    """How many records the table's DynamoDB stream holds (every shard, from TRIM_HORIZON)."""
    return len(stream_records(conn))


def wait_for_kinesis(conn: Connection, *, timeout: float = 120) -> pd.DataFrame:
    """Wait until every record of the table's stream is in Kinesis (the pipe has caught up); return them."""
    expected = stream_record_count(conn)

    def all_in_kinesis() -> pd.DataFrame | None:
        records = kinesis_records(conn)
        return records if records["event_id"].nunique() >= expected else None

    return wait_until(all_in_kinesis, what=f"{expected} stream records in Kinesis", timeout=timeout, interval=1,
                      hint="Check that the pipe is RUNNING (notebook 03) and read its StateReason.")
