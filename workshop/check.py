"""Exercise checks: each says whether the learner's answer is right, and if not, what to look at.

Checks read the state back from AWS (or localcloud) rather than trusting notebook variables. They
print a verdict instead of raising, so a learner can read it and try again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

from workshop.session import Connection
from workshop.verify import read_shard

PASS, FAIL = "✓", "✗"


def _verdict(ok: bool, success: str, hint: str) -> None:
    print(f"{PASS} {success}" if ok else f"{FAIL} Not yet: {hint}")


def listed_tables(conn: Connection, table_names: Any) -> None:
    """Notebook 00: table_names must be what ListTables returns for this region."""
    expected = conn.client("dynamodb").list_tables()["TableNames"]
    return _verdict(isinstance(table_names, list) and sorted(table_names) == sorted(expected),
                    f"you listed the {len(expected)} table(s) in {conn.config.region}.",
                    "call conn.client('dynamodb').list_tables() and keep its 'TableNames' list.")


def table_with_stream(conn: Connection) -> None:
    """Notebook 01: the orders table exists, is keyed on orderid and streams new and old images."""
    ddb = conn.client("dynamodb")
    try:
        table = ddb.describe_table(TableName=conn.config.table_name)["Table"]
    except ddb.exceptions.ResourceNotFoundException:
        return _verdict(False, "", f"there is no table named {conn.config.table_name}; run your create_table cell.")
    key = [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]]
    stream = table.get("StreamSpecification", {})
    if key != [("orderid", "HASH")]:
        return _verdict(False, "", f"the key schema is {key}; it must be orderid as the HASH (partition) key. "
                                   "Delete the table and create it again.")
    if stream.get("StreamViewType") != "NEW_AND_OLD_IMAGES":
        return _verdict(False, "", "the stream must be enabled with StreamViewType NEW_AND_OLD_IMAGES, so that "
                                   "MODIFY records carry the item before and after the change.")
    return _verdict(True, f"{conn.config.table_name} is keyed on orderid and streams NEW_AND_OLD_IMAGES.", "")


def image_decoder(decode_image: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Notebook 02: decode_image turns a DynamoDB JSON image into plain Python values."""
    image = {"orderid": {"S": "3714"}, "product_name": {"S": "Charger"}, "quantity": {"N": "5"},
             "price": {"N": "190.07"}}
    expected = {"orderid": "3714", "product_name": "Charger", "quantity": Decimal(5), "price": Decimal("190.07")}
    try:
        decoded = decode_image(image)
    except NotImplementedError:
        return _verdict(False, "", "write decode_image first.")
    return _verdict(decoded == expected, "decode_image turns DynamoDB JSON into plain values, prices exact.",
                    f"decode_image gave {decoded!r}; expected {expected!r}. Use TypeDeserializer().deserialize "
                    "on each attribute value.")


def shard_finder(conn: Connection, shard_for: Callable[[str, list], str]) -> None:
    """Notebook 03: shard_for(key, shards) names the shard Kinesis really writes that key to."""
    from workshop.inspect.hashing import shard_for_key

    shards = conn.client("kinesis").list_shards(StreamName=conn.config.kinesis_stream_name)["Shards"]
    keys = ["3714", "order-1", "a05a0bed-000001", "zzz"]
    try:
        answers = {key: shard_for(key, shards) for key in keys}
    except NotImplementedError:
        return _verdict(False, "", "write shard_for first.")
    expected = {key: shard_for_key(key, shards)["ShardId"] for key in keys}
    wrong = {key: answer for key, answer in answers.items() if answer != expected[key]}
    return _verdict(not wrong, f"shard_for agrees with Kinesis for {len(keys)} keys.",
                    f"for {wrong} Kinesis uses {[expected[k] for k in wrong]}. Hash with hashlib.md5(key.encode()), "
                    "read the digest as a big-endian integer, and find the shard whose HashKeyRange contains it.")


def records_since(conn: Connection, recent: Any, since: Any) -> None:
    """Notebook 04: recent holds every Kinesis record that arrived at or after `since`, from every shard."""
    if recent is None:
        return _verdict(False, "", "store the records you read in `recent`.")
    kinesis = conn.client("kinesis")
    name = conn.config.kinesis_stream_name
    expected = set()
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        expected |= {r["SequenceNumber"] for r in read_shard(kinesis, iterator, limit=10_000)
                     if r["ApproximateArrivalTimestamp"] >= since}
    got = {r["SequenceNumber"] for r in recent}
    return _verdict(got == expected and len(expected) > 0,
                    "you read every record that arrived since then, from every shard.",
                    f"you have {len(got & expected)} of the {len(expected)} records that arrived since then"
                    f"{' and some older ones' if got - expected else ''}. Read every shard with "
                    "ShardIteratorType='AT_TIMESTAMP' and Timestamp=since, and follow NextShardIterator until the "
                    "shard is caught up: an empty page with MillisBehindLatest 0 (an empty page alone may come "
                    "before later records).")


