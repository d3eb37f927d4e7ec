"""One IAM role per service, each with an inline policy scoped to the exact resources it touches.

No managed *FullAccess policies, and a Resource "*" only where IAM accepts nothing else (the pipe's
dynamodb:ListStreams, with a comment at the statement): a participant's pipe can read only their own
table's stream, their Firehose can write only their own bucket, and so on.
"""

from __future__ import annotations

import json
from typing import Any

from workshop.config import Config
from workshop.session import Connection

SERVICE_PRINCIPALS = {
    "pipe": "pipes.amazonaws.com",
    "lambda": "lambda.amazonaws.com",
    "firehose": "firehose.amazonaws.com",
    "crawler": "glue.amazonaws.com",
}
POLICY_NAME = "sales-cdc-least-privilege"


def trust_policy(purpose: str, account_id: str) -> dict[str, Any]:
    """Only the one service may assume the role, and only on behalf of this account."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": SERVICE_PRINCIPALS[purpose]},
        "Action": "sts:AssumeRole",
    }
    if purpose in ("pipe", "firehose"):
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account_id}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def permissions_policy(purpose: str, config: Config, account_id: str) -> dict[str, Any]:
    """The inline policy for one role: each statement names the exact ARNs it needs."""
    bucket = config.bucket_arn(account_id)
    statements = {
        "pipe": [
            {"Sid": "ReadTheOrdersTableStream",
             "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
             "Resource": [config.table_stream_arn_pattern(account_id)]},
            # ListStreams, which Pipes documents for a DynamoDB source, names no stream: IAM accepts only "*".
            {"Sid": "ListStreamsAcceptsOnlyStar",
             "Action": ["dynamodb:ListStreams"],
             "Resource": ["*"]},
            {"Sid": "WriteTheKinesisStream",
             "Action": ["kinesis:PutRecord", "kinesis:PutRecords"],
             "Resource": [config.kinesis_stream_arn(account_id)]},
        ],
        "lambda": [
            # The kit creates the log group itself (tagged, with retention), so the function only writes to it.
            {"Sid": "WriteItsOwnLogs",
             "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": [f"{config.log_group_arn(account_id)}:*"]},
        ],
        "firehose": [
            {"Sid": "ReadTheKinesisStream",
             "Action": ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetShardIterator",
                        "kinesis:GetRecords", "kinesis:ListShards"],
             "Resource": [config.kinesis_stream_arn(account_id)]},
            {"Sid": "InvokeTheTransformLambda",
             "Action": ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
             "Resource": [config.lambda_arn(account_id), f"{config.lambda_arn(account_id)}:*"]},
            {"Sid": "WriteTheBucket",
             "Action": ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket",
                        "s3:ListBucketMultipartUploads", "s3:PutObject"],
             "Resource": [bucket, f"{bucket}/*"]},
        ],
        "crawler": [
            {"Sid": "ReadTheDeliveredOrders",
             "Action": ["s3:GetObject", "s3:ListBucket"],
             "Resource": [bucket, f"{bucket}/*"]},
            {"Sid": "MaintainTheOrdersTables",
             "Action": ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable",
                        "glue:UpdateTable", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition",
                        "glue:BatchCreatePartition", "glue:UpdatePartition", "glue:BatchUpdatePartition"],
             "Resource": [config.arn("glue", account_id, "catalog"), config.glue_database_arn(account_id),
                          config.glue_table_arn_pattern(account_id)]},
            {"Sid": "WriteCrawlerLogs",
             "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": [config.arn("logs", account_id, "log-group:/aws-glue/crawlers"),
                          config.arn("logs", account_id, "log-group:/aws-glue/crawlers:*")]},
        ],
    }[purpose]
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **s} for s in statements]}


def ensure_role(conn: Connection, purpose: str) -> str:
    """Create (or update) the role for purpose and its inline policy; return the role ARN."""
    iam = conn.client("iam")
    name = conn.config.role_name(purpose)
    try:
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust_policy(purpose, conn.account_id)),
            Description=f"sales-cdc workshop: {purpose} role for {conn.config.participant}",
            Tags=conn.config.tag_list(),
        )["Role"]
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName=name)["Role"]
    iam.put_role_policy(RoleName=name, PolicyName=POLICY_NAME,
                        PolicyDocument=json.dumps(permissions_policy(purpose, conn.config, conn.account_id)))
    return role["Arn"]


# New IAM roles take a few seconds to be usable everywhere in AWS; these errors mean "not yet".
ROLE_NOT_READY_MESSAGES = ("cannot be assumed", "unable to assume", "not authorized to perform: sts:AssumeRole",
                           "role is not valid", "Role validation failed")
ROLE_PROPAGATION_SECONDS = 60


def retry_while_role_propagates(create: Any, *, what: str) -> Any:
    """Call create() until AWS accepts the freshly created role (IAM is eventually consistent)."""
    from botocore.exceptions import ClientError

    from workshop.waiting import wait_until

    def attempt() -> Any:
        try:
            return create() or True
        except ClientError as error:
            if any(text in str(error) for text in ROLE_NOT_READY_MESSAGES):
                return None
            raise

    return wait_until(attempt, what=f"IAM role to propagate before creating {what}",
                      timeout=ROLE_PROPAGATION_SECONDS, interval=3,
                      hint="IAM changes normally reach every service within a minute. Check that the role "
                           "exists in the IAM console and that its trust policy names the right service.")
