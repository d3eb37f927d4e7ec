"""Firehose data transformation: DynamoDB change records -> one JSON line per change, for Glue and Athena.

Firehose calls `lambda_handler` with a batch of Kinesis records. The EventBridge Pipe wrote each of them, and its
data is one DynamoDB stream record (eventID, eventName, dynamodb{Keys, NewImage, OldImage, ...}). Each becomes a
line such as

    {"orderid":"3714","product_name":"Charger","quantity":5,"price":190.07,"event_name":"INSERT",
     "is_deleted":false,"event_time":"2026-11-22T07:13:45Z","sequence_number":"...","event_id":"..."}

with the year/month/day/hour of the change as partition keys for Firehose dynamic partitioning
(`!{partitionKeyFromLambda:year}`). A record that cannot become a line goes back as ProcessingFailed with its
original data, so Firehose writes it under the error prefix; it never affects the rest of the batch.

Deployed to Lambda as it is: standard library and boto3 only.
"""

from __future__ import annotations

import binascii
import json
from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache

from boto3.dynamodb.types import TypeDeserializer

EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")
JSON_WHITESPACE = " \t\n\r"
_deserializer = TypeDeserializer()
_json_decoder = json.JSONDecoder()
# json.dumps cannot write a Decimal as an exact JSON number, so lines are assembled from encoded parts.
# This is the C function json.dumps itself uses to quote a string.
_quote = json.encoder.encode_basestring_ascii


class RecordRejected(Exception):
    """A record cannot become a line. The message is the reason, counted in the batch's log line."""


def lambda_handler(event: dict, context: object) -> dict:
    """Transform every record of a Firehose batch; return one result per recordId, in order."""
    results = []
    failures: Counter[str] = Counter()
    for record in event["records"]:
        data = record.get("data")
        try:
            line, partition_keys = transform(data)
        except RecordRejected as rejection:
            failures[str(rejection)] += 1
            results.append(_result(record["recordId"], "ProcessingFailed", data))
        else:
            results.append(_result(record["recordId"], "Ok", _base64(line), partition_keys))
    print(_summary(len(results), failures))
    return {"records": results}


def _result(record_id: str, result: str, data: object, partition_keys: dict[str, str] | None = None) -> dict:
    """One entry of the response: the contract Firehose checks (recordId, result, data, metadata)."""
    if partition_keys is None:
        return {"recordId": record_id, "result": result, "data": data}
    return {"recordId": record_id, "result": result, "data": data, "metadata": {"partitionKeys": partition_keys}}


def transform(data: object) -> tuple[str, dict[str, str]]:
    """Base64 data of one Kinesis record -> (JSON line, partition keys). Raises RecordRejected with the reason."""
    stream_record = _decode(data)
    if not _is_stream_record(stream_record):
        raise RecordRejected("not a DynamoDB stream record")
    event_name = stream_record["eventName"]
    change = stream_record["dynamodb"]
    event_time, partition_keys = _event_time(change["ApproximateCreationDateTime"])
    image = _image(event_name, change)

    orderid = _attribute(image, "orderid")
    if orderid is None:
        raise RecordRejected("no orderid")
    if not isinstance(orderid, str):
        raise RecordRejected("orderid is not a string")
    product_name = _attribute(image, "product_name")
    quantity = _attribute(image, "quantity")
    price = _attribute(image, "price")
    if product_name is not None and not isinstance(product_name, str):
        raise RecordRejected("product_name is not a string")
    if quantity is not None and not _is_whole_number(quantity):
        raise RecordRejected("quantity is not a whole number")
    if price is not None and not (isinstance(price, Decimal) and price.is_finite()):
        raise RecordRejected("price is not a number")

    line = (
        f'{{"orderid":{_quote(orderid)}'
        f',"product_name":{"null" if product_name is None else _quote(product_name)}'
        f',"quantity":{"null" if quantity is None else int(quantity)}'
        f',"price":{"null" if price is None else format(price, "f")}'
        f',"event_name":"{event_name}"'
        f',"is_deleted":{"true" if event_name == "REMOVE" else "false"}'
        f',"event_time":"{event_time}"'
        f',"sequence_number":{_quote(change["SequenceNumber"])}'
        f',"event_id":{_quote(stream_record["eventID"])}}}\n'
    )
    return line, dict(partition_keys)


