"""The HTTP layer in front of moto: answer the operations moto gets wrong, pass the rest through.

Every request is identified as (service, operation) from its SigV4 signature and its
X-Amz-Target header (JSON protocols) or its path (REST protocols such as Lambda). An engine
registers a handler for an operation; everything else goes to moto untouched. A handler
returns a dict (sent as JSON), a `RawResponse`, or calls `request.forward()` to let moto answer
after it has checked or changed something.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Union
from urllib.parse import parse_qs, unquote

from moto.iam.models import get_account_id_from

from localcloud.errors import AwsError
from localcloud.foreground import FOREGROUND, is_engine_request

# Services that moto and the engines serve in the AWS JSON protocol, where X-Amz-Target names the operation.
JSON_PROTOCOL_SERVICES = frozenset({"dynamodb", "kinesis", "firehose", "logs", "glue", "athena"})
# REST operations are recognised by method and path; JSON ones by X-Amz-Target.
REST_ROUTES: dict[str, list[tuple[str, re.Pattern[str], str]]] = {
    "lambda": [
        ("POST", re.compile(r"^/2015-03-31/functions/(?P<FunctionName>[^/]+)/invocations$"), "Invoke"),
    ],
    "pipes": [
        ("POST", re.compile(r"^/v1/pipes/(?P<Name>[^/]+)$"), "CreatePipe"),
        ("PUT", re.compile(r"^/v1/pipes/(?P<Name>[^/]+)$"), "UpdatePipe"),
        ("DELETE", re.compile(r"^/v1/pipes/(?P<Name>[^/]+)$"), "DeletePipe"),
        ("POST", re.compile(r"^/v1/pipes/(?P<Name>[^/]+)/start$"), "StartPipe"),
        ("POST", re.compile(r"^/v1/pipes/(?P<Name>[^/]+)/stop$"), "StopPipe"),
    ],
}


@dataclass
class RawResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclass
class AwsRequest:
    """One API call, as an intercepting handler sees it."""

    service: str
    operation: str
    region: str
    account_id: str
    body: bytes
    headers: dict[str, str]
    path_params: dict[str, str]
    query: dict[str, list[str]]
    forward: Callable[[], RawResponse]
    # call_moto("AddTagsToStream", {...}): another operation of the same JSON-protocol service, answered by moto.
    call_moto: Callable[[str, dict[str, Any]], RawResponse]

    @cached_property
    def params(self) -> dict[str, Any]:
        """The body's JSON object, parsed when a handler first asks: Lambda Invoke's body is a payload, not parameters."""
        return _json_params(self.body)


Handler = Callable[[AwsRequest], Union[dict, RawResponse]]


def _signature_scope(environ: dict[str, Any]) -> tuple[str, str, str] | None:
    """(access key, region, service) from a SigV4 Authorization header, or None for unsigned requests."""
    match = re.search(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return match.groups() if match else None


def _operation(service: str, environ: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1], {}
    path = unquote(environ.get("PATH_INFO", ""))
    for method, pattern, operation in REST_ROUTES.get(service, []):
        match = pattern.match(path)
        if match and environ.get("REQUEST_METHOD") == method:
            return operation, match.groupdict()
    return None, {}


def _unknown_protocol(service: str, environ: dict[str, Any]) -> AwsError:
    """A JSON-protocol service called without X-Amz-Target: the client speaks a protocol localcloud does not."""
    botocore = re.search(r"Botocore/(\S+)", environ.get("HTTP_USER_AGENT", ""))
    client = f"botocore {botocore.group(1)}" if botocore else "This client"
    return AwsError(
        f"localcloud serves {service} in the AWS JSON protocol (with an X-Amz-Target header), and this request "
        f"({environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}) has none: {client} speaks another protocol to "
        f"{service}. Use the boto3 and botocore versions the kit pins in pyproject.toml (`make venv` installs them).",
        code="UnknownOperationException")


def error_response(error: AwsError) -> RawResponse:
    """The JSON error body and header that botocore maps to `client.exceptions.<code>`."""
    body = json.dumps({"__type": error.code, "message": error.message, "Message": error.message})
    return RawResponse(error.status, body.encode(), {"Content-Type": "application/x-amz-json-1.1",
                                                     "x-amzn-ErrorType": error.code})


class Router:
    """A WSGI application: intercepted operations go to their handlers, the rest to moto."""

    def __init__(self, moto_app: Callable[..., Any]):
        self.moto_app = moto_app
        self.handlers: dict[tuple[str, str], Handler] = {}

    def register(self, service: str, operation: str, handler: Handler) -> None:
        self.handlers[(service, operation)] = handler

    def register_all(self, service: str, handlers: dict[str, Handler]) -> None:
        for operation, handler in handlers.items():
            self.register(service, operation, handler)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if is_engine_request(environ.get("HTTP_USER_AGENT", "")):
            FOREGROUND.give_way()  # an engine's own call is background work too (localcloud/foreground.py)
        return self._dispatch(environ, start_response)  # a client's is counted by the HTTP server

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        scope = _signature_scope(environ)
        if scope is None:
            return self.moto_app(environ, start_response)
        access_key, region, service = scope
        operation, path_params = _operation(service, environ)
        if operation is None and service in JSON_PROTOCOL_SERVICES:
            return self._send(error_response(_unknown_protocol(service, environ)), start_response)
        handler = self.handlers.get((service, operation or ""))
        if handler is None:
            return self.moto_app(environ, start_response)

        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        request = AwsRequest(
            service=service,
            operation=operation or "",
            region=region,
            account_id=get_account_id_from(access_key),
            body=body,
            headers={key[5:].replace("_", "-").lower(): value
                     for key, value in environ.items() if key.startswith("HTTP_")},
            path_params=path_params,
            query=parse_qs(environ.get("QUERY_STRING", "")),
            forward=lambda: self._forward(environ, body),
            call_moto=lambda other_operation, params: self._forward(
                _retargeted(environ, other_operation), json.dumps(params).encode()),
        )
        try:
            result = handler(request)
        except AwsError as error:
            result = error_response(error)
        response = result if isinstance(result, RawResponse) else RawResponse(
            200, json.dumps(result, default=_json_default).encode(),
            {"Content-Type": "application/x-amz-json-1.1"})
        return self._send(response, start_response)

    @staticmethod
    def _send(response: RawResponse, start_response: Callable[..., Any]) -> list[bytes]:
        response.headers.setdefault("Content-Length", str(len(response.body)))
        start_response(f"{response.status} {'OK' if response.status < 400 else 'Error'}",
                       list(response.headers.items()))
        return [response.body]

    def _forward(self, environ: dict[str, Any], body: bytes) -> RawResponse:
        """Let moto answer the request, and hand its response back to the handler."""
        forwarded = dict(environ, **{"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"], captured["headers"] = int(status.split()[0]), dict(headers)

        chunks = self.moto_app(forwarded, capture)
        try:
            payload = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        headers = {k: v for k, v in captured["headers"].items() if k.lower() != "content-length"}
        return RawResponse(captured["status"], payload, headers)


def _retargeted(environ: dict[str, Any], operation: str) -> dict[str, Any]:
    """The same request environment, naming another operation of the same JSON service."""
    prefix = environ["HTTP_X_AMZ_TARGET"].rsplit(".", 1)[0]
    return dict(environ, HTTP_X_AMZ_TARGET=f"{prefix}.{operation}")


def _json_params(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _json_default(value: Any) -> Any:
    """JSON protocols send timestamps as epoch seconds."""
    if hasattr(value, "timestamp"):
        return value.timestamp()
    raise TypeError(f"cannot send {type(value).__name__} as JSON")
