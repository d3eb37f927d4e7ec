"""The HTTP server in front of moto: werkzeug's threaded server, with connections kept open between requests.

werkzeug's development server answers every request with `Connection: close`, because Python's http.server cannot
tell where a request body ends and the next request begins. So every boto3 call opened a new TCP connection, and
the server started a new thread for it. While an engine held the GIL, each of those steps (accepting, starting the
thread, the thread's first run) waited for it in turn: the writes of a pipeline load slowed down by a quarter.

Here a request's body is read through a stream that stops at its Content-Length, so the next request on the
connection stays intact, and the connection stays open (HTTP/1.1 keep-alive) as AWS's endpoints keep it. A request
whose body length is unknown (chunked) still closes its connection, and werkzeug answers it as before.

A kept-alive request is answered here, not by werkzeug's run_wsgi. After every response, werkzeug's waits up to 10 ms
for more input, to throw away a body the application left unread before the connection closes. On a kept-alive
connection that input is the client's next request, and it cost a GIL hand-over more before the request was read.
Without that wait, a pipeline load's ratio to raw ingest went from 0.89 to 0.89-0.99 (bench/RESULTS.md). An unread
body is read to its end here instead, so the next request starts where it should.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any, Callable

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.exceptions import ClientDisconnected, InternalServerError
from werkzeug.serving import ThreadedWSGIServer
from werkzeug.wsgi import LimitedStream

from localcloud.foreground import FOREGROUND, is_engine_request

log = logging.getLogger("localcloud.http")
NO_BODY_STATUSES = {204, 304}


class KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handler, keeping the connection open after a response, and without a log line per request."""

    # A response's headers and its body are written separately, and each unbuffered write is a send() that lets go
    # of the GIL: an engine took it in between, and the client waited for the body until the engine gave way (0.3 ms
    # a request during a pipeline load). Buffered, a response up to this size leaves in one send() when flushed.
    wbufsize = 64 * 1024
    # A larger body still follows its headers in a second write. On an open connection, Nagle's algorithm would
    # hold it back until the client acknowledges the headers, which it delays by 40 ms.
    disable_nagle_algorithm = True

    def handle_expect_100(self) -> bool:
        """http.server's interim `100 Continue`, sent at once: buffered, the client would wait for it to send the body.

        werkzeug would write a second one, unflushed; without the Expect header it does not.
        """
        continuing = super().handle_expect_100()
        self.wfile.flush()
        del self.headers["Expect"]
        return continuing

    def run_wsgi(self) -> None:
        """Answer one request. A client's counts as served (localcloud/foreground.py) until its response is sent.

        Sending lets go of the GIL. Counted only while the application ran, the request let an engine take the GIL
        then, and the thread waited for it to give way before it could read the client's next request (py-spy:
        2.5 ms a request in the socket write during a pipeline load).
        """
        if is_engine_request(self.headers.get("User-Agent", "")):
            self._answer_request()  # an engine's own call is background work, and not counted
            return
        with FOREGROUND.serving():
            self._answer_request()

    def _answer_request(self) -> None:
        length = self.headers.get("Content-Length") or "0"
        if self.close_connection or "Transfer-Encoding" in self.headers or not length.isdigit():
            super().run_wsgi()  # werkzeug's: answers with `Connection: close` (counted until it is done, 10 ms later)
            return
        connection_input = self.rfile
        self.rfile = body = LimitedStream(connection_input, int(length))  # reading stops at Content-Length
        try:
            self._answer(self.server.app)
            body.exhaust()  # what the application left unread, so that it is not taken for the next request
        except (ConnectionError, TimeoutError, ClientDisconnected):
            self.close_connection = True  # the client went away, maybe in the middle of its body: nobody to answer
        finally:
            self.rfile = connection_input

    def _answer(self, app: Callable[..., Any]) -> None:
        """Run the WSGI application and send its response in one piece, with its length.

        An application that fails gets a 500 and a log line with its traceback, as werkzeug gives it.
        """
        self.environ = environ = self.make_environ()
        started: list[Any] = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            started[:] = [status, headers]  # nothing is sent before the application returns, so it may start again
            return chunks.append

        try:
            result = app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except ClientDisconnected:
            raise
        except Exception:
            log.exception("Error on request %s %s", self.command, self.path)
            chunks.clear()
            chunks.extend(InternalServerError()(environ, start_response))
        status, headers = started
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for name, value in headers:
            self.send_header(name, value)
        sends_body = self.command != "HEAD" and int(code) >= 200 and int(code) not in NO_BODY_STATUSES
        if sends_body and not any(name.lower() == "content-length" for name, _ in headers):
            self.send_header("Content-Length", str(sum(map(len, chunks))))
        self.end_headers()
        self.wfile.write(b"".join(chunks))
        self.wfile.flush()

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class LocalCloudHTTPServer(ThreadedWSGIServer):
    """A thread per connection; closing the server also closes the connections that are still open."""

    def __init__(self, host: str, port: int, app: Callable[..., Any]):
        self._open_connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(host, port, app, handler=KeepAliveRequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._open_connections.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        """Stop listening, and end every open connection: a stopped server answers no pooled client."""
        super().server_close()
        with self._connections_lock:
            connections = list(self._open_connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)  # its thread's next read returns nothing, and it ends
            except OSError:
                pass  # the client closed it already
