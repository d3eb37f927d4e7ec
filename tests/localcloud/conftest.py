"""Fixtures for the widget tests: a machine where localcloud cannot start, and one with no AWS credentials."""

from __future__ import annotations

import os
import socket

import pytest


@pytest.fixture
def localcloud_cannot_start(monkeypatch: pytest.MonkeyPatch):
    """Another program holds localcloud's port, so connect() can neither reach localcloud nor start it there."""
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        for name in ("AWS_ENDPOINT_URL", "WORKSHOP_MODE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("LOCALCLOUD_PORT", str(other_program.getsockname()[1]))
        yield


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """aws mode on a machine with no AWS credentials anywhere, so no request can be signed (or sent)."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WORKSHOP_MODE", "aws")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
