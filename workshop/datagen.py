"""Sales orders for the pipeline: inserts, updates and cancellations, written to DynamoDB.

The generator has two halves, so that the data can be studied without AWS:

- `generate_changes()` is pure: from a seed it makes a list of `Change` (INSERT, MODIFY, REMOVE).
- `write_changes()` writes them with `batch_write_item` and returns a `Ledger` of what was written and when.

`run()` does both, and is what the notebooks call. The ledger is the pipeline's answer key: every change
should reach the stream, Kinesis and S3 exactly as it was recorded, and `ledger.current_state()` is what the
table (and the CDC projection in Athena) should hold afterwards.

Order ids are `<run id>-<number>`, for example `3f9c04ab-000042`. Numbers count up within a run, so ids of
one run never collide. The run id is a hash of the table name, the seed and an attempt number, so runs
against different participants' tables never share ids, and the same seed on a fresh table gives the same
ids and the same data every time. Writing the same run twice would turn its inserts into silent overwrites,
so `write_changes()` refuses to write changes whose orders are already in the table, and `run()` moves on
to the next attempt number until it finds a run id the table has not seen. Re-running a notebook cell
therefore adds new orders rather than rewriting old ones.

Example:
    >>> from workshop import datagen
    >>> ledger = datagen.run(1_000, table_name="learner-orders", client=session.client("dynamodb"), seed=7)
    >>> ledger.counts()
    {'INSERT': 702, 'MODIFY': 198, 'REMOVE': 100}
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import boto3
import pandas as pd
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from tqdm.auto import tqdm

# ---- the catalogue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """A product the shop sells, and the range its price falls in (in dollars, two decimal places)."""

    name: str
    min_price: Decimal
    max_price: Decimal


CATALOGUE: tuple[Product, ...] = (
    Product("Laptop", Decimal("499.00"), Decimal("2499.00")),
    Product("Phone", Decimal("199.00"), Decimal("1299.00")),
    Product("Tablet", Decimal("149.00"), Decimal("999.00")),
    Product("Headphones", Decimal("19.99"), Decimal("399.99")),
    Product("Charger", Decimal("9.99"), Decimal("59.99")),
    Product("Monitor", Decimal("99.00"), Decimal("899.00")),
    Product("Keyboard", Decimal("14.99"), Decimal("199.99")),
    Product("Mouse", Decimal("9.99"), Decimal("129.99")),
    Product("Smartwatch", Decimal("79.00"), Decimal("799.00")),
    Product("Camera", Decimal("249.00"), Decimal("2999.00")),
)
MIN_QUANTITY, MAX_QUANTITY = 1, 5

# ---- changes -------------------------------------------------------------------------------------

# The op of a change is named like the eventName DynamoDB Streams gives the record it causes.
INSERT, MODIFY, REMOVE = "INSERT", "MODIFY", "REMOVE"
OPS = (INSERT, MODIFY, REMOVE)
# The mix is spelled in business terms: an insert becomes INSERT, an update MODIFY and a delete REMOVE.
KINDS = ("insert", "update", "delete")
DEFAULT_MIX = MappingProxyType({"insert": 0.7, "update": 0.2, "delete": 0.1})


@dataclass(frozen=True, slots=True)
class Change:
    """One write to the orders table.

    `item` is the order after the change (INSERT, MODIFY) or, for a REMOVE, the order that was cancelled:
    the same image DynamoDB Streams shows as NewImage or OldImage.
    """

    op: str
    orderid: str
    item: dict[str, Any]

    def write_request(self) -> dict[str, Any]:
        """The request for batch_write_item. An update is a put of the whole changed order (Streams: MODIFY)."""
        if self.op == REMOVE:
            return {"DeleteRequest": {"Key": {"orderid": {"S": self.orderid}}}}
        return {"PutRequest": {"Item": to_attribute_values(self.item)}}


def to_attribute_values(item: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """An order in DynamoDB's wire format: numbers travel as strings, so prices keep their exact cents."""
    return {
        "orderid": {"S": item["orderid"]},
        "product_name": {"S": item["product_name"]},
        "quantity": {"N": str(item["quantity"])},
        "price": {"N": str(item["price"])},
    }


