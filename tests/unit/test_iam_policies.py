"""Every IAM policy the kit creates is least privilege: parliament finds nothing, ARNs are exact.

That covers both kinds of policy on each role: the inline permissions policy and the trust policy.
"""

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


def trust_findings(policy: dict, role_arn: str) -> list[tuple[str, object]]:
    """parliament's findings for a trust policy, linted as AWS evaluates it: with the role as its Resource.

    parliament wants a Resource in every statement; a trust policy has none because its resource is the
    role it is attached to. Its credentials-exposure auditor, written for identity policies, reports
    sts:AssumeRole itself, which is what a trust policy is for: that one finding, for that action alone,
    is expected. Any other finding, or that one for any other action, is returned.
    """
    linted = {**policy, "Statement": [{**statement, "Resource": role_arn} for statement in policy["Statement"]]}
    findings = analyze_policy_string(json.dumps(linted), include_community_auditors=True).findings
    return [(f.issue, f.location) for f in findings
            if (f.issue, f.location.get("actions")) != ("CREDENTIALS_EXPOSURE", ["sts:assumerole"])]


@pytest.mark.parametrize("purpose", ROLE_PURPOSES)
def test_parliament_reports_no_findings_for_the_trust_policy(purpose):
    role_arn = Config(participant="alice").role_arn(purpose, ACCOUNT)
    assert trust_findings(trust_policy(purpose, ACCOUNT), role_arn) == []


def test_the_trust_policy_lint_can_fail():
    policy = trust_policy("pipe", ACCOUNT)
    policy["Statement"][0]["Action"] = "sts:AssumeRoles"
    findings = trust_findings(policy, Config(participant="alice").role_arn("pipe", ACCOUNT))
    assert [issue for issue, _ in findings] == ["UNKNOWN_ACTION"]


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
