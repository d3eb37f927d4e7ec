"""EventBridge Pipes that really move DynamoDB stream records to a Kinesis stream.

moto stores pipes but moves nothing. This engine:
- checks CreatePipe and UpdatePipe before moto stores them: the source stream, the target stream
  and the role must exist, and the DynamoDB and Kinesis parameters must be in range;
- runs one poller thread per RUNNING pipe. It polls each shard of the source stream 4 times a
  second, cuts batches (full at BatchSize or 6 MB, or when MaximumBatchingWindowInSeconds has
  passed since the batch's first record was read) and sends every batch with Kinesis PutRecords,
  one Kinesis record per stream record, in calls of WRITE_CHUNK records so that client requests can
  go first in between, retrying a failed call until it succeeds;
- checkpoints, per shard, the sequence number of the last record of the fully delivered batches
  (state_dir/pipes/<account>_<region>_<pipe>.json): at most every CHECKPOINT_INTERVAL_SECONDS while it is
  sending, at once when it has caught up, and when it stops. A restarted poller resumes after it, so nothing
  is lost and delivery is at least once (a crash sends the last moments' batches again). StartingPosition
  applies only to a pipe's first run;
- decides each pipe's CurrentState, which moto gets wrong: CREATING, STARTING and UPDATING end in
  RUNNING (or STOPPED, if that is the DesiredState), STOPPING ends in STOPPED once the poller stopped.

Choices where AWS's behaviour is unconfirmed (../shared/reference/aws-semantics.md §2):
- BatchSize defaults to 100, as in the archived Pipes console guide and Lambda's DynamoDB source;
- eventSourceARN is the stream ARN, as in Lambda events; eventVersion is "1.1";
- the Kinesis record's data is the event as compact JSON in UTF-8 (orjson writes it in a tenth of json's time).

Stream records are read from moto's backend directly: over HTTP, GetRecords (~1,500 records/s)
is slower than batch_write_item ingest (~3,800 items/s). Kinesis is written through moto's own
PutRecords in the backend too (moto_state/kinesis.py says why), with the same limits and shard choice.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import orjson
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.errors import ConflictException, NotFoundException, ValidationException
from localcloud.foreground import ENGINE_USER_AGENT, FOREGROUND
from localcloud.moto_state import kinesis as kinesis_state
from localcloud.moto_state.dynamodb_streams import DynamoDBStreams, StreamNotFound, creation_epoch_seconds
from localcloud.moto_state.pipes import MotoPipes, PipeConfig, PipeId
from localcloud.router import AwsRequest, RawResponse, Router

log = logging.getLogger("localcloud.pipes")

DEFAULT_BATCH_SIZE = 100
DEFAULT_BATCHING_WINDOW_SECONDS = 0
BATCH_SIZE_RANGE = (1, 10_000)
BATCHING_WINDOW_RANGE = (0, 300)
STARTING_POSITIONS = ("TRIM_HORIZON", "LATEST")
MAX_BATCH_BYTES = 6 * 1024 * 1024
POLL_INTERVAL_SECONDS = 0.25  # Pipes polls each shard 4 times a second
# Records handled between two chances for client requests to go first (localcloud/foreground.py): 0.5-1 ms of
# work. Reading a chunk and writing one (one call of moto's PutRecords) each hold the GIL throughout.
READ_CHUNK = 25
WRITE_CHUNK = 25
MAX_RETRY_DELAY_SECONDS = 1.0
STOP_TIMEOUT_SECONDS = 5
ERROR_PAUSE_SECONDS = 1.0
# Saving a checkpoint takes about 0.25 ms (a file written and renamed): after every 100-record batch that was
# 2.6 µs a record. Batches sent since the last save are sent again after a crash, never lost.
CHECKPOINT_INTERVAL_SECONDS = 0.2
EVENT_VERSION = "1.1"
RUNNING, STOPPED, UPDATING = "RUNNING", "STOPPED", "UPDATING"

DYNAMODB_STREAM_ARN = re.compile(r"^arn:aws[\w-]*:dynamodb:[\w-]+:\d{12}:table/[^/]+/stream/.+$")
KINESIS_STREAM_ARN = re.compile(r"^arn:aws[\w-]*:kinesis:(?P<region>[\w-]+):\d{12}:stream/(?P<name>[^/]+)$")
ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:role/(?:[^/]+/)*(?P<name>[^/]+)$")
# One step of a JSON path: .name, ['name'], ["name"] or [index].
JSON_PATH_STEP = re.compile(r"\.([^.\[\]]+)|\['([^']*)'\]|\[\"([^\"]*)\"\]|\[(\d+)\]")


# ---------------------------------------------------------------- what a pipe sends

def pipes_event(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A DynamoDB Streams record, as moto holds it, as Pipes hands it to a target (the documented sample's fields)."""
    stream_record = record["dynamodb"]
    dynamodb: dict[str, Any] = {
        # Epoch seconds rounded down to the second, sent as a JSON number such as 1693997155.0.
        "ApproximateCreationDateTime": float(math.floor(creation_epoch_seconds(record))),
        "Keys": stream_record["Keys"],
    }
    for image in ("NewImage", "OldImage"):
        if image in stream_record:
            dynamodb[image] = stream_record[image]
    dynamodb["SequenceNumber"] = stream_record["SequenceNumber"]
    dynamodb["SizeBytes"] = stream_record["SizeBytes"]
    dynamodb["StreamViewType"] = stream_record["StreamViewType"]
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": EVENT_VERSION,
        "eventSource": "aws:dynamodb",
        "awsRegion": region,  # moto's records always say us-east-1
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


