"""Step 01: the orders table, with a stream that records every change."""

from __future__ import annotations

from typing import Any

from workshop.session import Connection

# NEW_AND_OLD_IMAGES: MODIFY records carry the item before and after, REMOVE records the deleted item.
STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"


def ensure_table(conn: Connection) -> dict[str, Any]:
    """Create the orders table (partition key orderid) with its stream; return the table description."""
    ddb = conn.client("dynamodb")
    name = conn.config.table_name
    try:
        ddb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE},
            Tags=conn.config.tag_list(),
        )
    except ddb.exceptions.ResourceInUseException:
        pass
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 60})
    table = ddb.describe_table(TableName=name)["Table"]
    if not table.get("StreamSpecification", {}).get("StreamEnabled"):
        ddb.update_table(TableName=name,
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE})
        ddb.get_waiter("table_exists").wait(TableName=name)
        table = ddb.describe_table(TableName=name)["Table"]
    return table


def stream_arn(conn: Connection) -> str:
    """The ARN of the table's current stream (a new one is made each time streams are re-enabled)."""
    table = conn.client("dynamodb").describe_table(TableName=conn.config.table_name)["Table"]
    if "LatestStreamArn" not in table:
        raise RuntimeError(f"{conn.config.table_name} has no stream: run notebook 01, or course.start('02').")
    return table["LatestStreamArn"]
