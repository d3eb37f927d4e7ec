"""Glue classifiers through boto3: create, read, list, update and delete, and the errors a learner can hit."""

from __future__ import annotations

import uuid

import boto3
import pytest


@pytest.fixture(scope="module")
def glue(cloud):
    """One client for the module: creating a Glue client costs ~0.2 s, too much to pay per test."""
    environment = cloud.client_environment()
    return boto3.client("glue", endpoint_url=cloud.endpoint_url, region_name=environment["AWS_REGION"],
                        aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_json_classifier_round_trips_with_version_and_times(glue):
    name = unique("orders-json")
    glue.create_classifier(JsonClassifier={"Name": name, "JsonPath": "$[*]"})

    classifier = glue.get_classifier(Name=name)["Classifier"]

    assert set(classifier) == {"JsonClassifier"}
    stored = classifier["JsonClassifier"]
    assert (stored["Name"], stored["JsonPath"], stored["Version"]) == (name, "$[*]", 1)
    assert stored["CreationTime"] == stored["LastUpdated"]


def test_csv_grok_and_xml_classifiers_are_stored_as_given(glue):
    csv, grok, xml = unique("csv"), unique("grok"), unique("xml")
    glue.create_classifier(CsvClassifier={"Name": csv, "Delimiter": ";", "QuoteSymbol": "'",
                                          "ContainsHeader": "PRESENT", "Header": ["id", "amount"]})
    glue.create_classifier(GrokClassifier={"Name": grok, "Classification": "applog",
                                           "GrokPattern": "%{TIMESTAMP_ISO8601:ts} %{GREEDYDATA:message}"})
    glue.create_classifier(XMLClassifier={"Name": xml, "Classification": "orders", "RowTag": "order"})

    assert glue.get_classifier(Name=csv)["Classifier"]["CsvClassifier"]["Header"] == ["id", "amount"]
    assert glue.get_classifier(Name=grok)["Classifier"]["GrokClassifier"]["Classification"] == "applog"
    assert glue.get_classifier(Name=xml)["Classifier"]["XMLClassifier"]["RowTag"] == "order"


def test_get_classifiers_pages_through_every_classifier(glue):
    names = {unique("page") for _ in range(3)}
    for name in names:
        glue.create_classifier(JsonClassifier={"Name": name, "JsonPath": "$"})

    listed = [classifier for page in glue.get_paginator("get_classifiers").paginate(PaginationConfig={"PageSize": 2})
              for classifier in page["Classifiers"]]

    listed_names = [next(iter(classifier.values()))["Name"] for classifier in listed]
    assert names <= set(listed_names)
    assert len(listed_names) == len(set(listed_names))


def test_update_classifier_changes_the_path_and_bumps_the_version(glue):
    name = unique("update")
    glue.create_classifier(JsonClassifier={"Name": name, "JsonPath": "$[*]"})

    glue.update_classifier(JsonClassifier={"Name": name, "JsonPath": "$.records[*]"})

    stored = glue.get_classifier(Name=name)["Classifier"]["JsonClassifier"]
    assert (stored["JsonPath"], stored["Version"]) == ("$.records[*]", 2)
    assert stored["LastUpdated"] >= stored["CreationTime"]


def test_update_with_another_kind_is_invalid_input(glue):
    name = unique("kind")
    glue.create_classifier(JsonClassifier={"Name": name, "JsonPath": "$[*]"})

    with pytest.raises(glue.exceptions.InvalidInputException, match="JsonClassifier"):
        glue.update_classifier(CsvClassifier={"Name": name, "Delimiter": ","})


def test_delete_classifier_removes_it(glue):
    name = unique("delete")
    glue.create_classifier(JsonClassifier={"Name": name, "JsonPath": "$[*]"})

    glue.delete_classifier(Name=name)

    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_classifier(Name=name)


def test_duplicate_name_is_already_exists_even_for_another_kind(glue):
    name = unique("dup")
    glue.create_classifier(JsonClassifier={"Name": name, "JsonPath": "$[*]"})

    with pytest.raises(glue.exceptions.AlreadyExistsException, match=name):
        glue.create_classifier(CsvClassifier={"Name": name})


@pytest.mark.parametrize("call", ["get_classifier", "delete_classifier", "update_classifier"])
def test_missing_classifier_is_entity_not_found(glue, call):
    name = unique("missing")
    arguments = ({"JsonClassifier": {"Name": name, "JsonPath": "$[*]"}} if call == "update_classifier"
                 else {"Name": name})

    with pytest.raises(glue.exceptions.EntityNotFoundException, match=name):
        getattr(glue, call)(**arguments)


@pytest.mark.parametrize("json_path, problem", [
    ("records[*]", "must start with '\\$'"),
    ("$..id", "recursive descent"),
    ("$[?(@.amount > 1)]", "not valid at"),
    ("$.records[0:2]", "not valid at"),
    ("", "must start with"),
])
def test_invalid_json_path_is_invalid_input_with_a_hint(glue, json_path, problem):
    with pytest.raises(glue.exceptions.InvalidInputException, match=problem) as raised:
        glue.create_classifier(JsonClassifier={"Name": unique("bad"), "JsonPath": json_path})

    assert "$[*]" in str(raised.value)


@pytest.mark.parametrize("json_path", ["$", "$[*]", "$.records[*]", "$['records'][*].items[0]", "$.*"])
def test_supported_json_paths_are_accepted(glue, json_path):
    name = unique("good")
    glue.create_classifier(JsonClassifier={"Name": name, "JsonPath": json_path})

    assert glue.get_classifier(Name=name)["Classifier"]["JsonClassifier"]["JsonPath"] == json_path


def test_invalid_update_leaves_the_classifier_unchanged(glue):
    name = unique("keep")
    glue.create_classifier(JsonClassifier={"Name": name, "JsonPath": "$[*]"})

    with pytest.raises(glue.exceptions.InvalidInputException):
        glue.update_classifier(JsonClassifier={"Name": name, "JsonPath": "$..x"})

    stored = glue.get_classifier(Name=name)["Classifier"]["JsonClassifier"]
    assert (stored["JsonPath"], stored["Version"]) == ("$[*]", 1)


def test_csv_classifier_with_same_delimiter_and_quote_is_invalid_input(glue):
    with pytest.raises(glue.exceptions.InvalidInputException, match="different"):
        glue.create_classifier(CsvClassifier={"Name": unique("csv"), "Delimiter": ",", "QuoteSymbol": ","})


def test_request_without_a_classifier_is_invalid_input(glue):
    with pytest.raises(glue.exceptions.InvalidInputException, match="exactly one"):
        glue.create_classifier()


def test_grok_classifier_without_classification_is_invalid_input(glue):
    with pytest.raises(glue.exceptions.InvalidInputException, match="Classification"):
        glue.create_classifier(GrokClassifier={"Name": unique("grok"), "Classification": "",
                                               "GrokPattern": "%{GREEDYDATA:line}"})
