"""What the Lambda engine relies on in moto 5.2.5: if an upgrade changes any of it, these fail first.

The engine reads functions and their zips through localcloud.moto_state.lambda_ and writes log
events through localcloud.moto_state.logs; both reach into moto's backends in this process.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import uuid
import zipfile

import pytest

from localcloud.errors import AwsError
from localcloud.moto_state.lambda_ import LambdaFunctions
from localcloud.moto_state.logs import LogEvents


def package(body: str) -> bytes:
    """A zip that depends only on body (a fixed timestamp), so two calls give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        entry = zipfile.ZipInfo("handler.py", date_time=(2020, 1, 1, 0, 0, 0))
        archive.writestr(entry, f"def lambda_handler(event, context):\n    return {body!r}\n")
    return buffer.getvalue()


@pytest.fixture
def lambda_client(session):
    return session.client("lambda")


@pytest.fixture
def role_arn(session):
    return session.client("iam").create_role(
        RoleName=f"contract-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps({"Statement": []})
    )["Role"]["Arn"]


@pytest.fixture
def function_name(lambda_client, role_arn):
    name = f"contract-{uuid.uuid4().hex[:8]}"
    lambda_client.create_function(FunctionName=name, Runtime="python3.12", Role=role_arn,
                                  Handler="handler.lambda_handler", Code={"ZipFile": package("v1")})
    return name


def test_moto_keeps_the_uploaded_zip_and_its_sha256(lambda_client, function_name):
    spec = LambdaFunctions().get(function_name)
    assert spec.code == package("v1")
    configuration = lambda_client.get_function(FunctionName=function_name)["Configuration"]
    assert spec.code_sha256 == configuration["CodeSha256"]
    assert spec.code_sha256 == base64.b64encode(hashlib.sha256(package("v1")).digest()).decode()


def test_moto_stores_the_configuration_invoke_needs_with_lambdas_defaults(function_name):
    spec = LambdaFunctions().get(function_name)
    assert (spec.runtime, spec.handler, spec.package_type) == ("python3.12", "handler.lambda_handler", "Zip")
    assert (spec.timeout, spec.memory_size, spec.environment) == (3, 128, {})
    assert spec.version == "$LATEST"
    assert spec.arn == f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"


def test_moto_finds_a_function_by_name_arn_and_latest_qualifier(function_name):
    functions = LambdaFunctions()
    arn = functions.get(function_name).arn
    assert functions.get(arn).name == function_name
    assert functions.get(f"{function_name}:$LATEST").version == "$LATEST"
    assert functions.get(function_name, "$LATEST").name == function_name


def test_moto_reports_an_unknown_function_with_its_arn():
    with pytest.raises(AwsError) as raised:
        LambdaFunctions().get("no-such-function")
    assert (raised.value.code, raised.value.status) == ("ResourceNotFoundException", 404)
    assert raised.value.message == "Function not found: arn:aws:lambda:us-east-1:123456789012:function:no-such-function"


def test_moto_requires_the_role_to_exist(lambda_client):
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as raised:
        lambda_client.create_function(
            FunctionName=f"contract-{uuid.uuid4().hex[:8]}", Runtime="python3.12",
            Role="arn:aws:iam::123456789012:role/no-such-role", Handler="handler.lambda_handler",
            Code={"ZipFile": package("v1")})
    assert raised.value.response["Error"]["Message"] == "The role defined for the function cannot be assumed by Lambda."


def test_moto_update_function_code_replaces_the_zip_and_the_sha256(lambda_client, function_name):
    before = LambdaFunctions().get(function_name)
    lambda_client.update_function_code(FunctionName=function_name, ZipFile=package("v2"))
    after = LambdaFunctions().get(function_name)
    assert after.code == package("v2")
    assert after.code_sha256 != before.code_sha256


def test_moto_published_version_keeps_its_own_code(lambda_client, function_name):
    lambda_client.publish_version(FunctionName=function_name)
    lambda_client.update_function_code(FunctionName=function_name, ZipFile=package("v2"))
    version_1 = LambdaFunctions().get(function_name, "1")
    assert (version_1.version, version_1.code) == ("1", package("v1"))
    assert LambdaFunctions().get(function_name).code == package("v2")


def test_moto_returns_log_events_written_into_its_backend(session):
    group, stream = f"/aws/lambda/contract-{uuid.uuid4().hex[:8]}", "2026/01/02/[$LATEST]0123"
    now = int(time.time() * 1000)
    LogEvents().append(group, stream, [(now, "START\n"), (now - 1, "line\n")])
    logs = session.client("logs")
    events = logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]
    assert [(event["timestamp"], event["message"]) for event in events] == \
        [(now, "START\n"), (now, "line\n")]  # made non-decreasing, as PutLogEvents requires
    assert [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]] == ["START\n", "line\n"]
