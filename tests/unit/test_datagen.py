"""The order generator: what it generates (no AWS), and what it writes to DynamoDB (moto in-process)."""

import time
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer

from workshop import datagen
from workshop.datagen import INSERT, MODIFY, REMOVE

TABLE = "orders"
PRODUCTS = {product.name: product for product in datagen.CATALOGUE}


# ---- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def dynamodb(moto_session):
    client = moto_session.client("dynamodb")
    create_orders_table(client)
    return client


def create_orders_table(client, name=TABLE):
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )


def deserialize(image):
    return {name: TypeDeserializer().deserialize(value) for name, value in image.items()}


def scan_table(client, name=TABLE):
    """orderid -> item for every item in the table."""
    items = {}
    for page in client.get_paginator("scan").paginate(TableName=name):
        for image in page["Items"]:
            item = deserialize(image)
            items[item["orderid"]] = item
    return items


def read_stream(session, client, name=TABLE):
    """Every record of the table's stream, from the start."""
    arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    streams = session.client("dynamodbstreams")
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            records += response["Records"]
            iterator = response.get("NextShardIterator") if response["Records"] else None
    return records


def key_of(write_request):
    """The orderid a batch_write_item PutRequest or DeleteRequest is for."""
    (kind, body), = write_request.items()
    return (body["Item"] if kind == "PutRequest" else body["Key"])["orderid"]["S"]


def replay_checking_targets(changes):
    """Replay changes in order, failing if one updates or deletes an order that is not live."""
    live, ever_inserted = {}, set()
    for change in changes:
        if change.op == INSERT:
            assert change.orderid not in ever_inserted, f"{change.orderid} inserted twice"
            ever_inserted.add(change.orderid)
            live[change.orderid] = change.item
        else:
            assert change.orderid in live, f"{change.op} of {change.orderid}, which is not live"
            if change.op == MODIFY:
                live[change.orderid] = change.item
            else:
                assert live.pop(change.orderid) == change.item, "a REMOVE must carry the order as it was"
    return live


class ThrottlingClient:
    """A DynamoDB client that, like a throttled table, leaves the last items of a batch unprocessed.

    The first `throttled_calls` calls of batch_write_item write all but `held_back` items and return
    those as UnprocessedItems; later calls write everything. Every request list sent is kept in `batches`.
    """

    def __init__(self, client, *, throttled_calls=0, held_back=3):
        self._client = client
        self._throttled_calls = throttled_calls
        self._held_back = held_back
        self.batches = []

    def __getattr__(self, name):
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems):
        (table, requests), = RequestItems.items()
        self.batches.append(requests)
        held_back = self._held_back if len(self.batches) <= self._throttled_calls else 0
        written, unprocessed = requests[: len(requests) - held_back], requests[len(requests) - held_back:]
        if written:
            self._client.batch_write_item(RequestItems={table: written})
        return {"UnprocessedItems": {table: unprocessed} if unprocessed else {}}


# ---- generating ----------------------------------------------------------------------------------


def test_same_seed_gives_same_changes():
    assert datagen.generate_changes(500, seed=11) == datagen.generate_changes(500, seed=11)


def test_another_seed_gives_other_orders_and_other_ids():
    first, second = datagen.generate_changes(200, seed=1), datagen.generate_changes(200, seed=2)
    assert [c.item for c in first] != [c.item for c in second]
    assert not {c.orderid for c in first} & {c.orderid for c in second}


def test_order_ids_never_collide_over_20000_orders():
    changes = datagen.generate_changes(20_000, seed=5, mix={"insert": 1.0})
    assert len({change.orderid for change in changes}) == 20_000


def test_run_ids_differ_by_table_seed_and_attempt():
    run_ids = {
        datagen.make_run_id(seed, table_name=table, attempt=attempt)
        for table in ("learner-orders", "alice-orders")
        for seed in range(20)
        for attempt in range(5)
    }
    assert len(run_ids) == 2 * 20 * 5
    assert datagen.make_run_id(3, table_name="alice-orders") == datagen.make_run_id(3, table_name="alice-orders")


def test_mix_proportions_are_roughly_honoured():
    mix = {"insert": 0.6, "update": 0.25, "delete": 0.15}
    counts = Counter(change.op for change in datagen.generate_changes(10_000, seed=3, mix=mix))
    assert counts[INSERT] / 10_000 == pytest.approx(0.6, abs=0.02)
    assert counts[MODIFY] / 10_000 == pytest.approx(0.25, abs=0.02)
    assert counts[REMOVE] / 10_000 == pytest.approx(0.15, abs=0.02)


def test_updates_and_deletes_only_touch_live_orders():
    changes = datagen.generate_changes(5_000, seed=9, mix={"insert": 0.4, "update": 0.3, "delete": 0.3})
    replay_checking_targets(changes)
    assert changes[0].op == INSERT


def test_update_changes_quantity_or_price_of_the_same_product():
    changes = datagen.generate_changes(3_000, seed=4, mix={"insert": 0.5, "update": 0.5})
    latest = {}
    for change in changes:
        if change.op == MODIFY:
            before = latest[change.orderid]
            changed = {field for field in before if before[field] != change.item[field]}
            assert changed in ({"quantity"}, {"price"})
        latest[change.orderid] = change.item


