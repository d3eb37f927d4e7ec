"""Freshness: how long after a write to DynamoDB a change can be queried in Athena.

While a load runs, Athena is polled for the inserted order ids; the first poll that returns an
order gives the time it became visible. Delay = visible time - write time (the ledger's
written_at). The table polled uses partition projection, so new hour folders are visible without
running the crawler again.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Callable

import awswrangler as wr
import pandas as pd
from tqdm.auto import tqdm

from workshop.datagen import Ledger
from workshop.session import Connection

LIVE_TABLE = "orders_live"


def live_table_ddl(conn: Connection) -> str:
    """CREATE EXTERNAL TABLE over orders/ with a projected `dt` partition (yyyy/MM/dd/HH, last day to now)."""
    location = conn.config.data_location(conn.account_id)
    return f"""
CREATE EXTERNAL TABLE IF NOT EXISTS {LIVE_TABLE} (
  orderid string, product_name string, quantity int, price double, event_name string,
  is_deleted boolean, event_time string, sequence_number string, event_id string)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION '{location}'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy/MM/dd/HH',
  'projection.dt.range' = 'NOW-1DAYS,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'HOURS',
  'storage.location.template' = '{location}${{dt}}/')"""


def watch_inserts(conn: Connection, is_loading: Callable[[], bool], ledger: Ledger, *, poll_seconds: float = 2.0,
                  timeout: float = 180) -> pd.DataFrame:
    """Poll Athena until every INSERT in the ledger is visible (or timeout); return orderid, written, visible, delay.

    is_loading: returns True while the load is still writing (the ledger grows meanwhile).
    """
    seen: dict[str, datetime] = {}
    started = time.monotonic()
    with tqdm(desc="orders visible in Athena", unit=" orders", leave=False) as bar:
        while time.monotonic() - started < timeout:
            inserted = {entry.orderid for entry in ledger if entry.op == "INSERT"}
            if not is_loading() and inserted and inserted <= seen.keys():
                break
            visible = wr.athena.read_sql_query(
                f"SELECT DISTINCT orderid FROM {LIVE_TABLE} WHERE event_name = 'INSERT' "
                f"AND dt >= '{datetime.now(timezone.utc):%Y/%m/%d/00}'",
                database=conn.config.glue_database, workgroup=conn.config.workgroup_name, ctas_approach=False)
            now = datetime.now(timezone.utc)
            for orderid in set(visible["orderid"]) & inserted - seen.keys():
                seen[orderid] = now
            bar.total = len(inserted)
            bar.n = len(seen.keys() & inserted)
            bar.refresh()
            time.sleep(poll_seconds)
    written = {entry.orderid: entry.written_at for entry in ledger if entry.op == "INSERT"}
    frame = pd.DataFrame({"orderid": list(written), "written": list(written.values())})
    frame["visible"] = frame["orderid"].map(seen)
    frame["delay_seconds"] = (frame["visible"] - frame["written"]).dt.total_seconds()
    return frame
