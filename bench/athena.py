"""How fast is localcloud's Athena on a course-sized change log, compared with reading it into pandas?

Writes 1,000,000 CDC events as JSON lines (the Firehose transform's format) into 100 hourly folders of a
localcloud bucket, with a Glue table and its partitions, then times two queries the course runs:

- revenue by product over every change;
- the current state of the orders rebuilt from the change log (workshop.runner.CURRENT_STATE_SQL), twice:
  as notebook 08 uses it, the revenue of the current orders by product; and the projection itself, every
  current order, read to the last row from the result CSV with boto3, as awswrangler's ctas_approach=False
  reads it (with pandas.read_csv).

Each is timed through the Athena API, end to end: boto3 start_query_execution, get_query_execution polled
every 5 ms, then the results. The first run of a query over new objects includes copying and decoding them
(each query gets its own copy of the data, so each has a first run); later runs use the decoded rows.
Baseline, in the same run: awswrangler.s3.read_json(lines=True) of the same objects, then the same answer
in pandas. Answers are checked against each other. Goals: under 1 s end to end for the aggregate, at least
10x the baseline. DataScannedInBytes is reported with and without a partition filter.
Run:  .venv/bin/python bench/athena.py
"""

from __future__ import annotations

import io
import os
import random
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import awswrangler as wr
import boto3
import pandas as pd

from localcloud.server import LocalCloud
from workshop.runner import CURRENT_STATE_SQL

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
PROJECTION_SQL = CURRENT_STATE_SQL.format(table="orders")
CURRENT_REVENUE_SQL = (f"SELECT product_name, sum(quantity * price) AS revenue FROM ({PROJECTION_SQL}) "
                       "GROUP BY product_name ORDER BY revenue DESC")


def event_lines(first: int, count: int, hour: int, rng: random.Random) -> bytes:
    """JSON lines as the course's Firehose transform writes them; each order changes twice."""
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


def load(session: boto3.Session, bucket: str) -> int:
    """The change log in S3; returns its size in bytes."""
    s3 = session.client("s3")
    s3.create_bucket(Bucket=bucket)
    rng = random.Random(2026)
    per_object = EVENTS // OBJECTS
    total = 0
    for hour in range(OBJECTS):
        body = event_lines(hour * per_object, per_object, hour, rng)
        s3.put_object(Bucket=bucket, Key=f"{hour_folder(hour)}orders-to-s3-1-{hour:03d}", Body=body)
        total += len(body)
    return total


def hour_folder(hour: int) -> str:
    day, hour_of_day = divmod(hour, 24)
    return f"orders/2026/11/{day + 1:02d}/{hour_of_day:02d}/"


def copy_of(session: boto3.Session, source: str, bucket: str) -> None:
    s3 = session.client("s3")
    s3.create_bucket(Bucket=bucket)
    for item in s3.list_objects_v2(Bucket=source, Prefix="orders/")["Contents"]:
        s3.copy_object(Bucket=bucket, Key=item["Key"], CopySource={"Bucket": source, "Key": item["Key"]})


def register(session: boto3.Session, bucket: str, database: str) -> None:
    """A Glue table over the bucket's orders/, with its hourly partitions, as the crawler makes it."""
    glue = session.client("glue")
    descriptor = {"Columns": [{"Name": n, "Type": t} for n, t in COLUMNS], "Location": f"s3://{bucket}/orders/",
                  "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"}}
    glue.create_database(DatabaseInput={"Name": database})
    glue.create_table(DatabaseName=database, TableInput={
        "Name": "orders", "TableType": "EXTERNAL_TABLE", "StorageDescriptor": descriptor,
        "PartitionKeys": [{"Name": f"partition_{i}", "Type": "string"} for i in range(4)]})
    glue.batch_create_partition(DatabaseName=database, TableName="orders", PartitionInputList=[
        {"Values": hour_folder(hour).rstrip("/").split("/")[1:],
         "StorageDescriptor": {**descriptor, "Location": f"s3://{bucket}/{hour_folder(hour)}"}}
        for hour in range(OBJECTS)])


@dataclass
class Answer:
    seconds: float
    rows: list[list[str]] | pd.DataFrame  # from GetQueryResults, or the result CSV as pandas read it
    scanned: int

    def as_lists(self) -> list[list[str]]:
        return self.rows.values.tolist() if isinstance(self.rows, pd.DataFrame) else self.rows


def athena_query(session: boto3.Session, sql: str, database: str, output: str, via_csv: bool) -> Answer:
    """One query through the Athena API; its rows from GetQueryResults, or from the result CSV in S3."""
    athena = session.client("athena")
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
    if via_csv:
        bucket, _, key = execution["ResultConfiguration"]["OutputLocation"][len("s3://"):].partition("/")
        body = session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        rows = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False)  # the last row is in: time stops
    else:
        rows = [[cell.get("VarCharValue", "") for cell in row["Data"]]
                for row in athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]["Rows"][1:]]
    return Answer(time.perf_counter() - started, rows, execution["Statistics"]["DataScannedInBytes"])


def revenue_of(rows: list[list[str]]) -> dict[str, float]:
    return {product: float(revenue) for product, revenue in rows}


def current_state_of(rows: list[list[str]]) -> dict[str, tuple[str, int, float]]:
    return {orderid: (product, int(quantity), float(price)) for orderid, product, quantity, price in rows}


