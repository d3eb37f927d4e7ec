"""The course's matplotlib charts, one function per chart, styled alike.

When WORKSHOP_CHARTS_DIR is set (`make run` sets it to build/charts), every chart is also saved
there as a PNG named after the function, so a headless run leaves pictures to look at.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

EVENT_COLOURS = {"INSERT": "#2a9d8f", "MODIFY": "#e9c46a", "REMOVE": "#e76f51"}


def _finish(figure: Figure, name: str) -> Figure:
    figure.tight_layout()
    charts_dir = os.environ.get("WORKSHOP_CHARTS_DIR")
    if charts_dir:
        Path(charts_dir).mkdir(parents=True, exist_ok=True)
        figure.savefig(Path(charts_dir) / f"{name}.png", dpi=110)
    return figure


def event_mix(event_names: pd.Series) -> Figure:
    """Bar chart of how many INSERT, MODIFY and REMOVE changes there are."""
    counts = event_names.value_counts().reindex(list(EVENT_COLOURS), fill_value=0)
    figure, axes = plt.subplots(figsize=(5, 3))
    bars = axes.bar(counts.index, counts.values, color=[EVENT_COLOURS[e] for e in counts.index])
    axes.bar_label(bars)
    axes.set_title("CDC event mix")
    axes.set_ylabel("changes")
    axes.spines[["top", "right"]].set_visible(False)
    return _finish(figure, "event_mix")


def records_per_shard(counts: pd.Series) -> Figure:
    """Bar chart of records per Kinesis shard: an uneven split shows a hot partition key."""
    figure, axes = plt.subplots(figsize=(5, 3))
    bars = axes.bar([shard.replace("shardId-", "") for shard in counts.index], counts.values, color="#457b9d")
    axes.bar_label(bars)
    axes.set_title("Records per shard")
    axes.set_xlabel("shard")
    axes.set_ylabel("records")
    axes.spines[["top", "right"]].set_visible(False)
    return _finish(figure, "records_per_shard")


def revenue_by_product(revenue: pd.DataFrame) -> Figure:
    """Horizontal bars of revenue per product, largest on top (columns product_name, revenue)."""
    ordered = revenue.sort_values("revenue")
    figure, axes = plt.subplots(figsize=(6, 3.5))
    axes.barh(ordered["product_name"], ordered["revenue"].astype(float), color="#264653")
    axes.set_title("Revenue by product (current orders)")
    axes.set_xlabel("revenue ($)")
    axes.xaxis.set_major_formatter(lambda value, _: f"{value:,.0f}")
    axes.spines[["top", "right"]].set_visible(False)
    return _finish(figure, "revenue_by_product")


def orders_over_time(per_bucket: pd.DataFrame, bucket_seconds: int = 10) -> Figure:
    """Bars of new orders (inserts) per time bucket (columns bucket_start, orders): short buckets show the bursts
    in which a workshop writes its orders, where per-minute bars would show one or two."""
    starts = pd.to_datetime(per_bucket["bucket_start"], utc=True)
    figure, axes = plt.subplots(figsize=(7, 3))
    bars = axes.bar(starts, per_bucket["orders"], width=pd.Timedelta(seconds=bucket_seconds * 0.8), align="edge",
                    color=EVENT_COLOURS["INSERT"])
    axes.bar_label(bars)
    axes.set_title(f"New orders per {bucket_seconds} seconds")
    axes.set_xlabel("time (UTC)")
    axes.set_ylabel("orders")
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
    axes.spines[["top", "right"]].set_visible(False)
    figure.autofmt_xdate()
    return _finish(figure, "orders_over_time")


def freshness(delays_seconds: pd.Series) -> Figure:
    """Histogram of write-to-Athena delays, with the median and 95th percentile marked."""
    delays = delays_seconds.dropna()
    figure, axes = plt.subplots(figsize=(6, 3))
    axes.hist(delays, bins=20, color="#8ab17d")
    for quantile, style in ((0.5, "-"), (0.95, "--")):
        value = delays.quantile(quantile)
        axes.axvline(value, color="#264653", linestyle=style, label=f"p{int(quantile * 100)} {value:.1f} s")
    axes.set_title("Freshness: DynamoDB write to row in Athena")
    axes.set_xlabel("seconds")
    axes.set_ylabel("orders")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # a count of orders has no halves
    axes.legend(frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    return _finish(figure, "freshness")


def cost_by_service(estimate: pd.DataFrame) -> Figure:
    """Horizontal bars of the estimated cost per service (columns service, dollars)."""
    ordered = estimate.sort_values("dollars")
    figure, axes = plt.subplots(figsize=(6, 3.5))
    bars = axes.barh(ordered["service"], ordered["dollars"], color="#e76f51")
    axes.bar_label(bars, labels=[f"${value:,.2f}" if value >= 0.01 else "< $0.01" for value in ordered["dollars"]],
                   padding=3, fontsize="small")  # cheap services have no visible bar: the label says why
    axes.set_xlim(right=ordered["dollars"].max() * 1.25 or 1)
    axes.set_title("Estimated cost per participant")
    axes.set_xlabel("US dollars")
    axes.spines[["top", "right"]].set_visible(False)
    return _finish(figure, "cost_by_service")
