"""The process that runs a Lambda function's Python handler: localcloud's stand-in for the Lambda runtime.

lambda_runtime.py starts one worker per warm execution environment, with the unpacked code as
working directory and the function's environment (`_HANDLER`, `AWS_LAMBDA_FUNCTION_NAME`, ...),
then talks to it in frames over the worker's stdin and stdout. A frame is one JSON header line
followed by `length` raw bytes, so a 3 MB payload crosses the pipe once, without re-encoding:

    worker -> server   {"type": "ready", "initError": null | {...}, "initMs": 12.3}   once, after import
    server -> worker   {"type": "invoke", "requestId", "deadlineMs", "invokedFunctionArn"} + payload
    worker -> server   {"type": "log", "ts": <epoch ms>} + one log line (print, logging, errors)
    worker -> server   {"type": "result", "error": bool, "durationMs", "maxMemoryMb"} + response

Errors are shaped as the AWS Python runtime (awslambdaric) shapes them. `sys.exit` and crashes are
not caught: the process ends, and the server reports Runtime.ExitError as Lambda does.
This module imports only the standard library, so a worker starts fast and the handler's own
imports (boto3, ...) are the only ones it pays for.
"""

from __future__ import annotations

import decimal
import importlib
import io
import json
import logging
import os
import sys
import threading
import time
import traceback
from typing import IO, Any, Callable

# The heap may grow this far past MemorySize: Python reserves more than it uses (see _limit_memory).
MEMORY_HEADROOM_MB = 512

# --- frames -------------------------------------------------------------------------------------


def write_frame(stream: IO[bytes], header: dict[str, Any], body: bytes = b"") -> None:
    stream.write(json.dumps(dict(header, length=len(body))).encode() + b"\n")
    if body:
        stream.write(body)
    stream.flush()


def read_frame(stream: IO[bytes]) -> tuple[dict[str, Any], bytes] | None:
    """The next (header, body), or None once the other side has gone."""
    line = stream.readline()
    if not line:
        return None
    header = json.loads(line)
    body = stream.read(header["length"]) if header["length"] else b""
    if len(body) < header["length"]:
        return None
    return header, body


class Channel:
    """The worker's end of the pipe to the server; user threads may log while the handler returns."""

    def __init__(self, stream: IO[bytes]):
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, header: dict[str, Any], body: bytes = b"") -> None:
        with self._lock:
            write_frame(self._stream, header, body)

    def log(self, message: str) -> None:
        self.send({"type": "log", "ts": int(time.time() * 1000)}, message.encode("utf-8", "replace"))


# --- errors, as the Lambda Python runtime reports them --------------------------------------------


class RuntimeFault(Exception):
    """An error of the runtime rather than of the handler: bad handler name, import failure, ..."""

    def __init__(self, error_type: str, message: str, stack_trace: list[str] | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace or []


def make_error(message: str, error_type: str, stack_trace: list[str], request_id: str) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack_trace}


def error_from_exception(error: BaseException, request_id: str) -> dict[str, Any]:
    """The Invoke payload for an exception the handler raised: its frames from the user's code on."""
    frames = traceback.extract_tb(error.__traceback__)
    user_frames = [frame for frame in frames
                   if frame.filename != __file__ and not frame.filename.startswith("<frozen importlib")]
    return make_error(str(error), type(error).__name__, traceback.format_list(user_frames), request_id)


def log_error(channel: Channel, error: dict[str, Any]) -> None:
    """`[ERROR] Type: message` plus the traceback, as one log event (as Lambda writes it)."""
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    if error["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        lines.extend(line for frame in error["stackTrace"] for line in frame.rstrip("\n").splitlines())
    channel.log("\n".join(lines) + "\n")


def load_handler(handler: str) -> Callable[[Any, Any], Any]:
    """Import `module.function` from the code directory, raising RuntimeFault as Lambda would."""
    module_name, dot, function_name = handler.rpartition(".")
    if not dot or not module_name:
        raise RuntimeFault("Runtime.MalformedHandlerName",
                           f"Bad handler '{handler}': not enough values to unpack (expected 2, got 1)")
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise RuntimeFault("Runtime.BuiltInModuleConflict",
                           f"Cannot use built-in module {module_name} as a handler module")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        raise RuntimeFault("Runtime.ImportModuleError",
                           f"Unable to import module '{module_name}': {error}{_import_hint(module_name)}") from None
    except SyntaxError as error:
        raise RuntimeFault("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {error}",
                           [f'  File "{error.filename}" Line {error.lineno}\n    {error.text}']) from None
    function = getattr(module, function_name, None)
    if function is None:
        defined = sorted(name for name, value in vars(module).items()
                         if callable(value) and not name.startswith("_") and not isinstance(value, type))
        raise RuntimeFault("Runtime.HandlerNotFound",
                           f"Handler '{function_name}' missing on module '{module_name}'. "
                           f"The module defines: {', '.join(defined) or 'no functions'}; "
                           "set the function's Handler to <module>.<function>.")
    return function


def _import_hint(module_name: str) -> str:
    """What the zip holds, when the handler's module is not in it (the usual packaging mistake)."""
    path = module_name.replace(".", os.sep).replace("/", os.sep)
    if os.path.exists(path + ".py") or os.path.isdir(path):
        return ""
    top_level = sorted(os.listdir("."))
    return (f". The zip's top level holds: {', '.join(top_level) or 'nothing'}; "
            f"the handler needs {path}.py there (zip the files, not the folder that holds them).")


def to_json(response: Any) -> bytes:
    """Serialise the handler's return value, as Lambda does (Decimal as a number, bytes as is)."""
    if isinstance(response, bytes):
        return response
    try:
        return json.dumps(response, default=_decimal_as_number).encode()
    except (TypeError, ValueError) as error:
        raise RuntimeFault("Runtime.MarshalError", f"Unable to marshal response: {error}") from None


def _decimal_as_number(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# --- what the handler sees ----------------------------------------------------------------------


class LambdaContext:
    """The `context` argument: the attributes and method of the Lambda Python runtime's context."""

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int):
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = None
        self.identity = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self) -> str:
        return (f"LambdaContext([aws_request_id={self.aws_request_id},function_name={self.function_name},"
                f"function_version={self.function_version},invoked_function_arn={self.invoked_function_arn}])")


