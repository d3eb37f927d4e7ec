"""connect(): a boto3 session for the chosen mode, with localcloud started when local mode needs it.

Local mode points every AWS client (boto3, awswrangler, pyathena) at localcloud through the
standard AWS_ENDPOINT_URL variable, with dummy credentials, so no request can reach a real
account. aws mode uses the normal AWS credential chain and refuses a leftover endpoint override.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config as BotoConfig

from workshop.config import Config, ConfigError, load

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "localcloud", "AWS_SECRET_ACCESS_KEY": "localcloud"}
# Retries with backoff for throttling, the same in both modes.
CLIENT_CONFIG = BotoConfig(retries={"max_attempts": 5, "mode": "standard"})


class LocalCloudUnavailable(RuntimeError):
    """localcloud could not be reached or started; the message says how to start it by hand."""


@dataclass
class Connection:
    """Everything a notebook needs to talk to AWS (or localcloud) as one participant."""

    config: Config
    session: boto3.Session
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        """A cached boto3 client for service, in this connection's region (and endpoint in local mode)."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url,
                                                         config=CLIENT_CONFIG)
        return self._clients[service]

    @cached_property
    def account_id(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    @property
    def bucket(self) -> str:
        return self.config.bucket_name(self.account_id)

    def describe(self) -> str:
        """One line that says where the course is running: mode, account, region, participant."""
        where = f"localcloud at {self.endpoint_url}" if self.endpoint_url else "AWS"
        return (f"mode={self.config.mode} ({where})  account={self.account_id}  "
                f"region={self.config.region}  participant={self.config.participant}")


def connect(config: Config | None = None) -> Connection:
    """Connect in the configured mode: local (default; starts localcloud if needed) or aws."""
    config = config or load()
    if config.mode == "aws":
        return _connect_aws(config)
    return _connect_local(config)


def _connect_aws(config: Config) -> Connection:
    if os.environ.get("AWS_ENDPOINT_URL"):
        raise ConfigError(
            f"WORKSHOP_MODE=aws but AWS_ENDPOINT_URL={os.environ['AWS_ENDPOINT_URL']} is set, which would send "
            "requests somewhere other than AWS. Unset it (`unset AWS_ENDPOINT_URL`) to use your AWS account."
        )
    return Connection(config=config, session=boto3.Session(region_name=config.region))


def _connect_local(config: Config) -> Connection:
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or f"http://127.0.0.1:{config.localcloud_port}"
    require_loopback(endpoint)
    if not _answers(endpoint):
        _start_localcloud(endpoint)
    # Set the standard variables so awswrangler and pyathena (which build their own clients) follow.
    os.environ.update(LOCAL_CREDENTIALS, AWS_ENDPOINT_URL=endpoint, AWS_DEFAULT_REGION=config.region,
                      AWS_REGION=config.region)
    session = boto3.Session(region_name=config.region, **{k.lower(): v for k, v in LOCAL_CREDENTIALS.items()})
    boto3.setup_default_session(region_name=config.region)
    return Connection(config=config, session=session, endpoint_url=endpoint)


def require_loopback(endpoint: str) -> None:
    host = urlparse(endpoint).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(
            f"Local mode only talks to localcloud on this machine, but AWS_ENDPOINT_URL={endpoint}. "
            "Unset AWS_ENDPOINT_URL (localcloud runs on 127.0.0.1), or set WORKSHOP_MODE=aws to use AWS."
        )


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/_localcloud/health", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _start_localcloud(endpoint: str) -> None:
    """Start localcloud in the background with its pidfile and log in the project's .localcloud/."""
    port = str(urlparse(endpoint).port or 4566)
    environment = dict(os.environ, LOCALCLOUD_HOME=str(PROJECT_ROOT / ".localcloud"))
    result = subprocess.run([sys.executable, "-m", "localcloud", "start", "--port", port],
                            env=environment, capture_output=True, text=True)
    if result.returncode != 0 or not _answers(endpoint):
        raise LocalCloudUnavailable(
            f"localcloud is not running on {endpoint} and could not be started:\n{result.stderr.strip()}\n"
            f"Start it by hand with `make up` (or `python -m localcloud start --port {port}`), then try again."
        )