def _decode(data: object) -> object:
    """Base64 text -> the JSON value it holds."""
    try:
        raw = binascii.a2b_base64(data, strict_mode=True)
    except (TypeError, ValueError) as error:  # binascii.Error is a ValueError
        raise RecordRejected("data is not base64") from error
    try:
        text = raw.decode().strip(JSON_WHITESPACE)
        value, end = _json_decoder.raw_decode(text)  # json.loads does the same, with more overhead per call
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise RecordRejected("data is not UTF-8 JSON") from error
    if end != len(text):
        raise RecordRejected("data is not UTF-8 JSON")
    return value


def _is_stream_record(value: object) -> bool:
    """Whether a JSON value has the fields of a DynamoDB stream record that the line needs, with their types."""
    if not isinstance(value, dict):
        return False
    change = value.get("dynamodb")
    return (
        value.get("eventName") in EVENT_NAMES
        and isinstance(value.get("eventID"), str)
        and isinstance(change, dict)
        and isinstance(change.get("SequenceNumber"), str)
        and _is_number(change.get("ApproximateCreationDateTime"))
    )


def _image(event_name: str, change: dict) -> dict:
    """The item state a change describes: the new image, or for a REMOVE the old one (the keys when KEYS_ONLY)."""
    if event_name == "REMOVE":
        image = change.get("OldImage") or change.get("Keys")
    else:
        image = change.get("NewImage")
        if image is None:
            raise RecordRejected("no NewImage (the stream view type must include new images)")
    if not isinstance(image, dict):
        raise RecordRejected("not a DynamoDB stream record")
    return image


def _attribute(image: dict, name: str) -> object:
    """One attribute as a Python value (None when absent), decoded from DynamoDB JSON by boto3."""
    value = image.get(name)
    if value is None:
        return None
    try:
        return _deserializer.deserialize(value)
    except (TypeError, AttributeError, ArithmeticError, RecursionError) as error:
        raise RecordRejected(f"{name} is not DynamoDB JSON") from error


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_whole_number(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value()


@lru_cache(maxsize=4096)
def _event_time_of(seconds: float) -> tuple[str, dict[str, str]]:
    """ISO-8601 UTC text and partition keys of an epoch time. Cached: a batch holds few distinct seconds."""
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    year, month, day, hour = f"{moment.year:04d}", f"{moment.month:02d}", f"{moment.day:02d}", f"{moment.hour:02d}"
    fraction = f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else ""
    text = f"{year}-{month}-{day}T{hour}:{moment.minute:02d}:{moment.second:02d}{fraction}Z"
    return text, {"year": year, "month": month, "day": day, "hour": hour}


def _event_time(seconds: float) -> tuple[str, dict[str, str]]:
    """Event time and partition keys of ApproximateCreationDateTime; the keys are the cache's, copy before use."""
    try:
        return _event_time_of(seconds)
    except (ValueError, OverflowError, OSError) as error:
        raise RecordRejected("ApproximateCreationDateTime is out of range") from error


def _base64(line: str) -> str:
    return binascii.b2a_base64(line.encode(), newline=False).decode("ascii")


def _summary(total: int, failures: Counter[str]) -> str:
    """The batch's one log line, e.g. 'transformed 500 records: 498 ok, 2 failed (no orderid: 2)'."""
    failed = sum(failures.values())
    text = f"transformed {total} records: {total - failed} ok, {failed} failed"
    if failures:
        text += " (" + ", ".join(f"{reason}: {count}" for reason, count in failures.most_common()) + ")"
    return text
