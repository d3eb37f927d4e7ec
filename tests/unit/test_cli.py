"""python -m workshop doctor | progress | teardown | cost, and the aws-mode account confirmation, against localcloud."""

from __future__ import annotations

import inspect
import json
import os
import re
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import awswrangler as wr
import boto3
import nbformat
import pytest
from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from botocore.stub import Stubber
from packaging.requirements import Requirement

import localcloud
from localcloud.server import LocalCloud
from workshop import course, datagen, doctor, freshness, progress, runner, safety, teardown
from workshop.__main__ import build_parser, main
from workshop.config import Config
from workshop.cost import RATES_AS_OF, Usage, estimate
from workshop.inspect import PipelineMonitor, ShardInspector, StreamInspector
from workshop.notebooks import SOLUTIONS_DIR
from workshop.session import Connection, connect
from workshop.steps import dynamodb, iam, kinesis


def _participant() -> str:
    return f"cli{uuid.uuid4().hex[:6]}"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answer(monkeypatch: pytest.MonkeyPatch, reply: str) -> list[str]:
    """Answer every input() prompt with reply; return the prompts shown."""
    prompts: list[str] = []
    monkeypatch.setattr("builtins.input", lambda prompt="": prompts.append(prompt) or reply)
    return prompts


def _never_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(prompt: str = "") -> str:
        raise AssertionError(f"asked {prompt!r} but should not have")
    monkeypatch.setattr("builtins.input", refuse)


@pytest.fixture
def learner(cloud, aws_env, monkeypatch) -> Connection:
    """A fresh participant in local mode, set in the environment the way a learner sets it."""
    participant = _participant()
    for name in ("WORKSHOP_MODE", "WORKSHOP_CONFIRM_ACCOUNT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORKSHOP_PARTICIPANT", participant)
    monkeypatch.setenv("LOCALCLOUD_PORT", str(cloud.port))
    return connect(Config(participant=participant, localcloud_port=cloud.port))


