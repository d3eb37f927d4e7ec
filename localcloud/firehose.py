"""Firehose delivery streams that really deliver: buffer, transform with Lambda, write S3 objects.

moto stores delivery streams but moves no data (a Kinesis-sourced stream never reads; DirectPut writes one
object per call). This engine does what Firehose does, for S3 and ExtendedS3 destinations:

    source ─► pending records ─► [Lambda processor] ─► output buffer ─► S3 objects (data, error prefix)
    source: Kinesis shards, or PutRecord/PutRecordBatch (DirectPut)
    Lambda batches: the processor's BufferSizeInMBs / BufferIntervalInSeconds
    S3 objects: BufferingHints SizeInMBs / IntervalInSeconds

Choices worth knowing (see also localcloud/firehose_prefix.py for the S3 key rules):
- Each delivery stream has one worker thread. A Kinesis source is read from every shard (new shards too),
  starting at LATEST as of CreateDeliveryStream, straight from moto's backend (moto_state/kinesis.py says why).
  Real Firehose reads each shard once a second; here a stream whose buffer interval is short polls up to
  ten times a second (interval / 10, at least 0.1 s), so that a 1-second buffer gives about 1 second of
  latency instead of up to 2. Reads cost microseconds here and count against no Kinesis quota.
- Both buffering intervals count from when a record reached the delivery stream (for a Kinesis source: its
  arrival in the shard), so with Lambda processing the two stages overlap instead of adding up, and a read
  that waited for a Lambda invocation does not wait again (AWS calls both intervals hints).
- Lambda is invoked through the public API (boto3 lambda.invoke), as the processor's RoleArn (else the
  destination role) assumed through STS; S3 objects are written with PutObject as the destination role.
- Nothing is lost. A Kinesis shard's checkpoint (state_dir/firehose/...) is the sequence number of the last
  record written to S3 or to the error prefix, saved only after the objects are written. On stop() buffered
  records are not flushed (the Lambda engine may already be stopped): Kinesis records are read again from the
  checkpoint, and DirectPut records are saved to a pending file and processed again at start(). Delivery is
  therefore at least once, as on AWS.
- Failed records go to the error prefix as JSON lines. Codes and messages follow AWS's where they are known
  (Lambda.FunctionError, Lambda.FunctionTimedOut, Lambda.MissingRecordId, Lambda.DuplicatedRecordId,
  Lambda.ResourceNotFound, Lambda.JsonProcessingException); ProcessingFailed records use
  Lambda.ProcessingFailedStatus / "ProcessingFailed status set for record", as third-party captures show.
  Records without the partition keys the prefix needs go to `partitioning-failed` with
  DynamicPartitioning.MetadataExtractionFailed. Invocation errors are retried NumberOfRetries times.
- AppendDelimiterToRecord puts "\\n" between the records of an object (not after the last), as captures of
  real objects show. GZIP objects end in .gz and ZIP in .zip; error objects are compressed the same way.
  Snappy, format conversion and the JQ/decompression processors are refused at creation with a clear message.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import itertools
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
import zipfile
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from localcloud.errors import (
    InvalidArgumentException,
    ResourceNotFoundException,
    ValidationException,
)
from localcloud.foreground import ENGINE_USER_AGENT, FOREGROUND
from localcloud.firehose_prefix import PrefixTooLong, S3Prefixes, validate_prefixes
from localcloud.moto_state.firehose import DeliveryStreams
from localcloud.moto_state.kinesis import KinesisShards, ShardRecord, StreamNotFound
from localcloud.router import AwsRequest, RawResponse, Router

log = logging.getLogger("localcloud.firehose")

MIB = 1024 * 1024
DIRECT_PUT = "DirectPut"
KINESIS_SOURCE = "KinesisStreamAsSource"
DEFAULT_SIZE_MB, DEFAULT_INTERVAL_S = 5, 300
DEFAULT_LAMBDA_SIZE_MB, DEFAULT_LAMBDA_INTERVAL_S, DEFAULT_RETRIES = 1.0, 60, 3
LAMBDA_PAYLOAD_LIMIT = 6 * MIB
LAMBDA_EVENT_OVERHEAD = 1024  # the event's JSON around its records, at most
LAMBDA_READ_TIMEOUT_S = 310  # Firehose supports functions that run up to 5 minutes
KINESIS_READ_LIMIT = 10_000  # records per GetRecords
# Records handled between two chances for client requests to go first (localcloud/foreground.py): 0.5-1 ms.
READ_CHUNK = 50
MAX_RECORD_BYTES, MAX_BATCH_RECORDS, MAX_BATCH_BYTES = 1_024_000, 500, 4 * MIB
STOP_TIMEOUT_S = 10
COMPRESSION_EXTENSIONS = {"UNCOMPRESSED": "", "GZIP": ".gz", "ZIP": ".zip"}
SNAPPY_FORMATS = ("Snappy", "HADOOP_SNAPPY")
DELIVERY_ROLE_SESSION = "localcloud-firehose"
LAMBDA_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]+)?$")
ROLE_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:role/(?:[\w+=,.@/-]*/)?([\w+=,.@-]{1,64})$")
BUCKET_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$")
FILE_EXTENSION = re.compile(r"^$|^\.[0-9a-z!\-_.*'()]+$")

# errorCode and errorMessage of records written to the error prefix.
FUNCTION_ERROR = ("Lambda.FunctionError",
                  "The Lambda function was successfully invoked but it returned an error result.")
FUNCTION_TIMED_OUT = ("Lambda.FunctionTimedOut",
                      "The Lambda function invocation timed out. Increase the Timeout setting in the Lambda function.")
FIREHOSE_TIMEOUT = ("Lambda.FunctionTimedOut", "Firehose encountered timeout errors when calling AWS Lambda. "
                    "The maximum supported function timeout is 5 minutes.")
MISSING_RECORD_ID = ("Lambda.MissingRecordId", "One or more record Ids were not returned. Ensure that the "
                     "Lambda function returns all received record Ids.")
DUPLICATED_RECORD_ID = ("Lambda.DuplicatedRecordId", "Multiple records were returned with the same record Id. "
                        "Ensure that the Lambda function returns a unique record Id for each record.")
PROCESSING_FAILED = ("Lambda.ProcessingFailedStatus", "ProcessingFailed status set for record")
JSON_PROCESSING = ("Lambda.JsonProcessingException", "There was an error parsing returned records from the Lambda "
                   "function. Ensure that the returned records follow the status model required by Firehose.")
INVOKE_ERRORS = {
    "ResourceNotFoundException": ("Lambda.ResourceNotFound", "The specified Lambda function does not exist. "
                                  "Use a different function that does exist."),
    "TooManyRequestsException": ("Lambda.InvokeLimitExceeded", "The Lambda concurrent execution limit is "
                                 "exceeded. Increase the concurrent execution limit."),
    "AccessDeniedException": ("Lambda.InvokeAccessDenied", "Access was denied. Ensure that the access policy "
                              "allows access to the Lambda function."),
}
METADATA_EXTRACTION_FAILED = "DynamicPartitioning.MetadataExtractionFailed"
PROCESSING_FAILED_TYPE, PARTITIONING_FAILED_TYPE = "processing-failed", "partitioning-failed"


# ---- configuration ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LambdaProcessor:
    arn: str
    retries: int
    buffer_bytes: int
    interval_s: float
    role_arn: str


@dataclass(frozen=True)
class DeliveryConfig:
    """What the engine needs from a delivery stream's description, with AWS's defaults filled in."""

    account_id: str
    region: str
    name: str
    arn: str
    version_id: str
    source_type: str
    source_stream_arn: str | None
    source_role_arn: str | None
    bucket: str
    role_arn: str
    prefixes: S3Prefixes
    buffer_bytes: int
    interval_s: float
    compression: str
    extension: str
    zone: tzinfo
    lambda_processor: LambdaProcessor | None
    append_delimiter: bool
    dynamic_partitioning: bool

    @classmethod
    def from_description(cls, account_id: str, region: str, description: dict[str, Any]) -> "DeliveryConfig | None":
        """None for destinations other than S3 (moto's own behaviour is left to them)."""
        destination = description["Destinations"][0]
        s3 = destination.get("ExtendedS3DestinationDescription") or destination.get("S3DestinationDescription")
        if not s3:
            return None
        source = (description.get("Source") or {}).get("KinesisStreamSourceDescription") or {}
        hints = s3.get("BufferingHints") or {}
        processors = _enabled_processors(s3.get("ProcessingConfiguration"))
        lambda_params = next((params for kind, params in processors if kind == "Lambda"), None)
        compression = s3.get("CompressionFormat") or "UNCOMPRESSED"
        dynamic = bool((s3.get("DynamicPartitioningConfiguration") or {}).get("Enabled"))
        return cls(
            account_id=account_id,
            region=region,
            name=description["DeliveryStreamName"],
            arn=description["DeliveryStreamARN"],
            version_id=str(description.get("VersionId", "1")),
            source_type=description.get("DeliveryStreamType") or DIRECT_PUT,
            source_stream_arn=source.get("KinesisStreamARN"),
            source_role_arn=source.get("RoleARN"),
            bucket=s3["BucketARN"].split(":::", 1)[-1],
            role_arn=s3["RoleARN"],
            prefixes=S3Prefixes.from_config(s3.get("Prefix") or "", s3.get("ErrorOutputPrefix") or "", dynamic),
            buffer_bytes=int(hints.get("SizeInMBs", DEFAULT_SIZE_MB)) * MIB,
            interval_s=float(hints.get("IntervalInSeconds", DEFAULT_INTERVAL_S)),
            compression=compression,
            extension=s3.get("FileExtension") or COMPRESSION_EXTENSIONS.get(compression, ""),
            zone=ZoneInfo(s3["CustomTimeZone"]) if s3.get("CustomTimeZone") else timezone.utc,
            lambda_processor=None if lambda_params is None else LambdaProcessor(
                arn=lambda_params["LambdaArn"],
                retries=int(lambda_params.get("NumberOfRetries", DEFAULT_RETRIES)),
                buffer_bytes=int(float(lambda_params.get("BufferSizeInMBs", DEFAULT_LAMBDA_SIZE_MB)) * MIB),
                interval_s=float(lambda_params.get("BufferIntervalInSeconds", DEFAULT_LAMBDA_INTERVAL_S)),
                role_arn=lambda_params.get("RoleArn") or s3["RoleARN"],
            ),
            append_delimiter=any(kind == "AppendDelimiterToRecord" for kind, _ in processors),
            dynamic_partitioning=dynamic,
        )

    @property
    def poll_interval_s(self) -> float:
        """How often to read the Kinesis shards: once a second, faster when a buffer interval is short."""
        shortest = self.interval_s
        if self.lambda_processor:
            shortest = min(shortest, self.lambda_processor.interval_s)
        return min(1.0, max(0.1, shortest / 10))


def _enabled_processors(processing: dict[str, Any] | None) -> list[tuple[str, dict[str, str]]]:
    """[(processor type, {parameter name: value})] when processing is enabled, else []."""
    if not processing or not processing.get("Enabled"):
        return []
    return [(processor.get("Type", ""), {p["ParameterName"]: str(p["ParameterValue"])
                                         for p in processor.get("Parameters") or []})
            for processor in processing.get("Processors") or []]


# ---- validation of CreateDeliveryStream and UpdateDestination -----------------------------------------
def _constraint_error(value: object, path: str, constraint: str) -> ValidationException:
    """The message AWS's request validation writes for a value out of its documented range."""
    return ValidationException(f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy "
                               f"constraint: {constraint}")


def _camel_path(*members: str) -> str:
    return ".".join(member[:1].lower() + member[1:] for member in members)


def _check_number(value: int, path: str, low: int, high: int) -> None:
    """A number with a documented range in the API model (AWS's request validation checks it)."""
    if value < low:
        raise _constraint_error(value, path, f"Member must have value greater than or equal to {low}")
    if value > high:
        raise _constraint_error(value, path, f"Member must have value less than or equal to {high}")


def _check_parameter(name: str, value: str, low: float, high: float, kind: type) -> None:
    """A processor parameter: a string in the API, so Firehose itself checks what it holds."""
    try:
        number = kind(value)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise InvalidArgumentException(f"The Lambda processor parameter {name} must be a number from {low} to "
                                       f"{high}{'' if kind is float else ' (a whole number)'}, not {value!r}.")


class DestinationValidator:
    """Checks an S3 destination the way CreateDeliveryStream and UpdateDestination do, before moto stores it."""

    def __init__(self, clients: "RoleClients"):
        self.clients = clients

    def check_role(self, role_arn: str | None, path: str) -> None:
        match = ROLE_ARN.match(role_arn or "")
        if not match:
            raise InvalidArgumentException(f"{path} {role_arn!r} is not an IAM role ARN. Use the ARN of a role, "
                                           "such as arn:aws:iam::123456789012:role/firehose-role.")
        iam = self.clients.client("iam", role_arn, "us-east-1")
        try:
            iam.get_role(RoleName=match.group(1))
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchEntity":
                raise
            raise InvalidArgumentException(
                f"Firehose is unable to assume role {role_arn}. Please check the role provided. "
                f"(There is no IAM role named {match.group(1)!r}: create it with iam.create_role, "
                "with a trust policy for firehose.amazonaws.com, before the delivery stream.)") from None

    def check_source(self, params: dict[str, Any]) -> None:
        source_type = params.get("DeliveryStreamType") or DIRECT_PUT
        source = params.get("KinesisStreamSourceConfiguration")
        if source_type != KINESIS_SOURCE:
            return
        if not source:
            raise InvalidArgumentException("KinesisStreamSourceConfiguration is required when DeliveryStreamType is "
                                           "KinesisStreamAsSource: give its KinesisStreamARN and RoleARN.")
        stream_arn = source.get("KinesisStreamARN") or ""
        try:
            exists = KinesisShards(stream_arn).exists()
        except StreamNotFound as invalid:
            raise InvalidArgumentException(f"KinesisStreamSourceConfiguration.KinesisStreamARN: {invalid}.") from None
        if not exists:
            raise InvalidArgumentException(
                f"The Kinesis stream {stream_arn} does not exist. Create it (kinesis.create_stream) and wait until "
                "it is ACTIVE before creating the delivery stream.")
        self.check_role(source.get("RoleARN"), "KinesisStreamSourceConfiguration.RoleARN")

    def check_s3(self, s3: dict[str, Any], member: str) -> None:
        """`s3` is the full configuration (for an update: the current one with the update applied)."""
        bucket_match = BUCKET_ARN.match(s3.get("BucketARN") or "")
        if not bucket_match:
            raise InvalidArgumentException(f"{member}.BucketARN {s3.get('BucketARN')!r} is not an S3 bucket ARN. "
                                           "Use arn:aws:s3:::<bucket name>.")
        self.check_role(s3.get("RoleARN"), f"{member}.RoleARN")
        self._check_bucket(bucket_match.group(1), s3["RoleARN"])
        self._check_buffering(s3.get("BufferingHints"), member)
        self._check_format(s3, member)
        processors = self._check_processors(s3.get("ProcessingConfiguration"))
        dynamic = bool((s3.get("DynamicPartitioningConfiguration") or {}).get("Enabled"))
        validate_prefixes(s3.get("Prefix") or "", s3.get("ErrorOutputPrefix") or "", dynamic_partitioning=dynamic,
                          lambda_processing=any(kind == "Lambda" for kind, _ in processors))
        size = (s3.get("BufferingHints") or {}).get("SizeInMBs")
        if dynamic and size is not None and size < 64:
            raise InvalidArgumentException(
                f"BufferingHints.SizeInMBs must be at least 64 when dynamic partitioning is enabled (it is {size}). "
                "Firehose still writes when IntervalInSeconds is reached, so a small interval keeps objects fresh.")

    def _check_bucket(self, bucket: str, role_arn: str) -> None:
        s3 = self.clients.client("s3", role_arn, "us-east-1")
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
                raise
            raise InvalidArgumentException(f"The S3 bucket {bucket} does not exist. Create it (s3.create_bucket) "
                                           "before the delivery stream that writes to it.") from None

    @staticmethod
    def _check_buffering(hints: dict[str, Any] | None, member: str) -> None:
        if not hints:
            return
        if ("SizeInMBs" in hints) != ("IntervalInSeconds" in hints):
            raise InvalidArgumentException(
                f"{member}.BufferingHints must set both SizeInMBs and IntervalInSeconds, or neither (defaults: "
                f"{DEFAULT_SIZE_MB} MB and {DEFAULT_INTERVAL_S} s).")
        _check_number(hints["SizeInMBs"], _camel_path(member, "BufferingHints", "SizeInMBs"), 1, 128)
        _check_number(hints["IntervalInSeconds"], _camel_path(member, "BufferingHints", "IntervalInSeconds"), 0, 900)

    @staticmethod
    def _check_format(s3: dict[str, Any], member: str) -> None:
        compression = s3.get("CompressionFormat") or "UNCOMPRESSED"
        if compression in SNAPPY_FORMATS:
            raise InvalidArgumentException(f"localcloud cannot write {compression} objects (no Snappy codec here). "
                                           "Use CompressionFormat GZIP or UNCOMPRESSED.")
        if compression not in COMPRESSION_EXTENSIONS:
            raise _constraint_error(compression, _camel_path(member, "CompressionFormat"),
                                    "Member must satisfy enum value set: [UNCOMPRESSED, GZIP, ZIP, Snappy, "
                                    "HADOOP_SNAPPY]")
        extension = s3.get("FileExtension") or ""
        if not FILE_EXTENSION.match(extension) or len(extension) > 128:
            raise _constraint_error(extension, _camel_path(member, "FileExtension"),
                                    "Member must satisfy regular expression pattern: ^$|\\.[0-9a-z!\\-_.*'()]+")
        zone = s3.get("CustomTimeZone") or ""
        try:
            if zone:
                ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidArgumentException(f"CustomTimeZone {zone!r} is not a supported time zone. Use an IANA name "
                                           "such as 'Asia/Tokyo', or leave it empty for UTC.") from None
        if (s3.get("DataFormatConversionConfiguration") or {}).get("Enabled"):
            raise InvalidArgumentException("localcloud does not convert record formats (Parquet/ORC). Disable "
                                           "DataFormatConversionConfiguration, or convert in the transform Lambda.")

    def _check_processors(self, processing: dict[str, Any] | None) -> list[tuple[str, dict[str, str]]]:
        processors = _enabled_processors(processing)
        if sum(kind == "Lambda" for kind, _ in processors) > 1:
            raise InvalidArgumentException("Only one Lambda processor is allowed per delivery stream.")
        for kind, params in processors:
            if kind == "Lambda":
                self._check_lambda_parameters(params)
            elif kind == "AppendDelimiterToRecord":
                if params:
                    raise InvalidArgumentException("AppendDelimiterToRecord takes no parameters.")
            else:
                raise InvalidArgumentException(
                    f"localcloud does not run {kind or 'untyped'} processors; it runs Lambda and "
                    "AppendDelimiterToRecord. Do that work in the transform Lambda instead.")
        return processors

    def _check_lambda_parameters(self, params: dict[str, str]) -> None:
        allowed = {"LambdaArn", "NumberOfRetries", "RoleArn", "BufferSizeInMBs", "BufferIntervalInSeconds"}
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise InvalidArgumentException(f"Lambda processor parameters {unknown} are not valid. "
                                           f"Use {sorted(allowed)}.")
        lambda_arn = params.get("LambdaArn", "")
        if not LAMBDA_ARN.match(lambda_arn):
            raise InvalidArgumentException(
                f"LambdaArn {lambda_arn!r} is not a valid Lambda function ARN. Use the FunctionArn that "
                "lambda.get_function returns, e.g. arn:aws:lambda:us-east-1:123456789012:function:my-transform.")
        for name, low, high, kind in (("NumberOfRetries", 0, 300, int), ("BufferSizeInMBs", 0.2, 3, float),
                                      ("BufferIntervalInSeconds", 0, 900, int)):
            if name in params:
                _check_parameter(name, params[name], low, high, kind)
        if "RoleArn" in params:
            self.check_role(params["RoleArn"], "The Lambda processor's RoleArn")


# ---- records ------------------------------------------------------------------------------------------
@dataclass
class SourceRecord:
    """One record as the delivery stream received it.

    Its data is kept as base64, the form both the Lambda event and the error output need, so a record read from
    Kinesis is never decoded and encoded again on the way (that cost 3 µs of the server's time a record).
    """

    shard_id: str  # the Kinesis shard, or DIRECT_PUT
    sequence_number: int  # in the shard, or the delivery stream's own count for DirectPut
    data_base64: str
    size: int  # bytes of data
    arrival_ms: int  # approximate arrival timestamp, epoch milliseconds
    received: float  # time.monotonic() when it reached the delivery stream: buffering intervals start here
    partition_key: str | None = None  # Kinesis only

    @property
    def data(self) -> bytes:
        return base64.b64decode(self.data_base64)


@dataclass
class Delivered:
    data: bytes
    source: SourceRecord
    partition_keys: tuple[tuple[str, str], ...] = ()


@dataclass
class Failed:
    source: SourceRecord
    error_output_type: str
    error_code: str
    error_message: str
    attempts: int
    ended_ms: int
    lambda_arn: str

    def json_line(self) -> bytes:
        """The documented error record: one JSON object per line."""
        return json.dumps({
            "attemptsMade": self.attempts,
            "arrivalTimestamp": self.source.arrival_ms,
            "errorCode": self.error_code,
            "errorMessage": self.error_message,
            "attemptEndingTimestamp": self.ended_ms,
            "rawData": self.source.data_base64,
            "lambdaArn": self.lambda_arn,
        }, separators=(",", ":")).encode() + b"\n"


def _now_ms() -> int:
    return int(time.time() * 1000)


class Interrupted(Exception):
    """The engine is stopping: leave the current batch where it is, it will be processed after start()."""


# ---- the Lambda processor -----------------------------------------------------------------------------
class InvocationFailed(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class BatchEntry(NamedTuple):
    """A record in a Lambda batch, with its recordId and its JSON in the event (encoded once, size known)."""

    record: SourceRecord
    record_id: str
    event_json: str


# The C function json.dumps uses to quote a string.
_quote = json.encoder.encode_basestring_ascii


def batch_entry(record: SourceRecord, record_id: str, kinesis_source: bool) -> BatchEntry:
    """The record as the documented event lists it. Written from parts: json.dumps took 6 µs a record, most of it
    to scan the base64 data for characters to escape, and base64 has none (nor do recordIds and numbers)."""
    text = (f'{{"recordId":"{record_id}","approximateArrivalTimestamp":{record.arrival_ms}'
            f',"data":"{record.data_base64}"')
    if kinesis_source:
        text += (f',"kinesisRecordMetadata":{{"shardId":{_quote(record.shard_id)}'
                 f',"partitionKey":{_quote(record.partition_key)}'
                 f',"approximateArrivalTimestamp":{record.arrival_ms}'
                 f',"sequenceNumber":"{record.sequence_number}","subsequenceNumber":0}}')
    return BatchEntry(record, record_id, text + "}")


class LambdaTransform:
    """Invokes the transform Lambda for one batch and sorts its records into delivered, dropped and failed."""

    def __init__(self, config: DeliveryConfig, processor: LambdaProcessor, lambda_client: Any,
                 stopping: threading.Event):
        self.config = config
        self.processor = processor
        self.client = lambda_client
        self.stopping = stopping

    def run(self, batch: list[BatchEntry]) -> list[Delivered | Failed]:
        """One outcome per record that reaches an output (Dropped records reach none). Raises Interrupted."""
        records_json = ",".join(entry.event_json for entry in batch)
        attempts = self.processor.retries + 1
        for attempt in range(1, attempts + 1):
            FOREGROUND.give_way()  # building the event and invoking hold the GIL for a millisecond or more each
            try:
                payload = self._invoke(records_json)
            except InvocationFailed as failure:
                if attempt == attempts:
                    return [self._failed(entry.record, (failure.code, failure.message), attempt) for entry in batch]
                log.warning("Firehose %s: Lambda attempt %d/%d failed: %s", self.config.name, attempt, attempts,
                            failure.message)
                if self.stopping.wait(min(1.0, 0.2 * attempt)):
                    raise Interrupted() from None
                continue
            return self._sort(batch, payload, attempt)
        raise AssertionError("unreachable: the last attempt returns")

    def _invoke(self, records_json: str) -> bytes:
        envelope: dict[str, Any] = {"invocationId": str(uuid.uuid4()), "deliveryStreamArn": self.config.arn}
        if self.config.source_type == KINESIS_SOURCE:
            envelope["sourceKinesisStreamArn"] = self.config.source_stream_arn
        envelope["region"] = self.config.region
        event = json.dumps(envelope, separators=(",", ":"))[:-1] + ',"records":[' + records_json + "]}"
        FOREGROUND.give_way()
        try:
            response = self.client.invoke(FunctionName=self.processor.arn, InvocationType="RequestResponse",
                                          Payload=event.encode())
            payload = response["Payload"].read()
        except ReadTimeoutError:
            raise InvocationFailed(*FIREHOSE_TIMEOUT) from None
        except ClientError as error:
            code = error.response["Error"]["Code"]
            message = error.response["Error"].get("Message", "")
            raise InvocationFailed(*INVOKE_ERRORS.get(code, (f"Lambda.{code}", message))) from None
        except BotoCoreError as error:
            if self.stopping.is_set():
                raise Interrupted() from None
            raise InvocationFailed(f"Lambda.{type(error).__name__}", str(error)) from None
        if self.stopping.is_set():
            raise Interrupted()
        if response.get("FunctionError"):
            raise InvocationFailed(*(FUNCTION_TIMED_OUT if b"Task timed out" in payload else FUNCTION_ERROR))
        if len(payload) > LAMBDA_PAYLOAD_LIMIT:
            raise InvocationFailed(FUNCTION_ERROR[0], "The Lambda function returned a response over 6 MB.")
        return payload

    def _sort(self, batch: list[BatchEntry], payload: bytes, attempt: int) -> list[Delivered | Failed]:
        try:
            returned = _parse_response(payload)
        except ValueError as invalid:
            log.warning("Firehose %s: Lambda response rejected: %s", self.config.name, invalid)
            return [self._failed(entry.record, JSON_PROCESSING, attempt) for entry in batch]
        counts: dict[str, int] = {}
        for entry in returned:
            counts[entry["recordId"]] = counts.get(entry["recordId"], 0) + 1
        by_id = {entry["recordId"]: entry for entry in returned}
        prefix_problems: dict[tuple[tuple[str, str], ...], str] = {}  # a batch holds few distinct partition keys
        outcomes: list[Delivered | Failed] = []
        for count, item in enumerate(batch):
            if count % READ_CHUNK == 0:
                FOREGROUND.give_way()
            record, record_id = item.record, item.record_id
            entry = by_id.get(record_id)
            if entry is None:
                outcomes.append(self._failed(record, MISSING_RECORD_ID, attempt))
            elif counts[record_id] > 1:
                outcomes.append(self._failed(record, DUPLICATED_RECORD_ID, attempt))
            elif entry["result"] == "ProcessingFailed":
                outcomes.append(self._failed(record, PROCESSING_FAILED, attempt))
            elif entry["result"] == "Ok":
                outcomes.append(self._delivered(record, entry, attempt, prefix_problems))
        return outcomes

    def _delivered(self, record: SourceRecord, entry: dict[str, Any], attempt: int,
                   prefix_problems: dict[tuple[tuple[str, str], ...], str]) -> Delivered | Failed:
        """An Ok record, or Failed when dynamic partitioning finds no valid prefix for it.

        prefix_problems remembers, per set of partition key values, why it makes no valid prefix ("" if it does).
        """
        data = entry["decoded"]
        if not self.config.dynamic_partitioning:
            return Delivered(data, record)
        metadata = entry.get("metadata")
        keys = metadata.get("partitionKeys") if isinstance(metadata, dict) else None
        if not isinstance(keys, dict):  # absent, or not a JSON object: the record has no partition keys
            keys = {}
        needed = self.config.prefixes.partition_keys
        missing = [key for key in needed if key not in keys]
        if missing:
            return self._partitioning_failed(
                record, f"partition keys {missing} were not returned in metadata.partitionKeys", attempt)
        values = tuple([(key, str(keys[key])) for key in needed])
        if values not in prefix_problems:
            prefix_problems[values] = self._prefix_problem(values)
        if prefix_problems[values]:
            return self._partitioning_failed(record, prefix_problems[values], attempt)
        return Delivered(data, record, values)

    def _partitioning_failed(self, record: SourceRecord, reason: str, attempt: int) -> Failed:
        return self._failed(record, (METADATA_EXTRACTION_FAILED, f"Dynamic partitioning failed: {reason}."),
                            attempt, PARTITIONING_FAILED_TYPE)

    def _prefix_problem(self, values: tuple[tuple[str, str], ...]) -> str:
        """Why these partition key values make no valid S3 prefix, or "" when they do."""
        try:
            self.config.prefixes.data_prefix(datetime.now(timezone.utc), dict(values))
        except PrefixTooLong as too_long:
            return str(too_long)
        return ""

    def _failed(self, record: SourceRecord, error: tuple[str, str], attempt: int,
                error_output_type: str = PROCESSING_FAILED_TYPE) -> Failed:
        return Failed(record, error_output_type, error[0], error[1], attempt, _now_ms(), self.processor.arn)


def _giving_way_every(count: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A json object_hook that gives way to client requests every `count` objects.

    Parsing a Lambda response of a few MB is one C call otherwise, holding the GIL for milliseconds.
    """
    decoded = itertools.count(1)

    def hook(obj: dict[str, Any]) -> dict[str, Any]:
        if next(decoded) % count == 0:
            FOREGROUND.give_way()
        return obj

    return hook


def _parse_response(payload: bytes) -> list[dict[str, Any]]:
    """The `records` of a Lambda response, each with its data decoded. ValueError when it breaks the contract."""
    try:
        response = json.loads(payload, object_hook=_giving_way_every(READ_CHUNK))
    except ValueError:
        raise ValueError(f"the response is not JSON: {payload[:200]!r}") from None
    records = response.get("records") if isinstance(response, dict) else None
    if not isinstance(records, list):
        raise ValueError('the response has no "records" list')
    for count, entry in enumerate(records, 1):
        if count % READ_CHUNK == 0:
            FOREGROUND.give_way()
        if not isinstance(entry, dict) or not isinstance(entry.get("recordId"), str):
            raise ValueError(f"a returned record has no recordId: {str(entry)[:200]}")
        if entry.get("result") not in ("Ok", "Dropped", "ProcessingFailed"):
            raise ValueError(f"result must be Ok, Dropped or ProcessingFailed, not {entry.get('result')!r}")
        if entry["result"] == "Ok":
            try:
                entry["decoded"] = binascii.a2b_base64(entry.get("data"), strict_mode=True)
            except (binascii.Error, TypeError, ValueError):
                raise ValueError(f"record {entry['recordId']} has data that is not base64") from None
    return records


# ---- S3 objects ---------------------------------------------------------------------------------------
Outcome = tuple[SourceRecord, "Delivered | Failed | None"]  # None: the Lambda dropped the record


class OutputBuffer:
    """Processed records waiting for the S3 buffering hints, in the order their sources gave them."""

    def __init__(self) -> None:
        self.entries: deque[Outcome] = deque()
        self.size = 0

    def add(self, record: SourceRecord, outcome: Delivered | Failed | None) -> None:
        """A dropped record (outcome None) writes nothing, but it still advances the checkpoint."""
        self.entries.append((record, outcome))
        self.size += _size(record, outcome)

    @property
    def oldest_received(self) -> float | None:
        return self.entries[0][0].received if self.entries else None

    def due(self, now: float, config: DeliveryConfig) -> bool:
        if not self.entries:
            return False
        return self.size >= config.buffer_bytes or now >= self.entries[0][0].received + config.interval_s

    def take(self, limit: int) -> tuple[list[Delivered], list[Failed], dict[str, int]]:
        """The oldest entries, up to `limit` bytes (at least one), and the checkpoint marks they reach."""
        delivered: list[Delivered] = []
        failed: list[Failed] = []
        marks: dict[str, int] = {}
        taken = count = 0
        while self.entries:
            if count % READ_CHUNK == 0:
                FOREGROUND.give_way()
            record, outcome = self.entries[0]
            size = _size(record, outcome)
            if taken and taken + size > limit:
                break
            self.entries.popleft()
            count += 1
            self.size -= size
            taken += size
            marks[record.shard_id] = max(marks.get(record.shard_id, 0), record.sequence_number)
            if isinstance(outcome, Delivered):
                delivered.append(outcome)
            elif isinstance(outcome, Failed):
                failed.append(outcome)
        return delivered, failed, marks


def _size(record: SourceRecord, outcome: Delivered | Failed | None) -> int:
    return len(outcome.data) if isinstance(outcome, Delivered) else record.size if outcome else 0


@dataclass
class PreparedObject:
    key: str
    body: bytes


@dataclass
class Delivery:
    """A sealed part of the output buffer: the objects to write, then the checkpoint marks to commit."""

    objects: list[PreparedObject]
    marks: dict[str, int]


def prepare_objects(config: DeliveryConfig, delivered: list[Delivered], failed: list[Failed]) -> list[PreparedObject]:
    """The S3 objects for sealed records: one per partition key set, and one per error output type."""
    objects = []
    groups: dict[tuple[tuple[str, str], ...], list[Delivered]] = {}
    for record in delivered:
        groups.setdefault(record.partition_keys, []).append(record)
    delimiter = b"\n" if config.append_delimiter else b""
    for keys, records in groups.items():
        prefix = config.prefixes.data_prefix(_oldest_arrival(records, config.zone), dict(keys))
        objects.append(_object(config, prefix, delimiter.join(r.data for r in records)))
    failures: dict[str, list[Failed]] = {}
    for failure in failed:
        failures.setdefault(failure.error_output_type, []).append(failure)
    for error_type, records in failures.items():
        prefix = config.prefixes.error_prefix(_oldest_arrival(records, config.zone), error_type)
        objects.append(_object(config, prefix, b"".join(r.json_line() for r in records)))
    return objects


def _oldest_arrival(records: list[Delivered] | list[Failed], zone: tzinfo) -> datetime:
    """Timestamp expressions use the approximate arrival time of the oldest record in the object."""
    oldest_ms = min(record.source.arrival_ms for record in records)
    return datetime.fromtimestamp(oldest_ms / 1000, zone)


def _object(config: DeliveryConfig, prefix: str, body: bytes) -> PreparedObject:
    written = datetime.now(config.zone)
    name = f"{config.name}-{config.version_id}-{written:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"
    if config.compression == "GZIP":
        body = gzip.compress(body)
    elif config.compression == "ZIP":
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            zipped.writestr(name, body)
        body = archive.getvalue()
    return PreparedObject(prefix + name + config.extension, body)


# ---- checkpoints ----------------------------------------------------------------------------------------
StreamKey = tuple[str, str, str]  # (account id, region, delivery stream name)


class CheckpointStore:
    """Per delivery stream, under state_dir/firehose/<account>/<region>/:
    <name>.checkpoint.json  {"shards": {shard id: sequence number of the last record written to S3}}
    <name>.pending.jsonl    DirectPut records accepted but not yet written when the engine stopped
    """

    def __init__(self, root: Path):
        self.root = root

    def _path(self, key: StreamKey, suffix: str) -> Path:
        account_id, region, name = key
        return self.root / account_id / region / f"{name}{suffix}"

    def _write(self, path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(text)
        os.replace(temporary, path)

    def load_positions(self, key: StreamKey) -> dict[str, int] | None:
        path = self._path(key, ".checkpoint.json")
        if not path.exists():
            return None
        return {shard: int(number) for shard, number in json.loads(path.read_text())["shards"].items()}

    def save_positions(self, key: StreamKey, positions: dict[str, int]) -> None:
        self._write(self._path(key, ".checkpoint.json"), json.dumps({"shards": positions}, sort_keys=True))

    def take_pending(self, key: StreamKey) -> list[tuple[bytes, int]]:
        """The saved DirectPut records as (data, arrival ms), removing the file."""
        path = self._path(key, ".pending.jsonl")
        if not path.exists():
            return []
        lines = [json.loads(line) for line in path.read_text().splitlines() if line]
        path.unlink()
        return [(base64.b64decode(line["data"]), int(line["arrival_ms"])) for line in lines]

    def add_pending(self, key: StreamKey, records: Iterable[tuple[bytes, int]]) -> None:
        path = self._path(key, ".pending.jsonl")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as pending:
            for data, arrival_ms in records:
                pending.write(json.dumps({"data": base64.b64encode(data).decode(), "arrival_ms": arrival_ms}) + "\n")

    def delete(self, key: StreamKey) -> None:
        for suffix in (".checkpoint.json", ".pending.jsonl"):
            self._path(key, suffix).unlink(missing_ok=True)

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


# ---- clients acting as the delivery stream's roles ----------------------------------------------------------
class RoleClients:
    """boto3 clients with the credentials of an IAM role, obtained from STS as Firehose obtains them."""

    ENGINE = Config(user_agent_extra=ENGINE_USER_AGENT)  # not a client request: see localcloud/foreground.py
    CONFIGS = {
        "lambda": ENGINE.merge(Config(read_timeout=LAMBDA_READ_TIMEOUT_S, connect_timeout=5,
                                      retries={"mode": "standard", "max_attempts": 1})),
    }

    def __init__(self) -> None:
        self.endpoint_url = ""
        self._lock = threading.Lock()
        self._session = boto3.session.Session()  # one session, so service models load once
        self._credentials: dict[str, dict[str, str]] = {}
        self._clients: dict[tuple[str, str, str], Any] = {}

    def client(self, service: str, role_arn: str, region: str) -> Any:
        with self._lock:
            key = (service, role_arn, region)
            if key not in self._clients:
                self._clients[key] = self._session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url,
                    config=self.CONFIGS.get(service, self.ENGINE), **self._role_credentials(role_arn))
            return self._clients[key]

    def _role_credentials(self, role_arn: str) -> dict[str, str]:
        if role_arn not in self._credentials:
            sts = self._session.client("sts", region_name="us-east-1", endpoint_url=self.endpoint_url,
                                       aws_access_key_id="localcloud", aws_secret_access_key="localcloud",
                                       config=self.ENGINE)
            assumed = sts.assume_role(RoleArn=role_arn, RoleSessionName=DELIVERY_ROLE_SESSION)["Credentials"]
            self._credentials[role_arn] = {"aws_access_key_id": assumed["AccessKeyId"],
                                           "aws_secret_access_key": assumed["SecretAccessKey"],
                                           "aws_session_token": assumed["SessionToken"]}
        return self._credentials[role_arn]

    def forget(self) -> None:
        with self._lock:
            self._credentials.clear()
            self._clients.clear()


# ---- one delivery stream ---------------------------------------------------------------------------------
class DeliveryPipeline:
    """The buffers and the worker thread of one delivery stream."""

    def __init__(self, key: StreamKey, config: DeliveryConfig, store: CheckpointStore, clients: RoleClients):
        self.key = key
        self.config = config
        self.store = store
        self.clients = clients
        self._lock = threading.Lock()  # guards pending, unwritten and the DirectPut counter
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._new_config: DeliveryConfig | None = None
        self._pending: deque[SourceRecord] = deque()
        self._pending_size = 0
        self._unwritten: deque[SourceRecord] = deque()  # DirectPut records not yet in S3, oldest first
        self._direct_put_numbers = itertools.count(1)
        self._record_ids = itertools.count(1)
        self._output = OutputBuffer()
        self._delivery: Delivery | None = None
        self._retry_at = 0.0
        self._failures = 0
        self._committed: dict[str, int] = {}
        self._read_positions: dict[str, int] = {}
        self._next_poll = 0.0
        self._source_missing = False
        self._thread = threading.Thread(target=self._run, name=f"firehose-{config.name}", daemon=True)

    # -- lifecycle, called by the engine --
    def start(self) -> None:
        if self.config.source_type == KINESIS_SOURCE:
            positions = self.store.load_positions(self.key)
            if positions is None:
                positions = latest_positions(self.config.source_stream_arn or "")
                self.store.save_positions(self.key, positions)
            self._committed = dict(positions)
            self._read_positions = dict(positions)
        else:
            self.accept(self.store.take_pending(self.key))
        self._thread.start()

    def stop(self, keep_pending: bool = True) -> None:
        """Stop the worker; keep DirectPut records that are not in S3 yet for the next start()."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=STOP_TIMEOUT_S)
        if self._thread.is_alive():
            log.warning("Firehose %s: the worker is still busy after %ss; it will write nothing more",
                        self.config.name, STOP_TIMEOUT_S)
        with self._lock:
            if keep_pending and self._unwritten:
                self.store.add_pending(self.key, ((r.data, r.arrival_ms) for r in self._unwritten))
            self._unwritten.clear()

    def update_config(self, config: DeliveryConfig) -> None:
        self._new_config = config
        self._wake.set()

    def accept(self, records: list[tuple[bytes, int]]) -> None:
        """DirectPut records (data, arrival ms), from PutRecord/PutRecordBatch."""
        now = time.monotonic()
        with self._lock:
            for data, arrival_ms in records:
                record = SourceRecord(DIRECT_PUT, next(self._direct_put_numbers), base64.b64encode(data).decode(),
                                      len(data), arrival_ms, now)
                self._pending.append(record)
                self._unwritten.append(record)
                self._pending_size += record.size
        self._wake.set()

    # -- the worker --
    def _run(self) -> None:
        while not self._stopping.is_set():
            if self._new_config is not None:
                self.config, self._new_config = self._new_config, None
            try:
                self._step()
            except Interrupted:
                return
            except Exception:  # a bug must not end delivery for good: log it and go on
                log.exception("Firehose %s: delivery step failed; retrying in 1 s", self.config.name)
                self._stopping.wait(1.0)
            self._wake.wait(self._sleep_time())
            self._wake.clear()

    def _step(self) -> None:
        if self._delivery is not None and (time.monotonic() < self._retry_at or not self._write_delivery()):
            return  # S3 is failing: hold everything else until it works again
        now = time.monotonic()
        if self.config.source_type == KINESIS_SOURCE and now >= self._next_poll and not self._backlogged():
            self._read_kinesis(now)
        while self._processing_due(time.monotonic()):
            self._process_batch()
            self._seal_if_due()
            if self._delivery is not None:
                return
        self._seal_if_due()

    def _seal_if_due(self) -> None:
        """Write objects of up to SizeInMBs while the output buffer is due; stop when S3 fails."""
        while self._delivery is None and self._output.due(time.monotonic(), self.config):
            delivered, failed, marks = self._output.take(self.config.buffer_bytes)
            self._delivery = Delivery(prepare_objects(self.config, delivered, failed), marks)
            self._write_delivery()

    def _sleep_time(self) -> float:
        now = time.monotonic()
        if self._delivery is not None:
            return min(1.0, max(0.0, self._retry_at - now))
        deadlines = []
        if self.config.source_type == KINESIS_SOURCE:
            deadlines.append(now + 0.1 if self._backlogged() else self._next_poll)
        if self._pending:
            processor = self.config.lambda_processor
            deadlines.append(self._pending[0].received + (processor.interval_s if processor else 0))
        oldest_output = self._output.oldest_received
        if oldest_output is not None:
            deadlines.append(oldest_output + self.config.interval_s)
        return min(1.0, max(0.0, min(deadlines) - now)) if deadlines else 1.0

    def _backlogged(self) -> bool:
        processor = self.config.lambda_processor
        limit = 2 * self.config.buffer_bytes + (processor.buffer_bytes if processor else 0)
        return self._pending_size + self._output.size >= limit

    # -- reading Kinesis --
    def _read_kinesis(self, now: float) -> None:
        shards = KinesisShards(self.config.source_stream_arn or "")
        try:
            shard_ids = shards.shard_ids()
        except StreamNotFound:
            if not self._source_missing:
                log.warning("Firehose %s: Kinesis.ResourceNotFound: the source stream %s does not exist",
                            self.config.name, self.config.source_stream_arn)
            self._source_missing = True
            self._next_poll = now + 1.0
            return
        self._source_missing = False
        full = False
        wall_now = time.time()
        for shard_id in shard_ids:
            after = self._read_positions.setdefault(shard_id, 0)  # shards created later: their first record
            read = 0
            while read < KINESIS_READ_LIMIT:  # a chunk at a time, giving way to client requests in between
                FOREGROUND.give_way()
                records = shards.read_after(shard_id, after, min(READ_CHUNK, KINESIS_READ_LIMIT - read))
                if not records:
                    break
                after = self._read_positions[shard_id] = records[-1].sequence_number
                self._add_pending(_from_kinesis(record, now, wall_now) for record in records)
                read += len(records)
            full = full or read == KINESIS_READ_LIMIT
        self._next_poll = now if full else now + self.config.poll_interval_s

    def _add_pending(self, records: Iterable[SourceRecord]) -> None:
        with self._lock:
            for record in records:
                self._pending.append(record)
                self._pending_size += record.size

    # -- processing --
    def _processing_due(self, now: float) -> bool:
        if not self._pending:
            return False
        processor = self.config.lambda_processor
        if processor is None:
            return True
        return self._pending_size >= processor.buffer_bytes or now >= self._pending[0].received + processor.interval_s

    def _process_batch(self) -> None:
        processor = self.config.lambda_processor
        if processor is None:
            with self._lock:
                batch = list(self._pending)
            outcomes: list[Delivered | Failed] = [Delivered(record.data, record) for record in batch]
        else:
            entries = self._lambda_batch(processor)
            batch = [entry.record for entry in entries]
            lambda_client = self.clients.client("lambda", processor.role_arn, _arn_region(processor.arn))
            outcomes = LambdaTransform(self.config, processor, lambda_client, self._stopping).run(entries)
        by_source = {id(outcome.source): outcome for outcome in outcomes}
        with self._lock:
            for _ in batch:
                record = self._pending.popleft()
                self._pending_size -= record.size
        for count, record in enumerate(batch):
            if count % READ_CHUNK == 0:
                FOREGROUND.give_way()
            self._output.add(record, by_source.get(id(record)))

    def _lambda_batch(self, processor: LambdaProcessor) -> list[BatchEntry]:
        """The oldest pending records that fit one invocation: BufferSizeInMBs of data, a 6 MB event."""
        kinesis_source = self.config.source_type == KINESIS_SOURCE
        batch: list[BatchEntry] = []
        size, payload = 0, LAMBDA_EVENT_OVERHEAD
        with self._lock:  # PutRecord appends meanwhile would break the iteration
            pending = list(self._pending)
        for count, record in enumerate(pending):
            if count % READ_CHUNK == 0:
                FOREGROUND.give_way()
            entry = batch_entry(record, f"{next(self._record_ids):024d}", kinesis_source)
            if batch and (size + record.size > processor.buffer_bytes
                          or payload + len(entry.event_json) + 1 > LAMBDA_PAYLOAD_LIMIT):
                break
            batch.append(entry)
            size += record.size
            payload += len(entry.event_json) + 1
        return batch

    # -- writing S3 --
    def _write_delivery(self) -> bool:
        """Write the sealed delivery's objects, then commit its checkpoint. False when S3 failed."""
        delivery = self._delivery
        assert delivery is not None
        s3 = self.clients.client("s3", self.config.role_arn, self.config.region)
        while delivery.objects:
            if self._stopping.is_set():
                raise Interrupted()
            item = delivery.objects[0]
            FOREGROUND.give_way()
            try:
                s3.put_object(Bucket=self.config.bucket, Key=item.key, Body=item.body,
                              ContentType="application/octet-stream")
            except (ClientError, BotoCoreError) as error:
                self._failures += 1
                delay = min(30.0, 2.0 ** (self._failures - 1))
                self._retry_at = time.monotonic() + delay
                log.warning("Firehose %s: %s; retrying in %.0f s", self.config.name, _s3_error(error), delay)
                return False
            delivery.objects.pop(0)
        self._failures = 0
        self._delivery = None
        self._commit(delivery.marks)
        return True

    def _commit(self, marks: dict[str, int]) -> None:
        for shard_id, number in marks.items():
            self._committed[shard_id] = max(self._committed.get(shard_id, 0), number)
        if self.config.source_type == KINESIS_SOURCE:
            self.store.save_positions(self.key, self._committed)
            return
        written = self._committed.get(DIRECT_PUT, 0)
        with self._lock:
            while self._unwritten and self._unwritten[0].sequence_number <= written:
                self._unwritten.popleft()


def _from_kinesis(record: ShardRecord, now: float, wall_now: float) -> SourceRecord:
    """A shard record, received when it arrived in the shard (read later only because a poll or Lambda waited)."""
    received = now - max(0.0, wall_now - record.arrival)
    return SourceRecord(record.shard_id, record.sequence_number, record.data_base64, record.size,
                        int(record.arrival * 1000), received, record.partition_key)


def latest_positions(stream_arn: str) -> dict[str, int]:
    """Every shard's newest sequence number: reading after them is reading from LATEST."""
    shards = KinesisShards(stream_arn)
    try:
        return {shard_id: shards.latest_sequence_number(shard_id) for shard_id in shards.shard_ids()}
    except StreamNotFound:
        return {}


def _arn_region(arn: str) -> str:
    return arn.split(":")[3]


def _s3_error(error: Exception) -> str:
    code = error.response["Error"]["Code"] if isinstance(error, ClientError) else type(error).__name__
    if code in ("NoSuchBucket", "404"):
        return ("S3.NoSuchBucket: The specified bucket does not exist. Create the bucket or use a different "
                "bucket that does exist.")
    return f"S3.{code}: {error}"


# ---- the engine ---------------------------------------------------------------------------------------------
class FirehoseEngine:
    """Intercepts the Firehose operations moto gets wrong and runs one DeliveryPipeline per delivery stream."""

    name = "firehose"

    def __init__(self, state_dir: Path):
        self.store = CheckpointStore(Path(state_dir) / self.name)
        self.clients = RoleClients()
        self.validator = DestinationValidator(self.clients)
        self.streams = DeliveryStreams()
        self._lock = threading.Lock()  # guards the pipelines and the running flag
        self._pipelines: dict[StreamKey, DeliveryPipeline] = {}
        self._running = False

    def register(self, router: Router) -> None:
        router.register_all("firehose", {
            "CreateDeliveryStream": self.create_delivery_stream,
            "UpdateDestination": self.update_destination,
            "DeleteDeliveryStream": self.delete_delivery_stream,
            "DescribeDeliveryStream": self.describe_delivery_stream,
            "PutRecord": self.put_record,
            "PutRecordBatch": self.put_record_batch,
        })

    def start(self, endpoint_url: str) -> None:
        self.clients.endpoint_url = endpoint_url
        with self._lock:
            self._running = True
            for key in self.streams.names():
                self._start_pipeline(key)

    def stop(self) -> None:
        with self._lock:
            self._running = False
            for pipeline in self._pipelines.values():
                pipeline.stop()
            self._pipelines.clear()

    def reset(self) -> None:
        self.stop()
        self.store.clear()
        self.clients.forget()

    def _start_pipeline(self, key: StreamKey) -> None:
        """Start delivering for a stream moto has (the caller holds the lock)."""
        description = self.streams.describe(*key)
        config = description and DeliveryConfig.from_description(key[0], key[1], description)
        if config:
            pipeline = DeliveryPipeline(key, config, self.store, self.clients)
            pipeline.start()
            self._pipelines[key] = pipeline

    # -- control plane --
    def create_delivery_stream(self, request: AwsRequest) -> RawResponse:
        params = request.params
        s3 = params.get("ExtendedS3DestinationConfiguration") or params.get("S3DestinationConfiguration")
        if s3:
            self.validator.check_source(params)
            member = ("ExtendedS3DestinationConfiguration" if params.get("ExtendedS3DestinationConfiguration")
                      else "S3DestinationConfiguration")
            self.validator.check_s3(s3, member)
        response = request.forward()
        if response.status == 200 and s3:
            key = (request.account_id, request.region, params["DeliveryStreamName"])
            with self._lock:
                self.store.delete(key)
                if (params.get("DeliveryStreamType") or DIRECT_PUT) == KINESIS_SOURCE:
                    stream_arn = params["KinesisStreamSourceConfiguration"]["KinesisStreamARN"]
                    self.store.save_positions(key, latest_positions(stream_arn))
                if self._running:
                    self._start_pipeline(key)
        return response

    def update_destination(self, request: AwsRequest) -> RawResponse:
        params = request.params
        key = (request.account_id, request.region, params.get("DeliveryStreamName", ""))
        description = self.streams.describe(*key)
        member = next((m for m in ("ExtendedS3DestinationUpdate", "S3DestinationUpdate") if params.get(m)), None)
        if description is not None and member is not None:
            current = description["Destinations"][0]
            current_s3 = (current.get("ExtendedS3DestinationDescription")
                          or current.get("S3DestinationDescription") or {})
            self._check_partitioning_change(current_s3, params[member])
            self.validator.check_s3({**current_s3, **params[member]}, member)
        response = request.forward()
        if response.status == 200:
            with self._lock:
                pipeline = self._pipelines.get(key)
                description = self.streams.describe(*key)
                config = description and DeliveryConfig.from_description(key[0], key[1], description)
                if pipeline and config:
                    pipeline.update_config(config)
                elif self._running and config:
                    self._start_pipeline(key)
        return response

    @staticmethod
    def _check_partitioning_change(current: dict[str, Any], update: dict[str, Any]) -> None:
        was = bool((current.get("DynamicPartitioningConfiguration") or {}).get("Enabled"))
        wanted = update.get("DynamicPartitioningConfiguration")
        if wanted is None or bool(wanted.get("Enabled")) == was:
            return
        raise InvalidArgumentException(
            "Dynamic partitioning can only be enabled when a delivery stream is created, and cannot be disabled "
            "afterwards. Create a new delivery stream with the DynamicPartitioningConfiguration you want.")

    def delete_delivery_stream(self, request: AwsRequest) -> RawResponse:
        response = request.forward()
        if response.status == 200:
            key = (request.account_id, request.region, request.params.get("DeliveryStreamName", ""))
            with self._lock:
                pipeline = self._pipelines.pop(key, None)
                if pipeline:
                    pipeline.stop(keep_pending=False)
                self.store.delete(key)
        return response

    def describe_delivery_stream(self, request: AwsRequest) -> RawResponse:
        """moto's description, with the defaults AWS shows for settings the request left out."""
        response = request.forward()
        if response.status != 200:
            return response
        body = response.json()
        _describe_defaults(body["DeliveryStreamDescription"])
        return RawResponse(200, json.dumps(body).encode(), {"Content-Type": "application/x-amz-json-1.1"})

    # -- data plane --
    def put_record(self, request: AwsRequest) -> dict[str, Any] | RawResponse:
        record = request.params.get("Record") or {}
        accepted = self._put(request, [record], "record")
        if isinstance(accepted, RawResponse):
            return accepted
        return {"RecordId": accepted[0], "Encrypted": False}

    def put_record_batch(self, request: AwsRequest) -> dict[str, Any] | RawResponse:
        records = request.params.get("Records") or []
        if len(records) > MAX_BATCH_RECORDS:
            raise _constraint_error(f"list of {len(records)} records", "records",
                                    f"Member must have length less than or equal to {MAX_BATCH_RECORDS}")
        accepted = self._put(request, records, "records")
        if isinstance(accepted, RawResponse):
            return accepted
        return {"FailedPutCount": 0, "Encrypted": False,
                "RequestResponses": [{"RecordId": record_id} for record_id in accepted]}

    def _put(self, request: AwsRequest, records: list[dict[str, Any]], member: str) -> list[str] | RawResponse:
        name = request.params.get("DeliveryStreamName", "")
        key = (request.account_id, request.region, name)
        description = self.streams.describe(*key)
        if description is None:
            raise ResourceNotFoundException(f"Firehose {name} under account {request.account_id} not found.")
        config = DeliveryConfig.from_description(key[0], key[1], description)
        if config is None:
            return request.forward()  # not an S3 destination: moto's behaviour
        if config.source_type == KINESIS_SOURCE:
            raise InvalidArgumentException("This operation is not permitted on KinesisStreamAsSource delivery "
                                           "stream type.")
        arrival_ms = _now_ms()
        decoded = [(_record_data(record, member, index), arrival_ms) for index, record in enumerate(records)]
        if sum(len(data) for data, _ in decoded) > MAX_BATCH_BYTES:
            raise InvalidArgumentException(f"The records add up to more than {MAX_BATCH_BYTES} bytes (4 MiB), the "
                                           "limit of one PutRecordBatch call. Send them in smaller batches.")
        with self._lock:
            if self._running and key not in self._pipelines:
                self._start_pipeline(key)
            pipeline = self._pipelines.get(key) if self._running else None
            if pipeline is None:
                self.store.add_pending(key, decoded)  # delivered once the engine starts again
            else:
                pipeline.accept(decoded)
        return [base64.urlsafe_b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode().rstrip("=")
                for _ in decoded]


def _record_data(record: dict[str, Any], member: str, index: int) -> bytes:
    data = base64.b64decode(record.get("Data") or "")
    if len(data) > MAX_RECORD_BYTES:
        path = f"{member}.{index + 1}.member.data" if member == "records" else "record.data"
        raise _constraint_error(f"<{len(data)} bytes>", path,
                                f"Member must have length less than or equal to {MAX_RECORD_BYTES}")
    return data


S3_DESCRIPTION_FIELDS = ("RoleARN", "BucketARN", "Prefix", "ErrorOutputPrefix", "BufferingHints",
                         "CompressionFormat", "EncryptionConfiguration", "CloudWatchLoggingOptions")


def _describe_defaults(description: dict[str, Any]) -> None:
    """Fill in what AWS shows for omitted settings; keep the S3 view in step with the ExtendedS3 one."""
    source = (description.get("Source") or {}).get("KinesisStreamSourceDescription")
    if source is not None:
        source.setdefault("DeliveryStartTimestamp", description.get("CreateTimestamp"))
    description.setdefault("DeliveryStreamEncryptionConfiguration", {"Status": "DISABLED"})
    for destination in description.get("Destinations", []):
        extended = destination.get("ExtendedS3DestinationDescription")
        plain = destination.get("S3DestinationDescription")
        for s3 in (extended, plain):
            if s3 is None:
                continue
            hints = s3.setdefault("BufferingHints", {})
            hints.setdefault("SizeInMBs", DEFAULT_SIZE_MB)
            hints.setdefault("IntervalInSeconds", DEFAULT_INTERVAL_S)
            s3.setdefault("CompressionFormat", "UNCOMPRESSED")
            s3.setdefault("EncryptionConfiguration", {"NoEncryptionConfig": "NoEncryption"})
            s3.setdefault("CloudWatchLoggingOptions", {"Enabled": False})
        if extended is not None:
            extended.setdefault("S3BackupMode", "Disabled")
            _lambda_parameter_defaults(extended)
            destination["S3DestinationDescription"] = {name: extended[name] for name in S3_DESCRIPTION_FIELDS
                                                       if name in extended}


def _lambda_parameter_defaults(extended: dict[str, Any]) -> None:
    defaults = {"NumberOfRetries": str(DEFAULT_RETRIES), "RoleArn": extended.get("RoleARN", ""),
                "BufferSizeInMBs": f"{DEFAULT_LAMBDA_SIZE_MB:g}",
                "BufferIntervalInSeconds": str(DEFAULT_LAMBDA_INTERVAL_S)}
    for processor in (extended.get("ProcessingConfiguration") or {}).get("Processors") or []:
        if processor.get("Type") != "Lambda":
            continue
        parameters = processor.setdefault("Parameters", [])
        present = {parameter["ParameterName"] for parameter in parameters}
        parameters.extend({"ParameterName": name, "ParameterValue": value}
                          for name, value in defaults.items() if name not in present)

