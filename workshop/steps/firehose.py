"""Step 06: the Firehose delivery stream from Kinesis, through the transform Lambda, into S3."""

from __future__ import annotations

from typing import Any, Callable

from workshop.session import Connection
from workshop.steps import iam, pipes
from workshop.waiting import wait_until

# Firehose writes an object when either limit is reached first: 1 MB or this many seconds.
DEFAULT_BUFFER_SECONDS = 10
DEFAULT_BUFFER_MB = 1


def destination_settings(conn: Connection, role_arn: str, buffer_seconds: int = DEFAULT_BUFFER_SECONDS,
                         buffer_mb: int = DEFAULT_BUFFER_MB) -> dict[str, Any]:
    """The S3 destination: where objects go, when they are written, and the Lambda that transforms them."""
    config = conn.config
    return {
        "RoleARN": role_arn,
        "BucketARN": config.bucket_arn(conn.account_id),
        # UTC hour folders: orders/2026/11/22/07/... The crawler turns them into partition_0..3.
        "Prefix": config.firehose_prefix,
        # A prefix with expressions needs an error prefix; failed records land in errors/processing-failed/...
        "ErrorOutputPrefix": config.firehose_error_prefix,
        "BufferingHints": {"SizeInMBs": buffer_mb, "IntervalInSeconds": buffer_seconds},
        "CompressionFormat": "UNCOMPRESSED",
        "ProcessingConfiguration": {
            "Enabled": True,
            "Processors": [{
                "Type": "Lambda",
                "Parameters": [
                    {"ParameterName": "LambdaArn", "ParameterValue": config.lambda_arn(conn.account_id)},
                    {"ParameterName": "NumberOfRetries", "ParameterValue": "3"},
                    {"ParameterName": "BufferSizeInMBs", "ParameterValue": "1"},
                    {"ParameterName": "BufferIntervalInSeconds", "ParameterValue": str(buffer_seconds)},
                ],
            }],
        },
    }


def ensure_delivery_stream(conn: Connection, buffer_seconds: int = DEFAULT_BUFFER_SECONDS) -> dict[str, Any]:
    """Create the delivery stream reading the Kinesis stream, and wait until it is ACTIVE.

    A new delivery stream reads Kinesis from LATEST, so changes already in the stream never reach
    S3. When this call creates it, the pipe is recreated to replay the table's stream history.
    """
    created = _create_if_missing(conn, conn.config.firehose_name,
                                 lambda role_arn: destination_settings(conn, role_arn, buffer_seconds))
    active = wait_for_active(conn)
    if created:
        pipes.replay_from_trim_horizon(conn)
    return active


def wait_for_active(conn: Connection, name: str | None = None) -> dict[str, Any]:
    """Wait until the delivery stream (default: the course's main one) is ACTIVE; return its description."""
    firehose = conn.client("firehose")
    name = name or conn.config.firehose_name
    return wait_until(lambda: _active(firehose, name), what=f"delivery stream {name} to be ACTIVE", timeout=300,
                      hint="Creating a delivery stream takes a few minutes on AWS; check its status in the console.")


def _create_if_missing(conn: Connection, name: str, destination: Callable[[str], dict[str, Any]]) -> bool:
    """Create a Kinesis-sourced delivery stream unless it exists; True if this call created it."""
    firehose = conn.client("firehose")
    try:
        firehose.describe_delivery_stream(DeliveryStreamName=name)
        return False
    except firehose.exceptions.ResourceNotFoundException:
        pass
    role_arn = iam.ensure_role(conn, "firehose")
    iam.retry_while_role_propagates(lambda: firehose.create_delivery_stream(
        DeliveryStreamName=name,
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={
            "KinesisStreamARN": conn.config.kinesis_stream_arn(conn.account_id),
            "RoleARN": role_arn,
        },
        ExtendedS3DestinationConfiguration=destination(role_arn),
        Tags=conn.config.tag_list(),
    ), what=f"delivery stream {name}")
    return True


def _active(firehose: Any, name: str) -> dict[str, Any] | None:
    description = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    if description["DeliveryStreamStatus"].endswith("FAILED"):
        raise RuntimeError(f"Delivery stream {name} is {description['DeliveryStreamStatus']}: "
                           f"{description.get('FailureDescription', {}).get('Details', 'no details given')}")
    return description if description["DeliveryStreamStatus"] == "ACTIVE" else None


def hive_destination_settings(conn: Connection, role_arn: str,
                              buffer_seconds: int = DEFAULT_BUFFER_SECONDS) -> dict[str, Any]:
    """Like destination_settings, but folders come from the Lambda's partitionKeys (dynamic partitioning).

    AWS allows dynamic partitioning only on a new delivery stream, and needs a 64 MB minimum buffer for it.
    """
    settings = destination_settings(conn, role_arn, buffer_seconds)
    settings.update(
        Prefix=conn.config.hive_firehose_prefix,
        BufferingHints={"SizeInMBs": 64, "IntervalInSeconds": buffer_seconds},
        DynamicPartitioningConfiguration={"Enabled": True, "RetryOptions": {"DurationInSeconds": 300}},
    )
    return settings


def ensure_hive_delivery_stream(conn: Connection) -> dict[str, Any]:
    """Create the second delivery stream, which writes year=/month=/day=/hour= folders, and wait for it."""
    _create_if_missing(conn, conn.config.hive_firehose_name, lambda role_arn: hive_destination_settings(conn, role_arn))
    return wait_for_active(conn, conn.config.hive_firehose_name)