def _doctor_as_a_new_user(**environment: str) -> subprocess.CompletedProcess:
    """`python -m workshop doctor` in a shell with no AWS variables set, plus environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WORKSHOP_", "LOCALCLOUD_"))}
    return subprocess.run([sys.executable, "-m", "workshop", "doctor"], capture_output=True, text=True, timeout=120,
                          env={**clean, **environment})


# ---- argument parsing ----------------------------------------------------------------------------
def test_commands_parse_their_options_with_safe_defaults():
    parser = build_parser()
    assert vars(parser.parse_args(["teardown"])) == {"command": "teardown", "yes": False, "all_participants": False}
    assert vars(parser.parse_args(["teardown", "--yes", "--all-participants"]))["all_participants"] is True
    assert parser.parse_args(["progress"]).all is False and parser.parse_args(["progress", "--all"]).all is True
    assert (parser.parse_args(["cost"]).hours, parser.parse_args(["cost"]).participants) == (2.0, 1)
    assert parser.parse_args(["cost", "--hours", "8", "--participants", "20"]).hours == 8.0
    assert parser.parse_args(["doctor"]).command == "doctor"


def test_a_malformed_option_is_refused_with_usage(capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["cost", "--hours", "two"])
    assert exit_.value.code == 2
    assert "invalid float value: 'two'" in capsys.readouterr().err


def test_catch_up_refuses_a_notebook_the_course_does_not_have(capsys):
    assert build_parser().parse_args(["catch-up", "6"]).notebook == "06"
    for wrong in ("11", "abc"):
        with pytest.raises(SystemExit) as exit_:
            build_parser().parse_args(["catch-up", wrong])
        assert exit_.value.code == 2
        assert f"there is no notebook '{wrong}': use a number from 00 to 10" in capsys.readouterr().err


def test_a_localcloud_that_cannot_be_started_is_explained_without_a_traceback(monkeypatch, capsys):
    from workshop import session

    def cannot_start(endpoint: str) -> None:
        raise session.LocalCloudUnavailable(f"localcloud is not running on {endpoint} and could not be started")

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("LOCALCLOUD_PORT", str(_closed_port()))
    monkeypatch.setattr(session, "_start_localcloud", cannot_start)
    assert main(["progress"]) == 2
    error = capsys.readouterr().err
    assert "could not be started" in error and "Traceback" not in error


# ---- doctor ----------------------------------------------------------------------------------------
def test_doctor_with_localcloud_down_says_to_start_it_and_exits_1():
    port = _closed_port()
    result = _doctor_as_a_new_user(LOCALCLOUD_PORT=str(port))
    assert result.returncode == 1
    assert f"FAIL  localcloud is not running at http://127.0.0.1:{port}" in result.stdout
    assert f"start it with `make up PORT={port}`" in result.stdout
    assert "1 check(s) failed" in result.stdout


def test_doctor_with_localcloud_up_passes_and_shows_the_account(cloud):
    result = _doctor_as_a_new_user(LOCALCLOUD_PORT=str(cloud.port))
    assert result.returncode == 0, result.stdout
    assert "FAIL" not in result.stdout
    assert f"OK    localcloud answers at http://127.0.0.1:{cloud.port}" in result.stdout
    assert "account 123456789012" in result.stdout
    assert "OK    moto 5.2.5" in result.stdout
    assert "All checks passed" in result.stdout


def test_doctor_points_at_localcloud_through_aws_endpoint_url_when_it_is_set(cloud, monkeypatch, capsys):
    port = _closed_port()
    monkeypatch.setenv("LOCALCLOUD_PORT", str(cloud.port))
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("WORKSHOP_MODE", raising=False)
    assert main(["doctor"]) == 1
    assert f"localcloud is not running at http://127.0.0.1:{port}" in capsys.readouterr().out


def test_doctor_refuses_a_remote_endpoint_in_local_mode(monkeypatch):
    monkeypatch.delenv("WORKSHOP_MODE", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://dynamodb.us-east-1.amazonaws.com")
    failed = [check for check in doctor.run_checks() if check.status == doctor.FAIL]
    assert len(failed) == 1 and "Unset AWS_ENDPOINT_URL" in failed[0].fix


def test_doctor_reports_an_invalid_participant_with_the_fix_and_skips_the_connection(monkeypatch, capsys):
    monkeypatch.delenv("WORKSHOP_MODE", raising=False)
    monkeypatch.setenv("WORKSHOP_PARTICIPANT", "Alice_Smith")
    assert doctor.main() == 1
    out = capsys.readouterr().out
    assert "FAIL  the configuration is invalid" in out
    assert "lowercase letters, digits and single hyphens" in out
    assert "localcloud" not in out


def test_a_package_outside_the_kit_requirement_fails_with_the_install_command():
    check = doctor.package("moto", Requirement("moto[server]==0.0.1"))
    assert check.status == doctor.FAIL
    assert "but the kit needs moto==0.0.1" in check.what
    assert check.fix == "pip install 'moto[server]==0.0.1'"


def test_the_key_package_requirements_come_from_pyproject_with_moto_pinned():
    requirements = doctor.required_versions()
    assert set(requirements) == set(doctor.KEY_PACKAGES)
    assert str(requirements["moto"].specifier) == "==5.2.5"


def test_doctor_in_aws_mode_refuses_an_endpoint_override(monkeypatch):
    monkeypatch.setenv("WORKSHOP_MODE", "aws")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    last = doctor.run_checks()[-1]
    assert last.status == doctor.FAIL and last.fix == "`unset AWS_ENDPOINT_URL` before using a real account"


def test_doctor_in_aws_mode_without_credentials_says_how_to_configure_them(monkeypatch, tmp_path):
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WORKSHOP_MODE", "aws")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    last = doctor.run_checks()[-1]
    assert (last.status, last.what) == (doctor.FAIL, "no AWS credentials found")
    assert "aws configure" in last.fix and "aws sso login" in last.fix


def test_doctor_in_aws_mode_shows_account_and_region_but_never_the_credentials(moto_session, monkeypatch, capsys):
    monkeypatch.setenv("WORKSHOP_MODE", "aws")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-print-this-secret")
    assert doctor.main() == 0
    out = capsys.readouterr().out
    assert "account 123456789012" in out and "region us-east-1 (from AWS_REGION)" in out
    # moto's caller is a plain 'user/moto' ARN, which the policy simulator cannot take: skipped, not failed.
    assert "SKIP  permissions not checked" in out
    assert "do-not-print-this-secret" not in out and "testing" not in out


def test_doctor_fails_when_the_default_region_differs_from_the_aws_profile(monkeypatch, tmp_path):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "config").write_text("[default]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    check = doctor.region(Config(mode="aws"))
    assert check.status == doctor.FAIL and "your AWS profile's region is eu-west-1" in check.what
    assert check.fix.startswith("choose one explicitly: `export AWS_REGION=eu-west-1`")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert doctor.region(Config(mode="aws", region="eu-west-1")).status == doctor.OK


def _iam_stub() -> tuple[object, Stubber]:
    iam = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return iam, Stubber(iam)


def test_an_assumed_role_is_simulated_as_its_role_with_the_role_path():
    iam, stub = _iam_stub()
    role_arn = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Learner_abc"
    stub.add_response("get_role", {"Role": {"Path": "/aws-reserved/sso.amazonaws.com/",
                                            "RoleName": "AWSReservedSSO_Learner_abc", "RoleId": "AROAEXAMPLEID123456",
                                            "Arn": role_arn, "CreateDate": "2026-01-01T00:00:00Z",
                                            "AssumeRolePolicyDocument": "{}"}},
                      {"RoleName": "AWSReservedSSO_Learner_abc"})
    with stub:
        caller = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Learner_abc/alice@example.com"
        assert doctor.simulation_principal(iam, caller) == role_arn
    assert doctor.simulation_principal(iam, "arn:aws:iam::111122223333:user/alice") == \
        "arn:aws:iam::111122223333:user/alice"
    assert doctor.simulation_principal(iam, "arn:aws:iam::111122223333:root") is None


def _simulation_answer(need: doctor.Need, denied: set[tuple[str, str]]) -> dict:
    """What the simulator answers today: one result per action, the decision per resource inside it."""
    def decision(action: str, resource: str) -> str:
        return "implicitDeny" if (action, resource) in denied or (action, "any") in denied else "allowed"

    return {"IsTruncated": False, "EvaluationResults": [{
        "EvalActionName": action, "EvalResourceName": need.resources[0],
        "EvalDecision": "implicitDeny" if any(decision(action, r) != "allowed" for r in need.resources) else "allowed",
        "ResourceSpecificResults": [{"EvalResourceName": r, "EvalResourceDecision": decision(action, r)}
                                    for r in need.resources]} for action in need.actions]}


def _simulation_request(principal: str, need: doctor.Need, region_name: str) -> dict:
    return {"PolicySourceArn": principal, "ActionNames": list(need.actions), "ResourceArns": list(need.resources),
            "ContextEntries": [{"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": [region_name],
                                "ContextKeyType": "string"}]}


def test_the_permission_check_names_each_denied_action_with_the_resource_it_is_denied_on():
    iam, stub = _iam_stub()
    config, account = Config(mode="aws", participant="alice", region="eu-west-1"), "111122223333"
    principal = "arn:aws:iam::111122223333:user/alice"
    catalog = "arn:aws:glue:eu-west-1:111122223333:catalog"
    denied = {("pipes:CreatePipe", "any"), ("iam:PassRole", "any"), ("glue:GetTables", catalog)}
    for need in doctor.course_permissions(config, account):
        if need.resources == ("*",):   # older simulator answers: one result per action and resource, no details
            answer = {"IsTruncated": False, "EvaluationResults": [
                {"EvalActionName": action, "EvalResourceName": "*", "EvalDecision": "allowed"}
                for action in need.actions]}
        else:
            answer = _simulation_answer(need, denied)
        stub.add_response("simulate_principal_policy", answer, _simulation_request(principal, need, "eu-west-1"))
    with stub:
        check = doctor.permissions(iam, principal, config, account)
    assert check.status == doctor.FAIL
    # CreatePipe on the pipe, PassRole on each of the 4 roles, GetTables on the catalog (not on the database)
    assert check.what.startswith("6 of the ")
    assert "pipes:CreatePipe on arn:aws:pipes:eu-west-1:111122223333:pipe/alice-orders-cdc" in check.what
    assert "and 1 more" in check.what


def test_glue_actions_are_simulated_on_every_resource_aws_authorizes_them_against():
    needs = doctor.course_permissions(Config(mode="aws", participant="alice"), "111122223333")
    glue = "arn:aws:glue:us-east-1:111122223333"

    def resources_of(action: str) -> set[str]:
        return {resource for need in needs if action in need.actions for resource in need.resources}

    assert {f"{glue}:catalog", f"{glue}:database/alice_sales_cdc", f"{glue}:table/alice_sales_cdc/orders",
            f"{glue}:table/alice_sales_cdc/orders_live"} <= resources_of("glue:GetTable")
    assert {f"{glue}:catalog", f"{glue}:table/alice_sales_cdc/orders_live"} <= resources_of("glue:CreateTable")
    assert {f"{glue}:catalog", f"{glue}:database/alice_sales_cdc"} <= resources_of("glue:CreateDatabase")
    assert f"{glue}:table/alice_sales_cdc/*" in resources_of("glue:DeleteDatabase")
    assert f"{glue}:table/alice_sales_cdc/*" in resources_of("glue:GetTables")


def test_without_access_to_the_policy_simulator_the_permission_check_is_skipped_not_failed():
    iam, stub = _iam_stub()
    stub.add_client_error("simulate_principal_policy", service_error_code="AccessDenied", http_status_code=403)
    with stub:
        check = doctor.permissions(iam, "arn:aws:iam::111122223333:user/alice", Config(mode="aws"), "111122223333")
    assert check.status == doctor.SKIP and "iam:SimulatePrincipalPolicy" in check.what


def test_an_unexpected_iam_error_skips_the_permission_check_with_the_reason_instead_of_crashing():
    iam, stub = _iam_stub()
    stub.add_client_error("simulate_principal_policy", service_error_code="Throttling", service_message="Rate exceeded",
                          http_status_code=400)
    stub.add_client_error("get_role", service_error_code="ServiceFailure", service_message="try again",
                          http_status_code=400)
    with stub:
        throttled = doctor.permissions(iam, "arn:aws:iam::111122223333:user/alice", Config(mode="aws"), "111122223333")
        failed = doctor.permissions(iam, "arn:aws:sts::111122223333:assumed-role/Learner/alice", Config(mode="aws"),
                                    "111122223333")
    assert throttled.status == doctor.SKIP and "IAM answered Throttling: Rate exceeded" in throttled.what
    assert failed.status == doctor.SKIP and "IAM answered ServiceFailure: try again" in failed.what
    assert "Run doctor again" in failed.what


# ---- doctor's permission list, checked against what the course really calls ---------------------------------
IAM_PREFIX = {"dynamodbstreams": "dynamodb"}
# Where the IAM action is not the service prefix plus the operation name.
IAM_ACTION = {
    ("s3", "ListObjectsV2"): "s3:ListBucket", ("s3", "HeadBucket"): "s3:ListBucket", ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions", ("s3", "DeleteObjects"): "s3:DeleteObjectVersion",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock", ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("lambda", "Invoke"): "lambda:InvokeFunction",
}
NEEDS_NO_PERMISSION = {("sts", "GetCallerIdentity")}
LOCALCLOUD_DIR = str(Path(localcloud.__file__).parent)
CLIENT_HELPERS = {"get_waiter", "get_paginator", "can_paginate"}


def _iam_action(service: str, operation: str) -> str | None:
    if (service, operation) in NEEDS_NO_PERMISSION:
        return None
    return IAM_ACTION.get((service, operation), f"{IAM_PREFIX.get(service, service)}:{operation}")


def _doctor_actions() -> set[str]:
    return {action for need in doctor.course_permissions(Config(mode="aws"), "111122223333") for action in need.actions}


def _operations(service: str, code: str, variable: str) -> list[str]:
    """The API operations `variable.method(...)` calls make in code, waiters and paginators included."""
    client = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    api = client.meta.method_to_api_mapping
    methods = re.findall(rf"(?<![\w.]){variable}\.(\w+)\(", code)   # not wr.athena.read_sql_query(
    unknown = set(methods) - api.keys() - CLIENT_HELPERS
    assert not unknown, f"{variable}.{unknown} is not a {service} API call: the scan misreads the notebook"
    waiters = re.findall(rf"(?<![\w.]){variable}\.get_waiter\(\"(\w+)\"\)", code)
    paginators = re.findall(rf"(?<![\w.]){variable}\.get_paginator\(\"(\w+)\"\)", code)
    return ([api[m] for m in methods if m in api] + [client.get_waiter(w).config.operation for w in waiters]
            + [api[p] for p in paginators])


def _notebook_calls() -> set[tuple[str, str]]:
    """(service, operation) of every boto3 call the solution notebooks' code makes itself."""
    calls = set()
    for path in sorted(SOLUTIONS_DIR.glob("[0-9][0-9]_*.ipynb")):
        code = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
        code = re.sub(r"conn\.client\(\"(\w+)\"\)\.", r"direct_\1.", code)   # conn.client("s3").x( -> direct_s3.x(
        clients = dict(re.findall(r"^\s*(\w+) = conn\.client\(\"(\w+)\"\)", code, flags=re.MULTILINE))
        clients.update({f"direct_{service}": service for service in re.findall(r"\bdirect_(\w+)\.", code)})
        calls |= {(service, operation) for variable, service in clients.items()
                  for operation in _operations(service, code, variable)}
    return calls


