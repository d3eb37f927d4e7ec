"""What running the course on AWS costs: an estimate, line by line per service.

The rates are the us-east-1 list prices in ../shared/reference/aws-semantics.md §7. AWS's pricing pages
could not be read when they were gathered, so most come from secondary sources dated 2025-07 to
2026-05, and some could not be confirmed at all: each rate says which. They are estimates: check the
AWS pricing pages before quoting them to anyone. What the course does but §7 gives no rate for is
listed as not priced, rather than left out silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

RATES_AS_OF = "2025-07 to 2026-05"   # the dates of the sources in aws-semantics.md §7

AWS_PAGE = "AWS pricing page"
SECONDARY = "secondary source"
UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True)
class Rate:
    dollars: float
    source: str   # AWS_PAGE, SECONDARY (dated, third party) or UNCONFIRMED (no source found)


# One table of every rate used below, in US dollars, with where it comes from (aws-semantics.md §7).
RATES = {
    "dynamodb_per_million_write_units": Rate(0.625, SECONDARY),      # after the Nov-2024 cut
    "dynamodb_per_million_read_units": Rate(0.125, SECONDARY),
    "streams_per_100k_read_requests": Rate(0.02, UNCONFIRMED),       # first 2.5 M per month are free
    "pipes_per_million_requests": Rate(0.40, SECONDARY),             # each 64 KB chunk of a batch is a request
    "kinesis_per_shard_hour": Rate(0.015, UNCONFIRMED),
    "kinesis_per_million_put_units": Rate(0.014, UNCONFIRMED),       # a PUT unit is 25 KB
    "firehose_per_gb_ingested": Rate(0.029, UNCONFIRMED),            # each record rounded up to 5 KB
    "lambda_per_million_requests": Rate(0.20, AWS_PAGE),
    "lambda_per_gb_second": Rate(0.0000166667, AWS_PAGE),            # x86
    "s3_per_thousand_puts": Rate(0.005, UNCONFIRMED),
    "s3_per_million_gets": Rate(0.40, SECONDARY),
    "s3_per_million_lists": Rate(5.00, SECONDARY),
    "s3_per_gb_month": Rate(0.023, UNCONFIRMED),
    "glue_per_dpu_hour": Rate(0.44, SECONDARY),                      # billed per second, 10-minute minimum per run
    "athena_per_tb_scanned": Rate(5.00, SECONDARY),                  # 10 MB minimum per query
}
# What the course uses that §7 gives no rate for.
NOT_PRICED = [
    "CloudWatch Logs: ingestion and storage of the transform Lambda's and the crawler's logs",
]
STREAMS_FREE_READS_PER_MONTH = 2_500_000
GLUE_MINIMUM_HOURS = 10 / 60
ATHENA_MINIMUM_BYTES = 10 * 1024 * 1024
HOURS_PER_MONTH = 730
MONITORED_PREFIXES = 2   # the pipeline monitor lists orders/ and errors/ on every refresh


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
    monitor_minutes: float = 10           # notebook 09's PipelineMonitor, which stops itself after 10 minutes
    monitor_interval_seconds: float = 2

    def __post_init__(self) -> None:
        if self.hours <= 0:
            raise ValueError(f"hours must be more than 0 (got {self.hours}); e.g. --hours 2 for a half-day session.")


@dataclass
class CostLine:
    service: str
    usage: str
    dollars: float
    rates: str = ""   # how sure the rates behind this line are


@dataclass
class CostEstimate:
    lines: list[CostLine]
    participants: int
    not_priced: list[str]

    @property
    def total(self) -> float:
        return sum(line.dollars for line in self.lines) * self.participants

    def to_dataframe(self) -> pd.DataFrame:
        return pd.DataFrame([vars(line) for line in self.lines])

    def __str__(self) -> str:
        width = max(len(line.service) for line in self.lines)
        rows = [f"  {line.service:<{width}}  ${line.dollars:>8.4f}   {line.usage} [{line.rates}]" for line in self.lines]
        per_person = sum(line.dollars for line in self.lines)
        return "\n".join([
            f"Estimated cost of the course on AWS (us-east-1 list prices, sources dated {RATES_AS_OF}):", *rows,
            f"  {'per participant':<{width}}  ${per_person:>8.4f}",
            f"  {'total':<{width}}  ${self.total:>8.2f}   for {self.participants} participant(s)",
            *(f"  not priced (no rate in the sources): {item}" for item in self.not_priced),
            "These are estimates from list prices, not a bill; [brackets] say where each rate comes from. "
            "Check the AWS pricing pages.",
        ])


def _line(service: str, usage: str, charges: list[tuple[float, str]]) -> CostLine:
    """A cost line from (quantity, rate name) pairs: the dollars, and where its rates come from, least sure first."""
    sources = sorted({RATES[name].source for _, name in charges}, key=[UNCONFIRMED, SECONDARY, AWS_PAGE].index)
    return CostLine(service, usage, sum(quantity * RATES[name].dollars for quantity, name in charges),
                    f"rate{'s' if len(sources) > 1 else ''}: {', '.join(sources)}")


def estimate(usage: Usage | None = None, participants: int = 1) -> CostEstimate:
    """Cost lines for one participant's usage; the total multiplies by participants."""
    u = usage or Usage()
    if participants < 1:
        raise ValueError(f"participants must be at least 1 (got {participants}).")
    gigabytes = u.changes * u.record_bytes / 1e9
    pipe_batches = math.ceil(u.changes / u.pipe_batch_size)
    monitor_refreshes = u.monitor_minutes * 60 / u.monitor_interval_seconds
    # Pipes poll each stream shard about 4 times a second, whether or not there is data; the monitor reads too.
    stream_reads = u.hours * 3600 * 4 + monitor_refreshes
    firehose_objects = math.ceil(u.hours * 3600 / u.firehose_buffer_seconds)
    lambda_gb_seconds = firehose_objects * u.lambda_ms_per_batch / 1000 * u.lambda_memory_mb / 1024
    s3_lists = monitor_refreshes * MONITORED_PREFIXES
    # A crawl of workshop-sized data takes about a minute, so each run bills the 10-minute minimum.
    crawler_hours = GLUE_MINIMUM_HOURS * u.crawler_dpus * u.crawler_runs
    athena_bytes = u.athena_queries * max(u.athena_bytes_per_query, ATHENA_MINIMUM_BYTES)
    lines = [
        _line("DynamoDB", f"{u.changes:,} writes, 1 scan",
              [(u.changes / 1e6, "dynamodb_per_million_write_units"),
               (u.changes / 1e6, "dynamodb_per_million_read_units")]),
        _line("DynamoDB Streams", f"{stream_reads:,.0f} GetRecords by the pipe and the monitor (2.5 M/month free)",
              [(max(0.0, stream_reads - STREAMS_FREE_READS_PER_MONTH) / 1e5, "streams_per_100k_read_requests")]),
        _line("EventBridge Pipes", f"{pipe_batches:,} batches", [(pipe_batches / 1e6, "pipes_per_million_requests")]),
        _line("Kinesis Data Streams", f"{u.shards} shards x {u.hours:g} h, {u.changes:,} PUT units",
              [(u.shards * u.hours, "kinesis_per_shard_hour"), (u.changes / 1e6, "kinesis_per_million_put_units")]),
        _line("Firehose", f"{u.changes:,} records x 5 KB billing minimum",
              [(u.changes * 5 * 1024 / 1e9, "firehose_per_gb_ingested")]),
        _line("Lambda", f"{firehose_objects:,} invocations, {lambda_gb_seconds:,.0f} GB-s",
              [(firehose_objects / 1e6, "lambda_per_million_requests"), (lambda_gb_seconds, "lambda_per_gb_second")]),
        _line("S3", f"{firehose_objects:,} objects, {gigabytes * 1000:,.1f} MB kept {u.hours:g} h, "
                    f"{s3_lists:,.0f} LISTs by the monitor",
              [(firehose_objects / 1000, "s3_per_thousand_puts"), (firehose_objects * 2 / 1e6, "s3_per_million_gets"),
               (s3_lists / 1e6, "s3_per_million_lists"), (gigabytes * u.hours / HOURS_PER_MONTH, "s3_per_gb_month")]),
        _line("Glue crawler", f"{u.crawler_runs} runs x {u.crawler_dpus} DPU, 10-minute minimum each",
              [(crawler_hours, "glue_per_dpu_hour")]),
        _line("Athena", f"{u.athena_queries} queries, 10 MB minimum each",
              [(athena_bytes / 1e12, "athena_per_tb_scanned")]),
    ]
    return CostEstimate(lines, participants, NOT_PRICED)
