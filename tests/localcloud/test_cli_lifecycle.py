"""python -m localcloud start | status | reset | stop, as a user runs them, with a pidfile and log in LOCALCLOUD_HOME."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _localcloud(home, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "localcloud", *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, LOCALCLOUD_HOME=str(home)))


@pytest.fixture
def home(tmp_path):
    yield tmp_path
    _localcloud(tmp_path, "stop")


def test_start_writes_pidfile_and_log_then_status_reset_and_stop_work(home):
    port = _free_port()
    result = _localcloud(home, "start", "--port", str(port))
    assert result.returncode == 0, result.stderr
    assert f"http://127.0.0.1:{port}" in result.stdout
    assert (home / "server.pid").exists() and (home / "server.log").exists()
    health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/_localcloud/health", timeout=2).read())
    assert health["status"] == "running" and "firehose" in health["engines"]
    assert _localcloud(home, "status").returncode == 0
    assert "reset" in _localcloud(home, "reset").stdout
    assert _localcloud(home, "stop").returncode == 0
    assert _localcloud(home, "status").returncode == 1


def test_starting_on_another_port_while_running_says_how_to_fix_it(home):
    first, second = _free_port(), _free_port()
    assert _localcloud(home, "start", "--port", str(first)).returncode == 0
    result = _localcloud(home, "start", "--port", str(second))
    assert result.returncode == 1
    assert f"already running on http://127.0.0.1:{first}" in result.stderr and "stop" in result.stderr


def test_binding_beyond_loopback_warns(recwarn):
    from localcloud.server import _warn_if_not_loopback

    _warn_if_not_loopback("0.0.0.0")
    assert "other machines can reach it" in str(recwarn.pop(UserWarning).message)
    _warn_if_not_loopback("127.0.0.1")
    assert len(recwarn) == 0