def test_doctor_checks_every_boto3_call_the_solution_notebooks_make():
    calls = _notebook_calls()
    assert {("dynamodbstreams", "GetRecords"), ("lambda", "Invoke"), ("glue", "GetPartitions"),
            ("athena", "CreateWorkGroup"), ("kinesis", "PutRecord"), ("dynamodb", "DescribeTable")} <= calls
    missing = {_iam_action(*call) for call in calls} - _doctor_actions() - {None}
    assert missing == set(), f"doctor.course_permissions does not check {sorted(missing)}"


def _inside_localcloud() -> bool:
    """The call comes from one of localcloud's engines (Firehose writing S3, say), not from the course."""
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_code.co_filename.startswith(LOCALCLOUD_DIR):
            return True
        frame = frame.f_back
    return False


def _run_what_the_course_runs(conn: Connection) -> None:
    """The kit's side of notebooks 01-10: catch-up, loads, widgets, awswrangler's queries, progress, teardown."""
    course.catch_up(conn, "10", verbose=False)
    datagen.run(30, table_name=conn.config.table_name, client=conn.client("dynamodb"), progress=False)
    inspector = ShardInspector(session=conn)
    inspector.get_records(), inspector.next_page(), inspector.count_per_shard()
    StreamInspector(session=conn).get_records()
    monitor = PipelineMonitor(session=conn)
    monitor.refresh(), monitor.count_athena_rows()
    where = {"database": conn.config.glue_database, "workgroup": conn.config.workgroup_name}
    wr.athena.read_sql_query("SELECT event_name FROM orders", ctas_approach=False, **where)
    wr.athena.read_sql_query("SELECT event_name FROM orders", **where)          # ctas_approach: a CTAS table
    wr.athena.start_query_execution(freshness.live_table_ddl(conn), wait=True, **where)
    progress.participant_progress(conn)
    teardown.teardown(conn, progress=False)