class LogStream(io.TextIOBase):
    """sys.stdout and sys.stderr: every complete line becomes one CloudWatch Logs event."""

    def __init__(self, channel: Channel):
        self._channel = channel
        self._pending = ""
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            lines = (self._pending + text).split("\n")
            self._pending = lines.pop()
        for line in lines:
            self._channel.log(line + "\n")
        return len(text)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, ""
        if pending:
            self._channel.log(pending)


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


class _ChannelHandler(logging.Handler):
    def __init__(self, channel: Channel):
        super().__init__()
        self.channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        self.channel.log(self.format(record))


def _setup_logging(channel: Channel) -> _RequestIdFilter:
    """The root logger Lambda gives a Python function: UTC times, the request id, level WARNING."""
    logging.Formatter.converter = time.gmtime
    handler = _ChannelHandler(channel)
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"))
    request_ids = _RequestIdFilter()
    handler.addFilter(request_ids)
    logging.getLogger().addHandler(handler)
    return request_ids


# --- the worker's life --------------------------------------------------------------------------


def _take_protocol_streams() -> tuple[IO[bytes], IO[bytes]]:
    """Keep stdin/stdout for frames; point fds 0 and 1 elsewhere so stray writes cannot corrupt them."""
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return requests, replies


def _limit_memory() -> None:
    """A safety net against runaway allocations, so a handler cannot exhaust the machine's memory.

    Lambda stops a function whose resident memory exceeds MemorySize; no portable limit counts
    resident memory, so this caps the heap (RLIMIT_DATA, Linux) at MemorySize plus headroom for
    what Python reserves but does not use. Past it, allocations raise MemoryError.
    """
    if not sys.platform.startswith("linux"):
        return
    import resource

    limit = (int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]) + MEMORY_HEADROOM_MB) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _max_memory_mb() -> int:
    """The worker's peak resident memory, for the REPORT line's Max Memory Used."""
    if os.path.exists("/proc/self/status"):  # Linux: VmHWM counts this program only, not the server it came from
        with open("/proc/self/status") as status:
            peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        return peak_kib // 1024
    if sys.platform == "win32":
        return 0
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 * 1024)  # bytes on macOS


def _run_one(handler: Callable[[Any, Any], Any], header: dict[str, Any], payload: bytes,
             channel: Channel, request_ids: _RequestIdFilter) -> None:
    request_id = header["requestId"]
    request_ids.request_id = request_id
    context = LambdaContext(request_id, header["invokedFunctionArn"], header["deadlineMs"])
    started = time.perf_counter()
    try:
        response, failed = to_json(handler(json.loads(payload) if payload else {}, context)), False
    except RuntimeFault as fault:
        error = make_error(fault.message, fault.error_type, fault.stack_trace, request_id)
        response, failed = json.dumps(error).encode(), True
        log_error(channel, error)
    except Exception as raised:  # the handler's exception is the invocation's result
        error = error_from_exception(raised, request_id)
        response, failed = json.dumps(error).encode(), True
        log_error(channel, error)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    duration_ms = (time.perf_counter() - started) * 1000
    channel.send({"type": "result", "error": failed, "durationMs": duration_ms, "maxMemoryMb": _max_memory_mb()},
                 response)


def main() -> None:
    requests, replies = _take_protocol_streams()
    channel = Channel(replies)
    sys.stdout = LogStream(channel)
    sys.stderr = LogStream(channel)
    request_ids = _setup_logging(channel)
    _limit_memory()
    sys.dont_write_bytecode = True  # the code folder is shared by workers and, as in Lambda, read-only

    started = time.perf_counter()
    init_error = None
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except RuntimeFault as fault:
        init_error = make_error(fault.message, fault.error_type, fault.stack_trace, "")
    except Exception as raised:  # module-level code of the handler failed: reported on invoke
        init_error = error_from_exception(raised, "")
    if init_error:
        log_error(channel, init_error)
    sys.stdout.flush()
    sys.stderr.flush()
    channel.send({"type": "ready", "initError": init_error, "initMs": (time.perf_counter() - started) * 1000})
    if init_error:
        return  # Lambda discards an environment whose init failed; the next invoke starts afresh

    while (frame := read_frame(requests)) is not None:
        _run_one(handler, *frame, channel, request_ids)


if __name__ == "__main__":
    main()
