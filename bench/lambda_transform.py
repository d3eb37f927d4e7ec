"""How fast is the Firehose transform Lambda, compared with the handler a typical tutorial writes?

Builds one Firehose batch of 20,000 Kinesis records, each holding a DynamoDB change record as an EventBridge Pipe
writes it (60% INSERT, 30% MODIFY, 10% REMOVE, NEW_AND_OLD_IMAGES, about 100 changes a second), and times
lambda_src/firehose_transform/handler.py and bench/naive_transform.py on it, alternating, several times.
The course's handler does more: exact decimal prices, newline-terminated lines, partition keys, validation and
per-record failure handling. Run:  .venv/bin/python bench/lambda_transform.py
"""

from __future__ import annotations

import base64
import contextlib
import gc
import importlib.util
import io
import json
import random
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BATCH_SIZE = 20_000
REPETITIONS = 9
CHANGES_PER_SECOND = 100
START = datetime(2026, 11, 22, 7, 13, 45, tzinfo=timezone.utc).timestamp()
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/learner-orders/stream/2026-11-22T07:00:00.000"
PRODUCTS = ["Charger", "Laptop", "Headphones", "Monitor", "Keyboard", "Mouse", "Webcam", "USB-C Cable", "Tablet"]


def load_module(path: Path):
    """Import a handler file as Lambda does: by its file, not as part of a package."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def item_image(orderid: str, rng: random.Random) -> dict:
    return {
        "orderid": {"S": orderid},
        "product_name": {"S": rng.choice(PRODUCTS)},
        "quantity": {"N": str(rng.randint(1, 10))},
        "price": {"N": f"{rng.randint(199, 199_999) / 100:.2f}"},
    }


def stream_records(count: int, rng: random.Random) -> list[dict]:
    """Pipes-format DynamoDB change records: orders are created, then some are updated or deleted."""
    images: dict[str, dict] = {}
    records = []
    for index in range(count):
        roll = rng.random()
        if roll < 0.6 or len(images) < 10:
            event_name, orderid = "INSERT", str(1000 + index)
            old_image, new_image = None, item_image(orderid, rng)
        else:
            orderid = rng.choice(list(images))
            old_image = images[orderid]
            event_name = "MODIFY" if roll < 0.9 else "REMOVE"
            new_image = {**old_image, "quantity": {"N": str(rng.randint(1, 10))}} if event_name == "MODIFY" else None
        if new_image is None:
            images.pop(orderid)
        else:
            images[orderid] = new_image
        change = {
            "ApproximateCreationDateTime": float(int(START + index / CHANGES_PER_SECOND)),
            "Keys": {"orderid": {"S": orderid}},
            "SequenceNumber": str(10**20 + index * 100),
            "SizeBytes": 120,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        if new_image is not None:
            change["NewImage"] = new_image
        if old_image is not None:
            change["OldImage"] = old_image
        records.append(
            {
                "eventID": f"{rng.getrandbits(128):032x}",
                "eventName": event_name,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": change,
                "eventSourceARN": STREAM_ARN,
            }
        )
    return records


def firehose_event(records: list[dict]) -> dict:
    arrival_ms = int(START * 1000)
    return {
        "invocationId": "00540a87-5050-496a-84e4-e7d92bbaf5e2",
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/learner-orders-to-s3",
        "sourceKinesisStreamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/learner-orders-cdc",
        "region": "us-east-1",
        "records": [
            {
                "recordId": f"{index:056d}",
                "approximateArrivalTimestamp": arrival_ms,
                "data": base64.b64encode(json.dumps(record).encode()).decode(),
                "kinesisRecordMetadata": {
                    "shardId": "shardId-000000000000",
                    "partitionKey": record["dynamodb"]["Keys"]["orderid"]["S"],
                    "approximateArrivalTimestamp": arrival_ms,
                    "sequenceNumber": f"{index:056d}",
                    "subsequenceNumber": 0,
                },
            }
            for index, record in enumerate(records)
        ],
    }


def decode_only(event: dict, context: object) -> None:
    """The part of the job every handler must do: base64 and JSON decoding of the input. It bounds any speed-up."""
    for record in event["records"]:
        json.loads(base64.b64decode(record["data"]).decode())


def seconds_to_run(handler, event: dict, before=lambda: None) -> tuple[float, dict]:
    """Wall time of one invocation, from a collected heap; its one log line is kept out of the benchmark output."""
    before()
    gc.collect()
    with contextlib.redirect_stdout(io.StringIO()):
        started = time.perf_counter()
        response = handler(event, None)
        elapsed = time.perf_counter() - started
    return elapsed, response


def check_same_rows(real: dict, naive: dict) -> None:
    """Both handlers must have done the same job, or the timing means nothing.

    Every field must agree; the naive handler writes the time as isoformat() ("+00:00", not "Z"), so times are
    compared as instants.
    """
    assert len(real["records"]) == len(naive["records"]) == BATCH_SIZE
    assert all(result["result"] == "Ok" for result in real["records"])
    for ours, theirs in zip(real["records"], naive["records"]):
        assert ours["recordId"] == theirs["recordId"]
        row = json.loads(base64.b64decode(ours["data"]))
        expected = json.loads(base64.b64decode(theirs["data"]))
        assert datetime.fromisoformat(row.pop("event_time")) == datetime.fromisoformat(expected.pop("event_time"))
        assert row == expected, (row, expected)


def main() -> None:
    handler = load_module(ROOT / "lambda_src" / "firehose_transform" / "handler.py")
    naive = load_module(ROOT / "bench" / "naive_transform.py")
    event = firehose_event(stream_records(BATCH_SIZE, random.Random(42)))
    counts = {name: sum(1 for record in event["records"]
                        if f'"eventName": "{name}"' in base64.b64decode(record["data"]).decode())
              for name in ("INSERT", "MODIFY", "REMOVE")}
    print(f"batch: {BATCH_SIZE} records ({', '.join(f'{n} {c}' for n, c in counts.items())}), "
          f"{len(json.dumps(event)) / 1e6:.1f} MB event, {REPETITIONS} repetitions, alternating")

    real_times, naive_times, decode_times = [], [], []
    for _ in range(REPETITIONS):
        # A cold cache each time: the handler's time-formatting cache does not outlive one batch here.
        real_seconds, real_response = seconds_to_run(handler.lambda_handler, event, handler._event_time_of.cache_clear)
        naive_seconds, naive_response = seconds_to_run(naive.lambda_handler, event)
        real_times.append(real_seconds)
        naive_times.append(naive_seconds)
        decode_times.append(seconds_to_run(decode_only, event)[0])
    check_same_rows(real_response, naive_response)

    for label, times in (("best", min), ("median", statistics.median)):
        real_rate, naive_rate = BATCH_SIZE / times(real_times), BATCH_SIZE / times(naive_times)
        print(f"{label:>6}: handler: {real_rate:,.0f} records/s ({1e6 / real_rate:.1f} µs each), "
              f"naive: {naive_rate:,.0f} records/s ({1e6 / naive_rate:.1f} µs each), "
              f"speed ratio {real_rate / naive_rate:.2f}x")
    decode_rate = BATCH_SIZE / min(decode_times)
    print(f"decoding the input alone (base64 + JSON, best): {decode_rate:,.0f} records/s, "
          f"the ceiling for any handler: {decode_rate / (BATCH_SIZE / min(naive_times)):.2f}x the naive")


if __name__ == "__main__":
    main()
