"""How fast is localcloud's Athena on a course-sized change log, compared with reading it into pandas?

Writes 1,000,000 CDC events as JSON lines (the Firehose transform's format) into 100 hourly folders of a
localcloud bucket, with a Glue table and its partitions, then times a revenue-by-product aggregate:

- through Athena, end to end: boto3 start_query_execution, get_query_execution polled every 5 ms, then
  get_query_results. The first run includes copying and decoding the objects; later runs use the cache;
- the baseline: awswrangler.s3.read_json(lines=True) of the same objects, then a pandas groupby.

Both answers are checked against each other. Goals: under 1 s end to end, and at least 10x the baseline.
Run:  .venv/bin/python bench/athena.py
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
import uuid

import awswrangler as wr
import boto3

from localcloud.server import LocalCloud

EVENTS = 1_000_000
OBJECTS = 100
REPETITIONS = 7
PRODUCTS = ["Laptop", "Phone", "Tablet", "Headphones", "Charger", "Monitor", "Keyboard", "Mouse", "Smartwatch",
            "Camera"]
COLUMNS = [("orderid", "string"), ("product_name", "string"), ("quantity", "int"), ("price", "double"),
           ("event_name", "string"), ("is_deleted", "boolean"), ("event_time", "string"),
           ("sequence_number", "string"), ("event_id", "string")]
REVENUE_SQL = ("SELECT product_name, sum(quantity * price) AS revenue FROM orders "
               "GROUP BY product_name ORDER BY revenue DESC")
ONE_DAY_SQL = REVENUE_SQL.replace("GROUP BY", "WHERE partition_2 = '02' GROUP BY")


def event_lines(first: int, count: int, hour: int, rng: random.Random) -> bytes:
    """JSON lines as the course's Firehose transform writes them."""
    day, hour_of_day = divmod(hour, 24)
    lines = []
    for number in range(first, first + count):
        name = rng.choices(("INSERT", "MODIFY", "REMOVE"), (7, 2, 1))[0]
        lines.append(
            f'{{"orderid":"{number // 2}","product_name":"{rng.choice(PRODUCTS)}","quantity":{rng.randint(1, 5)},'
            f'"price":{rng.randint(999, 249_999) / 100:.2f},"event_name":"{name}",'
            f'"is_deleted":{"true" if name == "REMOVE" else "false"},'
            f'"event_time":"2026-11-{day + 1:02d}T{hour_of_day:02d}:{number % 60:02d}:07Z",'
            f'"sequence_number":"{10**20 + number}","event_id":"{uuid.UUID(int=rng.getrandbits(128)).hex}"}}\n')
    return "".join(lines).encode()


def load(session: boto3.Session, bucket: str, database: str) -> int:
    """The change log in S3 and Glue; returns its size in bytes."""
    s3, glue = session.client("s3"), session.client("glue")
    s3.create_bucket(Bucket=bucket)
    rng = random.Random(2026)
    per_object = EVENTS // OBJECTS
    total = 0
    partitions = []
    descriptor = {"Columns": [{"Name": n, "Type": t} for n, t in COLUMNS], "Location": f"s3://{bucket}/orders/",
                  "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"}}
    for hour in range(OBJECTS):
        day, hour_of_day = divmod(hour, 24)
        folder = f"orders/2026/11/{day + 1:02d}/{hour_of_day:02d}/"
        body = event_lines(hour * per_object, per_object, hour, rng)
        s3.put_object(Bucket=bucket, Key=f"{folder}orders-to-s3-1-{hour:03d}", Body=body)
        total += len(body)
        partitions.append({"Values": ["2026", "11", f"{day + 1:02d}", f"{hour_of_day:02d}"],
                           "StorageDescriptor": {**descriptor, "Location": f"s3://{bucket}/{folder}"}})
    glue.create_database(DatabaseInput={"Name": database})
    glue.create_table(DatabaseName=database, TableInput={
        "Name": "orders", "TableType": "EXTERNAL_TABLE", "StorageDescriptor": descriptor,
        "PartitionKeys": [{"Name": f"partition_{i}", "Type": "string"} for i in range(4)]})
    glue.batch_create_partition(DatabaseName=database, TableName="orders", PartitionInputList=partitions)
    return total


def athena_query(athena, sql: str, database: str, output: str) -> tuple[float, dict[str, float], int]:
    """(seconds end to end, revenue by product, bytes scanned) for one query through the Athena API."""
    started = time.perf_counter()
    query_id = athena.start_query_execution(QueryString=sql, QueryExecutionContext={"Database": database},
                                            ResultConfiguration={"OutputLocation": output})["QueryExecutionId"]
    while True:
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        if execution["Status"]["State"] not in ("QUEUED", "RUNNING"):
            break
        time.sleep(0.005)
    if execution["Status"]["State"] != "SUCCEEDED":
        raise RuntimeError(f"the query failed: {execution['Status'].get('StateChangeReason')}")
    rows = athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]["Rows"][1:]
    elapsed = time.perf_counter() - started
    revenue = {row["Data"][0]["VarCharValue"]: float(row["Data"][1]["VarCharValue"]) for row in rows}
    return elapsed, revenue, execution["Statistics"]["DataScannedInBytes"]


def pandas_baseline(session: boto3.Session, bucket: str) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    frame = wr.s3.read_json(f"s3://{bucket}/orders/", lines=True, boto3_session=session)
    revenue = (frame.quantity * frame.price).groupby(frame.product_name).sum()
    return time.perf_counter() - started, revenue.to_dict()


def same_answer(left: dict[str, float], right: dict[str, float]) -> bool:
    return left.keys() == right.keys() and all(abs(left[k] - right[k]) <= 1e-9 * abs(right[k]) for k in left)


def main() -> None:
    with tempfile.TemporaryDirectory() as state, LocalCloud(port=0, state_dir=state) as cloud:
        os.environ.update(cloud.client_environment())
        session = boto3.Session(region_name="us-east-1")
        suffix = uuid.uuid4().hex[:8]
        bucket, database = f"athena-bench-{suffix}", f"bench_{suffix}"
        started = time.perf_counter()
        size = load(session, bucket, database)
        print(f"data: {EVENTS:,} events, {size / 1e6:.0f} MB of JSON lines in {OBJECTS} hourly objects "
              f"(loaded in {time.perf_counter() - started:.1f} s)")

        athena = session.client("athena")
        output = f"s3://{bucket}/athena-results/"
        cold, revenue, scanned = athena_query(athena, REVENUE_SQL, database, output)
        warm = []
        for _ in range(REPETITIONS):
            seconds, answer, _ = athena_query(athena, REVENUE_SQL, database, output)
            assert same_answer(answer, revenue)
            warm.append(seconds)
        pruned_seconds, _, pruned_scanned = athena_query(athena, ONE_DAY_SQL, database, output)
        baseline, expected = pandas_baseline(session, bucket)
        assert same_answer(revenue, expected), "Athena and pandas disagree"

        print(f"athena, first run (copies and decodes the objects): {cold:.3f} s, {scanned / 1e6:.0f} MB scanned")
        print(f"athena, cached, {REPETITIONS} runs: best {min(warm):.3f} s, median {statistics.median(warm):.3f} s")
        print(f"athena, one day of 5 (partition filter): {pruned_seconds:.3f} s, {pruned_scanned / 1e6:.0f} MB scanned")
        print(f"awswrangler s3.read_json + pandas groupby: {baseline:.3f} s")
        print(f"speed ratio (baseline / athena median): {baseline / statistics.median(warm):.1f}x cached, "
              f"{baseline / cold:.1f}x first run; answers agree")


if __name__ == "__main__":
    main()