def test_orders_have_catalogue_products_quantities_1_to_5_and_prices_in_cents():
    for change in datagen.generate_changes(3_000, seed=8):
        item = change.item
        product = PRODUCTS[item["product_name"]]
        assert type(item["quantity"]) is int and 1 <= item["quantity"] <= 5
        assert isinstance(item["price"], Decimal) and item["price"].as_tuple().exponent == -2
        assert product.min_price <= item["price"] <= product.max_price
        assert item["orderid"] == change.orderid


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": -1}, "count must be a whole number of 0 or more"),
        ({"count": 2.5}, "count must be a whole number"),
        ({"count": 10, "seed": "seven"}, "seed must be a whole number"),
        ({"count": 10, "mix": {"insert": 0.7, "update": 0.2}}, "must add up to 1"),
        ({"count": 10, "mix": {"insert": 1.2, "update": -0.2}}, r"mix\['insert'\] must be a share between 0 and 1"),
        ({"count": 10, "mix": {"insert": 0.9, "cancel": 0.1}}, "unknown kinds"),
        ({"count": 10, "mix": {"update": 1.0}}, r"mix\['insert'\] must be above 0"),
        ({"count": 10, "mix": {"insert": 0.4, "delete": 0.6}}, "cannot be more deletes than inserts"),
        ({"count": 10, "mix": [0.7, 0.2, 0.1]}, "mix must be a dict"),
    ],
)
def test_bad_generator_input_says_what_to_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        datagen.generate_changes(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 0}, "rate must be a number of changes per second above 0"),
        ({"rate": -5}, "rate must be"),
        ({"rate": float("inf")}, "rate must be"),
        ({"max_retries": -1}, "max_retries must be a whole number of 0 or more"),
    ],
)
def test_bad_writer_input_says_what_to_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        datagen.write_changes([], table_name=TABLE, **kwargs)


# ---- writing -------------------------------------------------------------------------------------


def test_table_after_a_run_equals_the_ledger_current_state(dynamodb):
    ledger = datagen.run(600, table_name=TABLE, client=dynamodb, seed=2, progress=False)
    assert len(ledger) == 600
    assert scan_table(dynamodb) == ledger.current_state()


def test_stream_holds_one_record_per_ledger_entry(moto_session, dynamodb):
    ledger = datagen.run(400, table_name=TABLE, client=dynamodb, seed=6, progress=False)
    expected, delivered = defaultdict(list), defaultdict(list)
    for entry in ledger:
        expected[entry.orderid].append((entry.op, entry.item))
    for record in read_stream(moto_session, dynamodb):
        image = record["dynamodb"]["OldImage" if record["eventName"] == REMOVE else "NewImage"]
        orderid = deserialize(record["dynamodb"]["Keys"])["orderid"]
        delivered[orderid].append((record["eventName"], deserialize(image)))
    assert delivered == expected  # per order: same eventNames, same images, same order
    assert sum(map(len, delivered.values())) == len(ledger)


def test_ledger_counts_and_dataframe_describe_every_change(dynamodb):
    ledger = datagen.run(300, table_name=TABLE, client=dynamodb, seed=1, progress=False)
    counts = ledger.counts()
    assert counts == Counter(entry.op for entry in ledger) and sum(counts.values()) == 300
    frame = ledger.to_dataframe()
    assert list(frame.columns) == ["written_at", "op", "orderid", "product_name", "quantity", "price"]
    assert frame["op"].value_counts().to_dict() == {op: n for op, n in counts.items() if n}
    assert str(frame["written_at"].dtype).startswith("datetime64") and frame["written_at"].is_monotonic_increasing
    state = ledger.current_state_dataframe()
    assert state["orderid"].tolist() == sorted(ledger.current_state())


def test_a_batch_never_holds_two_changes_to_one_order(dynamodb):
    client = ThrottlingClient(dynamodb)
    mix = {"insert": 0.3, "update": 0.6, "delete": 0.1}  # few live orders, so the same one is hit often
    ledger = datagen.run(500, table_name=TABLE, client=client, seed=12, mix=mix, progress=False)
    keys_per_batch = [[key_of(request) for request in batch] for batch in client.batches]
    assert all(len(keys) <= 25 and len(set(keys)) == len(keys) for keys in keys_per_batch)
    assert sum(map(len, keys_per_batch)) == len(ledger) == 500
    assert scan_table(dynamodb) == ledger.current_state()


def test_unprocessed_items_are_retried_until_written(dynamodb):
    client = ThrottlingClient(dynamodb, throttled_calls=3, held_back=5)
    ledger = datagen.run(60, table_name=TABLE, client=client, seed=3, progress=False)
    assert len(client.batches) > 3  # the held-back items were sent again
    assert len(ledger) == 60
    assert scan_table(dynamodb) == ledger.current_state()


