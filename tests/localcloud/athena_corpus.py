"""Athena queries typical of sales and CDC analysis, each with its answer computed independently in pandas.

The data is a deterministic change log of orders, as the course's Firehose delivers it: one JSON line per
change (orderid, product_name, quantity, price, event_name, is_deleted, event_time, sequence_number,
event_id) under orders/YYYY/MM/DD/HH/, some objects gzip-compressed. Two small tables join to it:
`order_details` (Parquet: tags array, shipping struct, attributes JSON text) and `products` (JSON lines,
a category per product, one product missing).

Each `CorpusQuery` holds Athena SQL and a function computing the expected result from `CorpusData` with
pandas. The engine never computes an expected value.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

PRODUCTS = {"Laptop": (499.0, 2499.0), "Phone": (199.0, 1299.0), "Tablet": (149.0, 999.0),
            "Headphones": (19.99, 399.99), "Charger": (9.99, 59.99), "Monitor": (99.0, 899.0),
            "Keyboard": (14.99, 199.99)}
CATEGORIES = {"Laptop": "computers", "Phone": "mobile", "Tablet": "mobile", "Headphones": "audio",
              "Charger": "accessories", "Monitor": "computers"}  # Keyboard is missing on purpose
START = datetime(2024, 3, 9, 21, 0, tzinfo=timezone.utc)  # the log crosses midnight: two days of folders
HOURS = 20
TAGS = ("gift", "express", "promo", "bulk")


@dataclass
class CorpusData:
    """The generated data, as rows for S3 and as DataFrames for the expected answers."""

    events: pd.DataFrame    # one row per change, plus ts (UTC Timestamp), p0..p3 (folders) and path
    details: pd.DataFrame   # one row per order: tags, shipping_city, shipping_express, attributes
    products: pd.DataFrame  # product_name, category

    def current_state(self) -> pd.DataFrame:
        """The CDC projection: each order's latest change, unless it was a removal."""
        latest = self.events.sort_values("sequence_number").groupby("orderid").tail(1)
        return latest[~latest.is_deleted]


def change_log(orders: int = 300, seed: int = 20240309) -> list[dict]:
    """Inserts, quantity updates and removals of `orders` orders, in time order, as Firehose JSON lines."""
    rnd = random.Random(seed)
    changes = []
    for number in range(orders):
        orderid = f"ord-{number:05d}"
        product = rnd.choice(sorted(PRODUCTS))
        low, high = PRODUCTS[product]
        price = round(rnd.uniform(low, high), 2)
        quantity = rnd.randint(1, 5)
        moment = START + timedelta(seconds=rnd.randrange((HOURS - 4) * 3600))
        changes.append(("INSERT", orderid, product, quantity, price, moment))
        for _ in range(rnd.choice((0, 0, 0, 1, 1, 2))):
            moment += timedelta(seconds=rnd.randrange(60, 3600))
            quantity = rnd.randint(1, 5)
            changes.append(("MODIFY", orderid, product, quantity, price, moment))
        if rnd.random() < 0.12:
            moment += timedelta(seconds=rnd.randrange(60, 3600))
            changes.append(("REMOVE", orderid, product, quantity, price, moment))
    changes.sort(key=lambda change: (change[5], change[1]))
    return [
        {"orderid": orderid, "product_name": product, "quantity": quantity, "price": price,
         "event_name": name, "is_deleted": name == "REMOVE", "event_time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
         "sequence_number": str(10**20 + index * 1_000_003), "event_id": uuid.UUID(int=rnd.getrandbits(128)).hex}
        for index, (name, orderid, product, quantity, price, moment) in enumerate(changes)
    ]


