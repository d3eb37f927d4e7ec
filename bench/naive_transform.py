"""The baseline for bench/lambda_transform.py: a Firehose transform written the way tutorials and blog posts do.

It produces the same row as the course's handler, by the common recipe: for each record, base64-decode, json.loads,
unwrap the DynamoDB JSON by hand ({"S": ...}, {"N": ...}), float() the price, json.dumps, base64-encode. It has
no error handling (one bad record fails the whole batch), no trailing newline, no partition keys, and float prices.
Do not deploy it; it is here only to be measured against.
"""

import base64
import json
from datetime import datetime, timezone


def lambda_handler(event, context):
    output = []
    for record in event["records"]:
        payload = json.loads(base64.b64decode(record["data"]).decode("utf-8"))
        if payload["eventName"] == "REMOVE":
            image = payload["dynamodb"]["OldImage"]
        else:
            image = payload["dynamodb"]["NewImage"]
        row = {
            "orderid": image["orderid"]["S"],
            "product_name": image["product_name"]["S"],
            "quantity": int(image["quantity"]["N"]),
            "price": float(image["price"]["N"]),
            "event_name": payload["eventName"],
            "is_deleted": payload["eventName"] == "REMOVE",
            "event_time": datetime.fromtimestamp(
                payload["dynamodb"]["ApproximateCreationDateTime"], timezone.utc
            ).isoformat(),
            "sequence_number": payload["dynamodb"]["SequenceNumber"],
            "event_id": payload["eventID"],
        }
        output.append(
            {
                "recordId": record["recordId"],
                "result": "Ok",
                "data": base64.b64encode(json.dumps(row).encode("utf-8")).decode("utf-8"),
            }
        )
    print(f"Successfully processed {len(output)} records.")
    return {"records": output}
