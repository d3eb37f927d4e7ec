"""Lambda Invoke runs the deployed Python handler: results, errors, timeouts, crashes, logs, warm workers.

Everything goes through boto3, as a learner's code would: iam.create_role, lambda.create_function
with a zip built here, lambda.invoke, and the CloudWatch Logs API.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import sys
import textwrap
import threading
import time
import urllib.request
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.config import Config

from localcloud.foreground import ENGINE_USER_AGENT

HANDLER = "handler.lambda_handler"


def package(source: str, module: str = "handler") -> bytes:
    """A deployment package holding one module at the top level of the zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{module}.py", textwrap.dedent(source))
    return buffer.getvalue()


@pytest.fixture
def lambda_client(session):
    return session.client("lambda")


@pytest.fixture
def logs_client(session):
    return session.client("logs")


@pytest.fixture
def deploy(session, lambda_client):
    """deploy(source, **create_function arguments) -> the new function's name."""
    role = session.client("iam").create_role(
        RoleName=f"lambda-runtime-{uuid.uuid4().hex[:8]}",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]

    def create(source: str, **config):
        name = f"fn-{uuid.uuid4().hex[:10]}"
        arguments = {"Runtime": "python3.12", "Handler": HANDLER, "Timeout": 3} | config
        lambda_client.create_function(FunctionName=name, Role=role, Code={"ZipFile": package(source)}, **arguments)
        return name

    return create


def invoke(lambda_client, name: str, event=None, **arguments):
    """Invoke and return (response, decoded JSON payload)."""
    payload = {} if event is None else event
    response = lambda_client.invoke(FunctionName=name, Payload=json.dumps(payload), **arguments)
    return response, json.loads(response["Payload"].read() or b"null")


ECHO = """
    def lambda_handler(event, context):
        return {"received": event}
"""

SLEEPS = """
    import time

    def lambda_handler(event, context):
        time.sleep(event["seconds"])
        return "awake"
"""

COUNTS = """
    import os

    invocations = 0

    def lambda_handler(event, context):
        global invocations
        invocations += 1
        return {"invocations": invocations, "pid": os.getpid()}
"""


def test_invoke_returns_the_handlers_result(deploy, lambda_client):
    name = deploy(ECHO)
    response, payload = invoke(lambda_client, name, {"order": 7, "items": ["a", "b"]})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert payload == {"received": {"order": 7, "items": ["a", "b"]}}


def test_invoke_without_payload_gives_the_handler_an_empty_object(deploy, lambda_client):
    name = deploy(ECHO)
    response = lambda_client.invoke(FunctionName=name)
    assert json.loads(response["Payload"].read()) == {"received": {}}


def test_handler_receives_a_lambda_context(deploy, lambda_client):
    name = deploy("""
        def lambda_handler(event, context):
            return {
                "function_name": context.function_name,
                "function_version": context.function_version,
                "invoked_function_arn": context.invoked_function_arn,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "aws_request_id": context.aws_request_id,
                "log_group_name": context.log_group_name,
                "log_stream_name": context.log_stream_name,
                "remaining_ms": context.get_remaining_time_in_millis(),
            }
    """, MemorySize=256, Timeout=5)
    arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]

    response, context = invoke(lambda_client, name)

    assert context["function_name"] == name
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == arn
    assert context["memory_limit_in_mb"] == "256"
    assert context["aws_request_id"] == response["ResponseMetadata"]["RequestId"]
    assert context["log_group_name"] == f"/aws/lambda/{name}"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", context["log_stream_name"])
    assert 4000 < context["remaining_ms"] <= 5000


def test_function_can_be_invoked_by_arn_and_by_name_with_qualifier(deploy, lambda_client):
    name = deploy("""
        def lambda_handler(event, context):
            return context.invoked_function_arn
    """)
    arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    assert invoke(lambda_client, arn)[1] == arn
    assert invoke(lambda_client, f"{name}:$LATEST")[1] == f"{arn}:$LATEST"
    assert invoke(lambda_client, name, Qualifier="$LATEST")[1] == f"{arn}:$LATEST"


