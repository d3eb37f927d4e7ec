"""Firehose data transformation: DynamoDB change records -> one JSON line per change, for Glue and Athena.

Firehose calls `lambda_handler` with a batch of Kinesis records. The EventBridge Pipe wrote each of them, and its
data is one DynamoDB stream record (eventID, eventName, dynamodb{Keys, NewImage, OldImage, ...}). Each becomes a
line such as

    {"orderid":"3714","product_name":"Charger","quantity":5,"price":190.07,"event_name":"INSERT",
     "is_deleted":false,"event_time":"2026-11-22T07:13:45Z","sequence_number":"...","event_id":"..."}

with the year/month/day/hour of the change as partition keys for Firehose dynamic partitioning
(`!{partitionKeyFromLambda:year}`). A record that cannot become a line goes back as ProcessingFailed with its
original data, so Firehose writes it under the error prefix; it never affects the rest of the batch.

Every record a Pipe writes has the same shape, so each one first goes through `usual_change`, which reads that shape
directly and raises on anything else. Only a record it cannot read goes through `transform`, which checks every
field and says what is wrong. The two give the same line whenever `usual_change` gives one (a property test checks it).

Deployed to Lambda as it is: standard library and boto3 only. bench/RESULTS.md says what each speed-up is worth.
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
# The two methods TypeDeserializer.deserialize picks for {"S": ...} and {"N": ...}; see _attribute.
_deserialize_s, _deserialize_n = _deserializer._deserialize_s, _deserializer._deserialize_n
_json_decoder = json.JSONDecoder()
# The C scanner behind raw_decode and json.loads: one JSON value at an index -> (value, end); StopIteration when
# no value starts there. Called directly, it saves a tenth of a microsecond per record (bench/RESULTS.md).
_scan_json_value = _json_decoder.scan_once
# json.dumps cannot write a Decimal as an exact JSON number, so lines are assembled from encoded parts.
# This is the C function json.dumps itself uses to quote a string.
_quote = json.encoder.encode_basestring_ascii
_a2b_base64, _b2a_base64 = binascii.a2b_base64, binascii.b2a_base64


class RecordRejected(Exception):
    """A record cannot become a line. The message is the reason, counted in the batch's log line."""


class Unusual(Exception):
    """A record is not of the usual shape, and nothing else went wrong that says so; `transform` judges it."""


# What `usual_change` raises on a record that is not of the usual shape: a missing key, a value of another type,
# bad base64, UTF-8 or JSON, a number or time out of range, or Unusual.
NOT_USUAL = (KeyError, TypeError, ValueError, ArithmeticError, OSError, RecursionError, StopIteration, Unusual)


def lambda_handler(event: dict, context: object) -> dict:
    """Transform every record of a Firehose batch; return one result per recordId, in order.

    Each result is the contract Firehose checks: recordId, result, data and, for a line, metadata.partitionKeys.
    Results of the same second share one metadata object, which the runtime only serializes.
    """
    results = []
    _event_time_of.cache_clear()  # so that only this batch's results share the cached metadata objects
    failures: Counter[str] = Counter()
    for record in event["records"]:
        try:
            line, metadata = usual_change(record["data"])
        except NOT_USUAL:
            try:
                line, metadata = transform(_base64_decode(record.get("data")))
            except RecordRejected as rejection:
                failures[str(rejection)] += 1
                results.append({"recordId": record["recordId"], "result": "ProcessingFailed",
                                "data": record.get("data")})
                continue
        results.append({"recordId": record["recordId"], "result": "Ok",
                        "data": _b2a_base64(line.encode(), newline=False).decode(), "metadata": metadata})
    print(_summary(len(results), failures))
    return {"records": results}


def _base64_decode(data: object) -> bytes | None:
    try:
        return binascii.a2b_base64(data, strict_mode=True)
    except (TypeError, ValueError):
        return None


