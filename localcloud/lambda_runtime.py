"""Lambda Invoke that really runs the deployed Python handler, in warm worker processes.

moto stores Lambda functions but cannot run them without Docker, so this engine answers Invoke
itself. It reads the function and its zip from moto's backend, unpacks the zip once into a cache
under state_dir, and hands the event to a worker process (lambda_worker.py) that imported the
handler. As in Lambda:
- a worker is a warm execution environment: module-level state persists between invocations;
  a function gets up to WORKERS_PER_FUNCTION of them for concurrent invocations, then invocations
  queue; a new code revision (CodeSha256) or configuration gets fresh workers;
- the function's Timeout is enforced by killing the worker, and a worker that exits or crashes
  is discarded; either way the server carries on, and the next invocation starts a new worker;
- errors come back as HTTP 200 with X-Amz-Function-Error: Unhandled and the runtime's error JSON;
- START / END / REPORT and everything the handler prints or logs go to CloudWatch Logs group
  /aws/lambda/<name>, one log stream per worker.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from localcloud.errors import AwsError, ValidationException
from localcloud.foreground import is_engine_request
from localcloud.lambda_worker import read_frame, write_frame
from localcloud.moto_state.lambda_ import LambdaFunctionSpec, LambdaFunctions
from localcloud.moto_state.logs import LogEvents
from localcloud.router import AwsRequest, RawResponse, Router

WORKERS_PER_FUNCTION = 4
INIT_TIMEOUT_SECONDS = 10  # Lambda's limit for the init phase (imports, module-level code)
IDLE_WORKER_SECONDS = 300  # an idle worker is stopped after this, as Lambda reclaims idle environments
REAP_INTERVAL_SECONDS = 30
MAX_REQUEST_BYTES = 6_291_456
MAX_RESPONSE_BYTES = 6_291_556  # the figure in Lambda's own error message
LOG_TAIL_BYTES = 4096
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")

WORKER_COMMAND = [sys.executable, "-m", "localcloud.lambda_worker"]
# The worker imports localcloud.lambda_worker from the package's parent folder, wherever that is.
LOCALCLOUD_PARENT = str(Path(__file__).resolve().parent.parent)
# Taken from the server's environment; everything else a handler sees is set below, so real AWS
# credentials or profiles of the learner never reach learner code.
INHERITED_VARIABLES = ("PATH", "SYSTEMROOT", "TEMP", "TMP", "TMPDIR", "LANG", "LC_ALL", "HOME")


@dataclass
class InvocationResult:
    payload: bytes
    function_error: bool
    log: list[tuple[int, str]]  # (epoch ms, message) events for CloudWatch Logs


class LambdaEngine:
    """Intercepts Lambda Invoke and runs Python handlers; see the module docstring."""

    name = "lambda"

    def __init__(self, state_dir: Path):
        self.code_cache = CodeCache(state_dir / self.name / "code")
        self.endpoint_url = ""
        self._pools: dict[tuple[str, str], tuple[tuple[Any, ...], WorkerPool]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._reaper: threading.Thread | None = None

    def register(self, router: Router) -> None:
        router.register("lambda", "Invoke", self.invoke)

    def start(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self._stopping.clear()
        self._reaper = threading.Thread(target=self._stop_idle_workers, name="lambda-reaper", daemon=True)
        self._reaper.start()

    def stop(self) -> None:
        """Kill every worker, busy or idle."""
        self._stopping.set()
        if self._reaper is not None:
            self._reaper.join()
            self._reaper = None
        with self._lock:
            pools, self._pools = [pool for _, pool in self._pools.values()], {}
        for pool in pools:
            pool.shut_down()

    def reset(self) -> None:
        self.stop()
        self.code_cache.clear()

    # --- Invoke ---------------------------------------------------------------------------------

    def invoke(self, request: AwsRequest) -> RawResponse:
        invocation_type = request.headers.get("x-amz-invocation-type", "RequestResponse")
        if invocation_type not in INVOCATION_TYPES:
            raise ValidationException(
                f"1 validation error detected: Value '{invocation_type}' at 'invocationType' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(INVOCATION_TYPES)}]")
        function_name = request.path_params["FunctionName"]
        qualifier = request.query.get("Qualifier", [None])[0]
        spec = LambdaFunctions(request.account_id, request.region).get(function_name, qualifier)
        _check_runnable(spec)
        _check_payload(request)
        headers = {"Content-Type": "application/json", "X-Amz-Executed-Version": spec.version}
        if invocation_type == "DryRun":
            return RawResponse(204, b"", headers)

        request_id = str(uuid.uuid4())
        headers["x-amzn-RequestId"] = request_id
        invoked_arn = _invoked_arn(spec, function_name, qualifier)
        if invocation_type == "Event":
            self.code_cache.unpack(spec)  # a broken zip is reported now, not lost in the background
            threading.Thread(target=self.run, args=(spec, request_id, request.body, invoked_arn),
                             name=f"lambda-event-{request_id}", daemon=True).start()
            return RawResponse(202, b"", headers)

        result = self.run(spec, request_id, request.body, invoked_arn)
        if result.function_error:
            headers["X-Amz-Function-Error"] = "Unhandled"
        if request.headers.get("x-amz-log-type") == "Tail":
            tail = "".join(message for _, message in result.log).encode()[-LOG_TAIL_BYTES:]
            headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
        return RawResponse(200, result.payload, headers)

    def run(self, spec: LambdaFunctionSpec, request_id: str, payload: bytes, invoked_arn: str) -> InvocationResult:
        """One invocation on a warm (or new) worker; its log goes to CloudWatch Logs."""
        pool = self._pool(spec)
        worker = pool.acquire()
        reusable = False
        try:
            result, reusable = _run_on_worker(worker, spec, request_id, payload, invoked_arn)
        finally:
            pool.release(worker, reusable)
        LogEvents(spec.account_id, spec.region).append(f"/aws/lambda/{spec.name}", worker.log_stream, result.log)
        return result

    # --- workers --------------------------------------------------------------------------------

    def _pool(self, spec: LambdaFunctionSpec) -> WorkerPool:
        """The pool for this revision of the function; a new revision retires the old pool."""
        revision = (spec.code_sha256, spec.handler, spec.runtime, spec.memory_size,
                    tuple(sorted(spec.environment.items())))
        with self._lock:
            if self._stopping.is_set():
                raise AwsError("localcloud's Lambda engine is stopped; invoke again once it has restarted.",
                               code="ServiceException", status=500)
            current = self._pools.get((spec.arn, spec.version))
            if current is not None and current[0] == revision:
                return current[1]
            pool = WorkerPool(lambda: self._start_worker(spec), WORKERS_PER_FUNCTION)
            self._pools[(spec.arn, spec.version)] = (revision, pool)
        if current is not None:
            current[1].retire()
        return pool

    def _start_worker(self, spec: LambdaFunctionSpec) -> WorkerProcess:
        code_dir = self.code_cache.unpack(spec)
        log_stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[{spec.version}]{uuid.uuid4().hex}"
        return WorkerProcess(code_dir, worker_environment(spec, code_dir, log_stream, self.endpoint_url), log_stream)

    def _stop_idle_workers(self) -> None:
        while not self._stopping.wait(REAP_INTERVAL_SECONDS):
            with self._lock:
                pools = [pool for _, pool in self._pools.values()]
            for pool in pools:
                pool.stop_idle(older_than=time.monotonic() - IDLE_WORKER_SECONDS)


def _check_runnable(spec: LambdaFunctionSpec) -> None:
    if spec.package_type != "Zip" or not (spec.runtime or "").startswith("python3"):
        has = f"runtime {spec.runtime}" if spec.package_type == "Zip" else "a container image package"
        # Lambda answers InvalidRuntimeException with HTTP 502, which boto3 retries 4 times; 400 is not retried.
        raise AwsError(
            f"localcloud runs Python handlers only, and function {spec.name} has {has}. "
            "Create it with a python3.x runtime (for example python3.12) and a .zip package to invoke it locally.",
            code="InvalidRuntimeException")


def _check_payload(request: AwsRequest) -> None:
    """The payload's size, then that it is JSON.

    An engine's own event (a Firehose batch, written with json a moment ago) is not parsed here again: that took
    1.3 ms of the server's GIL per 750-record batch. The function's runtime still parses it.
    """
    if len(request.body) > MAX_REQUEST_BYTES:
        raise AwsError(f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction operation",
                       code="RequestEntityTooLargeException", status=413)
    if not request.body or is_engine_request(request.headers.get("user-agent", "")):
        return
    try:  # checked without building it: an event of thousands of records would only feed the garbage collector
        json.loads(request.body, object_pairs_hook=_discard)
    except ValueError as error:
        raise AwsError(f"Could not parse request body into json: Could not parse payload into json: {error}",
                       code="InvalidRequestContentException") from None


def _discard(pairs: list[tuple[str, Any]]) -> None:
    return None


def _invoked_arn(spec: LambdaFunctionSpec, function_name: str, qualifier: str | None) -> str:
    """The ARN the caller used: qualified if it named a version or alias."""
    _, colon, named_qualifier = function_name.rpartition(":function:")[2].partition(":")
    qualifier = named_qualifier if colon else qualifier
    return f"{spec.arn}:{qualifier}" if qualifier else spec.arn


def worker_environment(spec: LambdaFunctionSpec, code_dir: Path, log_stream: str, endpoint_url: str) -> dict[str, str]:
    """The variables a Lambda function sees, with boto3 pointed at localcloud instead of AWS."""
    environment = {name: os.environ[name] for name in INHERITED_VARIABLES if name in os.environ}
    environment.update({
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "localcloud",
        "AWS_SECRET_ACCESS_KEY": "localcloud",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    })
    environment.update(spec.environment)
    environment.update({
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "LAMBDA_TASK_ROOT": str(code_dir),
        "_HANDLER": spec.handler or "",
        "PYTHONPATH": LOCALCLOUD_PARENT,
    })
    return environment


# --- one invocation -------------------------------------------------------------------------------


def _run_on_worker(worker: WorkerProcess, spec: LambdaFunctionSpec, request_id: str, payload: bytes,
                   invoked_arn: str) -> tuple[InvocationResult, bool]:
    """Run the event; returns the result and whether the worker may serve another invocation."""
    init_ms, reply = None, None
    if not worker.initialized:
        # Lambda gives init 10 s and, if that runs out, retries it within the invocation's Timeout.
        reply = worker.next_reply(timeout=INIT_TIMEOUT_SECONDS + spec.timeout)
        if reply is not None and reply[0]["type"] == "ready":
            init_ms, worker.initialized = reply[0]["initMs"], not reply[0]["initError"]
    log = worker.take_log()  # what the handler's module printed while it was imported

    started = time.monotonic()
    log.append((_now_ms(), f"START RequestId: {request_id} Version: {spec.version}\n"))
    if worker.initialized:
        worker.send({"type": "invoke", "requestId": request_id, "deadlineMs": _now_ms() + spec.timeout * 1000,
                     "invokedFunctionArn": invoked_arn}, payload)
        reply = worker.next_reply(timeout=spec.timeout)
    if reply is None or reply[0]["type"] == "exit":
        worker.kill()
    log += worker.take_log()
    if reply is not None and reply[0]["type"] == "result":
        worker.max_memory_mb = reply[0]["maxMemoryMb"]

    ending = _ending(reply, spec, request_id, elapsed_ms=(time.monotonic() - started) * 1000)
    log.append((_now_ms(), f"END RequestId: {request_id}\n"))
    log.append((_now_ms(), _report_line(request_id, spec, ending, worker.max_memory_mb, init_ms)))
    return InvocationResult(ending.payload, ending.function_error, log + ending.trailer), ending.status is None


@dataclass
class _Ending:
    """How an invocation ended: the Invoke payload, and what the log says about it."""

    payload: bytes
    function_error: bool
    duration_ms: float
    status: str | None = None  # REPORT's Status field when the invocation did not complete
    trailer: list[tuple[int, str]] = field(default_factory=list)  # log lines after REPORT


def _ending(reply: tuple[dict[str, Any], bytes] | None, spec: LambdaFunctionSpec, request_id: str,
            elapsed_ms: float) -> _Ending:
    header, body = reply if reply is not None else ({"type": "timeout"}, b"")
    if header["type"] == "result":
        if len(body) > MAX_RESPONSE_BYTES:
            return _Ending(_error_json("Function.ResponseSizeTooLarge", "Response payload size exceeded maximum "
                                       f"allowed payload size ({MAX_RESPONSE_BYTES} bytes)."), True,
                           header["durationMs"])
        return _Ending(body, header["error"], header["durationMs"])
    if header["type"] == "ready":  # init failed: the worker has logged the error and exited
        error_type = header["initError"]["errorType"]
        return _Ending(json.dumps(header["initError"]).encode(), True, elapsed_ms, f"error\tError Type: {error_type}")
    if header["type"] == "exit":
        message = f"RequestId: {request_id} Error: {_exit_reason(header['returncode'])}"
        return _Ending(_error_json("Runtime.ExitError", message), True, elapsed_ms,
                       "error\tError Type: Runtime.ExitError", [(_now_ms(), f"{message}\nRuntime.ExitError\n")])
    message = f"Task timed out after {spec.timeout:.2f} seconds"
    return _Ending(_error_json("Sandbox.Timedout", f"RequestId: {request_id} Error: {message}"), True, elapsed_ms,
                   "timeout", [(_now_ms(), f"{_iso_now()} {request_id} {message}\n")])


def _report_line(request_id: str, spec: LambdaFunctionSpec, ending: _Ending, max_memory_mb: int,
                 init_ms: float | None) -> str:
    fields = [f"REPORT RequestId: {request_id}", f"Duration: {ending.duration_ms:.2f} ms",
              f"Billed Duration: {math.ceil(ending.duration_ms)} ms", f"Memory Size: {spec.memory_size} MB",
              f"Max Memory Used: {max_memory_mb} MB"]
    if init_ms is not None:
        fields.append(f"Init Duration: {init_ms:.2f} ms")
    if ending.status:
        fields.append(f"Status: {ending.status}")
    return "\t".join(fields) + "\t\n"


def _exit_reason(returncode: int) -> str:
    """Lambda's wording for a runtime process that ended: 'exit status 1', 'signal: killed', ..."""
    if returncode == 0:
        return "Runtime exited without providing a reason"
    if returncode > 0:
        return f"Runtime exited with error: exit status {returncode}"
    name = signal.strsignal(-returncode) or f"signal {-returncode}"
    return f"Runtime exited with error: signal: {name.lower()}"