def test_exception_comes_back_as_an_unhandled_function_error(deploy, lambda_client):
    name = deploy("""
        def lambda_handler(event, context):
            raise ValueError(f"order {event['order']} has no items")
    """)
    response, error = invoke(lambda_client, name, {"order": 42})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "order 42 has no items"
    assert error["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert len(error["stackTrace"]) == 1
    assert 'handler.py", line 3, in lambda_handler' in error["stackTrace"][0]


def test_timeout_kills_the_handler_and_the_server_stays_responsive(deploy, lambda_client):
    name = deploy(SLEEPS, Timeout=1)
    invoke(lambda_client, name, {"seconds": 0})  # warm, so the timing below is the handler's alone
    outcome = {}

    def slow_invoke():
        started = time.monotonic()
        outcome["response"], outcome["error"] = invoke(lambda_client, name, {"seconds": 5})
        outcome["seconds"] = time.monotonic() - started

    slow = threading.Thread(target=slow_invoke)
    slow.start()
    time.sleep(0.2)
    lambda_client.list_functions()
    assert slow.is_alive(), "the server must answer other calls while a handler hangs"
    slow.join()

    assert outcome["seconds"] < 3
    assert outcome["response"]["FunctionError"] == "Unhandled"
    assert outcome["error"]["errorType"] == "Sandbox.Timedout"
    assert outcome["error"]["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
    assert invoke(lambda_client, name, {"seconds": 0})[1] == "awake"


@pytest.mark.parametrize("exit_call, reason", [
    ("sys.exit(3)", "Runtime exited with error: exit status 3"),
    ("os._exit(0)", "Runtime exited without providing a reason"),
])
def test_handler_that_exits_the_process_is_an_error_and_a_new_worker_follows(deploy, lambda_client, exit_call, reason):
    name = deploy(COUNTS + f"""
    def exits(event, context):
        import sys
        {exit_call}
    """)
    first = invoke(lambda_client, name)[1]
    lambda_client.update_function_configuration(FunctionName=name, Handler="handler.exits")
    response, error = invoke(lambda_client, name)
    assert response["FunctionError"] == "Unhandled"
    assert error == {"errorType": "Runtime.ExitError",
                     "errorMessage": f"RequestId: {response['ResponseMetadata']['RequestId']} Error: {reason}"}

    lambda_client.update_function_configuration(FunctionName=name, Handler=HANDLER)
    after = invoke(lambda_client, name)[1]
    assert after["invocations"] == 1 and after["pid"] != first["pid"]


def test_worker_that_crashes_is_replaced(deploy, lambda_client):
    name = deploy(COUNTS + """
    def crash(event, context):
        import ctypes
        ctypes.string_at(0)  # reads address 0: a segmentation fault
    """, Handler="handler.crash")
    response, error = invoke(lambda_client, name)
    assert error["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: signal:" in error["errorMessage"]
    assert invoke(lambda_client, name)[1]["errorType"] == "Runtime.ExitError"  # a new worker, crashing again


def test_module_state_persists_between_warm_invocations(deploy, lambda_client):
    name = deploy(COUNTS)
    results = [invoke(lambda_client, name)[1] for _ in range(3)]
    assert [result["invocations"] for result in results] == [1, 2, 3]
    assert len({result["pid"] for result in results}) == 1


def test_update_function_code_takes_effect(deploy, lambda_client):
    name = deploy("def lambda_handler(event, context):\n    return 'v1'\n")
    assert invoke(lambda_client, name)[1] == "v1"
    lambda_client.update_function_code(
        FunctionName=name, ZipFile=package("def lambda_handler(event, context):\n    return 'v2'\n"))
    assert invoke(lambda_client, name)[1] == "v2"


def test_concurrent_invocations_run_on_several_workers_and_the_rest_queue(deploy, lambda_client):
    name = deploy("""
        import os, time

        def lambda_handler(event, context):
            time.sleep(0.4)
            return os.getpid()
    """)
    started = time.monotonic()
    with ThreadPoolExecutor(6) as pool:
        pids = list(pool.map(lambda _: invoke(lambda_client, name)[1], range(6)))
    elapsed = time.monotonic() - started
    assert all(isinstance(pid, int) for pid in pids)
    assert 2 <= len(set(pids)) <= 4  # at most 4 workers per function; the other invocations waited
    assert elapsed < 6 * 0.4


def test_logs_go_to_cloudwatch_with_start_end_and_report(deploy, lambda_client, logs_client):
    name = deploy("""
        import logging

        def lambda_handler(event, context):
            print("processing", event["order"])
            logging.getLogger().warning("order %s is late", event["order"])
            return "ok"
    """, MemorySize=192)
    response, _ = invoke(lambda_client, name, {"order": 9})
    request_id = response["ResponseMetadata"]["RequestId"]

    events = logs_client.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    messages = [event["message"] for event in events]
    assert messages[0] == f"START RequestId: {request_id} Version: $LATEST\n"
    assert messages[1] == "processing 9\n"
    assert re.fullmatch(rf"\[WARNING\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{request_id}\torder 9 is late\n",
                        messages[2])
    assert messages[3] == f"END RequestId: {request_id}\n"
    assert re.match(rf"REPORT RequestId: {request_id}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\t"
                    r"Memory Size: 192 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms", messages[4])

    stream = events[0]["logStreamName"]
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", stream)
    stream_events = logs_client.get_log_events(logGroupName=f"/aws/lambda/{name}", logStreamName=stream)["events"]
    assert [event["message"] for event in stream_events] == messages


def test_timeout_is_written_to_the_log(deploy, lambda_client, logs_client):
    name = deploy(SLEEPS, Timeout=1)
    response, _ = invoke(lambda_client, name, {"seconds": 3})
    request_id = response["ResponseMetadata"]["RequestId"]
    messages = [event["message"] for event in
                logs_client.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]]
    assert any(m.startswith(f"REPORT RequestId: {request_id}") and "Status: timeout" in m for m in messages)
    assert messages[-1].endswith(f"{request_id} Task timed out after 1.00 seconds\n")


def test_log_type_tail_returns_the_last_4_kb_of_the_log(deploy, lambda_client):
    name = deploy("""
        def lambda_handler(event, context):
            for line in range(event["lines"]):
                print(f"line {line:04d} " + "x" * 90)
    """)
    response, _ = invoke(lambda_client, name, {"lines": 3}, LogType="Tail")
    log = base64.b64decode(response["LogResult"]).decode()
    assert log.startswith("START RequestId:") and "line 0002" in log and "REPORT RequestId:" in log

    response, _ = invoke(lambda_client, name, {"lines": 100}, LogType="Tail")
    log = base64.b64decode(response["LogResult"])
    assert len(log) == 4096
    assert b"line 0099" in log and b"line 0000" not in log
    assert "LogResult" not in lambda_client.invoke(FunctionName=name, Payload=b'{"lines": 1}')


def test_unknown_function_is_resource_not_found(lambda_client):
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException) as raised:
        lambda_client.invoke(FunctionName="no-such-function")
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error["Error"]["Message"] == \
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:no-such-function"


def test_event_invocation_returns_202_and_runs_in_the_background(deploy, lambda_client, logs_client):
    name = deploy("""
        import time

        def lambda_handler(event, context):
            time.sleep(1)
            print("handled", event["marker"])
    """)
    started = time.monotonic()
    response = lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"marker": "m-1"}')
    assert response["StatusCode"] == 202
    assert time.monotonic() - started < 1, "Event must not wait for the handler"

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        group = logs_client.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
        if group and any(event["message"] == "handled m-1\n" for event in logs_client.filter_log_events(
                logGroupName=f"/aws/lambda/{name}")["events"]):
            return
        time.sleep(0.1)
    pytest.fail("the Event invocation never ran")