def usual_change(data: str) -> tuple[str, dict]:
    """A record's base64 data -> (JSON line, its metadata) if it is of the usual shape; raises NOT_USUAL if not.

    The usual shape is what a Pipe writes for an order: one JSON object with no space around it, eventName INSERT,
    MODIFY or REMOVE, eventID, dynamodb.SequenceNumber and .ApproximateCreationDateTime, and the image (NewImage,
    or OldImage for a REMOVE) with orderid and product_name as {"S": text}, quantity as {"N": digits} and price
    as {"N": a finite number without exponent}. Nothing is checked that a subscript or a call does not check by
    failing; this is the path every record takes, and `transform` is the path for the rest.
    """
    text = _a2b_base64(data, strict_mode=True).decode()
    value, end = _scan_json_value(text, 0)
    if end != len(text):
        raise Unusual
    event_name, change = value["eventName"], value["dynamodb"]
    if event_name == "REMOVE":
        image = change["OldImage"]
    elif event_name == "INSERT" or event_name == "MODIFY":
        image = change["NewImage"]
    else:
        raise Unusual
    seconds = change["ApproximateCreationDateTime"]
    if type(seconds) is not float and type(seconds) is not int:  # a JSON number; not true/false
        raise Unusual
    event_time, metadata = _event_time_of(seconds)
    orderid, product_name, quantity, price = image["orderid"], image["product_name"], image["quantity"], image["price"]
    if len(orderid) != 1 or len(product_name) != 1 or len(quantity) != 1 or len(price) != 1:
        raise Unusual  # a value with more than its type, which TypeDeserializer reads differently
    quantity, price = str(_deserialize_n(quantity["N"])), _deserialize_n(price["N"])
    price_json = str(price)
    if not quantity.isdigit() or not price.is_finite() or "E" in price_json:
        raise Unusual
    # _quote raises TypeError for anything but a string.
    line = _line(_quote(_deserialize_s(orderid["S"])), _quote(_deserialize_s(product_name["S"])), quantity,
                 price_json, event_name, event_time, _quote(change["SequenceNumber"]), _quote(value["eventID"]))
    return line, metadata


def transform(payload: bytes | None) -> tuple[str, dict]:
    """A record's decoded data (None if it was not base64) -> (JSON line, its metadata). Raises RecordRejected.

    The metadata is {"partitionKeys": {"year": ..., "month": ..., "day": ..., "hour": ...}}, one object shared by
    every change of the same second (cached): read it, do not change it.
    """
    if payload is None:
        raise RecordRejected("data is not base64")
    event_name, event_id, change, sequence_number, seconds = _stream_record_fields(_parse_json(payload))
    try:
        event_time, metadata = _event_time_of(seconds)
    except (ValueError, OverflowError, OSError) as error:
        raise RecordRejected("ApproximateCreationDateTime is out of range") from error
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
    quantity_json = "null" if quantity is None else _json_integer(quantity, "quantity")
    price_json = "null" if price is None else _json_number(price, "price")

    product_name_json = "null" if product_name is None else _quote(product_name)
    return _line(_quote(orderid), product_name_json, quantity_json, price_json, event_name, event_time,
                 _quote(sequence_number), _quote(event_id)), metadata


def _line(orderid: str, product_name: str, quantity: str, price: str, event_name: str, event_time: str,
          sequence_number: str, event_id: str) -> str:
    """The output line, from its values already encoded as JSON (event name and time are plain text)."""
    return (f'{{"orderid":{orderid},"product_name":{product_name},"quantity":{quantity},"price":{price}'
            f',"event_name":"{event_name}","is_deleted":{"true" if event_name == "REMOVE" else "false"}'
            f',"event_time":"{event_time}","sequence_number":{sequence_number},"event_id":{event_id}}}\n')


def _parse_json(payload: bytes) -> object:
    """UTF-8 JSON text -> the one JSON value it holds."""
    try:
        text = payload.decode().strip(JSON_WHITESPACE)
        value, end = _scan_json_value(text, 0)
    # StopIteration: no JSON value at all. JSONDecodeError and UnicodeDecodeError are ValueErrors.
    except (StopIteration, ValueError, RecursionError) as error:
        raise RecordRejected("data is not UTF-8 JSON") from error
    if end != len(text):
        raise RecordRejected("data is not UTF-8 JSON")
    return value


