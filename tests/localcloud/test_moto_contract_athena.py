"""What the Athena engine relies on in moto 5.2.5: if an upgrade changes any of it, these fail first.

Workgroups live in moto's Athena backend, read and changed through localcloud.moto_state.athena, while
localcloud answers the query and workgroup calls moto gets wrong. Tagging stays moto's.
"""

from __future__ import annotations

import uuid

import pytest

from localcloud.moto_state.athena import AthenaWorkGroups

ACCOUNT = "123456789012"


@pytest.fixture
def athena(session):
    return session.client("athena")


def _name() -> str:
    return f"contract-{uuid.uuid4().hex[:8]}"


def test_moto_starts_with_a_primary_workgroup_that_has_no_output_location_and_is_not_enforced():
    primary = AthenaWorkGroups(ACCOUNT, "us-east-1").get("primary")
    assert primary["State"] == "ENABLED"
    assert primary["Configuration"]["EnforceWorkGroupConfiguration"] is False
    assert "OutputLocation" not in primary["Configuration"]["ResultConfiguration"]


def test_moto_fills_the_configuration_defaults_of_a_new_workgroup(athena):
    name = _name()
    AthenaWorkGroups(ACCOUNT, "us-east-1").create(name, {"BytesScannedCutoffPerQuery": 10_000_000}, "", [])
    configuration = athena.get_work_group(WorkGroup=name)["WorkGroup"]["Configuration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["EngineVersion"] == {"SelectedEngineVersion": "AUTO",
                                              "EffectiveEngineVersion": "Athena engine version 3"}
    assert configuration["PublishCloudWatchMetricsEnabled"] is False
    assert configuration["BytesScannedCutoffPerQuery"] == 10_000_000


def test_moto_tags_workgroups_and_the_tagging_api_finds_them(athena, session):
    name = _name()
    athena.create_work_group(Name=name, Tags=[{"Key": "project", "Value": "contract"}])
    arn = f"arn:aws:athena:us-east-1:{ACCOUNT}:workgroup/{name}"
    athena.tag_resource(ResourceARN=arn, Tags=[{"Key": "extra", "Value": "1"}])
    assert {"Key": "extra", "Value": "1"} in AthenaWorkGroups(ACCOUNT, "us-east-1").tags(name)
    tagged = session.client("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": "project", "Values": ["contract"]}], ResourceTypeFilters=["athena:workgroup"])
    assert arn in [resource["ResourceARN"] for resource in tagged["ResourceTagMappingList"]]


def test_moto_named_queries_belong_to_their_workgroup_object(athena):
    name = _name()
    athena.create_work_group(Name=name)
    athena.create_named_query(Name="saved", Database="default", QueryString="SELECT 1", WorkGroup=name)
    workgroups = AthenaWorkGroups(ACCOUNT, "us-east-1")
    assert workgroups.saved_contents(name) == ["saved"]
    workgroups.delete(name)
    assert not workgroups.exists(name)
    assert workgroups.saved_contents(name) == []
