"""python -m localcloud serve | start | stop | status | reset

`serve` runs in the foreground. `start` runs the same server in the background with a pidfile and a
log under $LOCALCLOUD_HOME (default ./.localcloud), and returns once it answers.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from localcloud.server import DEFAULT_HOST, DEFAULT_PORT

START_TIMEOUT_SECONDS = 30


def home() -> Path:
    return Path(os.environ.get("LOCALCLOUD_HOME", ".localcloud")).resolve()


def pidfile() -> Path:
    return home() / "server.pid"


def logfile() -> Path:
    return home() / "server.log"


def admin_call(endpoint: str, action: str, method: str = "GET", timeout: float = 2.0) -> dict:
    request = urllib.request.Request(f"{endpoint}/_localcloud/{action}", method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def running_instance() -> tuple[int, str] | None:
    """(pid, endpoint) of the background server this home started, if it is alive and answering."""
    try:
        pid_text, endpoint = pidfile().read_text().split()
        admin_call(endpoint, "health")
        return int(pid_text), endpoint
    except (FileNotFoundError, ValueError, OSError):
        return None


def start(host: str, port: int) -> int:
    endpoint = f"http://{host}:{port}"
    existing = running_instance()
    if existing and existing[1] == endpoint:
        print(f"localcloud is already running on {endpoint} (pid {existing[0]})")
        return 0
    if existing:
        print(f"localcloud is already running on {existing[1]} (pid {existing[0]}), not on {endpoint}. "
              f"Stop it first (`python -m localcloud stop`, or `make down`), or use port "
              f"{existing[1].rsplit(':', 1)[1]}.", file=sys.stderr)
        return 1
    home().mkdir(parents=True, exist_ok=True)
    with logfile().open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "localcloud", "serve", "--host", host, "--port", str(port),
             "--state-dir", str(home())],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            print(f"localcloud exited during start-up (code {process.returncode}). "
                  f"The end of {logfile()} says why; a common cause is port {port} being in use "
                  f"(try: python -m localcloud start --port {port + 1}).", file=sys.stderr)
            return 1
        try:
            admin_call(endpoint, "health", timeout=0.5)
        except OSError:
            time.sleep(0.1)
            continue
        pidfile().write_text(f"{process.pid} {endpoint}\n")
        print(f"localcloud running on {endpoint} (pid {process.pid}, log {logfile()})")
        print(f"Point clients at it with: export AWS_ENDPOINT_URL={endpoint}")
        return 0
    process.terminate()
    print(f"localcloud did not answer within {START_TIMEOUT_SECONDS} s; see {logfile()}.", file=sys.stderr)
    return 1


def stop() -> int:
    instance = running_instance()
    if instance is None:
        pidfile().unlink(missing_ok=True)
        print("localcloud is not running.")
        return 0
    pid, endpoint = instance
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
    pidfile().unlink(missing_ok=True)
    print(f"localcloud on {endpoint} stopped.")
    return 0


def status() -> int:
    instance = running_instance()
    if instance is None:
        print("localcloud is not running. Start it with: python -m localcloud start")
        return 1
    pid, endpoint = instance
    health = admin_call(endpoint, "health")
    print(f"localcloud running on {endpoint} (pid {pid}); engines: {', '.join(health['engines'])}")
    return 0


def reset() -> int:
    instance = running_instance()
    if instance is None:
        print("localcloud is not running; nothing to reset.")
        return 1
    admin_call(instance[1], "reset", method="POST", timeout=30)
    print(f"localcloud on {instance[1]} reset: every resource and engine checkpoint is gone.")
    return 0


def _stop_like_ctrl_c(signum: int, frame: object) -> None:
    """SIGTERM (from `stop`) shuts down like Ctrl-C, so engines stop and Lambda workers are cleaned up."""
    raise KeyboardInterrupt


def serve_forever(host: str, port: int, state_dir: str | None) -> int:
    from localcloud.server import serve

    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    serve(host=host, port=port, state_dir=state_dir)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description="An offline AWS for the course.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in [("serve", "run in the foreground"), ("start", "run in the background")]:
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--host", default=DEFAULT_HOST,
                             help="address to bind (default 127.0.0.1; anything else is reachable by others)")
        command.add_argument("--port", type=int, default=int(os.environ.get("LOCALCLOUD_PORT", DEFAULT_PORT)))
        if name == "serve":
            command.add_argument("--state-dir", default=None, help="where engines keep checkpoints")
    commands.add_parser("stop", help="stop the background server")
    commands.add_parser("status", help="is the background server running?")
    commands.add_parser("reset", help="delete every resource in the background server")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve_forever(args.host, args.port, args.state_dir)
    if args.command == "start":
        return start(args.host, args.port)
    return {"stop": stop, "status": status, "reset": reset}[args.command]()


if __name__ == "__main__":
    sys.exit(main())
