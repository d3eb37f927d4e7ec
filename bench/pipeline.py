"""How fast and how fresh is the course's pipeline on localcloud, and how fast does localcloud start?

One run measures three things, each against a baseline measured in the same run (the machine is shared):

1. Sustained throughput. Loads of 30,000 changes written with batch_write_item as fast as one writer can, into
   the course's real pipeline (table + stream -> pipe -> Kinesis -> Firehose with the course transform Lambda ->
   S3, built by the workshop's own ensure_* steps). The sustained rate is the slope of the count of a load's
   changes seen in S3 against time, fitted between its 10th and 90th percentile (steady_rate), so neither start-up
   nor the buffering tail (pipe window, then Firehose buffer, about 2 s of latency: that is freshness) is counted.
   Baseline: the same load (same item shape, same client code) into a table with a stream but no pipe, its write
   rate measured the same way. Raw and pipeline loads alternate, raw first and last, 3 pipeline loads; each is
   compared with the mean of the raw loads either side of it, and the median round ratio is reported.
   Goal: >= 0.9. A pipeline that falls behind while the writes go on and catches up once they stop delivers
   faster than it was written to, for a while: that is not keeping up. So a round counts the delivery rate
   only up to the pipeline's own write rate, and it kept up only if 95% of its changes reached S3 within
   KEEP_UP_LAG_SECONDS of being written (the freshness goal plus one listing period and 0.5 s); the goal is met
   only if every round kept up. Printed as well: the pipeline's write rate against raw ingest (how much the engines running
   in the same process slow the writes), its delivery rate against its own write rate (does it keep up), and
   the server process's CPU time per change and in cores: it has one GIL, so about one core is its ceiling.
2. Freshness. 200 changes/s for 20 s; per change, the time the S3 object holding it was first listed minus the
   ledger's written_at. Goal: p95 <= 2 s. The buffer interval sets the expected delay, so p95 is also given
   as a multiple of it.
3. Cold start. `python -m localcloud serve` in a new process until DynamoDB list_tables answers, 5 times;
   the median against a bare `python -c pass` measured in the same run. Goal: <= 1.5 s.

Nothing may be lost: every change must reach S3 under orders/, identified by its DynamoDB eventID; distinct
event_ids in S3 are compared with the table stream's records and with the ledgers. Firehose uses a 1 s buffer
(and 1 s Lambda buffer) so the figures are not dominated by buffering. localcloud runs as its own process, as
`python -m localcloud start` runs it for the course. S3 is listed from a process of its own, every 0.1 s (0.5 s
through the throughput rounds, raw loads included); objects are read only once the writes are over, so the watcher
does not compete with the writer. A warm-up load of the full size into each table is not timed (WARM_UP_CHANGES
says why). About seven minutes in all on a 2-core machine. Run:  .venv/bin/python bench/pipeline.py
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import EndpointConnectionError

from localcloud.server import client_environment
from workshop import course, datagen, verify
from workshop.config import DATA_FOLDER, Config
from workshop.session import Connection, connect
from workshop.steps import firehose, s3

THROUGHPUT_CHANGES = 30_000
THROUGHPUT_ROUNDS = 3
STEADY_SHARE = (0.1, 0.9)  # rates are measured between these quantiles of a load's times
# The warm-up starts the Lambda worker and opens every connection before anything is timed. It is as large as a
# timed load: the first raw load of a run, into a server that held no pipeline data yet, ran 12% faster than the
# second in 8 of 9 runs (2026-12-08), so the baseline of round 1 was too high.
WARM_UP_CHANGES = THROUGHPUT_CHANGES
FRESHNESS_RATE = 200  # changes per second
FRESHNESS_SECONDS = 20
BUFFER_SECONDS = 1
POLL_SECONDS = 0.1  # how often S3 is listed: a change is seen at most this much (plus one listing) late
# Through the throughput rounds S3 is listed less often: each listing costs the server time, and Firehose writes
# about one object a second anyway, so a finer period adds no precision.
THROUGHPUT_POLL_SECONDS = 0.5
DELIVERY_TIMEOUT_SECONDS = 120
LISTER_TIMEOUT_SECONDS = 30  # one listing of the bucket, at most
COLD_STARTS = 5
SERVER_START_TIMEOUT_SECONDS = 30

THROUGHPUT_RATIO_GOAL = 0.9
KEEP_UP_LAG_SECONDS = 3.0  # p95 write -> S3 during a throughput load; beyond it, changes waited in a backlog
FRESHNESS_P95_GOAL_SECONDS = 2.0
COLD_START_GOAL_SECONDS = 1.5


# ---- a localcloud server in its own process --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, state_dir: Path) -> subprocess.Popen:
    """`python -m localcloud serve` in the background; its output goes to state_dir/server.log."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / "server.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "localcloud", "serve", "--port", str(port), "--state-dir", str(state_dir)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop_server(process: subprocess.Popen) -> None:
    """SIGTERM shuts localcloud down like Ctrl-C (engines stop, Lambda workers end)."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def server_failed(process: subprocess.Popen, state_dir: Path) -> RuntimeError:
    log = (state_dir / "server.log").read_text(errors="replace")[-2000:]
    return RuntimeError(f"localcloud exited with code {process.returncode} during start-up. Its log ends:\n{log}")


def wait_until_healthy(process: subprocess.Popen, endpoint: str, state_dir: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise server_failed(process, state_dir)
        try:
            with urllib.request.urlopen(f"{endpoint}/_localcloud/health", timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    raise RuntimeError(f"localcloud did not answer on {endpoint} within {SERVER_START_TIMEOUT_SECONDS} s; "
                       f"see {state_dir / 'server.log'}.")


# ---- 3. cold start -----------------------------------------------------------------------------------------


def cold_start_seconds(state_dir: Path) -> float:
    """Seconds from launching `python -m localcloud serve` to the first successful DynamoDB list_tables."""
    port = free_port()
    # The client is built before the clock starts: its own set-up is not the server's start-up.
    dynamodb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                            aws_access_key_id="localcloud", aws_secret_access_key="localcloud",
                            config=BotoConfig(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=10))
    started = time.perf_counter()
    process = start_server(port, state_dir)
    try:
        while True:
            try:
                dynamodb.list_tables()
                return time.perf_counter() - started
            except EndpointConnectionError:
                if process.poll() is not None:
                    raise server_failed(process, state_dir) from None
                if time.perf_counter() - started > SERVER_START_TIMEOUT_SECONDS:
                    raise
                time.sleep(0.01)
    finally:
        stop_server(process)


def interpreter_start_seconds() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


# ---- watching S3 -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveredChange:
    orderid: str
    event_name: str
    sequence_number: int
    seen_at: float  # wall-clock time of the first listing that showed an object holding this change


class DeliveryWatcher:
    """Notes when each object under orders/ was first listed, and reads each object once.

    The listing runs in a process of its own (list_in_a_loop), every POLL_SECONDS, through raw and pipeline loads
    alike. In the writer's process it took 15-20% of that process's time, during the pipeline loads only, and
    slowed the very writes being measured. poll() only collects the new listings, and read() reads the objects
    listed so far, so neither competes with a load being written.
    """

    def __init__(self, conn: Connection) -> None:
        self.s3 = conn.client("s3")
        self.bucket = conn.bucket
        self.first_listed: dict[str, float] = {}  # key -> wall-clock time of the first listing that showed it
        self.read_keys: set[str] = set()
        self.changes: dict[str, DeliveredChange] = {}  # event_id -> its first delivery
        self.event_ids_by_run: dict[str, set[str]] = defaultdict(set)  # run id (orderid prefix) -> event_ids
        spawn = multiprocessing.get_context("spawn")
        self._period = spawn.Value("d", POLL_SECONDS)
        self._stop = spawn.Event()
        self._listings, child_end = spawn.Pipe()
        self._lister = spawn.Process(target=list_in_a_loop, name="s3-lister", daemon=True,
                                     args=(self.bucket, f"{DATA_FOLDER}/", self._period, self._stop, child_end))
        self._lister.start()

    def set_period(self, seconds: float) -> None:
        self._period.value = seconds

    def close(self) -> None:
        self._stop.set()
        self._lister.join(timeout=10)

    def poll(self) -> None:
        """Collect the keys the lister has seen since the last poll, with the time each was first listed."""
        self._listings.send("new keys")
        if not self._listings.poll(LISTER_TIMEOUT_SECONDS):
            raise RuntimeError(f"the S3 lister process did not answer within {LISTER_TIMEOUT_SECONDS} s "
                               f"(alive: {self._lister.is_alive()}, exit code: {self._lister.exitcode})")
        for key, seen_at in self._listings.recv():
            self.first_listed.setdefault(key, seen_at)

    def read(self) -> None:
        for key, seen_at in list(self.first_listed.items()):
            if key not in self.read_keys:
                self._read(key, seen_at)
                self.read_keys.add(key)

    def _read(self, key: str, seen_at: float) -> None:
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode()
        for line in body.splitlines():
            row = json.loads(line)
            if row["event_id"] not in self.changes:
                self.changes[row["event_id"]] = DeliveredChange(row["orderid"], row["event_name"],
                                                                int(row["sequence_number"]), seen_at)
                self.event_ids_by_run[run_id_of(row["orderid"])].add(row["event_id"])

    def delivered(self, ledger: datagen.Ledger) -> list[DeliveredChange]:
        """The changes of this ledger's run seen so far (one per event_id)."""
        return [self.changes[event_id] for event_id in self.event_ids_by_run[run_id_of(ledger.entries[0].orderid)]]

    def wait_for(self, ledger: datagen.Ledger, timeout: float = DELIVERY_TIMEOUT_SECONDS) -> list[DeliveredChange]:
        """Poll until every change of the ledger has been seen; raise, with the count, if that takes too long."""
        deadline = time.monotonic() + timeout
        self.read()
        while len(self.delivered(ledger)) < len(ledger):
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(self.delivered(ledger))} of {len(ledger)} changes reached "
                                   f"s3://{self.bucket}/{DATA_FOLDER}/ within {timeout:.0f} s")
            time.sleep(POLL_SECONDS)
            self.poll()
            self.read()
        return self.delivered(ledger)



