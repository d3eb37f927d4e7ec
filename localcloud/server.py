"""The localcloud server: moto behind the interception router, plus the engines that move data.

`LocalCloud(port=0)` runs it in a background thread (what tests use); `serve()` runs it in the
foreground (what `python -m localcloud serve` uses). Either way clients reach it through
AWS_ENDPOINT_URL, exactly as they would reach AWS.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from localcloud import garbage_collection
from localcloud.router import Router

if TYPE_CHECKING:
    from localcloud.http_server import LocalCloudHTTPServer

log = logging.getLogger("localcloud")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
STATE_DIR_ENV = "LOCALCLOUD_STATE_DIR"


class Engine(Protocol):
    """A piece of behaviour moto lacks: it may intercept operations and may run in the background."""

    name: str

    def register(self, router: Router) -> None: ...

    def start(self, endpoint_url: str) -> None: ...

    def stop(self) -> None: ...

    def reset(self) -> None: ...


def build_engines(state_dir: Path) -> list[Engine]:
    """Every engine, in the order they start. Imported here so that `serve --help` stays fast."""
    engines: list[Engine] = []
    for module_name, class_name in ENGINE_CLASSES:
        try:
            module = __import__(f"localcloud.{module_name}", fromlist=[class_name])
        except ModuleNotFoundError as missing:
            if missing.name != f"localcloud.{module_name}":
                raise
            continue
        engines.append(getattr(module, class_name)(state_dir=state_dir))
    return engines


# (module, class): each module holds one service's engine.
ENGINE_CLASSES = [
    ("kinesis", "KinesisEngine"),
    ("lambda_runtime", "LambdaEngine"),
    ("pipes", "PipesEngine"),
    ("firehose", "FirehoseEngine"),
    ("glue", "GlueEngine"),
    ("athena.service", "AthenaEngine"),
]


def _moto_app() -> Callable[..., Any]:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def _configure_moto() -> None:
    """Lambda must not try Docker (the Lambda engine runs handlers itself); then moto_patches' fixes."""
    from moto.core.config import default_user_config

    from localcloud import moto_patches

    default_user_config["lambda"]["use_docker"] = False
    moto_patches.apply()


class AdminApp:
    """`/_localcloud/*`: health, reset and engine restart, for the CLI and for tests."""

    def __init__(self, router: Router, engines: list[Engine], endpoint: Callable[[], str]):
        self.router = router
        self.engines = engines
        self.endpoint = endpoint

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/_localcloud/"):
            return self.router(environ, start_response)
        action = path.removeprefix("/_localcloud/")
        if action == "health":
            body = {"status": "running", "pid": os.getpid(), "engines": [e.name for e in self.engines]}
        elif action == "reset" and environ["REQUEST_METHOD"] == "POST":
            self.reset()
            body = {"reset": True}
        elif action == "engines/restart" and environ["REQUEST_METHOD"] == "POST":
            self.restart_engines()
            body = {"restarted": [e.name for e in self.engines]}
        else:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [json.dumps({"message": f"no admin action {action!r}"}).encode()]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    def reset(self) -> None:
        """Forget every resource: moto's state and the engines' checkpoints and buffers."""
        from moto.backends import get_backend  # noqa: F401 - makes sure backends are loaded
        from moto.core.base_backend import BackendDict  # noqa: F401
        from moto.moto_api._internal.models import moto_api_backend

        for engine in reversed(self.engines):
            engine.stop()
        moto_api_backend.reset()
        garbage_collection.thaw()  # what reset dropped may hold cycles among frozen objects
        for engine in self.engines:
            engine.reset()
            engine.start(self.endpoint())

    def restart_engines(self) -> None:
        """Stop and start every engine; checkpoints must carry them over without loss.

        Consumers stop before what they call (Firehose before Lambda), as in LocalCloud.stop().
        """
        for engine in reversed(self.engines):
            engine.stop()
        for engine in self.engines:
            engine.start(self.endpoint())


class LocalCloud:
    """A localcloud server in a background thread. `with LocalCloud(port=0) as cloud: cloud.endpoint_url`."""

    def __init__(self, port: int = 0, host: str = DEFAULT_HOST, state_dir: str | Path | None = None):
        _warn_if_not_loopback(host)
        self.host = host
        self.requested_port = port
        self.state_dir = Path(state_dir or os.environ.get(STATE_DIR_ENV) or ".localcloud") / "state"
        self._server: LocalCloudHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.engines: list[Engine] = []

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("LocalCloud is not running: call start() or use it as a context manager.")
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "LocalCloud":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        moto_app = _moto_app()
        _configure_moto()
        router = Router(moto_app)
        self.engines = build_engines(self.state_dir)
        for engine in self.engines:
            engine.register(router)
        self.admin = AdminApp(router, self.engines, lambda: self.endpoint_url)
        from localcloud.http_server import LocalCloudHTTPServer  # imports moto's server: only once it is needed

        self._server = LocalCloudHTTPServer(self.host, self.requested_port, self.admin)
        self._thread = threading.Thread(target=self._server.serve_forever, name="localcloud-http", daemon=True)
        self._thread.start()
        for engine in self.engines:
            engine.start(self.endpoint_url)
        log.info("localcloud listening on %s", self.endpoint_url)
        return self

    def stop(self) -> None:
        for engine in reversed(self.engines):
            engine.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def client_environment(self) -> dict[str, str]:
        """The environment variables that point boto3, awswrangler and pyathena at this server."""
        return client_environment(self.endpoint_url)

    def __enter__(self) -> "LocalCloud":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def client_environment(endpoint_url: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "localcloud",
        "AWS_SECRET_ACCESS_KEY": "localcloud",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }


def _warn_if_not_loopback(host: str) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        warnings.warn(
            f"localcloud is binding to {host}, so other machines can reach it. It has no authentication: "
            "use 127.0.0.1 unless you really mean to share it.",
            stacklevel=3,
        )


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, state_dir: str | Path | None = None) -> None:
    """Run in the foreground until interrupted. This process is the server's own, so it sets the gc policy."""
    cloud = LocalCloud(port=port, host=host, state_dir=state_dir).start()
    garbage_collection.freeze_survivors()
    print(f"localcloud ready on {cloud.endpoint_url} (engines: {', '.join(e.name for e in cloud.engines)})",
          flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        cloud.stop()