def test_doctor_checks_every_action_a_course_run_makes(learner, monkeypatch):
    calls: set[tuple[str, str]] = set()
    send = BaseClient._make_api_call

    def recording(client, operation, params):
        if not _inside_localcloud():
            calls.add((client.meta.service_model.service_name, operation))
        return send(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    _run_what_the_course_runs(learner)
    assert {("dynamodb", "BatchWriteItem"), ("kinesis", "ListStreams"), ("glue", "DeleteTable")} <= calls
    missing = {_iam_action(*call) for call in calls} - _doctor_actions() - {None}
    assert missing == set(), f"doctor.course_permissions does not check {sorted(missing)}"


# ---- progress ---------------------------------------------------------------------------------------
def _progress_rows(out: str) -> dict[tuple[str, str], str]:
    """{(notebook, step): 'done' | 'missing'} from the printed progress table."""
    rows = re.findall(r"^  (\S+)\s+(.+?)\s+(done|missing)$", out, flags=re.MULTILINE)
    return {(notebook, step): state for notebook, step, state in rows}


def _delete_every_order(conn: Connection) -> None:
    ddb, table = conn.client("dynamodb"), conn.config.table_name
    for page in ddb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="orderid"):
        for item in page["Items"]:
            ddb.delete_item(TableName=table, Key=item)


