"""What the browser test stands on: its own localcloud with data, a headless JupyterLab, and Debian's chromium.

Each one is a separate process started here and stopped here, even when the test fails, and every wait is
bounded. localcloud runs as a subprocess, not in the pytest process: moto's backends are global to a process,
so a second in-process server would share (and double-process) the state of the suite's `cloud` fixture.

Playwright's own browser download needs network access this kit does not assume, so the test drives the
chromium that Debian packages; `make test` installs it when it is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from workshop import course, datagen, verify
from workshop.session import connect

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# Headless, and quiet on the network: without the background-networking flags chromium keeps trying to reach
# Google's services, and a closed network refuses those connections.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}
START_TIMEOUT = 30      # seconds for localcloud or JupyterLab to answer
STOP_TIMEOUT = 10       # seconds for a process to stop before it is killed
USER_SETTINGS = {
    # "Always start the preferred kernel" in the Select Kernel dialog that opening a notebook shows.
    "@jupyterlab/notebook-extension/tracker": {"autoStartDefaultKernel": True},
    # "No" to the "get notified about official Jupyter news?" notification.
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
    # The test clears and reruns notebooks/04: autosave would write that run over the notebook in the repository.
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}
CHANGES = 60            # DynamoDB changes written before the notebook runs: about 30 per Kinesis shard


@dataclass(frozen=True)
class JupyterLab:
    """A running JupyterLab server: where it listens and the token that lets a browser in."""

    base_url: str
    token: str

    def url_for(self, path: str) -> str:
        """The URL that opens `path` (relative to the repository root) in JupyterLab."""
        return f"{self.base_url}/lab/tree/{path}?token={self.token}"


@pytest.fixture
def cloud_environment(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A fresh localcloud process; yields the environment a course kernel needs to reach it."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "localcloud.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "localcloud", "serve", "--port", str(port), "--state-dir", str(tmp_path / "state")],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_until_answers("localcloud", f"{endpoint}/_localcloud/health", process, log_path)
        yield {
            "AWS_ENDPOINT_URL": endpoint, "LOCALCLOUD_PORT": str(port),
            "AWS_ACCESS_KEY_ID": "localcloud", "AWS_SECRET_ACCESS_KEY": "localcloud",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
            "WORKSHOP_MODE": "local", "WORKSHOP_PARTICIPANT": f"browser-{secrets.token_hex(3)}",
        }
    finally:
        _stop(process)


@pytest.fixture
def course_data(cloud_environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """What notebooks 01-03 leave behind, with CHANGES changes already forwarded to the Kinesis stream."""
    for name, value in cloud_environment.items():
        monkeypatch.setenv(name, value)   # connect() reads them, and monkeypatch restores them afterwards
    conn = connect()
    course.catch_up(conn, "04", verbose=False)
    datagen.run(CHANGES, table_name=conn.config.table_name, client=conn.client("dynamodb"), seed=1,
                progress=False)
    verify.wait_for_kinesis(conn, timeout=30)
    return cloud_environment


@pytest.fixture
def jupyterlab(course_data: dict[str, str], tmp_path: Path) -> Iterator[JupyterLab]:
    """JupyterLab on loopback with the repository as its root; its kernels reach the test's localcloud.

    Its configuration, runtime and data directories are temporary, so ~/.jupyter is left alone.
    """
    port, token = _free_port(), secrets.token_hex(16)
    base_url = f"http://127.0.0.1:{port}"
    jupyter_home = tmp_path / "jupyter"
    environment = {
        **os.environ, **course_data,
        "JUPYTER_CONFIG_DIR": str(jupyter_home / "config"), "JUPYTER_RUNTIME_DIR": str(jupyter_home / "runtime"),
        "JUPYTER_DATA_DIR": str(jupyter_home / "data"), "IPYTHONDIR": str(jupyter_home / "ipython"),
    }
    _write_user_settings(jupyter_home / "config" / "lab" / "user-settings")
    log_path = tmp_path / "jupyterlab.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip", "127.0.0.1", "--port", str(port),
             "--ServerApp.port_retries=0", "--ServerApp.allow_root=True", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={ROOT}"],
            cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    try:
        _wait_until_answers("JupyterLab", f"{base_url}/api/status?token={token}", process, log_path)
        yield JupyterLab(base_url, token)
    finally:
        _shut_down_jupyterlab(process, base_url, token)


def _write_user_settings(settings_dir: Path) -> None:
    """JupyterLab settings a learner would pick in its first dialogs, so that none of them opens in the test."""
    for plugin, settings in USER_SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Page]:
    """A page in headless Debian chromium with a new, empty profile."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing. `make test` installs it (apt-get install -y chromium); "
                    "or install it yourself with: sudo apt-get update && sudo apt-get install -y chromium")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=tmp_path / "chromium-profile", executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport=VIEWPORT)
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def _free_port() -> int:
    """A TCP port that is free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_answers(name: str, url: str, process: subprocess.Popen, log_path: Path) -> None:
    """Return once `url` answers 200; fail with the end of the process's log if it exits or stays silent."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{name} exited during start-up (code {process.returncode}):\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"{name} did not answer {url} within {START_TIMEOUT} s:\n{_tail(log_path)}")


def _shut_down_jupyterlab(process: subprocess.Popen, base_url: str, token: str) -> None:
    """Ask JupyterLab to shut down (it stops its kernels first), then make sure it and its kernels are gone."""
    kernels = _child_pids(process.pid)
    request = urllib.request.Request(f"{base_url}/api/shutdown?token={token}", method="POST", data=b"")
    try:
        urllib.request.urlopen(request, timeout=5).close()
    except (urllib.error.URLError, OSError):
        pass   # it may already be gone; _stop() below makes sure
    _stop(process)
    for pid in kernels:
        _stop_pid(pid)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the process, and SIGKILL it if it is still there after STOP_TIMEOUT."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def _stop_pid(pid: int) -> None:
    """The same for a process that is not our child (a kernel): wait for it to exit, then SIGKILL it."""
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):   # it may have exited just now
        os.kill(pid, signal.SIGKILL)


def _child_pids(pid: int) -> list[int]:
    """The direct children of `pid` (JupyterLab's kernels), from /proc; any of its threads may have started one."""
    return [int(child) for children in Path(f"/proc/{pid}/task").glob("*/children")
            for child in children.read_text().split()]


def _tail(log_path: Path, lines: int = 30) -> str:
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