def _stream_record_fields(value: object) -> tuple[str, str, dict, str, int | float]:
    """eventName, eventID, dynamodb, its SequenceNumber and ApproximateCreationDateTime, of a stream record."""
    if isinstance(value, dict):
        event_name, event_id, change = value.get("eventName"), value.get("eventID"), value.get("dynamodb")
        if event_name in EVENT_NAMES and isinstance(event_id, str) and isinstance(change, dict):
            sequence_number, seconds = change.get("SequenceNumber"), change.get("ApproximateCreationDateTime")
            if isinstance(sequence_number, str) and type(seconds) in (int, float):  # a JSON number; not true/false
                return event_name, event_id, change, sequence_number, seconds
    raise RecordRejected("not a DynamoDB stream record")


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
    """One attribute as a Python value (None when absent), decoded from DynamoDB JSON by boto3's TypeDeserializer.

    TypeDeserializer.deserialize finds the method for a value's type by name (getattr) on every call, which costs
    more than the conversion: 0.66 µs against 0.19 µs for a number. An order's attributes are {"S": ...} and
    {"N": ...}, so for these two the method deserialize would pick is called directly; any other value still goes
    through deserialize, and gets the same answer.
    """
    value = image.get(name)
    if value is None:
        return None
    try:
        if len(value) == 1 and "S" in value:
            return _deserialize_s(value["S"])
        if len(value) == 1 and "N" in value:
            return _deserialize_n(value["N"])
        return _deserializer.deserialize(value)
    except (TypeError, AttributeError, ArithmeticError, RecursionError) as error:
        raise RecordRejected(f"{name} is not DynamoDB JSON") from error


def _json_integer(value: object, name: str) -> str:
    """A whole number attribute as a JSON integer, such as 5 for 5, 5.0 or 5E+0."""
    if isinstance(value, Decimal):
        text = str(value)
        if text.isdigit():  # plain digits, the usual case: already the JSON text
            return text
        if value.is_finite() and value == value.to_integral_value():
            return str(int(value))
    raise RecordRejected(f"{name} is not a whole number")


def _json_number(value: object, name: str) -> str:
    """A number attribute as an exact JSON number in plain digits, such as 190.07 for 190.07 or 1.9007E+2."""
    if isinstance(value, Decimal) and value.is_finite():
        text = str(value)  # faster than format(value, "f"), and the same unless it has an exponent
        return format(value, "f") if "E" in text else text
    raise RecordRejected(f"{name} is not a number")


@lru_cache(maxsize=4096)
def _event_time_of(seconds: float) -> tuple[str, dict]:
    """ISO-8601 UTC text and Firehose metadata (partition keys) of an epoch time.

    Cached: a batch holds few distinct seconds, and results that share one metadata object save the allocations
    (bench/RESULTS.md). Raises ValueError, OverflowError or OSError for a time datetime cannot represent.
    """
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    year, month, day, hour = f"{moment.year:04d}", f"{moment.month:02d}", f"{moment.day:02d}", f"{moment.hour:02d}"
    fraction = f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else ""
    text = f"{year}-{month}-{day}T{hour}:{moment.minute:02d}:{moment.second:02d}{fraction}Z"
    return text, {"partitionKeys": {"year": year, "month": month, "day": day, "hour": hour}}


def _summary(total: int, failures: Counter[str]) -> str:
    """The batch's one log line, e.g. 'transformed 500 records: 498 ok, 2 failed (no orderid: 2)'."""
    failed = sum(failures.values())
    text = f"transformed {total} records: {total - failed} ok, {failed} failed"
    if failures:
        text += " (" + ", ".join(f"{reason}: {count}" for reason, count in failures.most_common()) + ")"
    return text