class PartitionKey:
    """KinesisStreamParameters.PartitionKey: a literal, or a JSON path (`$.dynamodb.Keys.orderid.S`).

    As in Pipes, the value is a path only when the whole value is one. A path that finds no usable
    key in a record (missing, empty or over 256 characters) falls back to the record's eventID, so
    the record is still delivered; the first such record is logged.
    """

    def __init__(self, spec: str):
        self.spec = spec
        self.path = _json_path_steps(spec) if spec.startswith(("$.", "$[")) else None
        self._warned = False

    def for_event(self, event: dict[str, Any]) -> str:
        if self.path is None:
            return self.spec
        value: Any = event
        for step in self.path:
            found = isinstance(value, dict) and isinstance(step, str) and step in value
            found = found or (isinstance(value, list) and isinstance(step, int) and step < len(value))
            if not found:
                return self._fallback(event)
            value = value[step]
        key = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        return key if 1 <= len(key) <= 256 else self._fallback(event)

    def _fallback(self, event: dict[str, Any]) -> str:
        if not self._warned:
            self._warned = True
            log.warning("PartitionKey %s finds no key of 1-256 characters in record %s; using its eventID",
                        self.spec, event["eventID"])
        return event["eventID"]


def _json_path_steps(spec: str) -> list[str | int]:
    """The steps of a JSON path such as $.dynamodb.Keys.orderid.S; ValueError if it is not one."""
    steps: list[str | int] = []
    position = 1
    while position < len(spec):
        match = JSON_PATH_STEP.match(spec, position)
        if match is None:
            raise ValueError(f"{spec} is not a JSON path: write it as $.dynamodb.Keys.orderid.S")
        name, quoted, double_quoted, index = match.groups()
        steps.append(int(index) if index is not None else next(s for s in (name, quoted, double_quoted)
                                                               if s is not None))
        position = match.end()
    return steps


# ---------------------------------------------------------------- validation


def _require(params: dict[str, Any], name: str, hint: str) -> Any:
    if params.get(name) in (None, ""):
        raise ValidationException(f"{name} is required: {hint}")
    return params[name]


