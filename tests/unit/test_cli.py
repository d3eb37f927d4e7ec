"""python -m workshop doctor | progress | teardown | cost, and the aws-mode account confirmation, against localcloud."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import uuid

import boto3
import pytest
from botocore.stub import Stubber
from packaging.requirements import Requirement

from localcloud.server import LocalCloud
from workshop import course, doctor, progress, safety, teardown
from workshop.__main__ import build_parser, main
from workshop.config import Config
from workshop.cost import RATES_AS_OF, Usage, estimate
from workshop.session import Connection, connect
from workshop.steps import dynamodb


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


def test_the_permission_check_lists_the_denied_actions_for_the_region():
    iam, stub = _iam_stub()
    config, account = Config(mode="aws", participant="alice", region="eu-west-1"), "111122223333"
    principal = "arn:aws:iam::111122223333:user/alice"
    for resource, actions in doctor.course_permissions(config, account).items():
        stub.add_response("simulate_principal_policy", {"IsTruncated": False, "EvaluationResults": [
            {"EvalActionName": action, "EvalResourceName": resource,
             "EvalDecision": "implicitDeny" if action in ("pipes:CreatePipe", "iam:PassRole") else "allowed"}
            for action in actions]}, {
            "PolicySourceArn": principal, "ActionNames": list(actions), "ResourceArns": [resource],
            "ContextEntries": [{"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": ["eu-west-1"],
                                "ContextKeyType": "string"}]})
    with stub:
        check = doctor.permissions(iam, principal, config, account)
    assert check.status == doctor.FAIL
    assert check.what.startswith("5 of the ")   # CreatePipe on the pipe, PassRole on each of the 4 roles
    assert "pipes:CreatePipe on arn:aws:pipes:eu-west-1:111122223333:pipe/alice-orders-cdc" in check.what


def test_without_access_to_the_policy_simulator_the_permission_check_is_skipped_not_failed():
    iam, stub = _iam_stub()
    stub.add_client_error("simulate_principal_policy", service_error_code="AccessDenied", http_status_code=403)
    with stub:
        check = doctor.permissions(iam, "arn:aws:iam::111122223333:user/alice", Config(mode="aws"), "111122223333")
    assert check.status == doctor.SKIP and "iam:SimulatePrincipalPolicy" in check.what


# ---- progress ---------------------------------------------------------------------------------------
def _progress_rows(out: str) -> dict[tuple[str, str], str]:
    """{(notebook, step): 'done' | 'missing'} from the printed progress table."""
    rows = re.findall(r"^  (\S+)\s+(.+?)\s+(done|missing)$", out, flags=re.MULTILINE)
    return {(notebook, step): state for notebook, step, state in rows}


def test_progress_reads_the_steps_done_from_what_exists_and_names_the_next_notebook(learner, capsys):
    course.catch_up(learner, "04", verbose=False)
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


# ---- cost -------------------------------------------------------------------------------------------
def test_cost_prints_a_dollar_total_for_the_participants_labelled_as_an_estimate(capsys):
    assert main(["cost", "--hours", "8", "--participants", "20"]) == 0
    out = capsys.readouterr().out
    total = re.search(r"total\s+\$\s*([\d,]+\.\d\d)\s+for 20 participant", out)
    assert total and float(total[1].replace(",", "")) == round(estimate(Usage(hours=8), participants=20).total, 2)
    assert RATES_AS_OF in out and "estimates" in out


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