def make_run_id(seed: int, *, table_name: str = "", attempt: int = 0, count: int | None = None,
                mix: Mapping[str, float] | None = None) -> str:
    """The 8-hex-digit prefix of a run's order ids: the same inputs always give the same run id.

    `run()` passes the count and mix too, so changes made from other parameters never share ids with an
    earlier run's orders; only a repeat of exactly the same changes can, and `write_changes()` detects that.

    Example:
        >>> make_run_id(7, table_name="learner-orders")   # another table, seed or attempt: another id
        'a05a0bed'
    """
    key = f"{table_name}|{seed}|{attempt}"
    if count is not None or mix is not None:
        key += f"|{count}|{sorted((mix or {}).items())}"
    return hashlib.blake2b(key.encode(), digest_size=4).hexdigest()


def generate_changes(
    count: int,
    *,
    seed: int = 0,
    mix: Mapping[str, float] = DEFAULT_MIX,
    run_id: str | None = None,
) -> list[Change]:
    """Make `count` changes to sales orders, without touching AWS.

    Parameters:
        count: how many changes to make (0 or more).
        seed: the same seed and run id always give the same changes.
        mix: the share of each kind of change, adding up to 1, e.g. {"insert": 0.7, "update": 0.2,
            "delete": 0.1}. A kind left out gets 0. An update changes the quantity or the price of a live
            order; a delete cancels one. Both only target orders inserted earlier in this list and not
            cancelled since, which is why there cannot be more deletes than inserts. The first change is
            always an insert, because there is nothing to update yet.
        run_id: prefix of the order ids; defaults to `make_run_id(seed)`. `run()` picks one per table.

    Example:
        >>> changes = generate_changes(1000, seed=7, mix={"insert": 0.8, "update": 0.2})
        >>> changes[0]
        Change(op='INSERT', orderid='08c6a135-000001', item={'orderid': '08c6a135-000001',
               'product_name': 'Laptop', 'quantity': 4, 'price': Decimal('564.60')})
    """
    _check_count(count)
    _check_seed(seed)
    thresholds = _mix_thresholds(mix)
    run_id = make_run_id(seed) if run_id is None else run_id
    rng = random.Random(f"{seed}|{run_id}")
    live = _LiveOrders()
    changes: list[Change] = []
    inserted = 0
    for _ in range(count):
        draw = rng.random()
        if draw < thresholds[0] or not live:
            inserted += 1
            order = _new_order(rng, f"{run_id}-{inserted:06d}")
            live.add(order)
            changes.append(Change(INSERT, order["orderid"], order))
        elif draw < thresholds[1]:
            order = _changed_order(rng, live.pick(rng))
            live.add(order)
            changes.append(Change(MODIFY, order["orderid"], order))
        else:
            order = live.pop(rng)
            changes.append(Change(REMOVE, order["orderid"], order))
    return changes


class _LiveOrders:
    """The orders inserted and not cancelled yet, with random picks and removals in constant time."""

    def __init__(self) -> None:
        self._orders: list[dict[str, Any]] = []
        self._position: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self._orders)

    def add(self, order: dict[str, Any]) -> None:
        """Add a new order, or replace the live version of an updated one."""
        position = self._position.get(order["orderid"])
        if position is None:
            self._position[order["orderid"]] = len(self._orders)
            self._orders.append(order)
        else:
            self._orders[position] = order

    def pick(self, rng: random.Random) -> dict[str, Any]:
        return self._orders[rng.randrange(len(self._orders))]

    def pop(self, rng: random.Random) -> dict[str, Any]:
        """Remove a random order: the last one takes its slot, so nothing shifts."""
        position = rng.randrange(len(self._orders))
        order, last = self._orders[position], self._orders.pop()
        del self._position[order["orderid"]]
        if last is not order:
            self._orders[position] = last
            self._position[last["orderid"]] = position
        return order


def _new_order(rng: random.Random, orderid: str) -> dict[str, Any]:
    product = rng.choice(CATALOGUE)
    return {
        "orderid": orderid,
        "product_name": product.name,
        "quantity": rng.randint(MIN_QUANTITY, MAX_QUANTITY),
        "price": _price(rng, product.min_price, product.max_price),
    }


def _changed_order(rng: random.Random, order: dict[str, Any]) -> dict[str, Any]:
    """The order with another quantity, or a price corrected by up to 20%, within the product's range.

    Something always changes: real DynamoDB writes no stream record for a put that changes nothing.
    """
    if rng.random() < 0.5:
        others = [q for q in range(MIN_QUANTITY, MAX_QUANTITY + 1) if q != order["quantity"]]
        return {**order, "quantity": rng.choice(others)}
    product = _PRODUCT_BY_NAME[order["product_name"]]
    low = max(product.min_price, order["price"] * Decimal("0.8"))
    high = min(product.max_price, order["price"] * Decimal("1.2"))
    price = order["price"]
    while price == order["price"]:
        price = _price(rng, low, high)
    return {**order, "price": price}