def test_progress_reads_the_steps_done_from_what_exists_and_names_the_next_notebook(learner, capsys):
    course.catch_up(learner, "04", verbose=False)   # catch-up writes sample orders too
    _delete_every_order(learner)                     # what exists now decides, not what catch-up did
    assert main(["progress"]) == 0
    out = capsys.readouterr().out
    rows = _progress_rows(out)
    assert rows[("01_dynamodb_table", "DynamoDB table with a stream")] == "done"
    assert rows[("01_dynamodb_table", "orders in the table")] == "missing"
    assert rows[("03_kinesis_and_pipe", "pipe RUNNING")] == "done"
    assert rows[("05_transform_lambda", "transform Lambda deployed")] == "missing"
    assert "next notebook: 04_shard_inspection" in out
    assert "missing before it: orders in the table" in out


def test_progress_all_shows_every_participant_found(learner, capsys):
    other = teardown.for_participant(learner, _participant())
    dynamodb.ensure_table(learner)
    dynamodb.ensure_table(other)
    assert main(["progress", "--all"]) == 0
    out = capsys.readouterr().out
    assert f"Participant {learner.config.participant} (local mode" in out
    assert f"Participant {other.config.participant} (local mode" in out


def test_progress_of_a_new_participant_says_start_at_notebook_00(learner, capsys):
    assert main(["progress"]) == 0
    out = capsys.readouterr().out
    assert list(_progress_rows(out).values()) == ["missing"] * len(progress.STEPS)
    assert "next notebook: 00_setup" in out


# ---- teardown ---------------------------------------------------------------------------------------
def test_teardown_yes_leaves_nothing_and_running_it_twice_is_fine(learner, capsys):
    course.catch_up(learner, "04", verbose=False)
    assert main(["teardown", "--yes"]) == 0
    first = capsys.readouterr().out
    assert "deleted 4 resources" in first and f"Resources of '{learner.config.participant}' remaining: 0" in first
    assert teardown.remaining(learner) == []
    assert main(["teardown", "--yes"]) == 0
    assert "deleted 0 resources" in capsys.readouterr().out


