"""Step 05: package the transform in lambda_src/ and deploy it as a Lambda function."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

from workshop.config import LAMBDA_SOURCE_DIR
from workshop.session import PROJECT_ROOT, Connection
from workshop.steps import iam

SOURCE_DIR = PROJECT_ROOT / "lambda_src" / LAMBDA_SOURCE_DIR
HANDLER = "handler.lambda_handler"
RUNTIME = "python3.12"
# Firehose waits for the function; AWS recommends at least a minute for transforms.
TIMEOUT_SECONDS = 60
MEMORY_MB = 256
# Logs are kept a week: enough to debug the course, and they stop costing money afterwards.
LOG_RETENTION_DAYS = 7


def package(source_dir: Path = SOURCE_DIR) -> bytes:
    """Zip the handler's folder. Fixed timestamps make the zip (and so CodeSha256) depend only on the code."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source_dir.rglob("*.py")):
            info = zipfile.ZipInfo(str(path.relative_to(source_dir)), date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def code_sha256(zip_bytes: bytes) -> str:
    """The hash Lambda reports as CodeSha256, to tell whether deployed code is current."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()


def ensure_function(conn: Connection) -> dict[str, Any]:
    """Deploy the transform (create it, or update its code if lambda_src changed) and wait until Active."""
    aws_lambda = conn.client("lambda")
    name = conn.config.lambda_name
    zip_bytes = package()
    ensure_log_group(conn)
    try:
        current = aws_lambda.get_function_configuration(FunctionName=name)
    except aws_lambda.exceptions.ResourceNotFoundException:
        role_arn = iam.ensure_role(conn, "lambda")
        iam.retry_while_role_propagates(lambda: aws_lambda.create_function(
            FunctionName=name,
            Runtime=RUNTIME,
            Role=role_arn,
            Handler=HANDLER,
            Code={"ZipFile": zip_bytes},
            Description="Firehose transform: DynamoDB change records -> JSON lines",
            Timeout=TIMEOUT_SECONDS,
            MemorySize=MEMORY_MB,
            Tags=conn.config.tags,
        ), what=f"function {name}")
    else:
        if current["CodeSha256"] != code_sha256(zip_bytes):
            aws_lambda.update_function_code(FunctionName=name, ZipFile=zip_bytes)
            aws_lambda.get_waiter("function_updated_v2").wait(FunctionName=name)
    aws_lambda.get_waiter("function_active_v2").wait(FunctionName=name)
    return aws_lambda.get_function_configuration(FunctionName=name)


def ensure_log_group(conn: Connection) -> str:
    """Create the function's log group ourselves, so it is tagged (teardown finds it) and expires."""
    logs = conn.client("logs")
    name = conn.config.lambda_log_group
    try:
        logs.create_log_group(logGroupName=name, tags=conn.config.tags)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.put_retention_policy(logGroupName=name, retentionInDays=LOG_RETENTION_DAYS)
    return name