def _check_range(value: Any, name: str, low: int, high: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationException(f"SourceParameters.DynamoDBStreamParameters.{name} must be an integer "
                                  f"from {low} to {high}; got {value!r}.")


def check_dynamodb_parameters(source_parameters: dict[str, Any] | None, *, creating: bool) -> None:
    """DynamoDBStreamParameters: StartingPosition on create, BatchSize and the window in range."""
    stream_parameters = (source_parameters or {}).get("DynamoDBStreamParameters")
    if stream_parameters is None:
        if creating:
            raise ValidationException(
                "SourceParameters.DynamoDBStreamParameters is required for a DynamoDB stream source: "
                "give at least StartingPosition (TRIM_HORIZON or LATEST).")
        return
    if creating and stream_parameters.get("StartingPosition") not in STARTING_POSITIONS:
        raise ValidationException(
            "SourceParameters.DynamoDBStreamParameters.StartingPosition must be TRIM_HORIZON (every record "
            "still in the stream) or LATEST (only records written from now on); "
            f"got {stream_parameters.get('StartingPosition')!r}.")
    _check_range(stream_parameters.get("BatchSize"), "BatchSize", *BATCH_SIZE_RANGE)
    _check_range(stream_parameters.get("MaximumBatchingWindowInSeconds"), "MaximumBatchingWindowInSeconds",
                 *BATCHING_WINDOW_RANGE)


def check_kinesis_parameters(target_parameters: dict[str, Any] | None) -> None:
    """KinesisStreamParameters.PartitionKey: present, non-empty, and a valid path if it is one."""
    partition_key = ((target_parameters or {}).get("KinesisStreamParameters") or {}).get("PartitionKey")
    if not partition_key:
        raise ValidationException(
            "TargetParameters.KinesisStreamParameters.PartitionKey is required for a Kinesis target: give a "
            "literal key, or a JSON path into the record such as $.dynamodb.Keys.orderid.S.")
    if len(partition_key) > 256:
        raise ValidationException("TargetParameters.KinesisStreamParameters.PartitionKey must be at most "
                                  f"256 characters; got {len(partition_key)}.")
    try:
        PartitionKey(partition_key)
    except ValueError as error:
        raise ValidationException(f"TargetParameters.KinesisStreamParameters.PartitionKey: {error}.") from None


# ---------------------------------------------------------------- checkpoints


class Checkpoints:
    """Per pipe and shard, the sequence number of the last record delivered in a complete batch.

    A shard mapped to None has had nothing delivered: reading starts at the shard's first record.
    The source ARN is saved too, so a pipe re-created under the same name starts afresh.
    """

    def __init__(self, directory: Path):
        self.directory = directory

    def load(self, pipe_id: PipeId, source: str) -> dict[str, str | None] | None:
        """The saved positions, or None when this pipe has never run on this source."""
        path = self._path(pipe_id)
        if not path.exists():
            return None
        saved = json.loads(path.read_text())
        return saved["shards"] if saved["source"] == source else None

    def save(self, pipe_id: PipeId, source: str, shards: dict[str, str | None]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(pipe_id)
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps({"source": source, "shards": shards}, indent=1))
        os.replace(partial, path)  # atomic: a crash leaves the old checkpoint or the new one

    def delete(self, pipe_id: PipeId) -> None:
        self._path(pipe_id).unlink(missing_ok=True)

    def keep_only(self, pipe_ids: set[PipeId]) -> None:
        """Delete the checkpoints of pipes that no longer exist."""
        wanted = {self._path(pipe_id).name for pipe_id in pipe_ids}
        for path in self.directory.glob("*.json"):
            if path.name not in wanted:
                path.unlink()

    def _path(self, pipe_id: PipeId) -> Path:
        return self.directory / f"{pipe_id.account_id}_{pipe_id.region}_{pipe_id.name}.json"


# ---------------------------------------------------------------- one running pipe


@dataclass(frozen=True)
class PipeSettings:
    """What a running pipe needs from its configuration; when it changes, the poller restarts."""

    source: str
    target: str
    starting_position: str
    batch_size: int
    batching_window_seconds: float
    partition_key: str

    @classmethod
    def of(cls, config: PipeConfig) -> "PipeSettings":
        stream_parameters = config.source_parameters["DynamoDBStreamParameters"]
        return cls(
            source=config.source,
            target=config.target,
            starting_position=stream_parameters["StartingPosition"],
            batch_size=stream_parameters.get("BatchSize") or DEFAULT_BATCH_SIZE,
            batching_window_seconds=stream_parameters.get("MaximumBatchingWindowInSeconds")
            or DEFAULT_BATCHING_WINDOW_SECONDS,
            partition_key=config.target_parameters["KinesisStreamParameters"]["PartitionKey"],
        )


class Entry(NamedTuple):
    """One stream record, ready to go to Kinesis."""

    data: bytes
    partition_key: str
    sequence_number: str


@dataclass
class ShardBuffer:
    """Records read from one shard and not yet delivered."""

    read_after: str | None  # the last sequence number read (None: nothing read yet)
    entries: list[Entry] = field(default_factory=list)
    size: int = 0
    gathering_since: float = 0.0  # when the oldest buffered record was read (time.monotonic)

    def add(self, entry: Entry, now: float) -> None:
        if not self.entries:
            self.gathering_since = now
        self.entries.append(entry)
        self.size += len(entry.data)

    def is_full(self, batch_size: int) -> bool:
        return len(self.entries) >= batch_size or self.size >= MAX_BATCH_BYTES

    def take_batch(self, batch_size: int) -> list[Entry]:
        """The oldest entries, up to batch_size of them and 6 MB (always at least one)."""
        count, size = 0, 0
        while count < min(batch_size, len(self.entries)):
            size += len(self.entries[count].data)
            if count and size > MAX_BATCH_BYTES:
                break
            count += 1
        batch, self.entries = self.entries[:count], self.entries[count:]
        self.size -= sum(len(entry.data) for entry in batch)
        return batch


class PipePoller:
    """Moves one RUNNING pipe's stream records to its Kinesis stream, in a thread of its own."""

    def __init__(self, pipe_id: PipeId, settings: PipeSettings, streams: DynamoDBStreams,
                 checkpoints: Checkpoints, target: kinesis_state.KinesisShards):
        self.pipe_id = pipe_id
        self.settings = settings
        self._streams = streams
        self._checkpoints = checkpoints
        self._target = target
        self._partition_key = PartitionKey(settings.partition_key)
        self._source_region = settings.source.split(":")[3]
        self._delivered: dict[str, str | None] = {}
        self._unsaved = False  # batches delivered since the checkpoint was last saved
        self._saved_at = -math.inf  # time.monotonic() of the last save
        self._shards: dict[str, ShardBuffer] = {}
        self._missing_source_logged = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pipe-{pipe_id.name}", daemon=True)

    def start(self) -> None:
        """Resume from the checkpoint; on the pipe's first run, fix StartingPosition now and save it."""
        saved = self._checkpoints.load(self.pipe_id, self.settings.source)
        if saved is None:
            saved = self._starting_positions()
            self._checkpoints.save(self.pipe_id, self.settings.source, saved)
        self._delivered = saved
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop after the PutRecords call in flight; undelivered records are read again later."""
        self._stopping.set()

    def join(self) -> None:
        self._thread.join(timeout=STOP_TIMEOUT_SECONDS)
        if self._thread.is_alive():
            log.warning("pipe %s did not stop within %s s", self.pipe_id.name, STOP_TIMEOUT_SECONDS)

    def _starting_positions(self) -> dict[str, str | None]:
        try:
            shard_ids = self._streams.shard_ids(self.settings.source)
        except StreamNotFound:
            return {}  # the loop reports the missing stream; shards that appear later are read from their start
        if self.settings.starting_position == "LATEST":
            return {shard_id: self._streams.last_sequence_number(self.settings.source, shard_id)
                    for shard_id in shard_ids}
        return {shard_id: None for shard_id in shard_ids}

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    behind = self._poll()
                    self._send_due_batches()
                    if not behind:
                        self._save_checkpoint()
                except Exception:  # noqa: BLE001 - a RUNNING pipe must not die silently: log, then resume
                    log.exception("pipe %s: unexpected error; resuming from its checkpoint in %s s",
                                  self.pipe_id.name, ERROR_PAUSE_SECONDS)
                    self._shards = {}
                    self._stopping.wait(ERROR_PAUSE_SECONDS)
                    continue
                if not behind:
                    self._stopping.wait(self._seconds_to_wait())
        finally:
            self._save_checkpoint()

    def _save_checkpoint(self) -> None:
        if self._unsaved:
            self._checkpoints.save(self.pipe_id, self.settings.source, self._delivered)
            self._unsaved, self._saved_at = False, time.monotonic()

    def _poll(self) -> bool:
        """Read new records into the shard buffers; True when a shard has more records waiting."""
        try:
            shard_ids = self._streams.shard_ids(self.settings.source)
        except StreamNotFound as missing:
            if not self._missing_source_logged:
                log.warning("pipe %s: source %s; nothing to deliver until it exists", self.pipe_id.name, missing)
                self._missing_source_logged = True
            return False
        behind = False
        for shard_id in shard_ids:
            buffer = self._shards.setdefault(shard_id, ShardBuffer(read_after=self._delivered.get(shard_id)))
            behind = self._read_shard(shard_id, buffer) or behind
        return behind

    def _read_shard(self, shard_id: str, buffer: ShardBuffer) -> bool:
        """Read new records until the buffer holds a full batch; True when the shard has more waiting.

        Records are read a chunk at a time, giving way to client requests in between (localcloud/foreground.py).
        """
        while not buffer.is_full(self.settings.batch_size):
            FOREGROUND.give_way()
            records = self._streams.records_after(self.settings.source, shard_id, buffer.read_after, READ_CHUNK)
            now = time.monotonic()
            for record in records:
                buffer.add(self._entry(record), now)
            if records:
                buffer.read_after = records[-1]["dynamodb"]["SequenceNumber"]
            if len(records) < READ_CHUNK:
                return False
        return True

    def _entry(self, record: dict[str, Any]) -> Entry:
        event = pipes_event(record, self.settings.source, self._source_region)
        data = orjson.dumps(event)  # compact JSON, as json.dumps writes it with separators=(",", ":"), in UTF-8
        return Entry(data, self._partition_key.for_event(event), event["dynamodb"]["SequenceNumber"])

    def _send_due_batches(self) -> None:
        """Send every full batch, and whatever has waited out the batching window; checkpoint them when due.

        A crash before the next checkpoint only sends them again.
        """
        for shard_id, buffer in self._shards.items():
            while buffer.entries and self._is_due(buffer):
                FOREGROUND.give_way()
                batch = buffer.take_batch(self.settings.batch_size)
                if not self.deliver(batch):
                    return  # stopping: the batch is read again from the checkpoint next time
                self._delivered[shard_id] = batch[-1].sequence_number
                self._unsaved = True
        if time.monotonic() - self._saved_at >= CHECKPOINT_INTERVAL_SECONDS:
            self._save_checkpoint()

    def _is_due(self, buffer: ShardBuffer) -> bool:
        waited = time.monotonic() - buffer.gathering_since
        return buffer.is_full(self.settings.batch_size) or waited >= self.settings.batching_window_seconds

    def _seconds_to_wait(self) -> float:
        """Until the next poll, or sooner if a batching window ends first."""
        now = time.monotonic()
        window_ends = [buffer.gathering_since + self.settings.batching_window_seconds
                       for buffer in self._shards.values() if buffer.entries]
        return max(0.0, min([now + POLL_INTERVAL_SECONDS, *window_ends]) - now)

    def deliver(self, batch: list[Entry]) -> bool:
        """Deliver the batch with PutRecords, retrying a failed call until it succeeds; False if stopped.

        The batch goes in calls of WRITE_CHUNK records, in order, giving way to client requests in between.
        """
        for chunk in _put_records_chunks(batch, WRITE_CHUNK):
            if self._stopping.is_set():
                return False
            FOREGROUND.give_way()
            attempt = 0
            while (problem := self._put_records_once(chunk)) is not None:
                if attempt == 0:  # retries go on until they succeed (MaximumRetryAttempts -1): say so once
                    log.warning("pipe %s: %s; retrying until delivered", self.pipe_id.name, problem)
                attempt += 1
                if self._stopping.wait(min(MAX_RETRY_DELAY_SECONDS, 0.05 * 2 ** attempt)):
                    return False
        return True

    def _put_records_once(self, entries: list[Entry]) -> str | None:
        """One PutRecords call; None when every record was written, else why not."""
        try:
            self._target.put_records([(entry.data, entry.partition_key) for entry in entries])
        except (kinesis_state.StreamNotFound, kinesis_state.PutRecordsFailed) as error:
            return f"PutRecords to {self.settings.target} failed ({error})"
        return None


def _put_records_chunks(batch: list[Entry],
                        max_entries: int = kinesis_state.PUT_RECORDS_MAX_ENTRIES) -> list[list[Entry]]:
    """Split a batch into PutRecords calls of at most max_entries (500 at most) and 5 MiB (data plus keys)."""
    max_entries = min(max_entries, kinesis_state.PUT_RECORDS_MAX_ENTRIES)
    chunks: list[list[Entry]] = [[]]
    size = 0
    for entry in batch:
        entry_size = len(entry.data) + len(entry.partition_key.encode())
        if chunks[-1] and (len(chunks[-1]) == max_entries
                           or size + entry_size > kinesis_state.PUT_RECORDS_MAX_BYTES):
            chunks.append([])
            size = 0
        chunks[-1].append(entry)
        size += entry_size
    return chunks


# ---------------------------------------------------------------- the engine


class PipesEngine:
    """Intercepts the Pipes operations that change a pipe, and runs the RUNNING ones; see the module docstring."""

    name = "pipes"

    def __init__(self, state_dir: Path):
        self._checkpoints = Checkpoints(state_dir / self.name)
        self._pipes = MotoPipes()
        self._streams = DynamoDBStreams()
        self._pollers: dict[PipeId, PipePoller] = {}
        self._lock = threading.Lock()  # one pipe change at a time
        self._endpoint_url = ""
        self._clients: dict[tuple[str, str], Any] = {}
        self._clients_lock = threading.Lock()

    def register(self, router: Router) -> None:
        router.register_all("pipes", {
            "CreatePipe": self._create_pipe,
            "UpdatePipe": self._update_pipe,
            "StartPipe": self._change_pipe,
            "StopPipe": self._change_pipe,
            "DeletePipe": self._change_pipe,
        })

    def start(self, endpoint_url: str) -> None:
        """Resume every pipe moto knows, each from its checkpoint."""
        if endpoint_url != self._endpoint_url:
            self._endpoint_url, self._clients = endpoint_url, {}
        with self._lock:
            pipes = self._pipes.all()
            self._checkpoints.keep_only({config.id for config in pipes})
            for config in pipes:
                self._converge(config.id)

    def stop(self) -> None:
        """Stop every poller; pipes keep their state, and checkpoints are already saved."""
        with self._lock:
            pollers = list(self._pollers.values())
            self._pollers.clear()
            for poller in pollers:
                poller.stop()
            for poller in pollers:
                poller.join()

    def reset(self) -> None:
        self.stop()
        self._checkpoints.keep_only(set())

    # ------------------------------------------------------------ operations

    def _create_pipe(self, request: AwsRequest) -> RawResponse:
        params = request.params
        if self._pipes.get(self._pipe_id(request)) is not None:
            raise ConflictException(f"Pipe {self._pipe_id(request).name} already exists. Use UpdatePipe to change "
                                    "it, or DeletePipe first to create it again.")
        source = _require(params, "Source", "the ARN of a DynamoDB stream (the table's LatestStreamArn).")
        target = _require(params, "Target", "the ARN of a Kinesis stream.")
        role_arn = _require(params, "RoleArn", "the ARN of an IAM role that pipes.amazonaws.com may assume.")
        if not DYNAMODB_STREAM_ARN.match(source):
            raise ValidationException(
                f"Source {source} is not a DynamoDB stream ARN. localcloud's Pipes move records from a DynamoDB "
                "stream (the table's LatestStreamArn) to a Kinesis stream.")
        check_dynamodb_parameters(params.get("SourceParameters"), creating=True)
        check_kinesis_parameters(params.get("TargetParameters"))
        if not self._streams.exists(source):
            raise NotFoundException(
                f"Source {source} does not exist. Create the table with StreamSpecification "
                "{StreamEnabled: true, StreamViewType: ...} and use the LatestStreamArn that describe_table returns.")
        self._check_target(target)
        self._check_role(role_arn)
        return self._forward_and_converge(request)

    def _update_pipe(self, request: AwsRequest) -> RawResponse:
        pipe_id = self._pipe_id(request)
        existing = self._pipes.get(pipe_id)
        if existing is None:
            return request.forward()  # moto answers NotFoundException
        params = request.params
        role_arn = _require(params, "RoleArn", "the ARN of an IAM role that pipes.amazonaws.com may assume.")
        check_dynamodb_parameters(params.get("SourceParameters"), creating=False)
        check_kinesis_parameters(params.get("TargetParameters") or existing.target_parameters)
        self._check_target(params.get("Target") or existing.target)
        self._check_role(role_arn)
        response = request.forward()
        if response.status != 200:
            return response
        # moto replaces SourceParameters as a whole; StartingPosition cannot be updated, so it stays.
        starting_position = existing.source_parameters["DynamoDBStreamParameters"]["StartingPosition"]
        self._pipes.set_source_parameter(pipe_id, "DynamoDBStreamParameters", "StartingPosition",
                                         starting_position)
        with self._lock:
            self._converge(pipe_id)
        body = response.json()
        body["CurrentState"] = UPDATING  # what UpdatePipe answers; moto leaves the old state
        return RawResponse(response.status, json.dumps(body).encode(), response.headers)

    def _change_pipe(self, request: AwsRequest) -> RawResponse:
        """StartPipe, StopPipe, DeletePipe: moto records the change, then the poller follows it."""
        return self._forward_and_converge(request)

    def _forward_and_converge(self, request: AwsRequest) -> RawResponse:
        response = request.forward()
        if response.status == 200:
            with self._lock:
                self._converge(self._pipe_id(request))
        return response

    def _converge(self, pipe_id: PipeId) -> None:
        """Make the pipe's poller match moto's record of the pipe, then report the settled state.

        The caller holds self._lock. A pipe runs when its DesiredState is RUNNING; new settings
        restart its poller; a deleted pipe loses its checkpoint.
        """
        config = self._pipes.get(pipe_id)
        settings = PipeSettings.of(config) if config is not None else None
        wants_running = config is not None and config.desired_state == RUNNING
        poller = self._pollers.get(pipe_id)
        if poller is not None and (not wants_running or poller.settings != settings):
            del self._pollers[pipe_id]
            poller.stop()
            poller.join()
        if config is None:
            self._checkpoints.delete(pipe_id)
            return
        if wants_running and pipe_id not in self._pollers:
            poller = PipePoller(pipe_id, settings, self._streams, self._checkpoints,
                                kinesis_state.KinesisShards(settings.target))
            poller.start()
            self._pollers[pipe_id] = poller
        self._pipes.set_current_state(pipe_id, RUNNING if wants_running else STOPPED)

    # ------------------------------------------------------------ checks against other services

    def _check_target(self, target: str) -> None:
        match = KINESIS_STREAM_ARN.match(target)
        if match is None:
            raise ValidationException(
                f"Target {target} is not a Kinesis stream ARN (arn:aws:kinesis:<region>:<account>:stream/<name>). "
                "localcloud's Pipes deliver to Kinesis streams only.")
        try:
            self._client("kinesis", match["region"]).describe_stream_summary(StreamName=match["name"])
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            raise NotFoundException(
                f"Target {target} does not exist: there is no Kinesis stream {match['name']} in "
                f"{match['region']}. Create it with kinesis.create_stream first.") from None

    def _check_role(self, role_arn: str) -> None:
        match = ROLE_ARN.match(role_arn)
        if match is None:
            raise ValidationException(f"RoleArn {role_arn} is not an IAM role ARN "
                                      "(arn:aws:iam::<account>:role/<name>).")
        try:
            self._client("iam", "us-east-1").get_role(RoleName=match["name"])
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchEntity":
                raise
            raise NotFoundException(
                f"RoleArn {role_arn} does not exist: there is no IAM role {match['name']}. Create it with "
                "iam.create_role, trusting the principal pipes.amazonaws.com, then create the pipe.") from None

    def _client(self, service: str, region: str) -> Any:
        """A boto3 client for this server: the engine calls other services as Pipes does, through their API."""
        with self._clients_lock:
            if (service, region) not in self._clients:
                self._clients[(service, region)] = boto3.session.Session().client(
                    service, region_name=region, endpoint_url=self._endpoint_url,
                    aws_access_key_id="localcloud", aws_secret_access_key="localcloud",
                    config=Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=10,
                                  user_agent_extra=ENGINE_USER_AGENT))
            return self._clients[(service, region)]

    @staticmethod
    def _pipe_id(request: AwsRequest) -> PipeId:
        return PipeId(request.account_id, request.region, request.path_params["Name"])
