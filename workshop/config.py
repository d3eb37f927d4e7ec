"""Every setting, resource name, ARN and tag of the course, defined in one place.

Notebooks, steps and teardown never spell a resource name themselves: they ask a `Config`.
That is what lets two participants share one AWS account without colliding, and what lets
teardown find exactly what the kit created.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

PROJECT_TAG = "sales-cdc-workshop"
MODES = ("local", "aws")
DEFAULT_REGION = "us-east-1"
DEFAULT_PARTICIPANT = "learner"
DEFAULT_LOCALCLOUD_PORT = 4566

# Participant ids end up in S3 bucket names (lowercase, <= 63 chars in all), IAM role names
# (<= 64) and, with '-' turned into '_', in Glue database names. 20 characters of [a-z0-9-]
# starting with a letter fit every one of them in every region.
PARTICIPANT_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,18}[a-z0-9]|[a-z]")
PARTICIPANT_MAX_LENGTH = 20

# Where Firehose writes, relative to the bucket. The crawler names its table after the data folder.
DATA_FOLDER = "orders"
# The same changes again, in Hive-style year=/month=/day=/hour= folders (notebook 07).
HIVE_DATA_FOLDER = "orders_by_hour"
ERROR_FOLDER = "errors"
ATHENA_RESULTS_FOLDER = "athena-results"
LAMBDA_SOURCE_DIR = "firehose_transform"


class ConfigError(ValueError):
    """A setting is invalid; the message says which environment variable to change and how."""


def validate_participant(participant: str) -> str:
    """Return the participant id, or raise ConfigError saying what a valid id looks like."""
    if not PARTICIPANT_PATTERN.fullmatch(participant or "") or "--" in participant:
        raise ConfigError(
            f"WORKSHOP_PARTICIPANT={participant!r} cannot be used in AWS resource names. "
            f"Use 1-{PARTICIPANT_MAX_LENGTH} characters: lowercase letters, digits and single hyphens, "
            "starting with a letter and not ending with a hyphen (for example 'alice' or 'team-3')."
        )
    return participant


@dataclass(frozen=True)
class Config:
    """The course settings for one participant in one mode and region."""

    mode: str = "local"
    region: str = DEFAULT_REGION
    participant: str = DEFAULT_PARTICIPANT
    localcloud_port: int = DEFAULT_LOCALCLOUD_PORT

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(
                f"WORKSHOP_MODE={self.mode!r} is not a mode. Use 'local' (offline, the default) "
                "or 'aws' (a real AWS account)."
            )
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", self.region):
            raise ConfigError(
                f"Region {self.region!r} is not an AWS region name. Set AWS_REGION to one such as 'us-east-1'."
            )
        validate_participant(self.participant)
        if not 0 <= self.localcloud_port <= 65535:
            raise ConfigError(f"LOCALCLOUD_PORT={self.localcloud_port} is not a TCP port (0-65535).")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Config":
        """Read WORKSHOP_MODE, AWS_REGION (or AWS_DEFAULT_REGION), WORKSHOP_PARTICIPANT and LOCALCLOUD_PORT."""
        env = os.environ if environ is None else environ
        port_text = env.get("LOCALCLOUD_PORT", str(DEFAULT_LOCALCLOUD_PORT))
        if not port_text.isdigit():
            raise ConfigError(f"LOCALCLOUD_PORT={port_text!r} is not a number. Use a port such as 4566.")
        return cls(
            mode=env.get("WORKSHOP_MODE", "local").strip().lower() or "local",
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            participant=env.get("WORKSHOP_PARTICIPANT", DEFAULT_PARTICIPANT).strip(),
            localcloud_port=int(port_text),
        )

    # ---- tags -------------------------------------------------------------------------------------
    @property
    def tags(self) -> dict[str, str]:
        """Tags carried by every resource the kit creates; teardown deletes only what carries them."""
        return {"project": PROJECT_TAG, "participant": self.participant}

    def tag_list(self, key_name: str = "Key", value_name: str = "Value") -> list[dict[str, str]]:
        """The tags in the list form most AWS APIs take ([{'Key': ..., 'Value': ...}])."""
        return [{key_name: k, value_name: v} for k, v in self.tags.items()]

    # ---- resource names ---------------------------------------------------------------------------
    @property
    def table_name(self) -> str:
        return f"{self.participant}-orders"

    @property
    def kinesis_stream_name(self) -> str:
        return f"{self.participant}-orders-stream"

    @property
    def pipe_name(self) -> str:
        return f"{self.participant}-orders-cdc"

    @property
    def lambda_name(self) -> str:
        return f"{self.participant}-orders-transform"

    @property
    def firehose_name(self) -> str:
        return f"{self.participant}-orders-to-s3"

    @property
    def hive_firehose_name(self) -> str:
        """The second delivery stream, which partitions by the Lambda's partitionKeys (notebook 07)."""
        return f"{self.participant}-orders-by-hour-to-s3"

    def bucket_name(self, account_id: str) -> str:
        """S3 names are global, so the bucket carries the account and region as well as the participant."""
        return f"{self.participant}-sales-cdc-{account_id}-{self.region}"

    @property
    def glue_database(self) -> str:
        """Athena wants database names without hyphens, so they become underscores here."""
        return f"{self.participant.replace('-', '_')}_sales_cdc"

    @property
    def glue_table(self) -> str:
        """The crawler names the table after the folder Firehose writes to."""
        return DATA_FOLDER

    @property
    def classifier_name(self) -> str:
        return f"{self.participant}-orders-json"

    @property
    def crawler_name(self) -> str:
        return f"{self.participant}-orders-crawler"

    @property
    def workgroup_name(self) -> str:
        return f"{self.participant}-sales-cdc"

    @property
    def lambda_log_group(self) -> str:
        return f"/aws/lambda/{self.lambda_name}"

    def role_name(self, purpose: str) -> str:
        """One IAM role per service: purpose is 'pipe', 'lambda', 'firehose' or 'crawler'."""
        if purpose not in ROLE_PURPOSES:
            raise ConfigError(f"No role for {purpose!r}; the kit has roles for {', '.join(ROLE_PURPOSES)}.")
        return f"{self.participant}-sales-cdc-{purpose}-role"

    # ---- S3 layout ---------------------------------------------------------------------------------
    @property
    def firehose_prefix(self) -> str:
        """Firehose's default layout, spelled out: UTC year/month/day/hour folders under orders/."""
        return f"{DATA_FOLDER}/!{{timestamp:yyyy/MM/dd/HH}}/"

    @property
    def hive_firehose_prefix(self) -> str:
        """Hive-style folders from the transform's metadata.partitionKeys: year=2026/month=11/day=22/hour=07/."""
        keys = "/".join(f"{k}=!{{partitionKeyFromLambda:{k}}}" for k in ("year", "month", "day", "hour"))
        return f"{HIVE_DATA_FOLDER}/{keys}/"

    @property
    def firehose_error_prefix(self) -> str:
        """Failed records land apart from good ones, in a folder named after the failure type."""
        return f"{ERROR_FOLDER}/!{{firehose:error-output-type}}/!{{timestamp:yyyy/MM/dd/HH}}/"

    def data_location(self, account_id: str) -> str:
        return f"s3://{self.bucket_name(account_id)}/{DATA_FOLDER}/"

    def hive_data_location(self, account_id: str) -> str:
        return f"s3://{self.bucket_name(account_id)}/{HIVE_DATA_FOLDER}/"

    def athena_output_location(self, account_id: str) -> str:
        return f"s3://{self.bucket_name(account_id)}/{ATHENA_RESULTS_FOLDER}/"

    # ---- ARNs ------------------------------------------------------------------------------------
    def arn(self, service: str, account_id: str, resource: str) -> str:
        """An ARN in this config's region; IAM and S3 ARNs are global and have their own helpers."""
        return f"arn:aws:{service}:{self.region}:{account_id}:{resource}"

    def table_arn(self, account_id: str) -> str:
        return self.arn("dynamodb", account_id, f"table/{self.table_name}")

    def table_stream_arn_pattern(self, account_id: str) -> str:
        """Streams get a timestamped ARN at creation, so policies match every stream of the table."""
        return f"{self.table_arn(account_id)}/stream/*"

    def kinesis_stream_arn(self, account_id: str) -> str:
        return self.arn("kinesis", account_id, f"stream/{self.kinesis_stream_name}")

    def pipe_arn(self, account_id: str) -> str:
        return self.arn("pipes", account_id, f"pipe/{self.pipe_name}")

    def lambda_arn(self, account_id: str) -> str:
        return self.arn("lambda", account_id, f"function:{self.lambda_name}")

    def firehose_arn(self, account_id: str) -> str:
        return self.arn("firehose", account_id, f"deliverystream/{self.firehose_name}")

    def hive_firehose_arn(self, account_id: str) -> str:
        return self.arn("firehose", account_id, f"deliverystream/{self.hive_firehose_name}")

    def bucket_arn(self, account_id: str) -> str:
        return f"arn:aws:s3:::{self.bucket_name(account_id)}"

    def glue_database_arn(self, account_id: str) -> str:
        return self.arn("glue", account_id, f"database/{self.glue_database}")

    def glue_table_arn_pattern(self, account_id: str) -> str:
        return self.arn("glue", account_id, f"table/{self.glue_database}/*")

    def crawler_arn(self, account_id: str) -> str:
        return self.arn("glue", account_id, f"crawler/{self.crawler_name}")

    def workgroup_arn(self, account_id: str) -> str:
        return self.arn("athena", account_id, f"workgroup/{self.workgroup_name}")

    def log_group_arn(self, account_id: str) -> str:
        return self.arn("logs", account_id, f"log-group:{self.lambda_log_group}")

    def role_arn(self, purpose: str, account_id: str) -> str:
        return f"arn:aws:iam::{account_id}:role/{self.role_name(purpose)}"


ROLE_PURPOSES = ("pipe", "lambda", "firehose", "crawler")


def load() -> Config:
    """The configuration from the environment; raises ConfigError with the fix when a setting is bad."""
    return Config.from_env()