def test_dry_run_returns_204_without_running_the_handler(deploy, lambda_client, logs_client):
    name = deploy(ECHO)
    assert lambda_client.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    groups = logs_client.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
    assert groups == []


def test_environment_variables_are_set(deploy, lambda_client, cloud):
    name = deploy("""
        import os

        def lambda_handler(event, context):
            return {name: os.environ.get(name) for name in event}
    """, Environment={"Variables": {"TABLE_NAME": "orders", "STAGE": "dev"}})
    names = ["TABLE_NAME", "STAGE", "AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION",
             "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    assert invoke(lambda_client, name, names)[1] == {
        "TABLE_NAME": "orders", "STAGE": "dev", "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": cloud.endpoint_url,
        "AWS_ACCESS_KEY_ID": "localcloud", "AWS_SECRET_ACCESS_KEY": "localcloud"}


def test_handler_does_not_see_the_servers_environment(deploy, lambda_client, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "learners-real-account")
    name = deploy("""
        import os

        def lambda_handler(event, context):
            return os.environ.get("AWS_PROFILE")
    """)
    assert invoke(lambda_client, name)[1] is None


def test_handler_boto3_calls_reach_localcloud(deploy, lambda_client, session):
    bucket = f"lambda-runtime-{uuid.uuid4().hex[:8]}"
    session.client("s3").create_bucket(Bucket=bucket)
    name = deploy("""
        import boto3

        def lambda_handler(event, context):
            boto3.client("s3").put_object(Bucket=event["bucket"], Key="from-lambda.txt", Body=b"hi")
            return "written"
    """)
    assert invoke(lambda_client, name, {"bucket": bucket})[1] == "written"
    assert session.client("s3").get_object(Bucket=bucket, Key="from-lambda.txt")["Body"].read() == b"hi"


