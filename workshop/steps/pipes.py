"""Step 03 (second half): the EventBridge Pipe that carries table changes into Kinesis."""

from __future__ import annotations

from typing import Any

from workshop.session import Connection
from workshop.steps import dynamodb, iam
from workshop.waiting import wait_until

# Every change to one order goes to the same shard, so per-order order is kept downstream.
PARTITION_KEY_PATH = "$.dynamodb.Keys.orderid.S"
FAILED_STATES = {"CREATE_FAILED", "UPDATE_FAILED", "START_FAILED", "STOP_FAILED"}


def pipe_settings(batch_size: int = 100, batching_window_seconds: int = 1) -> dict[str, Any]:
    """Source and target parameters. TRIM_HORIZON: also deliver changes made before the pipe existed."""
    return {
        "SourceParameters": {"DynamoDBStreamParameters": {
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": batch_size,
            "MaximumBatchingWindowInSeconds": batching_window_seconds,
        }},
        "TargetParameters": {"KinesisStreamParameters": {"PartitionKey": PARTITION_KEY_PATH}},
    }


def ensure_pipe(conn: Connection, batch_size: int = 100, batching_window_seconds: int = 1) -> dict[str, Any]:
    """Create the pipe from the table's stream to the Kinesis stream and wait until it is RUNNING."""
    pipes = conn.client("pipes")
    name = conn.config.pipe_name
    try:
        pipes.describe_pipe(Name=name)
    except pipes.exceptions.NotFoundException:
        role_arn = iam.ensure_role(conn, "pipe")
        iam.retry_while_role_propagates(lambda: pipes.create_pipe(
            Name=name,
            Description="orders table changes -> Kinesis",
            RoleArn=role_arn,
            Source=dynamodb.stream_arn(conn),
            Target=conn.config.kinesis_stream_arn(conn.account_id),
            DesiredState="RUNNING",
            Tags=conn.config.tags,
            **pipe_settings(batch_size, batching_window_seconds),
        ), what=f"pipe {name}")
    return wait_for_pipe_state(conn, "RUNNING")


def wait_for_pipe_state(conn: Connection, state: str, timeout: float = 300) -> dict[str, Any]:
    """Pipes take a minute or two to start on AWS; this shows progress and explains failures."""
    pipes = conn.client("pipes")
    name = conn.config.pipe_name

    def reached() -> dict[str, Any] | None:
        pipe = pipes.describe_pipe(Name=name)
        if pipe["CurrentState"] in FAILED_STATES:
            raise RuntimeError(f"Pipe {name} is {pipe['CurrentState']}: {pipe.get('StateReason', 'no reason given')}. "
                               "Check the pipe role's permissions on the stream and the Kinesis stream.")
        return pipe if pipe["CurrentState"] == state else None

    return wait_until(reached, what=f"pipe {name} to be {state}", timeout=timeout,
                      hint="Open the pipe in the EventBridge console and read its StateReason.")


def replay_from_trim_horizon(conn: Connection) -> dict[str, Any]:
    """Recreate the pipe so that it sends every change the DynamoDB stream still holds (24 hours) again.

    A pipe's StartingPosition applies only when it is created and cannot be updated, so replaying
    means deleting and creating it. Changes already delivered arrive twice: each carries its eventID
    and sequence number, so readers can drop duplicates.
    """
    pipes = conn.client("pipes")
    name = conn.config.pipe_name
    try:
        pipes.delete_pipe(Name=name)
    except pipes.exceptions.NotFoundException:
        pass
    wait_until(lambda: _pipe_gone(pipes, name), what=f"pipe {name} to be deleted", timeout=300,
               hint="Deleting a pipe takes a minute or two on AWS; check it in the EventBridge console.")
    return ensure_pipe(conn)


def _pipe_gone(pipes: Any, name: str) -> bool:
    try:
        pipes.describe_pipe(Name=name)
    except pipes.exceptions.NotFoundException:
        return True
    return False