def _error_json(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _iso_now() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


# --- worker processes -----------------------------------------------------------------------------


class WorkerProcess:
    """One warm execution environment: a lambda_worker process, and a thread reading its frames."""

    def __init__(self, code_dir: Path, environment: dict[str, str], log_stream: str):
        self.log_stream = log_stream
        self.initialized = False
        self.max_memory_mb = 0
        self.idle_since = time.monotonic()
        # spawned, not forked: forking a threaded server copies its locks in whatever state they are.
        self._process = subprocess.Popen(WORKER_COMMAND, cwd=code_dir, env=environment,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         start_new_session=os.name == "posix")
        self._replies: queue.SimpleQueue[tuple[dict[str, Any], bytes]] = queue.SimpleQueue()
        self._log: list[tuple[int, str]] = []
        self._log_lock = threading.Lock()
        self._stdin_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read_frames, name=f"lambda-worker-{self._process.pid}",
                                        daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def send(self, header: dict[str, Any], body: bytes) -> None:
        """Write a frame; if the worker has died, the reader thread reports its exit as the reply."""
        with self._stdin_lock, contextlib.suppress(BrokenPipeError):
            if not self._process.stdin.closed:
                write_frame(self._process.stdin, header, body)

    def next_reply(self, timeout: float) -> tuple[dict[str, Any], bytes] | None:
        """The next ready/result/exit frame, or None if none came within timeout seconds."""
        try:
            return self._replies.get(timeout=timeout)
        except queue.Empty:
            return None

    def take_log(self) -> list[tuple[int, str]]:
        with self._log_lock:
            lines, self._log = self._log, []
        return lines

    def kill(self) -> None:
        """Kill the worker and anything it started, then wait until its last log lines are read."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):  # it has just exited by itself
                if os.name == "posix":
                    os.killpg(self._process.pid, signal.SIGKILL)
                else:
                    self._process.kill()
        self._reader.join(timeout=5)

    def _read_frames(self) -> None:
        stdout = self._process.stdout
        while (frame := read_frame(stdout)) is not None:
            header, body = frame
            if header["type"] == "log":
                with self._log_lock:
                    self._log.append((header["ts"], body.decode("utf-8", "replace")))
            else:
                self._replies.put(frame)
        returncode = self._process.wait()
        stdout.close()
        with self._stdin_lock, contextlib.suppress(BrokenPipeError):  # it cannot take a frame's unsent rest
            self._process.stdin.close()
        self._replies.put(({"type": "exit", "returncode": returncode}, b""))


class WorkerPool:
    """The workers of one function revision: reuse an idle one, start another up to a limit, else wait."""

    def __init__(self, start_worker: Callable[[], WorkerProcess], limit: int):
        self._start_worker = start_worker
        self._limit = limit
        self._idle: list[WorkerProcess] = []
        self._busy: set[WorkerProcess] = set()
        self._starting = 0
        self._retired = False
        self._shut_down = False
        self._changed = threading.Condition()

    def acquire(self) -> WorkerProcess:
        with self._changed:
            while True:
                if self._shut_down:
                    raise AwsError("localcloud's Lambda engine stopped while this invocation waited; invoke again.",
                                   code="ServiceException", status=500)
                while self._idle and not self._idle[-1].alive:
                    self._idle.pop()
                if self._idle:
                    worker = self._idle.pop()  # the most recently used one is the warmest
                    self._busy.add(worker)
                    return worker
                if len(self._busy) + self._starting < self._limit:
                    self._starting += 1
                    break
                self._changed.wait()
        try:
            worker = self._start_worker()
        except BaseException:
            with self._changed:
                self._starting -= 1
                self._changed.notify()
            raise
        with self._changed:
            self._starting -= 1
            self._busy.add(worker)
        return worker

    def release(self, worker: WorkerProcess, reusable: bool) -> None:
        with self._changed:
            self._busy.discard(worker)
            keep = reusable and worker.alive and not self._retired
            if keep:
                worker.idle_since = time.monotonic()
                self._idle.append(worker)
            self._changed.notify()
        if not keep:
            worker.kill()

    def retire(self) -> None:
        """The function changed: stop idle workers now, busy ones when their invocation ends."""
        with self._changed:
            self._retired = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()

    def shut_down(self) -> None:
        """Kill every worker, busy ones too, and refuse further invocations."""
        with self._changed:
            self._retired = self._shut_down = True
            workers, self._idle = self._idle + list(self._busy), []
            self._changed.notify_all()
        for worker in workers:
            worker.kill()

    def stop_idle(self, older_than: float) -> None:
        with self._changed:
            stale = [worker for worker in self._idle if worker.idle_since < older_than]
            self._idle = [worker for worker in self._idle if worker.idle_since >= older_than]
        for worker in stale:
            worker.kill()


# --- code -----------------------------------------------------------------------------------------


class CodeCache:
    """Each deployment package unpacked once, in a folder named after its SHA-256."""

    def __init__(self, root: Path):
        self.root = root
        self._lock = threading.Lock()

    def unpack(self, spec: LambdaFunctionSpec) -> Path:
        target = self.root / base64.b64decode(spec.code_sha256).hex()
        with self._lock:
            if not target.is_dir():
                self._extract(spec, target)
        return target

    def clear(self) -> None:
        with self._lock:
            shutil.rmtree(self.root, ignore_errors=True)

    def _extract(self, spec: LambdaFunctionSpec, target: Path) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        unpacked = Path(tempfile.mkdtemp(dir=self.root, prefix=".unpacking-"))
        try:
            with zipfile.ZipFile(io.BytesIO(spec.code)) as package:
                package.extractall(unpacked)
        except zipfile.BadZipFile as error:
            shutil.rmtree(unpacked)
            raise AwsError(
                f"Lambda could not unzip the deployment package of function {spec.name} ({error}). "
                "Upload a .zip file whose top level holds the handler's module, "
                "e.g. with shutil.make_archive or zipfile.", code="InvalidZipFileException") from None
        os.replace(unpacked, target)  # all or nothing: a half-unpacked folder is never used