def rejected_record(bad_result: Any, original_data: str) -> None:
    """Notebook 05: the handler's result for a non-JSON record is ProcessingFailed, with its data unchanged."""
    if not isinstance(bad_result, dict):
        return _verdict(False, "", "store the handler's result entry for the bad record (a dict) in bad_result.")
    ok = bad_result.get("result") == "ProcessingFailed" and bad_result.get("data") == original_data
    return _verdict(ok, "the bad record comes back ProcessingFailed with its original data, so Firehose can write "
                        "it under the error prefix.",
                    f"got result={bad_result.get('result')!r}; pick the entry whose recordId is the bad record's, "
                    "from the 'records' list the handler returns.")


def firehose_prefixes(prefix: Any, error_prefix: Any) -> None:
    """Notebook 06: a data prefix with hour folders under orders/, and an error prefix by failure type."""
    problems = []
    if not isinstance(prefix, str) or not prefix.startswith("orders/"):
        problems.append("prefix must start with 'orders/' (the crawler names the table after that folder)")
    elif "!{timestamp:" not in prefix:
        problems.append("prefix needs a !{timestamp:...} expression such as !{timestamp:yyyy/MM/dd/HH}/")
    if not isinstance(error_prefix, str) or "!{firehose:error-output-type}" not in error_prefix:
        problems.append("error_prefix must contain !{firehose:error-output-type}: AWS requires it when the prefix "
                        "uses expressions")
    elif error_prefix.startswith("orders/"):
        problems.append("error_prefix must not be inside orders/, or the crawler would read failed records as data")
    return _verdict(not problems, "both prefixes follow Firehose's rules and keep errors out of the data folder.",
                    "; ".join(problems))


def json_classifier(conn: Connection) -> None:
    """Notebook 07: the participant's JSON classifier exists and reads each line's object as one row."""
    glue = conn.client("glue")
    try:
        classifier = glue.get_classifier(Name=conn.config.classifier_name)["Classifier"].get("JsonClassifier", {})
    except glue.exceptions.EntityNotFoundException:
        return _verdict(False, "", f"there is no classifier named {conn.config.classifier_name}; run your "
                                   "create_classifier cell.")
    path = classifier.get("JsonPath")
    return _verdict(path == "$", "the classifier reads each line's JSON object as one row.",
                    f"its JsonPath is {path!r}. Firehose writes one JSON object per line, so the whole object ($) "
                    "is the row; $[*] is for files that hold one big array. Delete the classifier and create it "
                    "again with JsonPath '$'.")


def current_state_query(conn: Connection, current_state_sql: Any) -> None:
    """Notebook 08: the learner's SQL rebuilds the table's current state from the change log, row for row."""
    import awswrangler as wr

    from workshop.verify import compare_with_table

    if not isinstance(current_state_sql, str) or not current_state_sql.strip():
        return _verdict(False, "", "write your query as a string in current_state_sql.")
    try:
        projected = wr.athena.read_sql_query(current_state_sql, database=conn.config.glue_database,
                                             workgroup=conn.config.workgroup_name, ctas_approach=False)
    except Exception as error:  # noqa: BLE001 - any failure of the learner's query is reported, not raised
        return _verdict(False, "", f"the query failed: {error}")
    missing_columns = {"orderid", "product_name", "quantity", "price"} - set(projected.columns)
    if missing_columns:
        return _verdict(False, "", f"the result needs the columns {sorted(missing_columns)}.")
    comparison = compare_with_table(conn, projected)
    return _verdict(comparison.matches, f"{comparison}.",
                    f"{comparison}. Keep only each order's newest change (row_number() over the order's changes, "
                    "newest sequence number first: compare length(sequence_number), then the string), and drop "
                    "orders whose newest change is a delete.")


def percentiles(delays: Any, p50: Any, p95: Any) -> None:
    """Notebook 09: p50 and p95 are the median and 95th percentile of the delays, in seconds."""
    import pandas as pd

    if p50 is None or p95 is None:
        return _verdict(False, "", "set p50 and p95.")
    expected = pd.Series(delays).dropna().quantile([0.5, 0.95]).tolist()
    ok = abs(float(p50) - expected[0]) < 0.05 and abs(float(p95) - expected[1]) < 0.05
    return _verdict(ok, "p50 and p95 are right: half of the orders were queryable within p50 seconds, "
                        "19 out of 20 within p95.",
                    "use delays.quantile(0.5) and delays.quantile(0.95) (dropna() first).")


def full_day_cost(full_day_total: Any) -> None:
    """Notebook 10: the estimate for 20 participants over an 8-hour day."""
    from workshop.cost import Usage, estimate

    expected = estimate(Usage(hours=8), participants=20).total
    ok = isinstance(full_day_total, (int, float)) and abs(full_day_total - expected) < 0.01
    return _verdict(ok, f"a full day for 20 people is about ${expected:.2f}.",
                    "use estimate(Usage(hours=8), participants=20).total.")
