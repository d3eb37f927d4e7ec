"""What running the course on AWS costs: an estimate, line by line per service.

The rates are us-east-1 list prices gathered in 2026 (see RATES_AS_OF), several from secondary
sources. They are estimates: check the AWS pricing pages before quoting them to anyone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

RATES_AS_OF = "2026-11 (us-east-1, on-demand list prices; marked * where not confirmed from an AWS page)"

# One dated table of every rate used below, in US dollars.
RATES = {
    "dynamodb_per_million_write_units": 0.625,
    "dynamodb_per_million_read_units": 0.125,
    "streams_per_100k_read_requests*": 0.02,       # first 2.5 M per month are free
    "pipes_per_million_requests": 0.40,            # each 64 KB chunk of a batch is a request
    "kinesis_per_shard_hour*": 0.015,
    "kinesis_per_million_put_units*": 0.014,       # a PUT unit is 25 KB
    "firehose_per_gb_ingested*": 0.029,            # each record rounded up to 5 KB
    "lambda_per_million_requests": 0.20,
    "lambda_per_gb_second": 0.0000166667,
    "s3_per_thousand_puts*": 0.005,
    "s3_per_million_gets": 0.40,
    "s3_per_gb_month*": 0.023,
    "glue_per_dpu_hour": 0.44,                     # billed per second, 10-minute minimum per crawler run
    "athena_per_tb_scanned": 5.00,                 # 10 MB minimum per query
}
STREAMS_FREE_READS_PER_MONTH = 2_500_000
GLUE_MINIMUM_HOURS = 10 / 60
ATHENA_MINIMUM_BYTES = 10 * 1024 * 1024
HOURS_PER_MONTH = 730


@dataclass
class Usage:
    """What the course does in `hours`, for one participant, with the kit's settings."""

    hours: float = 2.0
    changes: int = 20_000                 # inserts, updates and deletes written by the notebooks
    record_bytes: int = 600               # one stream record as JSON on Kinesis
    shards: int = 2
    pipe_batch_size: int = 100
    firehose_buffer_seconds: int = 10
    lambda_memory_mb: int = 256
    lambda_ms_per_batch: int = 200
    crawler_runs: int = 3
    crawler_dpus: int = 2
    athena_queries: int = 40
    athena_bytes_per_query: int = 5_000_000

    def __post_init__(self) -> None:
        if self.hours <= 0:
            raise ValueError(f"hours must be more than 0 (got {self.hours}); e.g. --hours 2 for a half-day session.")


@dataclass
class CostLine:
    service: str
    usage: str
    dollars: float


@dataclass
class CostEstimate:
    lines: list[CostLine]
    participants: int

    @property
    def total(self) -> float:
        return sum(line.dollars for line in self.lines) * self.participants

    def to_dataframe(self) -> pd.DataFrame:
        return pd.DataFrame([vars(line) for line in self.lines])

    def __str__(self) -> str:
        width = max(len(line.service) for line in self.lines)
        rows = [f"  {line.service:<{width}}  ${line.dollars:>8.4f}   {line.usage}" for line in self.lines]
        per_person = sum(line.dollars for line in self.lines)
        return "\n".join([
            f"Estimated cost of the course on AWS (rates as of {RATES_AS_OF}):", *rows,
            f"  {'per participant':<{width}}  ${per_person:>8.4f}",
            f"  {'total':<{width}}  ${self.total:>8.2f}   for {self.participants} participant(s)",
            "These are estimates from list prices, not a bill: check the AWS pricing pages.",
        ])


def estimate(usage: Usage | None = None, participants: int = 1) -> CostEstimate:
    """Cost lines for one participant's usage; the total multiplies by participants."""
    u = usage or Usage()
    if participants < 1:
        raise ValueError(f"participants must be at least 1 (got {participants}).")
    r = RATES
    gigabytes = u.changes * u.record_bytes / 1e9
    pipe_batches = math.ceil(u.changes / u.pipe_batch_size)
    # Pipes poll each stream shard about 4 times a second, whether or not there is data.
    stream_reads = u.hours * 3600 * 4
    firehose_objects = math.ceil(u.hours * 3600 / u.firehose_buffer_seconds)
    lambda_gb_seconds = firehose_objects * u.lambda_ms_per_batch / 1000 * u.lambda_memory_mb / 1024
    # A crawl of workshop-sized data takes about a minute, so each run bills the 10-minute minimum.
    crawler_hours = GLUE_MINIMUM_HOURS * u.crawler_dpus * u.crawler_runs
    athena_bytes = u.athena_queries * max(u.athena_bytes_per_query, ATHENA_MINIMUM_BYTES)
    lines = [
        CostLine("DynamoDB", f"{u.changes:,} writes, 1 scan",
                 u.changes / 1e6 * r["dynamodb_per_million_write_units"]
                 + u.changes / 1e6 * r["dynamodb_per_million_read_units"]),
        CostLine("DynamoDB Streams", f"{stream_reads:,.0f} GetRecords by the pipe (2.5 M/month free)",
                 max(0.0, stream_reads - STREAMS_FREE_READS_PER_MONTH) / 1e5 * r["streams_per_100k_read_requests*"]),
        CostLine("EventBridge Pipes", f"{pipe_batches:,} batches",
                 pipe_batches / 1e6 * r["pipes_per_million_requests"]),
        CostLine("Kinesis Data Streams", f"{u.shards} shards x {u.hours:g} h, {u.changes:,} PUT units",
                 u.shards * u.hours * r["kinesis_per_shard_hour*"]
                 + u.changes / 1e6 * r["kinesis_per_million_put_units*"]),
        CostLine("Firehose", f"{u.changes:,} records x 5 KB billing minimum",
                 u.changes * 5 * 1024 / 1e9 * r["firehose_per_gb_ingested*"]),
        CostLine("Lambda", f"{firehose_objects:,} invocations, {lambda_gb_seconds:,.0f} GB-s",
                 firehose_objects / 1e6 * r["lambda_per_million_requests"]
                 + lambda_gb_seconds * r["lambda_per_gb_second"]),
        CostLine("S3", f"{firehose_objects:,} objects, {gigabytes * 1000:,.1f} MB kept {u.hours:g} h",
                 firehose_objects / 1000 * r["s3_per_thousand_puts*"]
                 + (firehose_objects * 2) / 1e6 * r["s3_per_million_gets"]
                 + gigabytes * r["s3_per_gb_month*"] * u.hours / HOURS_PER_MONTH),
        CostLine("Glue crawler", f"{u.crawler_runs} runs x {u.crawler_dpus} DPU, 10-minute minimum each",
                 crawler_hours * r["glue_per_dpu_hour"]),
        CostLine("Athena", f"{u.athena_queries} queries, 10 MB minimum each",
                 athena_bytes / 1e12 * r["athena_per_tb_scanned"]),
    ]
    return CostEstimate(lines, participants)