def order_details(events: list[dict], seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    details = []
    for orderid in sorted({event["orderid"] for event in events}):
        channel = rnd.choice(("web", "mobile", "store"))
        attributes = {"channel": channel}
        if channel != "store":
            attributes["device"] = {"os": rnd.choice(("ios", "android", "linux"))}
        details.append({"orderid": orderid, "tags": rnd.sample(TAGS, rnd.randint(0, 3)),
                        "shipping_city": rnd.choice(("Lyon", "Porto", "Oslo")), "shipping_express": rnd.random() < 0.3,
                        "attributes": json.dumps(attributes)})
    return details


def firehose_layout(events: list[dict]) -> dict[str, list[dict]]:
    """Object key -> its events, as Firehose writes them: a folder per event hour, two objects per hour,
    every other hour's second object gzip-compressed (key ending in .gz)."""
    by_hour: dict[str, list[dict]] = {}
    for event in events:
        by_hour.setdefault(event["event_time"][:13], []).append(event)
    layout = {}
    for hour, rows in by_hour.items():
        folder = hour.replace("-", "/").replace("T", "/")
        for part, half in enumerate((rows[: len(rows) // 2], rows[len(rows) // 2:])):
            if half:
                gzipped = part == 1 and int(hour[-2:]) % 2 == 0
                layout[f"orders/{folder}/orders-to-s3-1-{hour.replace('T', '-')}-{part}{'.gz' if gzipped else ''}"] = half
    return layout


def object_body(key: str, rows: list[dict]) -> bytes:
    body = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows).encode()
    return gzip.compress(body) if key.endswith(".gz") else body


def details_parquet(details: list[dict]) -> bytes:
    table = pa.table({
        "orderid": [d["orderid"] for d in details],
        "tags": pa.array([d["tags"] for d in details], type=pa.list_(pa.string())),
        "shipping": pa.array([{"city": d["shipping_city"], "express": d["shipping_express"]} for d in details],
                             type=pa.struct([("city", pa.string()), ("express", pa.bool_())])),
        "attributes": [d["attributes"] for d in details],
    })
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def corpus_data(events: list[dict], details: list[dict], layout: dict[str, list[dict]], bucket: str) -> CorpusData:
    objects = {row["event_id"]: f"s3://{bucket}/{key}" for key, rows in layout.items() for row in rows}
    frame = pd.DataFrame(events)
    frame["ts"] = pd.to_datetime(frame.event_time, utc=True)
    for index, unit in enumerate(("%Y", "%m", "%d", "%H")):
        frame[f"p{index}"] = frame.ts.dt.strftime(unit)
    frame["path"] = frame.event_id.map(objects)
    products = pd.DataFrame({"product_name": list(CATEGORIES), "category": list(CATEGORIES.values())})
    return CorpusData(frame, pd.DataFrame(details), products)


# ---- the queries -----------------------------------------------------------------------------------

@dataclass
class CorpusQuery:
    name: str
    sql: str
    expected: Callable[[CorpusData], pd.DataFrame] | None = None
    ordered: bool = False        # compare rows in order (the query has ORDER BY)
    rel_tol: float = 1e-9        # doubles: sums of many prices differ in the last digits
    error: str | None = None     # the query must fail with this error name


def frame(**columns: list) -> pd.DataFrame:
    return pd.DataFrame(columns)


def counts(series: pd.Series, key: str, value: str = "n") -> pd.DataFrame:
    found = series.value_counts(dropna=False)
    return frame(**{key: [None if pd.isna(k) else k for k in found.index], value: list(found.values)})


def decimal_quotient(numerator: int, denominator: int, places: str) -> Decimal:
    """An exact quotient rounded half up to `places` (e.g. "0.01"), as Trino divides decimals."""
    return (Decimal(int(numerator)) / Decimal(int(denominator))).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _revenue(events: pd.DataFrame) -> pd.Series:
    return (events.quantity * events.price).groupby(events.product_name).sum()


def _unique_max(values: pd.Series, labels: pd.Series) -> str:
    top = values.max()
    assert (values == top).sum() == 1, "the corpus data has a tie: the query's answer is not unique"
    return labels[values.idxmax()]


def _unique_min(values: pd.Series, labels: pd.Series) -> str:
    return _unique_max(-values, labels)


CURRENT_STATE = """
WITH ranked AS (
    SELECT *, row_number() OVER (PARTITION BY orderid ORDER BY sequence_number DESC) AS rn
    FROM orders
)
"""


def _live_revenue_by_channel(d: CorpusData) -> pd.DataFrame:
    live = d.current_state().merge(d.details, on="orderid")
    live["channel"] = live.attributes.map(lambda text: json.loads(text)["channel"])
    revenue = (live.quantity * live.price).groupby(live.channel).sum()
    return frame(channel=list(revenue.index), revenue=list(revenue.values))


def _hourly_running_units(d: CorpusData) -> pd.DataFrame:
    units = d.events.quantity.groupby(d.events.ts.dt.floor("h")).sum().sort_index()
    return frame(hour=list(units.index), units=list(units.values), running=list(units.cumsum().values))


def _revenue_rank(d: CorpusData) -> pd.DataFrame:
    revenue = _revenue(d.events).sort_values(ascending=False)
    return frame(product_name=list(revenue.index), revenue=list(revenue.values),
                 position=list(range(1, len(revenue) + 1)))


def _quantity_changes(d: CorpusData) -> pd.DataFrame:
    ordered = d.events.sort_values("sequence_number")
    previous = ordered.groupby("orderid").quantity.shift()
    return frame(changed=[int((previous.notna() & (previous != ordered.quantity)).sum())])


def _tag_counts(d: CorpusData) -> pd.DataFrame:
    return counts(d.details.tags.explode().dropna(), "tag")


def _orders_without_modify(d: CorpusData) -> pd.DataFrame:
    modified = set(d.events[d.events.event_name == "MODIFY"].orderid)
    return frame(_col0=[len(set(d.events.orderid) - modified)])


def _price_buckets(d: CorpusData) -> pd.DataFrame:
    bucket = d.events.price.map(lambda p: "budget" if p < 100 else ("mid" if p < 1000 else "premium"))
    return counts(bucket, "bucket")


def _rollup(d: CorpusData) -> pd.DataFrame:
    found = counts(d.events.event_name, "event_name")
    return pd.concat([found, frame(event_name=[None], n=[len(d.events)])], ignore_index=True)


def _hours_between(d: CorpusData) -> pd.DataFrame:
    spans = d.events.groupby("orderid").ts.agg(["min", "max", "count"])
    spans = spans[spans["count"] > 1]
    hours = ((spans["max"] - spans["min"]) // pd.Timedelta(hours=1)).astype(int)
    return frame(orderid=list(hours.index), hours=list(hours.values))


def _top_amounts(d: CorpusData) -> pd.DataFrame:
    inserts = d.events[d.events.event_name == "INSERT"].assign(amount=lambda e: e.quantity * e.price)
    top = inserts.nlargest(6, "amount")
    assert top.amount.iloc[4] != top.amount.iloc[5], "the corpus data has a tie at the LIMIT"
    return frame(orderid=list(top.orderid[:5]), amount=list(top.amount[:5]))


CORPUS: list[CorpusQuery] = [
    # -- aggregates
    CorpusQuery("count_all_events", "SELECT count(*) AS events FROM orders",
                lambda d: frame(events=[len(d.events)])),
    CorpusQuery("events_by_type", "SELECT event_name, count(*) AS n FROM orders GROUP BY event_name",
                lambda d: counts(d.events.event_name, "event_name")),
    CorpusQuery("revenue_by_product_of_inserts",
                "SELECT product_name, sum(quantity * price) AS revenue FROM orders WHERE event_name = 'INSERT' "
                "GROUP BY product_name ORDER BY revenue DESC",
                lambda d: (lambda r: frame(product_name=list(r.index), revenue=list(r.values)))(
                    _revenue(d.events[d.events.event_name == "INSERT"]).sort_values(ascending=False)),
                ordered=True),
    CorpusQuery("average_price_per_product", "SELECT product_name, avg(price) AS avg_price FROM orders GROUP BY 1",
                lambda d: (lambda a: frame(product_name=list(a.index), avg_price=list(a.values)))(
                    d.events.groupby("product_name").price.mean())),
    CorpusQuery("price_range_per_product",
                "SELECT product_name, min(price) AS low, max(price) AS high FROM orders GROUP BY product_name",
                lambda d: (lambda g: frame(product_name=list(g.index), low=list(g["min"]), high=list(g["max"])))(
                    d.events.groupby("product_name").price.agg(["min", "max"]))),
    CorpusQuery("distinct_orders", "SELECT count(DISTINCT orderid) AS orders FROM orders",
                lambda d: frame(orders=[d.events.orderid.nunique()])),
    CorpusQuery("approx_distinct_orders", "SELECT approx_distinct(orderid) AS orders FROM orders",
                lambda d: frame(orders=[d.events.orderid.nunique()]), rel_tol=0.05),
    CorpusQuery("count_if_flags",
                "SELECT count_if(is_deleted) AS removed, count_if(event_name = 'MODIFY') AS modified FROM orders",
                lambda d: frame(removed=[int(d.events.is_deleted.sum())],
                                modified=[int((d.events.event_name == "MODIFY").sum())])),
    CorpusQuery("max_by_and_min_by",
                "SELECT max_by(orderid, price) AS priciest, min_by(orderid, quantity * price) AS smallest "
                "FROM orders WHERE event_name = 'INSERT'",
                lambda d: (lambda i: frame(priciest=[_unique_max(i.price, i.orderid)],
                                           smallest=[_unique_min(i.quantity * i.price, i.orderid)]))(
                    d.events[d.events.event_name == "INSERT"])),
    CorpusQuery("busy_products_having",
                "SELECT product_name, count(*) AS n FROM orders GROUP BY product_name HAVING count(*) > 50 "
                "ORDER BY n DESC, product_name",
                lambda d: (lambda c: frame(product_name=list(c.index), n=list(c.values)))(
                    d.events.product_name.value_counts().loc[lambda c: c > 50]
                    .sort_index().sort_values(ascending=False, kind="stable")),
                ordered=True),
    CorpusQuery("price_stddev", "SELECT product_name, stddev(price) AS spread FROM orders GROUP BY product_name",
                lambda d: (lambda s: frame(product_name=list(s.index), spread=list(s.values)))(
                    d.events.groupby("product_name").price.std())),
    CorpusQuery("approx_median_price",
                "SELECT approx_percentile(price, 0.5) AS median_price FROM orders WHERE event_name = 'INSERT'",
                lambda d: frame(median_price=[d.events[d.events.event_name == "INSERT"].price.median()]),
                rel_tol=0.05),
    CorpusQuery("units_by_partition",
                "SELECT partition_2 AS day, partition_3 AS hour, sum(quantity) AS units FROM orders "
                "GROUP BY 1, 2 ORDER BY 1, 2",
                lambda d: (lambda u: frame(day=[k[0] for k in u.index], hour=[k[1] for k in u.index],
                                           units=list(u.values)))(d.events.groupby(["p2", "p3"]).quantity.sum()),
                ordered=True),
    CorpusQuery("partition_filter",
                "SELECT count(*) AS n FROM orders WHERE partition_2 = '10' AND partition_3 BETWEEN '03' AND '05'",
                lambda d: frame(n=[int(((d.events.p2 == "10") & d.events.p3.between("03", "05")).sum())])),
    # -- the translation traps
    CorpusQuery("integer_division_average",
                "SELECT product_name, sum(quantity) / count(*) AS units_per_event FROM orders GROUP BY 1",
                lambda d: (lambda g: frame(product_name=list(g.index), units_per_event=list(g["sum"] // g["count"])))(
                    d.events.groupby("product_name").quantity.agg(["sum", "count"]))),
    CorpusQuery("integer_division_halves",
                "SELECT quantity, quantity / 2 AS half, quantity % 2 AS odd FROM orders GROUP BY quantity "
                "ORDER BY quantity",
                lambda d: (lambda q: frame(quantity=q, half=[v // 2 for v in q], odd=[v % 2 for v in q]))(
                    sorted(d.events.quantity.unique())),
                ordered=True),
    CorpusQuery("decimal_share_keeps_scale",
                "SELECT count_if(event_name = 'INSERT') * 1.00 / count(*) AS insert_share FROM orders",
                lambda d: frame(insert_share=[decimal_quotient((d.events.event_name == "INSERT").sum(), len(d.events),
                                                               "0.01")])),
    CorpusQuery("date_diff_counts_whole_hours",
                "SELECT orderid, date_diff('hour', min(from_iso8601_timestamp(event_time)), "
                "max(from_iso8601_timestamp(event_time))) AS hours FROM orders GROUP BY orderid HAVING count(*) > 1",
                _hours_between),
    CorpusQuery("date_plus_interval_stays_a_date",
                "SELECT DISTINCT date(from_iso8601_timestamp(event_time)) + INTERVAL '1' DAY AS next_day FROM orders",
                lambda d: frame(next_day=sorted({(t + pd.Timedelta(days=1)).date() for t in d.events.ts}))),
    CorpusQuery("date_diff_days_across_february",
                "SELECT date_diff('day', DATE '2024-02-28', min(date(from_iso8601_timestamp(event_time)))) AS days "
                "FROM orders",
                lambda d: frame(days=[(d.events.ts.min().date() - datetime(2024, 2, 28).date()).days])),
    CorpusQuery("format_labels",
                "SELECT format('%s sold %d units', product_name, sum(quantity)) AS label FROM orders "
                "WHERE event_name = 'INSERT' GROUP BY product_name",
                lambda d: frame(label=[f"{p} sold {u} units" for p, u in
                                       d.events[d.events.event_name == "INSERT"].groupby("product_name")
                                       .quantity.sum().items()])),
    CorpusQuery("format_datetime_hour_buckets",
                "SELECT format_datetime(from_iso8601_timestamp(event_time), 'yyyy-MM-dd HH:00') AS hour, "
                "count(*) AS n FROM orders GROUP BY 1 ORDER BY 1",
                lambda d: counts(d.events.ts.dt.strftime("%Y-%m-%d %H:00"), "hour").sort_values("hour"),
                ordered=True),
    CorpusQuery("unnamed_columns_are_col_i",
                "SELECT count(*), max(quantity), 'x' AS named FROM orders",
                lambda d: frame(_col0=[len(d.events)], _col1=[int(d.events.quantity.max())], named=["x"])),
    CorpusQuery("division_by_zero_fails",
                "SELECT sum(quantity) / count_if(quantity > 99) FROM orders", error="DIVISION_BY_ZERO"),
    CorpusQuery("unknown_column_fails", "SELECT product FROM orders", error="COLUMN_NOT_FOUND"),
    CorpusQuery("double_division_by_zero_is_infinity",
                "SELECT sum(price) / count_if(quantity > 99) AS per_unit, "
                "-avg(price) / count_if(quantity > 99) AS negative FROM orders",
                lambda d: frame(per_unit=[math.inf], negative=[-math.inf])),
    CorpusQuery("decimal_text_cast_to_integer_fails",
                "SELECT max(CAST(CAST(price AS varchar) AS integer)) FROM orders", error="INVALID_CAST_ARGUMENT"),
    CorpusQuery("hour_added_to_a_date_fails",
                "SELECT DISTINCT date(from_iso8601_timestamp(event_time)) + INTERVAL '1' HOUR AS later FROM orders",
                error="INVALID_FUNCTION_ARGUMENT"),
    CorpusQuery("map_agg_is_not_supported", "SELECT map_agg(orderid, quantity) AS quantities FROM orders",
                error="NOT_SUPPORTED"),
    # -- window functions and the CDC projection
    CorpusQuery("current_state_projection",
                CURRENT_STATE + "SELECT count(*) AS live_orders, sum(quantity * price) AS live_revenue "
                                "FROM ranked WHERE rn = 1 AND NOT is_deleted",
                lambda d: (lambda s: frame(live_orders=[len(s)], live_revenue=[(s.quantity * s.price).sum()]))(
                    d.current_state())),
    CorpusQuery("live_orders_by_product",
                CURRENT_STATE + "SELECT product_name, count(*) AS live FROM ranked WHERE rn = 1 AND NOT is_deleted "
                                "GROUP BY product_name ORDER BY live DESC, product_name",
                lambda d: (lambda c: frame(product_name=list(c.index), live=list(c.values)))(
                    d.current_state().product_name.value_counts().sort_index()
                    .sort_values(ascending=False, kind="stable")),
                ordered=True),
    CorpusQuery("running_units_by_hour",
                "SELECT hour, units, sum(units) OVER (ORDER BY hour) AS running FROM ("
                "SELECT date_trunc('hour', from_iso8601_timestamp(event_time)) AS hour, sum(quantity) AS units "
                "FROM orders GROUP BY 1) ORDER BY hour",
                _hourly_running_units, ordered=True),
    CorpusQuery("product_revenue_rank",
                "SELECT product_name, revenue, rank() OVER (ORDER BY revenue DESC) AS position FROM ("
                "SELECT product_name, sum(quantity * price) AS revenue FROM orders GROUP BY product_name) "
                "ORDER BY position",
                _revenue_rank, ordered=True),
    CorpusQuery("quantity_changes_with_lag",
                "SELECT count(*) AS changed FROM (SELECT quantity, lag(quantity) OVER "
                "(PARTITION BY orderid ORDER BY sequence_number) AS previous FROM orders) "
                "WHERE previous IS NOT NULL AND previous <> quantity",
                _quantity_changes),
    CorpusQuery("first_quantity_per_order",
                "SELECT DISTINCT orderid, first_value(quantity) OVER (PARTITION BY orderid ORDER BY sequence_number) "
                "AS first_quantity FROM orders",
                lambda d: (lambda f: frame(orderid=list(f.index), first_quantity=list(f.values)))(
                    d.events.sort_values("sequence_number").groupby("orderid").quantity.first())),
    # -- time bucketing
    CorpusQuery("events_by_hour_of_day",
                "SELECT hour(from_iso8601_timestamp(event_time)) AS h, count(*) AS n FROM orders GROUP BY 1",
                lambda d: counts(d.events.ts.dt.hour, "h")),
    CorpusQuery("events_by_weekday",
                "SELECT day_of_week(from_iso8601_timestamp(event_time)) AS dow, count(*) AS n FROM orders GROUP BY 1",
                lambda d: counts(d.events.ts.dt.day_of_week + 1, "dow")),
    CorpusQuery("events_per_day",
                "SELECT date_trunc('day', from_iso8601_timestamp(event_time)) AS day, count(*) AS n FROM orders "
                "GROUP BY 1",
                lambda d: counts(d.events.ts.dt.floor("D"), "day")),
    # -- JSON, arrays, rows, joins
    CorpusQuery("json_channel",
                "SELECT json_extract_scalar(attributes, '$.channel') AS channel, count(*) AS n FROM order_details "
                "GROUP BY 1",
                lambda d: counts(d.details.attributes.map(lambda t: json.loads(t)["channel"]), "channel")),
    CorpusQuery("json_nested_path",
                "SELECT json_extract_scalar(attributes, '$.device.os') AS os, count(*) AS n FROM order_details "
                "GROUP BY 1",
                lambda d: counts(d.details.attributes.map(lambda t: json.loads(t).get("device", {}).get("os")), "os")),
    CorpusQuery("live_revenue_by_channel_join",
                CURRENT_STATE + "SELECT json_extract_scalar(d.attributes, '$.channel') AS channel, "
                                "sum(r.quantity * r.price) AS revenue FROM ranked r "
                                "JOIN order_details d ON r.orderid = d.orderid "
                                "WHERE r.rn = 1 AND NOT r.is_deleted GROUP BY 1",
                _live_revenue_by_channel),
    CorpusQuery("left_join_product_dimension",
                "SELECT coalesce(p.category, 'unknown') AS category, count(*) AS events FROM orders o "
                "LEFT JOIN products p ON o.product_name = p.product_name GROUP BY 1",
                lambda d: counts(d.events.product_name.map(CATEGORIES).fillna("unknown"), "category", "events")),
    CorpusQuery("unnest_tags", "SELECT tag, count(*) AS n FROM order_details CROSS JOIN UNNEST(tags) AS t(tag) "
                               "GROUP BY tag",
                _tag_counts),
    CorpusQuery("cardinality_of_tags",
                "SELECT cardinality(tags) AS tag_count, count(*) AS n FROM order_details GROUP BY 1",
                lambda d: counts(d.details.tags.map(len), "tag_count")),
    CorpusQuery("struct_fields",
                "SELECT shipping.city AS city, count_if(shipping.express) AS express FROM order_details GROUP BY 1",
                lambda d: (lambda g: frame(city=list(g.index), express=list(g.values)))(
                    d.details.groupby("shipping_city").shipping_express.sum())),
    # -- strings, regular expressions, casts
    CorpusQuery("regexp_like_ids",
                "SELECT count(*) AS n FROM orders WHERE regexp_like(event_id, '^[0-9a-c]')",
                lambda d: frame(n=[int(d.events.event_id.str.match(r"^[0-9a-c]").sum())])),
    CorpusQuery("regexp_extract_number",
                "SELECT max(CAST(regexp_extract(orderid, '(\\d+)$', 1) AS integer)) AS last_number FROM orders",
                lambda d: frame(last_number=[int(d.events.orderid.str[4:].astype(int).max())])),
    CorpusQuery("regexp_replace_prefix",
                "SELECT DISTINCT regexp_replace(orderid, '^ord-0*', '#') AS short_id FROM orders "
                "WHERE orderid < 'ord-00012'",
                lambda d: frame(short_id=sorted({"#" + o[4:].lstrip("0") for o in d.events.orderid
                                                 if o < "ord-00012"}))),
    CorpusQuery("try_cast_counts",
                "SELECT count(try_cast(sequence_number AS decimal(38, 0))) AS numeric_sequences, "
                "count(try_cast(product_name AS integer)) AS numeric_names FROM orders",
                lambda d: frame(numeric_sequences=[len(d.events)], numeric_names=[0])),
    CorpusQuery("try_cast_partition",
                "SELECT sum(try_cast(partition_3 AS integer)) AS hour_sum FROM orders",
                lambda d: frame(hour_sum=[int(d.events.ts.dt.hour.sum())])),
    CorpusQuery("string_functions",
                "SELECT upper(product_name) AS up, length(product_name) AS len, substr(product_name, 1, 3) AS abbr, "
                "product_name || '!' AS loud FROM products",
                lambda d: frame(up=[p.upper() for p in CATEGORIES], len=[len(p) for p in CATEGORIES],
                                abbr=[p[:3] for p in CATEGORIES], loud=[p + "!" for p in CATEGORIES])),
    CorpusQuery("case_price_buckets",
                "SELECT CASE WHEN price < 100 THEN 'budget' WHEN price < 1000 THEN 'mid' ELSE 'premium' END "
                "AS bucket, count(*) AS n FROM orders GROUP BY 1",
                _price_buckets),
    # -- query shapes
    CorpusQuery("union_all",
                "SELECT 'insert' AS kind, count(*) AS n FROM orders WHERE event_name = 'INSERT' "
                "UNION ALL SELECT 'remove', count(*) FROM orders WHERE is_deleted",
                lambda d: frame(kind=["insert", "remove"], n=[int((d.events.event_name == "INSERT").sum()),
                                                              int(d.events.is_deleted.sum())])),
    CorpusQuery("in_subquery",
                "SELECT count(*) AS n FROM orders WHERE orderid IN (SELECT orderid FROM orders WHERE is_deleted)",
                lambda d: frame(n=[int(d.events.orderid.isin(set(d.events[d.events.is_deleted].orderid)).sum())])),
    CorpusQuery("not_exists_correlated",
                "SELECT count(DISTINCT orderid) FROM orders o WHERE NOT EXISTS "
                "(SELECT 1 FROM orders m WHERE m.orderid = o.orderid AND m.event_name = 'MODIFY')",
                _orders_without_modify),
    CorpusQuery("rollup_totals", "SELECT event_name, count(*) AS n FROM orders GROUP BY ROLLUP (event_name)",
                _rollup),
    CorpusQuery("top_amounts_limit",
                "SELECT orderid, quantity * price AS amount FROM orders WHERE event_name = 'INSERT' "
                "ORDER BY amount DESC LIMIT 5",
                _top_amounts, ordered=True),
    CorpusQuery("nullif_count", "SELECT count(nullif(quantity, 1)) AS not_one FROM orders",
                lambda d: frame(not_one=[int((d.events.quantity != 1).sum())])),
    CorpusQuery("objects_read_via_path", 'SELECT count(DISTINCT "$path") AS objects FROM orders',
                lambda d: frame(objects=[d.events.path.nunique()])),
]
