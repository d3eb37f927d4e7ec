"""Resource names, tags and settings all come from workshop.config."""

from __future__ import annotations

import pytest

from workshop.config import Config, ConfigError

ACCOUNT = "123456789012"


def test_defaults_are_local_mode_us_east_1_and_participant_learner():
    config = Config.from_env({})
    assert (config.mode, config.region, config.participant, config.localcloud_port) == \
        ("local", "us-east-1", "learner", 4566)


def test_environment_variables_choose_mode_region_participant_and_port():
    config = Config.from_env({"WORKSHOP_MODE": "AWS", "AWS_REGION": "eu-west-1",
                              "WORKSHOP_PARTICIPANT": "team-3", "LOCALCLOUD_PORT": "4577"})
    assert (config.mode, config.region, config.participant, config.localcloud_port) == \
        ("aws", "eu-west-1", "team-3", 4577)


@pytest.mark.parametrize("participant", ["", "Alice", "bob_smith", "3team", "team-", "a--b", "x" * 21, "é", "alice\n"])
def test_invalid_participant_is_rejected_with_what_a_valid_one_looks_like(participant):
    with pytest.raises(ConfigError, match="lowercase letters, digits and single hyphens"):
        Config(participant=participant)


@pytest.mark.parametrize("environ, message", [
    ({"WORKSHOP_MODE": "cloud"}, "is not a mode"),
    ({"AWS_REGION": "mars"}, "is not an AWS region"),
    ({"AWS_REGION": "us-east-1\n"}, "is not an AWS region"),
    ({"LOCALCLOUD_PORT": "http"}, "is not a number"),
    ({"LOCALCLOUD_PORT": "70000"}, "is not a TCP port"),
])
def test_bad_settings_say_what_to_change(environ, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_env(environ)


def test_every_resource_name_carries_the_participant():
    config = Config(participant="alice")
    names = [config.table_name, config.kinesis_stream_name, config.pipe_name, config.lambda_name,
             config.firehose_name, config.bucket_name(ACCOUNT), config.glue_database, config.classifier_name,
             config.crawler_name, config.workgroup_name, config.lambda_log_group,
             *(config.role_name(p) for p in ("pipe", "lambda", "firehose", "crawler"))]
    assert all("alice" in name for name in names)
    assert len(set(names)) == len(names)


def test_two_participants_never_share_a_name():
    alice, bob = Config(participant="alice"), Config(participant="bob")
    assert alice.table_name != bob.table_name
    assert alice.bucket_name(ACCOUNT) != bob.bucket_name(ACCOUNT)
    assert alice.glue_database != bob.glue_database


def test_longest_participant_fits_aws_name_limits_in_the_longest_region():
    config = Config(participant="a" * 20, region="ap-southeast-2")
    assert len(config.bucket_name(ACCOUNT)) <= 63
    assert all(len(config.role_name(p)) <= 64 for p in ("pipe", "lambda", "firehose", "crawler"))
    assert len(config.pipe_name) <= 64


def test_glue_database_uses_underscores_because_athena_dislikes_hyphens():
    assert Config(participant="team-3").glue_database == "team_3_sales_cdc"


def test_tags_name_the_project_and_participant_in_both_aws_shapes():
    config = Config(participant="alice")
    assert config.tags == {"project": "sales-cdc-workshop", "participant": "alice"}
    assert {"Key": "participant", "Value": "alice"} in config.tag_list()


def test_arns_are_built_for_the_configured_region_and_account():
    config = Config(participant="alice", region="eu-west-1")
    assert config.kinesis_stream_arn(ACCOUNT) == "arn:aws:kinesis:eu-west-1:123456789012:stream/alice-orders-stream"
    assert config.role_arn("pipe", ACCOUNT) == "arn:aws:iam::123456789012:role/alice-sales-cdc-pipe-role"
    assert config.table_stream_arn_pattern(ACCOUNT).endswith(":table/alice-orders/stream/*")


def test_unknown_role_purpose_is_an_error():
    with pytest.raises(ConfigError, match="roles for pipe, lambda, firehose, crawler"):
        Config().role_name("athena")
