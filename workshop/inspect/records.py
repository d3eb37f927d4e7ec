"""Stream records as plain table rows: what changed, in which order, for which order id.

Two kinds of record reach the inspectors:

- a DynamoDB Streams record, as `dynamodbstreams.get_records` returns it: eventName, and in `dynamodb`
  the Keys, NewImage and OldImage in DynamoDB JSON ({"S": "Phone"}, {"N": "2"});
- a Kinesis record, as `kinesis.get_records` returns it: SequenceNumber, ApproximateArrivalTimestamp,
  PartitionKey and Data. The pipe writes each DynamoDB stream record into Data as JSON, so the
  same decoding applies once Data is parsed. Other payloads are shown as text.

Every function here is pure, so the decoding can be tested without AWS.

Example:
    >>> row = stream_record_row(record)      # a MODIFY of order 3714 whose quantity went from 2 to 4
    >>> row["event_name"], row["orderid"], row["changed"]
    ('MODIFY', '3714', 'quantity: 2 -> 4')
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer

ORDER_KEY = "orderid"
IMAGES = ("NewImage", "OldImage")
KINESIS_COLUMNS = ["sequence_number", "arrival_time", "partition_key", "event_name", "orderid", "changed", "data"]
STREAM_COLUMNS = ["sequence_number", "created_time", "event_name", "orderid", "keys", "images", "changed"]
DATA_PREVIEW_CHARS = 80
_deserialize = TypeDeserializer().deserialize
_ABSENT = object()


# ---- DynamoDB JSON -> plain values ------------------------------------------------------------------


def plain_image(image: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """An item in DynamoDB JSON ({"quantity": {"N": "2"}}) as plain values ({"quantity": Decimal("2")})."""
    if image is None:
        return None
    return {name: _deserialize(value) for name, value in image.items()}


def changed_fields(old_image: Mapping[str, Any] | None, new_image: Mapping[str, Any] | None) -> list[str]:
    """The attributes that differ between two plain images, as 'name: old -> new', sorted by name.

    Only a change with both images (a MODIFY in a NEW_AND_OLD_IMAGES stream) has changed fields:
    an INSERT or REMOVE changes the whole item.
    """
    if old_image is None or new_image is None:
        return []
    changes = []
    for name in sorted(set(old_image) | set(new_image)):
        before, after = old_image.get(name, _ABSENT), new_image.get(name, _ABSENT)
        if before != after:
            changes.append(f"{name}: {_shown(before)} -> {_shown(after)}")
    return changes


def _shown(value: object) -> str:
    return "(absent)" if value is _ABSENT else str(value)


def is_stream_record(value: object) -> bool:
    """Whether a value has the shape of a DynamoDB stream record (eventName and a dynamodb section)."""
    return (isinstance(value, dict) and isinstance(value.get("eventName"), str)
            and isinstance(value.get("dynamodb"), dict))


def plain_stream_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A stream record with its Keys and images decoded into plain values; everything else as it was."""
    change = dict(record["dynamodb"])
    for section in ("Keys", *IMAGES):
        if section in change:
            change[section] = plain_image(change[section])
    return {**record, "dynamodb": change}


# ---- rows ---------------------------------------------------------------------------------------------


def stream_record_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """One DynamoDB stream record as a row of STREAM_COLUMNS."""
    change = record["dynamodb"]
    keys = plain_image(change.get("Keys")) or {}
    return {
        "sequence_number": change.get("SequenceNumber"),
        "created_time": as_utc(change.get("ApproximateCreationDateTime")),
        "event_name": record["eventName"],
        "orderid": keys.get(ORDER_KEY),
        "keys": ", ".join(f"{name}={value}" for name, value in keys.items()),
        "images": " + ".join(image for image in IMAGES if image in change) or "keys only",
        "changed": "; ".join(changed_fields(plain_image(change.get("OldImage")), plain_image(change.get("NewImage")))),
    }


def kinesis_record_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """One Kinesis record as a row of KINESIS_COLUMNS; a DynamoDB change in Data fills the CDC columns."""
    payload = decode_data(record["Data"])
    row = {
        "sequence_number": record["SequenceNumber"],
        "arrival_time": as_utc(record.get("ApproximateArrivalTimestamp")),
        "partition_key": record["PartitionKey"],
        "event_name": None,
        "orderid": None,
        "changed": None,
        "data": "",
    }
    change = _decoded_change(payload)
    if change is None:
        row["data"] = _preview(record["Data"])
    else:
        row.update(event_name=change["event_name"], orderid=change["orderid"], changed=change["changed"])
    return row


def _decoded_change(payload: Any) -> dict[str, Any] | None:
    """The stream-record row of a Kinesis payload, or None when it is not a well-formed stream record
    (say, JSON a learner wrote by hand with plain values where DynamoDB JSON belongs)."""
    if not is_stream_record(payload):
        return None
    try:
        return stream_record_row(payload)
    except (TypeError, AttributeError):  # TypeDeserializer's answer to values that are not DynamoDB JSON
        return None


def decode_data(data: bytes) -> Any:
    """A Kinesis record's Data parsed as JSON, or None when it is not UTF-8 JSON (any bytes are allowed)."""
    try:
        return json.loads(data)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return None


def _preview(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= DATA_PREVIEW_CHARS else text[:DATA_PREVIEW_CHARS - 3] + "..."


def as_utc(moment: datetime | float | int | None) -> datetime | None:
    """A record time as a UTC datetime: boto3 gives datetimes, Pipes JSON gives epoch seconds."""
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.astimezone(timezone.utc)
    return datetime.fromtimestamp(moment, timezone.utc)


# ---- the full record, for the detail view ---------------------------------------------------------------


def stream_record_detail(record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(record in DynamoDB JSON, the same record with plain values) for one DynamoDB stream record."""
    return dict(record), plain_stream_record(record)


def kinesis_record_detail(record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(record with Data decoded, the same with plain values): Data shown as JSON when it is JSON."""
    payload = decode_data(record["Data"])
    typed = {
        "SequenceNumber": record["SequenceNumber"],
        "ApproximateArrivalTimestamp": as_utc(record.get("ApproximateArrivalTimestamp")),
        "PartitionKey": record["PartitionKey"],
        "Data": payload if payload is not None else _preview(record["Data"]),
    }
    plain = {**typed, "Data": plain_stream_record(payload)} if _decoded_change(payload) is not None else typed
    return typed, plain


def to_json_text(value: Any) -> str:
    """Pretty JSON for display: Decimals as numbers, datetimes as ISO-8601 text, bytes as base64."""
    return json.dumps(value, indent=2, default=_json_default, ensure_ascii=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Binary):  # what TypeDeserializer makes of a {"B": ...} attribute
        value = value.value
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (set, frozenset)):  # DynamoDB string/number sets
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} cannot be shown as JSON")
