"""Fixtures for unit tests that need AWS: moto in-process, with dummy credentials."""

import boto3
import pytest
from moto import mock_aws


@pytest.fixture
def moto_session(monkeypatch):
    """A boto3 session against moto in-process (us-east-1), isolated from any real AWS setup."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # Without this, dynamodbstreams calls that carry a StreamArn go to an account-specific host moto misses.
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")