def test_teardown_lists_what_it_would_delete_and_keeps_everything_when_told_no(learner, monkeypatch, capsys):
    dynamodb.ensure_table(learner)
    prompts = _answer(monkeypatch, "n")
    assert main(["teardown"]) == 1
    out = capsys.readouterr().out
    assert f"DynamoDB table {learner.config.table_name}" in out and "Nothing deleted." in out
    assert prompts == ["Delete these 1 resources? [y/N] "]
    assert teardown.remaining(learner) == [f"DynamoDB table {learner.config.table_name}"]


def test_teardown_deletes_after_a_yes(learner, monkeypatch, capsys):
    dynamodb.ensure_table(learner)
    _answer(monkeypatch, "yes")
    assert main(["teardown"]) == 0
    assert teardown.remaining(learner) == []


def test_teardown_all_participants_asks_then_removes_everyone(monkeypatch, tmp_path, capsys):
    """In a localcloud of its own, so that it cannot touch other tests' participants."""
    with LocalCloud(port=0, state_dir=tmp_path) as own_cloud:
        for name, value in own_cloud.client_environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("LOCALCLOUD_PORT", str(own_cloud.port))
        first = connect(Config(participant="alice", localcloud_port=own_cloud.port))
        second = teardown.for_participant(first, "bob")
        dynamodb.ensure_table(first)
        dynamodb.ensure_table(second)
        prompts = _answer(monkeypatch, "y")
        assert main(["teardown", "--all-participants"]) == 0
        out = capsys.readouterr().out
        assert "alice: DynamoDB table alice-orders" in out and "bob: DynamoDB table bob-orders" in out
        assert len(prompts) == 1
        assert teardown.participants(first) == []
        assert main(["teardown", "--all-participants", "--yes"]) == 0
        assert "No participant has kit resources here" in capsys.readouterr().out


def _intercept(client, operation: str, answers) -> None:
    """Answer operation with the next of answers, (HTTP status, parsed body), instead of sending it to localcloud.

    This is how a test makes AWS behaviour localcloud does not have, such as a pipe that stays DELETING for
    minutes or a table still CREATING. Once answers runs out, calls go through again.
    """
    answers = iter(answers)

    def answer(**_):
        status, body = next(answers, (None, None))
        return None if status is None else (AWSResponse("https://intercepted.invalid", status, {}, None), body)

    client.meta.events.register(f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}", answer)


def _error(code: str, message: str) -> tuple[int, dict]:
    return 400, {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}