def test_invalid_json_payload_is_invalid_request_content(deploy, lambda_client):
    name = deploy(ECHO)
    with pytest.raises(lambda_client.exceptions.InvalidRequestContentException) as raised:
        lambda_client.invoke(FunctionName=name, Payload=b"{order: 1}")
    assert raised.value.response["Error"]["Message"].startswith("Could not parse request body into json")


def test_an_engine_s_own_event_is_parsed_by_the_function_s_runtime_only(deploy, session):
    """Firehose writes its events as JSON itself; checking them again in the server cost 1.3 ms a batch."""
    name = deploy(ECHO)
    engine = session.client("lambda", config=Config(user_agent_extra=ENGINE_USER_AGENT))
    response = engine.invoke(FunctionName=name, Payload=b"{order: 1}")
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "JSONDecodeError"


def test_non_python_runtime_gets_a_clear_error(deploy, lambda_client):
    name = deploy(ECHO, Runtime="nodejs20.x", Handler="index.handler")
    with pytest.raises(lambda_client.exceptions.InvalidRuntimeException) as raised:
        lambda_client.invoke(FunctionName=name)
    assert "localcloud runs Python handlers only" in raised.value.response["Error"]["Message"]
    assert "nodejs20.x" in raised.value.response["Error"]["Message"]


def test_missing_handler_module_is_an_import_module_error(deploy, lambda_client):
    name = deploy(ECHO, Handler="lambda_function.lambda_handler")
    response, error = invoke(lambda_client, name)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"].startswith(
        "Unable to import module 'lambda_function': No module named 'lambda_function'")
    assert "handler.py" in error["errorMessage"]  # says what the zip does hold


def test_missing_handler_function_is_handler_not_found(deploy, lambda_client):
    name = deploy(ECHO, Handler="handler.handle")
    response, error = invoke(lambda_client, name)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.HandlerNotFound"
    assert error["errorMessage"].startswith("Handler 'handle' missing on module 'handler'")
    assert "lambda_handler" in error["errorMessage"]


def test_unserialisable_result_is_a_marshal_error(deploy, lambda_client):
    name = deploy("def lambda_handler(event, context):\n    return {1, 2}\n")
    response, error = invoke(lambda_client, name)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.MarshalError"
    assert error["errorMessage"] == "Unable to marshal response: Object of type set is not JSON serializable"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the memory cap uses Linux's RLIMIT_DATA")
def test_runaway_memory_use_fails_the_invocation_not_the_machine(deploy, lambda_client):
    name = deploy("def lambda_handler(event, context):\n    return len(b'x' * (8 * 1024**3))\n")
    response, error = invoke(lambda_client, name)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "MemoryError"


@pytest.mark.skipif(os.name != "posix", reason="checks the worker's pid with os.kill(pid, 0)")
def test_restarting_the_engines_kills_the_workers(deploy, lambda_client, cloud):
    name = deploy(COUNTS)
    pid = invoke(lambda_client, name)[1]["pid"]
    restart = urllib.request.Request(f"{cloud.endpoint_url}/_localcloud/engines/restart", method="POST")
    urllib.request.urlopen(restart, timeout=10).close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert invoke(lambda_client, name)[1]["invocations"] == 1