def test_items_left_unprocessed_after_the_retries_raise_a_clear_error(dynamodb):
    client = ThrottlingClient(dynamodb, throttled_calls=10**6, held_back=4)
    changes = datagen.generate_changes(25, seed=3, mix={"insert": 1.0})
    start = time.monotonic()
    with pytest.raises(datagen.UnprocessedItemsError, match="4 of 25 changes .* still unprocessed after 2 retries"):
        datagen.write_changes(changes, table_name=TABLE, client=client, max_retries=2, progress=False)
    assert time.monotonic() - start < 2  # the backoff is bounded
    assert len(client.batches) == 3


def test_unprocessed_error_keeps_the_ledger_of_what_was_written(dynamodb):
    client = ThrottlingClient(dynamodb, throttled_calls=10**6, held_back=4)
    changes = datagen.generate_changes(25, seed=3, mix={"insert": 1.0})
    with pytest.raises(datagen.UnprocessedItemsError) as raised:
        datagen.write_changes(changes, table_name=TABLE, client=client, max_retries=1, progress=False)
    assert len(raised.value.ledger) == 21
    assert scan_table(dynamodb) == raised.value.ledger.current_state()


def test_rate_limit_spreads_the_writes(dynamodb):
    changes = datagen.generate_changes(20, seed=1)
    start = time.monotonic()
    ledger = datagen.write_changes(changes, table_name=TABLE, client=dynamodb, rate=100, progress=False)
    elapsed = time.monotonic() - start
    assert 0.18 <= elapsed < 2
    spread = (ledger.entries[-1].written_at - ledger.entries[0].written_at).total_seconds()
    assert spread >= 0.15  # paced batches, not one burst after a sleep


def test_without_a_rate_writes_run_as_fast_as_possible(dynamodb):
    changes = datagen.generate_changes(200, seed=1)
    start = time.monotonic()
    datagen.write_changes(changes, table_name=TABLE, client=dynamodb, progress=False)
    assert time.monotonic() - start < 1.9  # 200 changes at 100/s would take 2 s


def test_writing_the_same_changes_twice_is_refused(dynamodb):
    changes = datagen.generate_changes(50, seed=4)
    datagen.write_changes(changes, table_name=TABLE, client=dynamodb, progress=False)
    before = scan_table(dynamodb)
    with pytest.raises(datagen.RunAlreadyWrittenError, match="already holds order .* datagen.run()"):
        datagen.write_changes(changes, table_name=TABLE, client=dynamodb, progress=False)
    assert scan_table(dynamodb) == before


def test_running_twice_with_one_seed_adds_new_orders_instead_of_overwriting(dynamodb):
    first = datagen.run(200, table_name=TABLE, client=dynamodb, seed=7, progress=False)
    second = datagen.run(200, table_name=TABLE, client=dynamodb, seed=7, progress=False)
    assert not {e.orderid for e in first} & {e.orderid for e in second}
    assert scan_table(dynamodb) == {**first.current_state(), **second.current_state()}


def test_runs_with_one_seed_but_another_mix_or_count_never_reuse_order_ids(dynamodb):
    """The first run leaves few orders; a probe of the second run's first order alone would miss the overlap."""
    first = datagen.run(300, table_name=TABLE, client=dynamodb, seed=0, progress=False)
    second = datagen.run(300, table_name=TABLE, client=dynamodb, seed=0, mix={"insert": 1.0}, progress=False)
    third = datagen.run(301, table_name=TABLE, client=dynamodb, seed=0, progress=False)
    ids = [{entry.orderid for entry in ledger} for ledger in (first, second, third)]
    assert not ids[0] & ids[1] and not ids[0] & ids[2] and not ids[1] & ids[2]
    assert scan_table(dynamodb) == {**first.current_state(), **second.current_state(), **third.current_state()}


def test_same_seed_on_a_fresh_table_writes_the_same_orders(dynamodb):
    def changes_written():
        ledger = datagen.run(100, table_name=TABLE, client=dynamodb, seed=7, progress=False)
        return [(entry.op, entry.orderid, entry.item) for entry in ledger]

    first = changes_written()
    dynamodb.delete_table(TableName=TABLE)
    create_orders_table(dynamodb)
    assert changes_written() == first


def test_missing_table_says_to_create_it(moto_session):
    client = moto_session.client("dynamodb")
    with pytest.raises(datagen.TableNotFoundError, match="'nowhere' does not exist .* create it first"):
        datagen.run(10, table_name="nowhere", client=client, progress=False)


def test_progress_bar_shows_only_when_asked(dynamodb, capsys):
    datagen.run(30, table_name=TABLE, client=dynamodb, seed=1, progress=False)
    assert "change" not in capsys.readouterr().err
    datagen.run(30, table_name=TABLE, client=dynamodb, seed=2, progress=True)
    assert "30/30" in capsys.readouterr().err


def test_client_can_come_from_a_boto3_session(moto_session, dynamodb):
    ledger = datagen.run(20, table_name=TABLE, boto3_session=moto_session, seed=1, progress=False)
    assert scan_table(dynamodb) == ledger.current_state()
