"""The Firehose transform Lambda (lambda_src/firehose_transform/handler.py), checked against sample events.

The sample events in tests/events/ are Firehose data-transformation events whose records hold DynamoDB stream
records in the JSON an EventBridge Pipe writes to Kinesis. Other cases are built with `firehose_event`.
"""

from __future__ import annotations

import ast
import base64
import importlib.util
import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from boto3.dynamodb.types import TypeDeserializer
from hypothesis import example, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
HANDLER_FILE = ROOT / "lambda_src" / "firehose_transform" / "handler.py"
EVENTS = ROOT / "tests" / "events"
CHARGER_TIME = 1795331625.0  # 2026-11-22T07:13:45Z


def load_handler():
    """Import handler.py by its file, as the Lambda runtime does (lambda_src is not an installed package)."""
    spec = importlib.util.spec_from_file_location("firehose_transform_handler", HANDLER_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


handler = load_handler()


# --- helpers -----------------------------------------------------------------------------------------------------

def order_image(orderid="3714", product_name="Charger", quantity="5", price="190.07") -> dict:
    return {"orderid": {"S": orderid}, "product_name": {"S": product_name},
            "quantity": {"N": quantity}, "price": {"N": price}}


def stream_record(event_name="INSERT", *, new_image=None, old_image=None, keys=None, seconds=CHARGER_TIME,
                  view="NEW_AND_OLD_IMAGES") -> dict:
    """A DynamoDB stream record as an EventBridge Pipe writes it to Kinesis."""
    change = {"ApproximateCreationDateTime": seconds, "Keys": keys or {"orderid": {"S": "3714"}},
              "SequenceNumber": "100000000000000000001", "SizeBytes": 85, "StreamViewType": view}
    if new_image is not None:
        change["NewImage"] = new_image
    if old_image is not None:
        change["OldImage"] = old_image
    return {"eventID": "9f2c6a1e0d8b4f7e8a3c5b1d2e4f6a8b", "eventName": event_name, "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": change,
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/learner-orders/stream/2026-11-22T07:00:00.000"}


def as_data(payload: dict | bytes) -> str:
    """Kinesis record data: a JSON payload or raw bytes, base64-encoded as Firehose sends them."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.b64encode(raw).decode()


def firehose_event(*datas: str) -> dict:
    """A Firehose data-transformation event holding one record per data string."""
    return {
        "invocationId": "00540a87-5050-496a-84e4-e7d92bbaf5e2",
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/learner-orders-to-s3",
        "sourceKinesisStreamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/learner-orders-cdc",
        "region": "us-east-1",
        "records": [{"recordId": f"record-{index}", "approximateArrivalTimestamp": 1795331626000, "data": data,
                     "kinesisRecordMetadata": {"shardId": "shardId-000000000000", "partitionKey": "3714",
                                               "approximateArrivalTimestamp": 1795331626000,
                                               "sequenceNumber": f"{index}", "subsequenceNumber": 0}}
                    for index, data in enumerate(datas)],
    }


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def transform_one(record: dict) -> dict:
    """Run the handler on one stream record and return its single result."""
    [result] = handler.lambda_handler(firehose_event(as_data(record)), None)["records"]
    return result


def line_of(result: dict) -> str:
    return base64.b64decode(result["data"]).decode()


def row_of(result: dict) -> dict:
    """The output line as a dict, with numbers as Decimal so that exactness is checked, not approximated."""
    return json.loads(line_of(result), parse_float=Decimal)


# --- one row per change ------------------------------------------------------------------------------------------

def test_insert_event_becomes_the_charger_row():
    [result] = handler.lambda_handler(load_event("firehose_insert_charger.json"), None)["records"]
    assert result["result"] == "Ok"
    assert row_of(result) == {
        "orderid": "3714", "product_name": "Charger", "quantity": 5, "price": Decimal("190.07"),
        "event_name": "INSERT", "is_deleted": False, "event_time": "2026-11-22T07:13:45Z",
        "sequence_number": "100000000000000000001", "event_id": "9f2c6a1e0d8b4f7e8a3c5b1d2e4f6a8b",
    }


def test_modify_event_uses_new_image():
    [result] = handler.lambda_handler(load_event("firehose_modify.json"), None)["records"]
    row = row_of(result)
    assert (row["event_name"], row["is_deleted"]) == ("MODIFY", False)
    assert (row["quantity"], row["price"]) == (7, Decimal("19.99"))


def test_remove_event_uses_old_image():
    [result] = handler.lambda_handler(load_event("firehose_remove.json"), None)["records"]
    row = row_of(result)
    assert result["result"] == "Ok"
    assert (row["event_name"], row["is_deleted"]) == ("REMOVE", True)
    assert (row["orderid"], row["product_name"], row["quantity"], row["price"]) == ("3714", "Charger", 7,
                                                                                    Decimal("19.99"))


def test_keys_only_remove_still_produces_a_row_with_nulls():
    [result] = handler.lambda_handler(load_event("firehose_remove_keys_only.json"), None)["records"]
    row = row_of(result)
    assert result["result"] == "Ok"
    assert row["orderid"] == "3714" and row["is_deleted"] is True
    assert (row["product_name"], row["quantity"], row["price"]) == (None, None, None)


def test_insert_without_new_image_fails_and_says_the_view_type_is_wrong(capsys):
    result = transform_one(stream_record("INSERT", view="KEYS_ONLY"))
    assert result["result"] == "ProcessingFailed"
    assert "stream view type" in capsys.readouterr().out


@pytest.mark.parametrize("event_file", ["firehose_insert_charger.json", "firehose_modify.json",
                                        "firehose_remove.json", "firehose_remove_keys_only.json"])
def test_every_line_is_one_json_object_ending_in_newline(event_file):
    [result] = handler.lambda_handler(load_event(event_file), None)["records"]
    line = line_of(result)
    assert line.endswith("}\n") and line.count("\n") == 1


@pytest.mark.parametrize("price", ["19.99", "0.3", "190.07", "1234567890.123456789", "-0.01", "7"])
def test_price_is_written_as_an_exact_json_number(price):
    line = line_of(transform_one(stream_record(new_image=order_image(price=price))))
    assert f'"price":{price},' in line
    assert row_of({"data": as_data(line.encode())})["price"] == Decimal(price)


def test_price_in_exponent_notation_is_written_in_plain_digits():
    line = line_of(transform_one(stream_record(new_image=order_image(price="1.9007E+2"))))
    assert '"price":190.07,' in line


def test_missing_attributes_become_null():
    result = transform_one(stream_record(new_image={"orderid": {"S": "3714"}}))
    assert result["result"] == "Ok"
    assert row_of(result)["product_name"] is None and row_of(result)["price"] is None


def test_charger_line_is_compact_json_with_the_columns_in_table_order():
    [result] = handler.lambda_handler(load_event("firehose_insert_charger.json"), None)["records"]
    assert line_of(result) == (
        '{"orderid":"3714","product_name":"Charger","quantity":5,"price":190.07,"event_name":"INSERT",'
        '"is_deleted":false,"event_time":"2026-11-22T07:13:45Z","sequence_number":"100000000000000000001",'
        '"event_id":"9f2c6a1e0d8b4f7e8a3c5b1d2e4f6a8b"}\n')


@pytest.mark.parametrize("text", ['Sam\'s "Best" Charger', "back\\slash\\", "Café ☕ 充電器 \U0001F50C",
                                  "tab\tnew\nline\x00", "</script>\u2028"])
def test_strings_with_quotes_backslashes_and_unicode_come_back_unchanged(text):
    record = stream_record(new_image=order_image(orderid=text, product_name=text))
    record["eventID"] = record["dynamodb"]["SequenceNumber"] = text
    result = transform_one(record)
    row = row_of(result)
    assert (row["orderid"], row["product_name"], row["sequence_number"], row["event_id"]) == (text,) * 4
    assert line_of(result).isascii() and line_of(result).count("\n") == 1


@pytest.mark.parametrize("quantity, written", [("5", "5"), ("5.0", "5"), ("5E+1", "50"), ("-3", "-3"),
                                               ("007", "7"), ("0", "0"), ("-0", "0")])
def test_quantity_is_written_as_a_json_integer(quantity, written):
    line = line_of(transform_one(stream_record(new_image=order_image(quantity=quantity))))
    assert f'"quantity":{written},' in line


@pytest.mark.parametrize("price, written", [("1E+2", "100"), ("1E-7", "0.0000001"), ("-1.5E-3", "-0.0015")])
def test_price_with_an_exponent_is_written_in_plain_digits(price, written):
    line = line_of(transform_one(stream_record(new_image=order_image(price=price))))
    assert f'"price":{written},' in line
    assert row_of({"data": as_data(line.encode())})["price"] == Decimal(price)


# --- event time and partition keys -------------------------------------------------------------------------------

def test_partition_keys_are_the_zero_padded_utc_hour_of_the_event():
    # 2026-01-05T03:04:05Z: every field has a leading zero to keep.
    result = transform_one(stream_record(new_image=order_image(), seconds=1767582245.0))
    assert result["metadata"] == {"partitionKeys": {"year": "2026", "month": "01", "day": "05", "hour": "03"}}
    assert row_of(result)["event_time"] == "2026-01-05T03:04:05Z"


def test_event_time_keeps_sub_second_precision():
    result = transform_one(stream_record(new_image=order_image(), seconds=CHARGER_TIME + 0.25))
    assert row_of(result)["event_time"] == "2026-11-22T07:13:45.25Z"


def test_event_time_accepts_integer_epoch_seconds():
    result = transform_one(stream_record(new_image=order_image(), seconds=int(CHARGER_TIME)))
    assert row_of(result)["event_time"] == "2026-11-22T07:13:45Z"


def test_changing_one_batch_s_results_does_not_change_the_next_batch():
    """Results of one second share a cached metadata object, and the cache is emptied for every batch."""
    event = firehose_event(as_data(stream_record(new_image=order_image())), as_data(stream_record(new_image=order_image())))
    first, second = handler.lambda_handler(event, None)["records"]
    assert first["metadata"] == second["metadata"] == {
        "partitionKeys": {"year": "2026", "month": "11", "day": "22", "hour": "07"}}
    first["metadata"]["partitionKeys"]["hour"] = "changed"
    assert transform_one(stream_record(new_image=order_image()))["metadata"]["partitionKeys"]["hour"] == "07"


# --- failures ----------------------------------------------------------------------------------------------------

def test_mixed_batch_fails_only_bad_records_and_keeps_their_original_data():
    event = load_event("firehose_mixed_bad.json")
    results = handler.lambda_handler(event, None)["records"]
    assert [r["recordId"] for r in results] == [r["recordId"] for r in event["records"]]
    assert [r["result"] for r in results] == ["Ok", "ProcessingFailed", "ProcessingFailed", "ProcessingFailed",
                                              "ProcessingFailed", "Ok"]
    for original, result in zip(event["records"], results):
        if result["result"] == "ProcessingFailed":
            assert result["data"] == original["data"] and "metadata" not in result
    assert row_of(results[5])["product_name"] == "Laptop"


def test_record_from_another_tables_schema_fails_with_original_data(capsys):
    customer = stream_record(keys={"customerid": {"S": "C-17"}}, new_image={"customerid": {"S": "C-17"}})
    data = as_data(customer)
    [result] = handler.lambda_handler(firehose_event(data), None)["records"]
    assert (result["result"], result["data"]) == ("ProcessingFailed", data)
    assert "no orderid: 1" in capsys.readouterr().out


@pytest.mark.parametrize("data", [as_data(b"order 3714: 5 x Charger"), as_data(b"\xff\xfe garbage"),
                                  as_data(b""), as_data(b'{"eventName": "INSERT"} trailing'),
                                  as_data(b"[" * 100_000 + b"]" * 100_000)],
                         ids=["text", "not-utf8", "empty", "trailing-data", "nested-too-deep"])
def test_non_json_data_fails_with_original_data(data):
    [result] = handler.lambda_handler(firehose_event(data), None)["records"]
    assert (result["result"], result["data"]) == ("ProcessingFailed", data)


@pytest.mark.parametrize("data", ["not*base64!", "eyJh", "é"], ids=["bad-characters", "bad-length", "non-ascii"])
def test_invalid_base64_fails_with_original_data(data):
    [result] = handler.lambda_handler(firehose_event(data), None)["records"]
    assert (result["result"], result["data"]) == ("ProcessingFailed", data)


@pytest.mark.parametrize("image, reason", [
    (order_image(quantity="5.5"), "quantity is not a whole number"),
    ({**order_image(), "price": {"S": "cheap"}}, "price is not a number"),
    ({**order_image(), "orderid": {"N": "3714"}}, "orderid is not a string"),
    ({**order_image(), "price": {"N": "1" * 40}}, "price is not DynamoDB JSON"),
    ({**order_image(), "product_name": {"B": "AAEC"}}, "product_name is not DynamoDB JSON"),
    ({**order_image(), "quantity": "5"}, "quantity is not DynamoDB JSON"),
])
def test_attribute_of_the_wrong_type_fails_with_its_reason(image, reason, capsys):
    assert transform_one(stream_record(new_image=image))["result"] == "ProcessingFailed"
    assert f"{reason}: 1" in capsys.readouterr().out


@pytest.mark.parametrize("image, reason", [
    (order_image(quantity="NaN"), "quantity is not a whole number"),
    (order_image(quantity="Infinity"), "quantity is not a whole number"),
    ({**order_image(), "quantity": {"S": "5"}}, "quantity is not a whole number"),
    (order_image(price="NaN"), "price is not a number"),
    (order_image(price="-Infinity"), "price is not a number"),
])
def test_number_that_is_not_finite_or_not_a_number_fails_with_its_reason(image, reason, capsys):
    assert transform_one(stream_record(new_image=image))["result"] == "ProcessingFailed"
    assert f"{reason}: 1" in capsys.readouterr().out


@pytest.mark.parametrize("payload", [[1, 2], {"eventName": "UPSERT"}, {**stream_record(), "dynamodb": "x"},
                                     {**stream_record(), "eventID": 7},
                                     stream_record(new_image=order_image(), seconds="2026-11-22")],
                         ids=["list", "unknown-event", "dynamodb-not-object", "event-id-not-string", "time-text"])
def test_json_that_is_not_a_stream_record_fails(payload):
    assert transform_one(payload)["result"] == "ProcessingFailed"


def test_event_time_out_of_range_fails():
    assert transform_one(stream_record(new_image=order_image(), seconds=1e20))["result"] == "ProcessingFailed"


def test_empty_batch_returns_no_records():
    assert handler.lambda_handler(firehose_event(), None) == {"records": []}


def test_bad_records_among_good_ones_fail_alone_and_shift_no_line():
    """A bad record goes down the checked path and fails; its neighbours keep their own lines, in order."""
    count = 19
    datas = [as_data(stream_record(new_image=order_image(orderid=str(1000 + index)))) for index in range(count)]
    bad = {8: "not*base64!", 9: as_data(b"order 1009"), count - 1: None}
    for index, data in bad.items():
        datas[index] = data
    event = firehose_event(*datas)
    del event["records"][count - 1]["data"]  # a record without data at all
    results = handler.lambda_handler(event, None)["records"]
    assert [r["recordId"] for r in results] == [r["recordId"] for r in event["records"]]
    for index, result in enumerate(results):
        if index in bad:
            assert (result["result"], result["data"]) == ("ProcessingFailed", bad[index])
        else:
            assert row_of(result)["orderid"] == str(1000 + index)


@pytest.mark.parametrize("payloads", [
    [b'{"a":1},{"b":2}'],
    [b"1,2"],
    [b"1],[2"],
    [b'{"x":"}', b'{","z":1},{}'],  # each begins with { and ends with }; joined with "," they parse as two objects
    [b'{"a":[{}', b'{}]},{}'],
], ids=["two-objects", "two-numbers", "array-breakout", "string-spanning-two-records", "bracket-spanning"])
def test_payloads_that_are_not_one_json_value_fail_alone(payloads, capsys):
    """Each record is parsed on its own: payloads that would merge or split in a joined JSON array shift no line."""
    good = [as_data(stream_record(new_image=order_image(orderid=f"good-{index}")))
            for index in range(len(payloads) + 1)]
    datas = [good[0]]
    for payload, next_good in zip(payloads, good[1:]):
        datas += [as_data(payload), next_good]
    results = handler.lambda_handler(firehose_event(*datas), None)["records"]
    assert [r["result"] for r in results] == ["Ok", "ProcessingFailed"] * len(payloads) + ["Ok"]
    assert [row_of(r)["orderid"] for r in results[::2]] == [f"good-{index}" for index in range(len(good))]
    assert f"data is not UTF-8 JSON: {len(payloads)}" in capsys.readouterr().out


def test_batch_logs_one_line_with_counts_per_reason(capsys):
    handler.lambda_handler(load_event("firehose_mixed_bad.json"), None)
    output = capsys.readouterr().out
    assert output.count("\n") == 1
    assert output.startswith("transformed 6 records: 2 ok, 4 failed (")
    assert "data is not UTF-8 JSON: 2" in output and "no orderid: 1" in output and "data is not base64: 1" in output


# --- fuzz --------------------------------------------------------------------------------------------------------

dynamodb_values = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(max_size=10)),
    st.builds(lambda n: {"N": n}, st.one_of(st.from_regex(r"-?[0-9]{1,5}(\.[0-9]{1,3})?", fullmatch=True),
                                            st.text(max_size=6))),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.dictionaries(st.sampled_from(["S", "N", "M", "L", "B", "SS", "X"]), st.integers() | st.text(max_size=3),
                    max_size=2),
)
order_images = st.fixed_dictionaries(
    {"orderid": st.builds(lambda s: {"S": s}, st.text(max_size=6))},
    optional={name: dynamodb_values for name in ("product_name", "quantity", "price", "other")})
images = order_images | st.dictionaries(st.sampled_from(["orderid", "product_name", "price", "other"]),
                                        dynamodb_values)
json_values = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                       max_size=3), max_leaves=8)
partial_stream_records = st.builds(
    lambda name, new, old, seconds, drop: {key: value for key, value in stream_record(
        name, new_image=new, old_image=old, seconds=seconds).items() if key != drop},
    st.sampled_from(["INSERT", "MODIFY", "REMOVE", "OTHER"]), st.none() | images, st.none() | images,
    st.floats(0, 4e9) | st.floats() | st.integers() | st.text(max_size=3),
    st.sampled_from([None, None, None, "eventID", "dynamodb", "eventName"]),
)
record_datas = st.one_of(
    st.binary(max_size=40).map(as_data),
    st.text(max_size=40),
    json_values.map(lambda value: as_data(json.dumps(value).encode())),
    partial_stream_records.map(as_data),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(record_datas, max_size=20))
def test_arbitrary_records_never_raise_and_keep_every_record_id_in_order(datas):
    event = firehose_event(*datas)
    results = handler.lambda_handler(event, None)["records"]
    assert [r["recordId"] for r in results] == [r["recordId"] for r in event["records"]]
    for original, result in zip(event["records"], results):
        assert result["result"] in ("Ok", "ProcessingFailed")
        if result["result"] == "ProcessingFailed":
            assert result["data"] == original["data"]
        else:
            assert line_of(result).endswith("\n") and isinstance(row_of(result)["orderid"], str)


# Records close to the usual shape: most attributes of the usual type, some of another or of two types at once.
numbers = st.from_regex(r"[0-9]{1,5}(\.[0-9]{1,3})?", fullmatch=True) | st.sampled_from(["1E+2", "NaN", "-0", "5.0"])
two_typed = st.dictionaries(st.sampled_from(["S", "N"]), numbers, min_size=2, max_size=2)


def mostly(usual, *others):
    """Seven times in eight the usual value, else one of the others (st.one_of would pick each branch alike)."""
    return st.tuples(st.sampled_from([True] * 7 + [False]), usual, st.one_of(*others)).map(
        lambda choice: choice[1] if choice[0] else choice[2])


unusual_values = dynamodb_values | two_typed | st.builds(lambda n: {"N": n}, numbers)
near_usual_images = st.fixed_dictionaries({
    "orderid": mostly(st.builds(lambda s: {"S": s}, st.text(max_size=6)), unusual_values),
    "product_name": mostly(st.builds(lambda s: {"S": s}, st.text(max_size=6)), unusual_values),
    "quantity": mostly(st.builds(lambda n: {"N": str(n)}, st.integers(0, 999)), unusual_values),
    "price": mostly(st.builds(lambda n: {"N": n}, numbers.filter(lambda n: n[0].isdigit())), unusual_values),
})


def near_usual(event_name="INSERT", image=None, seconds=CHARGER_TIME, space=""):
    """Record data with the same image as new and old image, and `space` before the JSON."""
    image = image or order_image()
    record = stream_record(event_name, new_image=image, old_image=image, seconds=seconds)
    return as_data(space.encode() + json.dumps(record).encode())


near_usual_records = st.builds(
    near_usual,
    mostly(st.sampled_from(["INSERT", "MODIFY", "REMOVE"]), st.just("OTHER")), near_usual_images,
    mostly(st.floats(0, 4e9) | st.integers(0, 4 * 10**9), st.booleans(), st.just("1795331625"), st.just(1e20)),
    mostly(st.just(""), st.just(" ")),
)


@settings(max_examples=400, deadline=None)
@given(near_usual_records | record_datas)
@example(near_usual(seconds=True))
@example(near_usual(space=" "))
@example(near_usual("OTHER"))
@example(near_usual(image={**order_image(), "orderid": {"N": "1", "S": "1"}}))
@example(near_usual(image={**order_image(), "product_name": {"N": "1", "S": "x"}}))
@example(near_usual(image={**order_image(), "quantity": {"S": "x", "N": "1"}}))
@example(near_usual(image={**order_image(), "price": {"S": "x", "N": "1"}}))
@example(near_usual(image=order_image(quantity="5.0")))
@example(near_usual(image=order_image(price="1E+2")))
@example(near_usual(image=order_image(price="NaN")))
@example(as_data(json.dumps(stream_record(new_image=order_image())).encode() + b"[]"))
def test_the_usual_path_gives_the_checked_path_s_line_or_leaves_the_record_to_it(data):
    """usual_change reads a record without checks of its own; whenever it gives a line, transform gives the same."""
    try:
        usual = handler.usual_change(data)
    except handler.NOT_USUAL:
        return
    assert usual == handler.transform(base64.b64decode(data))


@pytest.mark.parametrize("record", [
    stream_record(new_image=order_image()),
    stream_record("MODIFY", new_image=order_image(quantity="2"), old_image=order_image()),
    stream_record("REMOVE", old_image=order_image(price="-0.50")),
    stream_record(new_image=order_image(orderid="ü\"\\", product_name="Café ☕"), seconds=1795331625),
], ids=["insert", "modify", "remove", "escaped-text-and-whole-seconds"])
def test_a_pipe_s_change_records_take_the_usual_path(record):
    """The fast path must take what a Pipe writes, or every record would pay for both paths."""
    data = as_data(record)
    assert handler.usual_change(data) == handler.transform(base64.b64decode(data))


@settings(max_examples=300, deadline=None)
@given(dynamodb_values | st.builds(lambda n: {"N": n}, st.sampled_from(["1E+2", "NaN", "-Infinity", "1" * 40, "x"])))
def test_attribute_is_decoded_as_type_deserializer_decodes_it(value):
    """The handler calls TypeDeserializer's method for {"S": ...} and {"N": ...} directly: same value, same errors."""
    try:
        expected = TypeDeserializer().deserialize(value)
    except (TypeError, AttributeError, ArithmeticError):
        with pytest.raises(handler.RecordRejected, match="is not DynamoDB JSON"):
            handler._attribute({"price": value}, "price")
    else:
        decoded = handler._attribute({"price": value}, "price")
        assert type(decoded) is type(expected) and repr(decoded) == repr(expected)


def test_handler_imports_only_the_standard_library_and_boto3():
    """The Lambda runtime has nothing else: importing the kit or a third-party package would fail when deployed."""
    tree = ast.parse(HANDLER_FILE.read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    top_level = {name.split(".")[0] for name in imported}
    assert top_level - set(sys.stdlib_module_names) - {"boto3"} == set()
