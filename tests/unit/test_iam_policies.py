"""Every IAM policy the kit creates is least privilege: parliament finds nothing, ARNs are exact."""

from __future__ import annotations

import json

import pytest
from parliament import analyze_policy_string

from workshop.config import ROLE_PURPOSES, Config
from workshop.steps.iam import permissions_policy, trust_policy

ACCOUNT = "123456789012"
# The only statement allowed a wildcard resource, because IAM accepts nothing else for the action.
STAR_ALLOWED = {"ListStreamsAcceptsOnlyStar": ["dynamodb:ListStreams"]}


@pytest.mark.parametrize("purpose", ROLE_PURPOSES)
def test_parliament_reports_no_findings_for_the_role_policy(purpose):
    policy = json.dumps(permissions_policy(purpose, Config(participant="alice"), ACCOUNT))
    findings = analyze_policy_string(policy, include_community_auditors=True).findings
    assert [(f.issue, f.detail) for f in findings] == []


@pytest.mark.parametrize("purpose", ROLE_PURPOSES)
def test_no_wildcard_resource_except_where_iam_requires_it(purpose):
    for statement in permissions_policy(purpose, Config(participant="alice"), ACCOUNT)["Statement"]:
        if "*" in statement["Resource"]:
            assert STAR_ALLOWED.get(statement["Sid"]) == statement["Action"], statement
        assert not any(action.endswith(":*") for action in statement["Action"]), statement


@pytest.mark.parametrize("purpose", ROLE_PURPOSES)
def test_every_scoped_resource_belongs_to_the_participant(purpose):
    for statement in permissions_policy(purpose, Config(participant="alice"), ACCOUNT)["Statement"]:
        for resource in statement["Resource"]:
            if resource == "*" or resource.endswith(":catalog") or "/aws-glue/crawlers" in resource:
                continue
            assert "alice" in resource, f"{statement['Sid']} reaches beyond alice's resources: {resource}"


@pytest.mark.parametrize("purpose", ROLE_PURPOSES)
def test_trust_policy_lets_only_its_own_service_assume_the_role(purpose):
    statements = trust_policy(purpose, ACCOUNT)["Statement"]
    assert len(statements) == 1
    principal = statements[0]["Principal"]["Service"]
    assert principal.endswith(".amazonaws.com") and isinstance(principal, str)
    assert statements[0]["Action"] == "sts:AssumeRole"
