"""Fixtures shared by every test folder: one localcloud server per test session, reached through boto3."""

from __future__ import annotations

import boto3
import pytest

from localcloud.server import LocalCloud


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory):
    """A localcloud server on a free loopback port for the whole test session."""
    with LocalCloud(port=0, state_dir=tmp_path_factory.mktemp("localcloud")) as server:
        yield server


@pytest.fixture
def aws_env(cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point boto3, awswrangler and pyathena at localcloud through the standard environment variables."""
    environment = cloud.client_environment()
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment


@pytest.fixture
def session(aws_env: dict[str, str]) -> boto3.Session:
    """A boto3 session that reaches localcloud, as a user's would with AWS_ENDPOINT_URL set."""
    return boto3.Session(region_name="us-east-1")