def list_in_a_loop(bucket: str, prefix: str, period: Any, stop: Any, parent: Any) -> None:
    """In the lister process: list the prefix every period.value seconds until stopped; answer each request from
    the parent with the keys first listed since the previous one, as (key, wall-clock time of that listing)."""
    s3 = boto3.client("s3")
    first_listed: dict[str, float] = {}
    unsent: list[tuple[str, float]] = []
    while not stop.is_set():
        started = time.monotonic()
        keys = [entry["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                for entry in page.get("Contents", [])]
        seen_at = time.time()
        for key in keys:
            if key not in first_listed:
                first_listed[key] = seen_at
                unsent.append((key, seen_at))
        while parent.poll(max(0.0, period.value - (time.monotonic() - started))):
            parent.recv()
            parent.send(unsent)
            unsent = []


def run_id_of(orderid: str) -> str:
    """Order ids are '<run id>-<number>', so the prefix tells which load a change belongs to."""
    return orderid.split("-", 1)[0]


# ---- loads -------------------------------------------------------------------------------------------------


@dataclass
class Load:
    ledger: datagen.Ledger
    started: float  # wall clock just before the first request
    written: float  # wall clock when the last batch was accepted

    @property
    def write_seconds(self) -> float:
        return self.written - self.started


def write_load(conn: Connection, count: int, seed: int, rate: float | None = None) -> Load:
    """Write count changes with datagen.run, as the notebooks do."""
    started = time.time()
    ledger = datagen.run(count, table_name=conn.config.table_name, client=conn.client("dynamodb"), seed=seed,
                         rate=rate, progress=False)
    return Load(ledger, started, max(entry.written_at for entry in ledger).timestamp())


def check_identity(ledger: datagen.Ledger, delivered: list[DeliveredChange]) -> None:
    """Each ledger change was delivered as exactly one event with the same order and operation."""
    if Counter((c.orderid, c.event_name) for c in delivered) != Counter((e.orderid, e.op) for e in ledger):
        raise RuntimeError("the changes in S3 are not the changes written (order ids or event names differ)")


def freshness_delays(ledger: datagen.Ledger, delivered: list[DeliveredChange]) -> list[float]:
    """Seconds from each change's write to the first listing of its object.

    The k-th change of an order in the ledger is the k-th stream record of that order, by sequence number.
    """
    by_order: dict[str, list[DeliveredChange]] = defaultdict(list)
    for change in delivered:
        by_order[change.orderid].append(change)
    for changes in by_order.values():
        changes.sort(key=lambda change: change.sequence_number)
    position: Counter[str] = Counter()
    delays = []
    for entry in ledger:
        change = by_order[entry.orderid][position[entry.orderid]]
        position[entry.orderid] += 1
        if change.event_name != entry.op:
            raise RuntimeError(f"order {entry.orderid}: the ledger says {entry.op}, S3 says {change.event_name}")
        delays.append(change.seen_at - entry.written_at.timestamp())
    return delays


# ---- the measurements --------------------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    value: str
    goal: str
    met: bool


def build_pipeline(conn: Connection) -> None:
    """The course's pipeline, through the course's steps: catch-up to notebook 06, then the delivery stream."""
    course.catch_up(conn, "06", verbose=False)  # table + stream, Kinesis stream, pipe, transform Lambda
    s3.ensure_bucket(conn)
    firehose.ensure_delivery_stream(conn, buffer_seconds=BUFFER_SECONDS)


def measure_pipeline(pipeline: Connection, raw: Connection, server_pid: int) -> tuple[list[Figure], list[str]]:
    """Warm up, then throughput, freshness and the loss check, on one pipeline and one raw table."""
    watcher = DeliveryWatcher(pipeline)
    records_before = verify.stream_record_count(pipeline)  # the course's steps may have written samples
    try:
        warm_up = write_load(pipeline, WARM_UP_CHANGES, seed=1)
        write_load(raw, WARM_UP_CHANGES, seed=1)
        watcher.wait_for(warm_up.ledger)
        watcher.set_period(THROUGHPUT_POLL_SECONDS)
        throughput, throughput_notes, loads = measure_throughput(pipeline, raw, watcher, server_pid)
        watcher.set_period(POLL_SECONDS)
        freshness, freshness_notes, fresh = measure_freshness(pipeline, watcher)
        lost, compared = check_nothing_lost(pipeline, watcher, [warm_up, *loads, fresh], records_before)
    finally:
        watcher.close()
    figures = [throughput, Figure("changes lost", str(lost), "0", lost == 0), freshness]
    return figures, throughput_notes + freshness_notes + [compared]


def steady_rate(times: list[float]) -> float:
    """Changes per second while a load was in full flow: the least-squares slope of the count so far against time.

    Every distinct time is one step of the count (a batch written, or the objects of one S3 listing), and only the
    steps between the STEADY_SHARE quantiles of the count are fitted, so neither start-up nor the tail counts.
    A slope through every step, not the distance between the two quantiles' times: Firehose delivers about one
    object a second and S3 is listed every THROUGHPUT_POLL_SECONDS, so a change's time is late by up to 1.5 s.
    Two such times 7 s apart made a round's delivery rate off by 7% either way, and each round counts the lower of
    its delivery and write rates.
    """
    steps = sorted(Counter(times).items())
    total = len(times)
    low, high = (share * total for share in STEADY_SHARE)
    points, count = [], 0
    for moment, changes in steps:
        count += changes
        if low <= count <= high:
            points.append((moment, count))
    if len(points) < 3:
        raise RuntimeError(f"a load of {total} changes came in {len(steps)} steps, too few to measure a steady rate")
    return statistics.linear_regression(*zip(*points)).slope


def write_times(load: Load) -> list[float]:
    return [entry.written_at.timestamp() for entry in load.ledger]


@dataclass
class ThroughputRound:
    raw_either_side: tuple[float, float]  # changes/s into the table without a pipe, just before and just after
    pipeline_writes: float  # changes/s into the pipeline's table
    delivered: float  # changes/s reaching S3
    tail: float  # seconds from the last write to the last change seen in S3
    lag_p95: float  # seconds from write to S3, 95th percentile of the load's changes
    raw_server: "ServerCpu"
    pipeline_server: "ServerCpu"  # from the first write until every change was seen in S3

    @property
    def raw_writes(self) -> float:
        return statistics.fmean(self.raw_either_side)

    @property
    def ratio(self) -> float:
        """Delivery against raw ingest; delivering faster than the pipeline was written to is catching up."""
        return min(self.delivered, self.pipeline_writes) / self.raw_writes

    @property
    def kept_up(self) -> bool:
        return self.lag_p95 <= KEEP_UP_LAG_SECONDS


@dataclass
class ServerCpu:
    """The server process's CPU time over a load: one GIL, so about one core is all it can use."""

    seconds: float
    wall_seconds: float
    changes: int

    @property
    def per_change_us(self) -> float:
        return self.seconds / self.changes * 1e6

    @property
    def cores(self) -> float:
        return self.seconds / self.wall_seconds

    def plus(self, other: ServerCpu) -> ServerCpu:
        """Both loads' CPU, as if one load."""
        return ServerCpu(self.seconds + other.seconds, self.wall_seconds + other.wall_seconds,
                         self.changes + other.changes)


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a process so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class RawLoad:
    """The baseline: steady batch_write_item ingest into the table without a pipe, and the server's CPU for it."""

    rate: float
    server: ServerCpu


def raw_load(raw: Connection, server_pid: int, seed: int) -> RawLoad:
    began, cpu = time.monotonic(), process_cpu_seconds(server_pid)
    load = write_load(raw, THROUGHPUT_CHANGES, seed=seed)
    return RawLoad(steady_rate(write_times(load)),
                   ServerCpu(process_cpu_seconds(server_pid) - cpu, time.monotonic() - began, THROUGHPUT_CHANGES))


def throughput_round(pipeline: Connection, raw: Connection, watcher: DeliveryWatcher, server_pid: int, seed: int,
                     raw_before: RawLoad) -> tuple[ThroughputRound, Load, RawLoad]:
    """A pipeline load, then a raw load; the round's baseline is the mean of the raw loads either side of it."""
    began, cpu = time.monotonic(), process_cpu_seconds(server_pid)
    load = write_load(pipeline, THROUGHPUT_CHANGES, seed=seed)
    delivered = watcher.wait_for(load.ledger)
    pipeline_server = ServerCpu(process_cpu_seconds(server_pid) - cpu, time.monotonic() - began, THROUGHPUT_CHANGES)
    raw_after = raw_load(raw, server_pid, seed=seed + 1)
    check_identity(load.ledger, delivered)
    seen = [change.seen_at for change in delivered]
    lag_p95 = statistics.quantiles(freshness_delays(load.ledger, delivered), n=20, method="inclusive")[18]
    raw_server = raw_before.server.plus(raw_after.server)
    result = ThroughputRound((raw_before.rate, raw_after.rate), steady_rate(write_times(load)), steady_rate(seen),
                             max(seen) - load.written, lag_p95, raw_server, pipeline_server)
    return result, load, raw_after


def measure_throughput(pipeline: Connection, raw: Connection, watcher: DeliveryWatcher,
                       server_pid: int) -> tuple[Figure, list[str], list[Load]]:
    """Sustained delivery rate against raw ingest, the loads alternating; the median round ratio counts.

    Raw, pipeline, raw, pipeline, ..., raw: each pipeline load is compared with the raw loads on either side of it,
    so that the baseline follows the machine getting faster or slower during the run (raw ingest has moved by a
    quarter between the loads of one run).
    """
    rounds, loads = [], []
    raw_before = raw_load(raw, server_pid, seed=2)
    for number in range(THROUGHPUT_ROUNDS):
        result, load, raw_before = throughput_round(pipeline, raw, watcher, server_pid, 2 + number, raw_before)
        rounds.append(result)
        loads.append(load)
    ratio = statistics.median(r.ratio for r in rounds)
    notes = [f"throughput: {THROUGHPUT_ROUNDS} rounds of {THROUGHPUT_CHANGES:,} changes {loads[0].ledger.counts()}, "
             f"rates fitted between the {STEADY_SHARE[0]:.0%} and {STEADY_SHARE[1]:.0%} quantiles of each load"]
    notes += [f"  round {n}: raw ingest {r.raw_writes:,.0f}/s ({r.raw_either_side[0]:,.0f} before, "
              f"{r.raw_either_side[1]:,.0f} after); pipeline writes {r.pipeline_writes:,.0f}/s "
              f"({r.pipeline_writes / r.raw_writes:.2f}x raw), delivered {r.delivered:,.0f}/s "
              f"({r.delivered / r.pipeline_writes:.2f}x its writes), counted {r.ratio:.2f}x raw; write -> S3 p95 "
              f"{r.lag_p95:.2f} s ({'kept up' if r.kept_up else 'FELL BEHIND'}), last change in S3 "
              f"{r.tail:.2f} s after the last write; server CPU {r.raw_server.per_change_us:.0f} µs a change raw "
              f"({r.raw_server.cores:.2f} cores), {r.pipeline_server.per_change_us:.0f} µs through the pipeline "
              f"({r.pipeline_server.cores:.2f} cores)" for n, r in enumerate(rounds, 1)]
    middle = sorted(rounds, key=lambda r: r.ratio)[len(rounds) // 2]
    behind = sum(1 for r in rounds if not r.kept_up)
    figure = Figure("sustained end-to-end throughput / raw ingest (median round)",
                    f"{ratio:.2f} ({min(middle.delivered, middle.pipeline_writes):,.0f} vs {middle.raw_writes:,.0f} "
                    f"changes/s)" + (f"; fell behind in {behind} of {len(rounds)} rounds" if behind else ""),
                    f">= {THROUGHPUT_RATIO_GOAL}, keeping up (p95 write -> S3 <= {KEEP_UP_LAG_SECONDS:.0f} s)",
                    ratio >= THROUGHPUT_RATIO_GOAL and not behind)
    return figure, notes, loads


def measure_freshness(pipeline: Connection, watcher: DeliveryWatcher) -> tuple[Figure, list[str], Load]:
    """Write -> first listing of the object holding the change, at a steady rate."""
    fresh = write_load(pipeline, FRESHNESS_RATE * FRESHNESS_SECONDS, seed=4, rate=FRESHNESS_RATE)
    delivered = watcher.wait_for(fresh.ledger)
    check_identity(fresh.ledger, delivered)
    delays = freshness_delays(fresh.ledger, delivered)
    cuts = statistics.quantiles(delays, n=20, method="inclusive")
    p50, p95 = cuts[9], cuts[18]
    notes = [f"freshness: {len(fresh.ledger):,} changes at {len(fresh.ledger) / fresh.write_seconds:.0f}/s for "
             f"{fresh.write_seconds:.1f} s; min {min(delays):.2f} s, max {max(delays):.2f} s; a change is seen up "
             f"to {POLL_SECONDS} s (one listing period) after its object is written"]
    figure = Figure("freshness p50 / p95",
                    f"{p50:.2f} s / {p95:.2f} s (p95 = {p95 / BUFFER_SECONDS:.1f}x the {BUFFER_SECONDS} s buffer)",
                    f"p95 <= {FRESHNESS_P95_GOAL_SECONDS} s", p95 <= FRESHNESS_P95_GOAL_SECONDS)
    return figure, notes, fresh


def check_nothing_lost(conn: Connection, watcher: DeliveryWatcher, loads: list[Load],
                       records_before: int) -> tuple[int, str]:
    """(changes lost, what was compared): each load's changes in S3 by event_id, against the table's stream."""
    watcher.poll()
    watcher.read()
    written = sum(len(load.ledger) for load in loads)
    in_stream = verify.stream_record_count(conn) - records_before
    if in_stream != written:
        raise RuntimeError(f"the table's stream gained {in_stream} records, but the ledgers hold {written} changes")
    in_s3 = sum(len(watcher.delivered(load.ledger)) for load in loads)
    failed = len(verify.failed_records(conn))
    return written - in_s3, (f"loss check: {in_s3:,} distinct event_ids of the loads in S3, {in_stream:,} new "
                             f"records in the table's stream, {written:,} changes in the ledgers, "
                             f"{failed} failed records")


def measure_cold_start(scratch: Path) -> tuple[list[Figure], list[str]]:
    interpreter = statistics.median(interpreter_start_seconds() for _ in range(COLD_STARTS))
    starts = [cold_start_seconds(scratch / f"cold-{attempt}") for attempt in range(COLD_STARTS)]
    median = statistics.median(starts)
    figure = Figure("cold start, serve -> first list_tables (median)",
                    f"{median:.2f} s ({median / interpreter:.0f}x a bare `python -c pass`: {interpreter:.3f} s)",
                    f"<= {COLD_START_GOAL_SECONDS} s", median <= COLD_START_GOAL_SECONDS)
    return [figure], [f"cold starts: {', '.join(f'{s:.2f}' for s in starts)} s"]


def main() -> None:
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        cold_figures, cold_notes = measure_cold_start(scratch)

        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        state_dir = scratch / "pipeline"
        server = start_server(port, state_dir)
        try:
            wait_until_healthy(server, endpoint, state_dir)
            os.environ.update(client_environment(endpoint))
            pipeline = connect(Config(participant="benchpipe", localcloud_port=port))
            raw = connect(Config(participant="benchraw", localcloud_port=port))
            build_pipeline(pipeline)
            course.catch_up(raw, "02", verbose=False)  # the raw table: same table and stream, no pipe
            pipeline_figures, pipeline_notes = measure_pipeline(pipeline, raw, server.pid)
        finally:
            stop_server(server)

    print(f"\nFirehose buffer: {BUFFER_SECONDS} s (BufferingHints and the Lambda processor); localcloud in its "
          f"own process; S3 listed by a process of its own every {POLL_SECONDS} s ({THROUGHPUT_POLL_SECONDS} s "
          "through the throughput rounds)")
    for note in pipeline_notes + cold_notes:
        print(note)
    print()
    for figure in pipeline_figures + cold_figures:
        print(f"{'PASS' if figure.met else 'FAIL'}  {figure.name}: {figure.value}   goal {figure.goal}")
    print(f"\ntotal run time {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