def pandas_revenue(frame: pd.DataFrame) -> dict[str, float]:
    return (frame.quantity * frame.price).groupby(frame.product_name).sum().to_dict()


def pandas_current_revenue(frame: pd.DataFrame) -> dict[str, float]:
    current = pandas_current_state(frame).values()
    revenue: dict[str, float] = {}
    for product, quantity, price in current:
        revenue[product] = revenue.get(product, 0.0) + quantity * price
    return revenue


def pandas_current_state(frame: pd.DataFrame) -> dict[str, tuple[str, int, float]]:
    """Each order's newest change (sequence numbers compare by length, then by value), deletes left out."""
    ordered = frame.assign(length=frame.sequence_number.str.len()).sort_values(["length", "sequence_number"])
    newest = ordered.drop_duplicates("orderid", keep="last")
    current = newest[~newest.is_deleted]
    return {str(o): (p, int(q), float(v)) for o, p, q, v in zip(current.orderid, current.product_name,
                                                                   current.quantity, current.price)}


def same_revenue(left: dict[str, float], right: dict[str, float]) -> bool:
    return left.keys() == right.keys() and all(abs(left[k] - right[k]) <= 1e-9 * abs(right[k]) for k in left)


def same_state(left: dict[str, tuple], right: dict[str, tuple]) -> bool:
    return left.keys() == right.keys() and all(
        left[k][:2] == right[k][:2] and abs(left[k][2] - right[k][2]) < 1e-9 for k in left)


@dataclass
class QueryBench:
    name: str
    sql: str
    via_csv: bool
    answer: Callable[[list[list[str]]], Any]
    pandas: Callable[[pd.DataFrame], Any]
    same: Callable[[Any, Any], bool]


QUERIES = [
    QueryBench("revenue by product", REVENUE_SQL, False, revenue_of, pandas_revenue, same_revenue),
    QueryBench("revenue of the current orders (notebook 08)", CURRENT_REVENUE_SQL, False, revenue_of,
               pandas_current_revenue, same_revenue),
    QueryBench("current state (every current order, CSV read to the last row)", PROJECTION_SQL, True,
               current_state_of, pandas_current_state, same_state),
]


def pandas_baseline(session: boto3.Session, bucket: str, query: QueryBench) -> tuple[float, Any]:
    started = time.perf_counter()
    frame = wr.s3.read_json(f"s3://{bucket}/orders/", lines=True, boto3_session=session,
                            dtype={"orderid": str, "sequence_number": str})
    answer = query.pandas(frame)
    return time.perf_counter() - started, answer


def main() -> None:
    with tempfile.TemporaryDirectory() as state, LocalCloud(port=0, state_dir=state) as cloud:
        os.environ.update(cloud.client_environment())
        session = boto3.Session(region_name="us-east-1")
        suffix = uuid.uuid4().hex[:8]
        started = time.perf_counter()
        first_bucket = f"athena-bench-{suffix}-0"
        size = load(session, first_bucket)
        buckets = [first_bucket] + [f"athena-bench-{suffix}-{n}" for n in range(1, len(QUERIES))]
        for bucket in buckets[1:]:
            copy_of(session, first_bucket, bucket)
        databases = [f"bench_{suffix}_{n}" for n in range(len(QUERIES))]
        for bucket, database in zip(buckets, databases):
            register(session, bucket, database)
        print(f"data: {EVENTS:,} events, {size / 1e6:.0f} MB of JSON lines in {OBJECTS} hourly objects, one copy per "
              f"query (loaded in {time.perf_counter() - started:.1f} s)")

        lines = []
        for query, bucket, database in zip(QUERIES, buckets, databases):
            output = f"s3://{bucket}/athena-results/"
            cold = athena_query(session, query.sql, database, output, query.via_csv)
            warm = [athena_query(session, query.sql, database, output, query.via_csv) for _ in range(REPETITIONS)]
            baseline, expected = pandas_baseline(session, bucket, query)
            answers = [query.answer(run.as_lists()) for run in [cold, *warm]]
            assert all(query.same(answer, expected) for answer in answers), f"{query.name}: Athena and pandas disagree"
            median = statistics.median(run.seconds for run in warm)
            lines += [f"{query.name}: {len(cold.rows):,} rows, {cold.scanned / 1e6:.0f} MB scanned; answers agree",
                      f"  athena first run (copies and decodes the objects): {cold.seconds:.3f} s",
                      f"  athena later runs, {REPETITIONS}: best {min(r.seconds for r in warm):.3f} s, median "
                      f"{median:.3f} s",
                      f"  awswrangler s3.read_json + pandas: {baseline:.3f} s",
                      f"  speed ratio (pandas / athena): {baseline / cold.seconds:.1f}x first run, "
                      f"{baseline / median:.1f}x later runs"]
        pruned = athena_query(session, ONE_DAY_SQL, databases[0], f"s3://{buckets[0]}/athena-results/", False)
        full = athena_query(session, REVENUE_SQL, databases[0], f"s3://{buckets[0]}/athena-results/", False)
        lines.append(f"DataScannedInBytes: {full.scanned:,} without a filter, {pruned.scanned:,} with "
                     f"partition_2 = '02' (one day of 5): {pruned.scanned / full.scanned:.0%}")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