def test_teardown_finds_what_is_tagged_for_the_participant_under_any_name_and_only_that(learner, capsys):
    ddb, p = learner.client("dynamodb"), learner.config.participant
    neighbour = teardown.for_participant(learner, f"{p}-x")   # its names start with p- too
    dynamodb.ensure_table(learner)
    dynamodb.ensure_table(neighbour)
    keys = {"AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}
    ddb.create_table(TableName=f"{p}-orders-copy", Tags=learner.config.tag_list(), **keys)
    ddb.create_table(TableName=f"{p}-scratch", **keys)   # not tagged: not the kit's

    assert teardown.remaining(learner) == [f"DynamoDB table {p}-orders", f"DynamoDB table {p}-orders-copy"]
    assert main(["teardown", "--yes"]) == 0
    assert f"deleted  DynamoDB table {p}-orders-copy" in capsys.readouterr().out
    assert teardown.remaining(learner) == []
    left = ddb.list_tables()["TableNames"]
    assert f"{p}-scratch" in left and neighbour.config.table_name in left
    ddb.delete_table(TableName=f"{p}-scratch")
    teardown.teardown(neighbour, progress=False)


def test_teardown_waits_for_a_table_that_is_still_being_created_and_says_so(learner, monkeypatch, capsys):
    monkeypatch.setattr(teardown, "POLL_SECONDS", 0.05)
    dynamodb.ensure_table(learner)
    _intercept(learner.client("dynamodb"), "DeleteTable",
               [_error("ResourceInUseException", "Attempt to change a resource which is still in use")])
    report = teardown.teardown(learner, progress=False)
    assert f"DynamoDB table {learner.config.table_name} is still being created or updated " \
           "(ResourceInUseException); waiting to delete it" in capsys.readouterr().out
    assert report.deleted == [f"DynamoDB table {learner.config.table_name}"]
    assert report.remaining == [] and report.problems == []


def test_a_pipe_still_deleting_keeps_its_table_stream_and_role_and_the_report_says_to_run_again(learner, monkeypatch):
    monkeypatch.setattr(teardown, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(teardown, "CONSUMERS_TIMEOUT", 0.2)
    course.catch_up(learner, "04", verbose=False)
    c = learner.config
    _intercept(learner.client("pipes"), "DeletePipe", [(200, {"Name": c.pipe_name, "CurrentState": "DELETING"})])

    report = teardown.teardown(learner, progress=False)   # AWS accepted the delete, but the pipe is still there
    assert report.deleted == [f"EventBridge pipe {c.pipe_name}"]
    assert report.remaining == [f"EventBridge pipe {c.pipe_name}", f"Kinesis stream {c.kinesis_stream_name}",
                                f"DynamoDB table {c.table_name}", f"IAM role {c.role_name('pipe')}"]
    text = str(report)
    assert f"still being deleted after 0 s: EventBridge pipe {c.pipe_name}" in text
    assert "kept what" in text and "Run `python -m workshop teardown --yes` again in a few minutes" in text

    again = teardown.teardown(learner, progress=False)   # the pipe is really deleted this time
    assert again.remaining == [] and again.problems == []


def test_a_deletion_that_does_not_finish_in_time_is_reported_not_raised(learner, monkeypatch):
    monkeypatch.setattr(teardown, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(teardown, "VERIFY_TIMEOUT", 0.2)
    kinesis.ensure_stream(learner)
    name = learner.config.kinesis_stream_name
    _intercept(learner.client("kinesis"), "DeleteStream", [(200, {})])
    report = teardown.teardown(learner, progress=False)
    assert report.remaining == [f"Kinesis stream {name}"]
    assert f"problem  still being deleted after 0 s: Kinesis stream {name}. Run `python -m workshop teardown " \
           "--yes` again" in str(report)
    assert teardown.teardown(learner, progress=False).remaining == []


def test_teardown_all_participants_reports_a_failure_and_goes_on_to_the_next(monkeypatch, tmp_path, capsys):
    """In a localcloud of its own, so that it cannot touch other tests' participants."""
    with LocalCloud(port=0, state_dir=tmp_path) as own_cloud:
        for name, value in own_cloud.client_environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("LOCALCLOUD_PORT", str(own_cloud.port))
        alice = connect(Config(participant="alice", localcloud_port=own_cloud.port))
        bob = teardown.for_participant(alice, "bob")
        iam.ensure_role(alice, "pipe")
        policy = alice.client("iam").create_policy(PolicyName="extra", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket",
                                                    "Resource": "arn:aws:s3:::extra"}]}))["Policy"]["Arn"]
        alice.client("iam").attach_role_policy(RoleName=alice.config.role_name("pipe"), PolicyArn=policy)
        dynamodb.ensure_table(bob)

        assert main(["teardown", "--all-participants", "--yes"]) == 1
        out = capsys.readouterr().out
        assert "problem  could not delete IAM role alice-sales-cdc-pipe-role" in out and "DeleteConflict" in out
        assert "Resources of 'alice' remaining: 1 -> IAM role alice-sales-cdc-pipe-role" in out
        assert "Resources of 'bob' remaining: 0" in out
        assert teardown.participants(alice) == ["alice"]


# ---- cost -------------------------------------------------------------------------------------------
def test_cost_prints_a_dollar_total_for_the_participants_labelled_as_an_estimate(capsys):
    assert main(["cost", "--hours", "8", "--participants", "20"]) == 0
    out = capsys.readouterr().out
    total = re.search(r"total\s+\$\s*([\d,]+\.\d\d)\s+for 20 participant", out)
    assert total and float(total[1].replace(",", "")) == round(estimate(Usage(hours=8), participants=20).total, 2)
    assert RATES_AS_OF in out and "estimates" in out