def _price(rng: random.Random, low: Decimal, high: Decimal) -> Decimal:
    """A price from low to high, as a Decimal with exactly two decimal places."""
    cents = rng.randint(math.ceil(low * 100), math.floor(high * 100))
    return Decimal(cents).scaleb(-2)


_PRODUCT_BY_NAME = {product.name: product for product in CATALOGUE}


# ---- the ledger ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """A change as it was written: `written_at` is the client's UTC clock when DynamoDB accepted it."""

    op: str
    orderid: str
    item: dict[str, Any]
    written_at: datetime


class Ledger:
    """Every change `write_changes()` made to one table, in the order DynamoDB accepted them.

    Use it to check the pipeline delivered everything (one stream record per entry, with eventName = op)
    and to know what the table should hold (`current_state()`).

    Example:
        >>> ledger.counts()
        {'INSERT': 702, 'MODIFY': 198, 'REMOVE': 100}
        >>> ledger.to_dataframe().groupby("product_name")["price"].count()
    """

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self.entries: list[LedgerEntry] = []

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[LedgerEntry]:
        return iter(self.entries)

    def __repr__(self) -> str:
        return f"Ledger(table_name={self.table_name!r}, counts={self.counts()})"

    def record(self, changes: Sequence[Change], written_at: datetime) -> None:
        self.entries.extend(LedgerEntry(c.op, c.orderid, c.item, written_at) for c in changes)

    def counts(self) -> dict[str, int]:
        """How many changes of each op were written, e.g. {'INSERT': 7, 'MODIFY': 2, 'REMOVE': 1}."""
        counts = dict.fromkeys(OPS, 0)
        for entry in self.entries:
            counts[entry.op] += 1
        return counts

    def current_state(self) -> dict[str, dict[str, Any]]:
        """orderid -> order, for the orders of this ledger still live after its changes.

        The table may hold other orders too (earlier runs); this covers only the ones this ledger wrote.
        """
        state: dict[str, dict[str, Any]] = {}
        for entry in self.entries:
            if entry.op == REMOVE:
                state.pop(entry.orderid, None)
            else:
                state[entry.orderid] = entry.item
        return state

    def current_state_dataframe(self) -> pd.DataFrame:
        """`current_state()` as a DataFrame sorted by orderid, with one row per live order."""
        rows = sorted(self.current_state().values(), key=lambda order: order["orderid"])
        return pd.DataFrame(rows, columns=list(_ORDER_COLUMNS))

    def to_dataframe(self) -> pd.DataFrame:
        """One row per change: written_at, op and the order's fields (prices stay exact Decimals)."""
        rows = [{"written_at": e.written_at, "op": e.op, **e.item} for e in self.entries]
        frame = pd.DataFrame(rows, columns=["written_at", "op", *_ORDER_COLUMNS])
        frame["written_at"] = pd.to_datetime(frame["written_at"], utc=True)
        return frame


_ORDER_COLUMNS = ("orderid", "product_name", "quantity", "price")


# ---- writing -------------------------------------------------------------------------------------

BATCH_LIMIT = 25  # batch_write_item takes at most 25 requests
PACING_INTERVAL = 0.1  # with a rate, send a batch about every 0.1 s rather than a burst of 25
FIRST_RETRY_DELAY = 0.05  # seconds; doubles on each retry of UnprocessedItems
MAX_RETRY_DELAY = 2.0


class TableNotFoundError(LookupError):
    """The orders table does not exist in the account and region the client points at."""


class RunAlreadyWrittenError(ValueError):
    """The changes were written to this table before; writing them again would overwrite, not insert."""


class UnprocessedItemsError(RuntimeError):
    """DynamoDB kept rejecting part of a batch; `ledger` holds every change that was written before."""

    def __init__(self, message: str, ledger: Ledger) -> None:
        super().__init__(message)
        self.ledger = ledger


