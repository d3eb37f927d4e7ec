"""localcloud keeps HTTP connections open between requests, as AWS endpoints do, without mixing up requests."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

from localcloud.foreground import FOREGROUND
from localcloud.http_server import LocalCloudHTTPServer
from localcloud.server import LocalCloud

LIST_TABLES = {
    "X-Amz-Target": "DynamoDB_20120810.ListTables",
    "Content-Type": "application/x-amz-json-1.0",
    "Authorization": "AWS4-HMAC-SHA256 Credential=localcloud/20261203/us-east-1/dynamodb/aws4_request, "
                     "SignedHeaders=host, Signature=0",
}


def open_connection(cloud: LocalCloud) -> http.client.HTTPConnection:
    address = urlsplit(cloud.endpoint_url)
    return http.client.HTTPConnection(address.hostname, address.port, timeout=10)


def answer(connection: http.client.HTTPConnection) -> tuple[int, dict, bytes]:
    response = connection.getresponse()
    return response.status, {name.lower(): value for name, value in response.getheaders()}, response.read()


def test_requests_on_one_connection_are_answered_in_turn_and_the_connection_stays_open(cloud):
    connection = open_connection(cloud)
    connection.request("POST", "/", body=b"{}", headers=LIST_TABLES)
    status, headers, body = answer(connection)
    first_socket = connection.sock

    connection.request("POST", "/", body=b"{}", headers=LIST_TABLES)
    second_status, second_headers, second_body = answer(connection)

    assert (status, second_status) == (200, 200)
    assert "TableNames" in json.loads(body) and json.loads(body) == json.loads(second_body)
    assert "connection" not in headers and "connection" not in second_headers
    assert connection.sock is first_socket  # http.client would have opened a new socket after a close
    connection.close()


def test_a_body_the_application_does_not_read_does_not_become_the_next_request(cloud):
    """The health page ignores its body; those bytes must not be taken for the next request line."""
    connection = open_connection(cloud)
    unread = b"GET /_localcloud/nothing HTTP/1.1\r\n\r\n" * 100
    connection.request("GET", "/_localcloud/health", body=unread)
    status, _, body = answer(connection)
    connection.request("POST", "/", body=b"{}", headers=LIST_TABLES)
    next_status, _, next_body = answer(connection)

    assert status == 200 and json.loads(body)["status"] == "running"
    assert next_status == 200 and "TableNames" in json.loads(next_body)
    connection.close()


def raw_connection(cloud: LocalCloud) -> socket.socket:
    address = urlsplit(cloud.endpoint_url)
    connection = socket.create_connection((address.hostname, address.port), timeout=5)
    connection.settimeout(0.5)
    return connection


def received_within_timeout(connection: socket.socket) -> bytes:
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except TimeoutError:
        pass
    return received


def test_an_unread_body_is_discarded_even_when_nothing_follows_it(cloud):
    """Before the next request arrives, the unread body is all the server has: it must not answer it."""
    connection = raw_connection(cloud)
    unread = b"GET /_localcloud/nothing HTTP/1.1\r\n\r\n" * 3
    connection.sendall(b"GET /_localcloud/health HTTP/1.1\r\nHost: localcloud\r\n"
                       b"Content-Length: %d\r\n\r\n%s" % (len(unread), unread))
    answered = received_within_timeout(connection)
    connection.close()

    assert answered.count(b"HTTP/1.1 ") == 1 and answered.startswith(b"HTTP/1.1 200 "), answered


def test_a_request_that_expects_100_continue_gets_it_before_sending_its_body(cloud):
    connection = raw_connection(cloud)
    connection.sendall(b"PUT /bucket/key HTTP/1.1\r\nHost: localcloud\r\nContent-Length: 5\r\n"
                       b"Expect: 100-continue\r\n\r\n")
    interim = received_within_timeout(connection)
    connection.close()

    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"


def test_a_chunked_request_is_answered_and_closes_its_connection(cloud):
    """Without Content-Length the end of the body is the chunk encoding's to tell: such a request closes."""
    connection = open_connection(cloud)
    connection.request("POST", "/", body=iter([b"{", b"}"]), headers=LIST_TABLES, encode_chunked=True)
    status, headers, body = answer(connection)

    assert status == 200 and "TableNames" in json.loads(body)
    assert headers["connection"] == "close"
    connection.close()


def test_stopping_the_server_ends_the_connections_it_kept_open(tmp_path):
    with LocalCloud(port=0, state_dir=tmp_path) as cloud:
        connection = open_connection(cloud)
        connection.request("POST", "/", body=b"{}", headers=LIST_TABLES)
        assert answer(connection)[0] == 200
        kept_open: socket.socket = connection.sock
    kept_open.settimeout(5)  # a connection left open would time out here
    try:
        ended = kept_open.recv(1) == b""  # the server shut its end: the client reads end-of-file
    except ConnectionResetError:
        ended = True
    connection.close()
    assert ended