def test_cost_says_where_each_rate_comes_from_and_what_it_does_not_price(capsys):
    assert main(["cost"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")}
    assert lines["Lambda"].endswith("[rate: AWS pricing page]")
    assert lines["Kinesis"].endswith("[rate: unconfirmed]") and lines["Glue"].endswith("[rate: secondary source]")
    assert "600 LISTs by the monitor" in lines["S3"] and lines["S3"].endswith("[rates: unconfirmed, secondary source]")
    assert lines["not"].startswith("  not priced (no rate in the sources): CloudWatch Logs")


def test_the_monitors_s3_listings_are_priced_at_the_list_rate():
    def s3_dollars(usage: Usage) -> float:
        return next(line.dollars for line in estimate(usage).lines if line.service == "S3")

    # 10 minutes of refreshes every 2 s, each listing orders/ and errors/: 600 LISTs at $5 per million.
    assert s3_dollars(Usage()) - s3_dollars(Usage(monitor_minutes=0)) == pytest.approx(600 * 5 / 1e6)


def test_cost_with_no_hours_says_what_to_give(capsys):
    assert main(["cost", "--hours", "0"]) == 2
    assert "hours must be more than 0" in capsys.readouterr().err


# ---- aws-mode account confirmation ------------------------------------------------------------------
@pytest.fixture
def aws_mode(cloud, aws_env, monkeypatch) -> Connection:
    """An aws-mode connection (as the kit builds one) that reaches localcloud, so nothing leaves this machine."""
    monkeypatch.delenv(safety.CONFIRM_VARIABLE, raising=False)
    return Connection(config=Config(mode="aws", participant=_participant()),
                      session=boto3.Session(region_name="us-east-1"), endpoint_url=cloud.endpoint_url)


def test_local_mode_never_asks_to_confirm(learner, monkeypatch):
    _never_ask(monkeypatch)
    safety.confirm_account(learner)


def test_the_confirm_variable_matching_the_account_confirms_without_a_prompt(aws_mode, monkeypatch):
    _never_ask(monkeypatch)
    monkeypatch.setenv(safety.CONFIRM_VARIABLE, aws_mode.account_id)
    safety.confirm_account(aws_mode)


def test_the_confirm_variable_naming_another_account_stops_with_both_ids(aws_mode, monkeypatch):
    _never_ask(monkeypatch)
    monkeypatch.setenv(safety.CONFIRM_VARIABLE, "999999999999")
    with pytest.raises(safety.AccountNotConfirmed, match="999999999999.*123456789012"):
        safety.confirm_account(aws_mode)


def test_a_yes_at_the_prompt_confirms_after_showing_account_and_region(aws_mode, monkeypatch, capsys):
    prompts = _answer(monkeypatch, "yes")
    safety.confirm_account(aws_mode)
    shown = capsys.readouterr().out + "".join(prompts)
    assert "account 123456789012" in shown and "region us-east-1" in shown
    assert len(prompts) == 1


def test_anything_but_yes_at_the_prompt_stops_and_says_how_to_confirm(aws_mode, monkeypatch):
    _answer(monkeypatch, "")
    with pytest.raises(safety.AccountNotConfirmed, match="WORKSHOP_CONFIRM_ACCOUNT=123456789012"):
        safety.confirm_account(aws_mode)


def test_a_participant_whose_tagged_table_exists_is_not_asked_again(aws_mode, monkeypatch):
    dynamodb.ensure_table(aws_mode)
    _never_ask(monkeypatch)
    safety.confirm_account(aws_mode)


# ---- python -m workshop run, in aws mode -------------------------------------------------------------
def test_run_in_aws_mode_lists_what_it_would_delete_and_deletes_nothing_without_a_yes(aws_mode, monkeypatch,
                                                                                      capsys):
    dynamodb.ensure_table(aws_mode)   # the participant started, so confirm_account alone would not ask
    prompts = _answer(monkeypatch, "n")
    with pytest.raises(safety.AccountNotConfirmed, match="nothing was deleted or created in account 123456789012"):
        runner.start_clean(aws_mode)
    out = capsys.readouterr().out
    assert f"DynamoDB table {aws_mode.config.table_name}" in out and "account 123456789012" in out
    assert prompts == ["Delete them and run the course in account 123456789012 (us-east-1)? [y/N] "]
    assert teardown.remaining(aws_mode) == [f"DynamoDB table {aws_mode.config.table_name}"]


def test_run_in_aws_mode_refuses_when_the_confirm_variable_names_another_account(aws_mode, monkeypatch):
    dynamodb.ensure_table(aws_mode)
    _never_ask(monkeypatch)
    monkeypatch.setenv(safety.CONFIRM_VARIABLE, "999999999999")
    with pytest.raises(safety.AccountNotConfirmed, match="999999999999.*123456789012"):
        runner.start_clean(aws_mode)
    assert teardown.remaining(aws_mode) != []


def test_run_in_aws_mode_with_the_confirm_variable_starts_clean_and_lets_the_notebooks_through(aws_mode,
                                                                                               monkeypatch):
    dynamodb.ensure_table(aws_mode)
    _never_ask(monkeypatch)
    monkeypatch.setenv(safety.CONFIRM_VARIABLE, "123456789012")
    runner.start_clean(aws_mode)
    assert teardown.remaining(aws_mode) == []
    assert os.environ[safety.CONFIRM_VARIABLE] == "123456789012"   # what the notebooks' kernels inherit


def test_python_m_workshop_run_in_aws_mode_stops_with_a_message_when_not_confirmed(aws_mode, monkeypatch, capsys):
    dynamodb.ensure_table(aws_mode)
    monkeypatch.setattr(runner, "connect", lambda: aws_mode)   # connect() itself refuses localcloud in aws mode
    _answer(monkeypatch, "no")
    assert main(["run"]) == 2
    assert "Configuration problem: Stopped: nothing was deleted" in capsys.readouterr().err
    assert teardown.remaining(aws_mode) == [f"DynamoDB table {aws_mode.config.table_name}"]