def write_changes(
    changes: Sequence[Change],
    *,
    table_name: str,
    client: BaseClient | None = None,
    boto3_session: boto3.Session | None = None,
    rate: float | None = None,
    progress: bool = True,
    max_retries: int = 8,
    ledger: Ledger | None = None,
) -> Ledger:
    """Write changes to a DynamoDB table with batch_write_item, and return the ledger of what was written.

    Parameters:
        changes: from `generate_changes()`, written in order.
        table_name: the orders table (partition key `orderid`, a string); it must exist already.
        client: a boto3 DynamoDB client. If None, one is made from `boto3_session` (or boto3's default).
        rate: changes per second, or None to write as fast as DynamoDB accepts them.
        progress: show a progress bar (it renders in notebooks as well as terminals).
        max_retries: how often to resend items DynamoDB returns as UnprocessedItems (throttling), waiting
            0.05 s, 0.1 s, 0.2 s ... (at most 2 s) in between.
        ledger: record into this ledger, batch by batch, instead of a new one; another thread can
            follow a load that is still running (notebook 09 measures freshness that way).

    Raises:
        RunAlreadyWrittenError: the table already holds orders these changes insert (a second write of the
            same changes); generate new ones with another seed or run_id, or use `run()`.
        UnprocessedItemsError: some items were still unprocessed after `max_retries` retries.
        TableNotFoundError: the table does not exist.

    Example:
        >>> changes = generate_changes(500, seed=1)
        >>> ledger = write_changes(changes, table_name="learner-orders", client=client, rate=50)
    """
    _check_rate(rate)
    _check_count(max_retries, name="max_retries")
    client = client or (boto3_session or boto3.Session()).client("dynamodb")
    ledger = Ledger(table_name) if ledger is None else ledger
    batch_size = BATCH_LIMIT if rate is None else max(1, min(BATCH_LIMIT, int(rate * PACING_INTERVAL)))
    start, sent = time.monotonic(), 0
    try:
        _refuse_rewrite(client, table_name, changes)
        with tqdm(total=len(changes), unit="change", desc=table_name, disable=not progress) as bar:
            for batch in _batches(changes, batch_size):
                if rate is not None:
                    # The last change of the batch is due (sent + len(batch) - 1) / rate seconds after start.
                    time.sleep(max(0.0, start + (sent + len(batch) - 1) / rate - time.monotonic()))
                _write_batch(client, table_name, batch, ledger, max_retries)
                sent += len(batch)
                bar.update(len(batch))
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        raise TableNotFoundError(
            f"DynamoDB table {table_name!r} does not exist in region {client.meta.region_name}: "
            "create it first (notebook 01 does), or check the table name and region."
        ) from error
    return ledger


def run(
    count: int,
    *,
    table_name: str,
    client: BaseClient | None = None,
    boto3_session: boto3.Session | None = None,
    seed: int = 0,
    mix: Mapping[str, float] = DEFAULT_MIX,
    rate: float | None = None,
    progress: bool = True,
) -> Ledger:
    """Generate `count` changes and write them, under a run id this table has not seen yet.

    On a fresh table the same seed always writes the same orders with the same ids. Running again against
    the same table writes new orders (the next attempt number gives a new run id) instead of overwriting.
    Parameters are those of `generate_changes()` and `write_changes()`.

    Example:
        >>> ledger = run(2_000, table_name=config.table_name, client=session.client("dynamodb"),
        ...              seed=7, mix={"insert": 0.7, "update": 0.2, "delete": 0.1}, rate=100)
    """
    client = client or (boto3_session or boto3.Session()).client("dynamodb")
    attempt = 0
    while True:
        run_id = make_run_id(seed, table_name=table_name, attempt=attempt, count=count, mix=mix)
        changes = generate_changes(count, seed=seed, mix=mix, run_id=run_id)
        try:
            return write_changes(changes, table_name=table_name, client=client, rate=rate, progress=progress)
        except RunAlreadyWrittenError:
            attempt += 1


def _batches(changes: Sequence[Change], size: int) -> Iterator[list[Change]]:
    """Consecutive changes, at most `size` at a time and never two on one order in the same batch.

    DynamoDB rejects a batch that touches a key twice (ValidationException), so a batch ends early when
    the next change is for an order already in it.
    """
    batch: list[Change] = []
    orderids: set[str] = set()
    for change in changes:
        if len(batch) == size or change.orderid in orderids:
            yield batch
            batch, orderids = [], set()
        batch.append(change)
        orderids.add(change.orderid)
    if batch:
        yield batch