@pytest.mark.parametrize("expect_continue", [False, True])
def test_boto3_calls_reuse_one_connection(aws_env, expect_continue, caplog):
    """boto3 (urllib3) logs 'Resetting dropped connection' whenever the server closed the one it kept."""
    import boto3

    s3 = boto3.client("s3")
    bucket = f"keepalive-{int(expect_continue)}"
    s3.create_bucket(Bucket=bucket)
    body = b"x" * (2 * 1024 * 1024 if expect_continue else 10)  # large bodies are sent after 100-continue
    caplog.set_level("DEBUG", logger="urllib3.connectionpool")
    for number in range(3):
        s3.put_object(Bucket=bucket, Key=f"object-{number}", Body=body)
        assert s3.get_object(Bucket=bucket, Key=f"object-{number}")["Body"].read() == body

    messages = [record.getMessage() for record in caplog.records if record.name == "urllib3.connectionpool"]
    assert not [message for message in messages if "Resetting dropped connection" in message], messages
    assert len([message for message in messages if "Starting new HTTP connection" in message]) <= 1, messages


# ---- the HTTP layer on its own, with a WSGI application of the test's


def failing_or_echoing_app(environ: dict, start_response) -> list[bytes]:
    """/fail raises; /legacy writes through start_response's write(); anything else echoes its body in parts."""
    if environ["PATH_INFO"] == "/fail":
        raise RuntimeError("the application failed")
    body = environ["wsgi.input"].read()
    write = start_response("200 OK", [("Content-Type", "text/plain")])  # no Content-Length: the server adds it
    if environ["PATH_INFO"] == "/legacy":
        write(b"written " + body)
        return []
    return [b"echo ", body]


@pytest.fixture
def bare_server():
    server = LocalCloudHTTPServer("127.0.0.1", 0, failing_or_echoing_app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def bare_connection(server: LocalCloudHTTPServer) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)


def test_a_failing_application_gets_a_500_and_the_connection_serves_the_next_request(bare_server, caplog):
    connection = bare_connection(bare_server)
    with caplog.at_level("ERROR", logger="localcloud.http"):
        connection.request("POST", "/fail", body=b"ignored")
        status, _, _ = answer(connection)
    connection.request("POST", "/echo", body=b"after")
    after = answer(connection)
    connection.close()

    assert status == 500
    assert "RuntimeError: the application failed" in caplog.text  # the traceback is logged
    assert after[0] == 200 and after[2] == b"echo after"


def test_a_response_without_a_length_gets_one_and_head_gets_no_body(bare_server):
    connection = bare_connection(bare_server)
    connection.request("POST", "/echo", body=b"parts")
    echoed = answer(connection)
    connection.request("POST", "/legacy", body=b"once")
    legacy = answer(connection)
    connection.request("HEAD", "/echo")
    head = connection.getresponse()
    head_body = head.read()
    connection.request("POST", "/echo", body=b"last")
    last = answer(connection)
    connection.close()

    assert echoed[0] == 200 and echoed[1]["content-length"] == "10" and echoed[2] == b"echo parts"
    assert legacy[2] == b"written once" and legacy[1]["content-length"] == "12"
    assert head.status == 200 and head_body == b""
    assert last[2] == b"echo last"  # nothing of the HEAD answer was left over for this one


def test_requests_sent_back_to_back_are_answered_in_order(bare_server):
    """A client may send its next request before the answer to the last one has arrived (pipelining)."""
    connection = socket.create_connection(("127.0.0.1", bare_server.server_port), timeout=5)
    connection.sendall(b"".join(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n%d" % n
                                for n in range(3)))
    connection.settimeout(0.5)
    answered = received_within_timeout(connection)
    connection.close()

    assert answered.count(b"HTTP/1.1 200 ") == 3
    assert [part.rsplit(b"\r\n\r\n", 1)[-1][:6] for part in answered.split(b"HTTP/1.1 ")[1:]] == [
        b"echo 0", b"echo 1", b"echo 2"]


def test_a_client_request_counts_as_served_until_its_whole_response_is_sent(cloud, session):
    """Engines give way to client requests (localcloud/foreground.py) until the client has its response."""
    s3 = session.client("s3")
    s3.create_bucket(Bucket="counted-until-sent")
    s3.put_object(Bucket="counted-until-sent", Key="large", Body=b"x" * (16 * 1024 * 1024))
    address = urlsplit(cloud.endpoint_url)
    connection = socket.socket()
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # the response cannot all be in flight
    connection.connect((address.hostname, address.port))
    connection.sendall(b"GET /counted-until-sent/large HTTP/1.1\r\nHost: localhost\r\nAuthorization: AWS4-HMAC-SHA256 "
                       b"Credential=localcloud/20261203/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"
                       b"\r\n\r\n")
    time.sleep(1)  # the server has written what the sockets hold, and waits to send the rest
    while_sending = FOREGROUND.requests_in_flight
    connection.settimeout(10)
    received = b""
    while not received.endswith(b"x" * 1024) or len(received) < 16 * 1024 * 1024:
        received += connection.recv(1024 * 1024)
    deadline = time.monotonic() + 5
    while FOREGROUND.requests_in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    connection.close()

    assert received.startswith(b"HTTP/1.1 200 ")
    assert while_sending == 1
    assert FOREGROUND.requests_in_flight == 0
