"""The HTTP server in front of moto: werkzeug's threaded server, with connections kept open between requests.

werkzeug's development server answers every request with `Connection: close`, because Python's http.server cannot
tell where a request body ends and the next request begins. So every boto3 call opened a new TCP connection, and
the server started a new thread for it. While an engine held the GIL, each of those steps (accepting, starting the
thread, the thread's first run) waited for it in turn: the writes of a pipeline load slowed down by a quarter.

Here a request's body is read through a stream that stops at its Content-Length, so the next request on the
connection stays intact, and the connection stays open (HTTP/1.1 keep-alive) as AWS's endpoints keep it. A request
whose body length is unknown (chunked) still closes its connection, as before.
"""

from __future__ import annotations

import socket
import threading
from typing import Any, Callable

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import ThreadedWSGIServer
from werkzeug.wsgi import LimitedStream


class RequestBody(LimitedStream):
    """One request's body, from the connection's input: reading stops at Content-Length.

    The handler reads what an application left unread once the response is written (werkzeug does so too, but
    only when the socket has more to read, and a body is usually buffered already). This stream hands over the
    rest of the body and then nothing, where the connection's own input would hand over the next request.
    """

    def read(self, size: int | None = -1) -> bytes:
        # At the end, answer at once: io.RawIOBase.read would first allocate the 10 MB buffer werkzeug asks for
        # (0.2 ms, on every request).
        return b"" if self.is_exhausted else super().read(size)


class KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handler, keeping the connection open after a response, and without a log line per request."""

    keep_alive = False  # for the request being answered; http.server's own error replies always close
    # werkzeug writes a response's headers and its body separately, and each unbuffered write is a send() that lets
    # go of the GIL: an engine took it in between, and the client waited for the body until the engine gave way
    # (0.3 ms a request during a pipeline load). Buffered, a response up to this size leaves in one send() when
    # werkzeug flushes it.
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
        length = self.headers.get("Content-Length") or "0"
        self.keep_alive = not self.close_connection and "Transfer-Encoding" not in self.headers and length.isdigit()
        if not self.keep_alive:
            super().run_wsgi()
            return
        connection_input = self.rfile
        self.rfile = body = RequestBody(connection_input, int(length))
        try:
            super().run_wsgi()  # werkzeug reads the request body from self.rfile
            body.exhaust()  # what the application left unread, so that it is not taken for the next request
        finally:
            self.rfile = connection_input
            self.keep_alive = False

    def send_header(self, keyword: str, value: str) -> None:
        if self.keep_alive and keyword.lower() == "connection" and value.lower() == "close":
            return  # werkzeug's fixed `Connection: close`
        super().send_header(keyword, value)

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