def _write_batch(client: BaseClient, table_name: str, batch: list[Change], ledger: Ledger, max_retries: int) -> None:
    """Write one batch, resending UnprocessedItems with exponential backoff; record each change once written."""
    pending = {change.orderid: (change, change.write_request()) for change in batch}
    for retry in range(max_retries + 1):
        if retry:
            time.sleep(min(MAX_RETRY_DELAY, FIRST_RETRY_DELAY * 2 ** (retry - 1)))
        response = client.batch_write_item(RequestItems={table_name: [request for _, request in pending.values()]})
        written_at = datetime.now(timezone.utc)
        unprocessed = {_orderid_of(request) for request in response.get("UnprocessedItems", {}).get(table_name, [])}
        ledger.record([change for orderid, (change, _) in pending.items() if orderid not in unprocessed], written_at)
        pending = {orderid: pending[orderid] for orderid in pending if orderid in unprocessed}
        if not pending:
            return
    raise UnprocessedItemsError(
        f"{len(pending)} of {len(batch)} changes to table {table_name!r} were still unprocessed after "
        f"{max_retries} retries: DynamoDB is throttling the writes. The {len(ledger)} changes written so far "
        "are in this error's .ledger. Write more slowly (a lower rate=), or give the table more write capacity.",
        ledger,
    )


def _orderid_of(request: Mapping[str, Any]) -> str:
    if "PutRequest" in request:
        return request["PutRequest"]["Item"]["orderid"]["S"]
    return request["DeleteRequest"]["Key"]["orderid"]["S"]


def _refuse_rewrite(client: BaseClient, table_name: str, changes: Sequence[Change]) -> None:
    """Raise RunAlreadyWrittenError if the table already holds an order these changes insert.

    One get_item is enough: it looks for the first order the changes insert and never cancel. Changes are
    written in order, so any earlier write of them that got that far left that order in the table. (A write
    that failed before it can only have left orders that these changes cancel again.)
    """
    probe = _first_surviving_insert(changes)
    if probe is None:
        return
    response = client.get_item(TableName=table_name, Key={"orderid": {"S": probe}}, ConsistentRead=True)
    if "Item" in response:
        raise RunAlreadyWrittenError(
            f"Table {table_name!r} already holds order {probe!r}: these changes were written before, and "
            "writing them again would overwrite those orders instead of inserting new ones. Generate new "
            "changes with another seed or run_id, or use datagen.run(), which picks a fresh run id itself."
        )


def _first_surviving_insert(changes: Sequence[Change]) -> str | None:
    removed = {change.orderid for change in changes if change.op == REMOVE}
    return next((c.orderid for c in changes if c.op == INSERT and c.orderid not in removed), None)


# ---- input checks --------------------------------------------------------------------------------


def _check_count(value: object, *, name: str = "count") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number of 0 or more, got {value!r}.")


def _check_seed(seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be a whole number such as 7, got {seed!r}.")


def _check_rate(rate: object) -> None:
    if rate is None:
        return
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
        raise ValueError(
            f"rate must be a number of changes per second above 0 (such as 50), or None for as fast as "
            f"possible; got {rate!r}."
        )


def _mix_thresholds(mix: Mapping[str, float]) -> tuple[float, float]:
    """Check the mix and return the cumulative shares of insert and insert+update, for one random draw."""
    example = 'for example {"insert": 0.7, "update": 0.2, "delete": 0.1}'
    if not isinstance(mix, Mapping):
        raise ValueError(f"mix must be a dict of shares, {example}; got {mix!r}.")
    unknown = sorted(set(mix) - set(KINDS))
    if unknown:
        raise ValueError(f"mix has unknown kinds {unknown}: use only 'insert', 'update' and 'delete', {example}.")
    shares = {kind: mix.get(kind, 0.0) for kind in KINDS}
    for kind, share in shares.items():
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise ValueError(f"mix[{kind!r}] must be a share between 0 and 1, got {share!r}.")
    total = sum(shares.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(f"the shares in mix must add up to 1, but {dict(shares)} adds up to {total:g}; {example}.")
    if shares["insert"] == 0:
        raise ValueError(f"mix['insert'] must be above 0: updates and deletes need orders to change; {example}.")
    if shares["delete"] > shares["insert"]:
        raise ValueError(
            f"mix['delete'] ({shares['delete']:g}) is larger than mix['insert'] ({shares['insert']:g}), but "
            "each delete cancels an order inserted before, so there cannot be more deletes than inserts."
        )
    return shares["insert"], shares["insert"] + shares["update"]
