"""botocore decides the wire protocol each client speaks; localcloud understands exactly these.

The router recognises operations by X-Amz-Target (JSON protocols) or by method and path (REST ones, see
localcloud/router.py REST_ROUTES), and moto 5.2.5 parses requests in these protocols. A botocore release can move
a service to another protocol: 1.44.18 moved Athena to REST-JSON, and every Athena call then ended in moto's
HTML 404 page. boto3 and botocore are pinned in pyproject.toml; this test says what to review before an upgrade.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import botocore
import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

PROTOCOLS_LOCALCLOUD_SERVES = {
    "dynamodb": "json",
    "dynamodbstreams": "json",
    "kinesis": "json",
    "pipes": "rest-json",
    "lambda": "rest-json",
    "firehose": "json",
    "s3": "rest-xml",
    "iam": "query",
    "sts": "query",
    "logs": "json",
    "glue": "json",
    "athena": "json",
}


@pytest.mark.parametrize("service", sorted(PROTOCOLS_LOCALCLOUD_SERVES))
def test_botocore_speaks_the_protocol_localcloud_serves(service):
    spoken = botocore.session.get_session().get_service_model(service).protocol
    expected = PROTOCOLS_LOCALCLOUD_SERVES[service]
    assert spoken == expected, (
        f"botocore {botocore.__version__} speaks {spoken} to {service}; localcloud's router and moto understand "
        f"{expected}. Keep boto3 and botocore at the versions pyproject.toml pins, or teach localcloud the new "
        "protocol before upgrading.")


def test_a_request_in_another_protocol_gets_an_error_that_says_what_to_do(cloud):
    """What botocore 1.44.18's Athena client sends: REST-JSON, the operation in the path, no X-Amz-Target."""
    request = AWSRequest(method="POST", url=f"{cloud.endpoint_url}/query-executions", data=b'{"QueryString": "SELECT 1"}',
                         headers={"Content-Type": "application/json", "User-Agent": "Boto3/1.44.18 Botocore/1.44.18"})
    SigV4Auth(Credentials("localcloud", "localcloud"), "athena", "us-east-1").add_auth(request)
    prepared = request.prepare()
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(urllib.request.Request(prepared.url, data=prepared.body, method="POST",
                                                      headers=dict(prepared.headers)), timeout=30)
    assert raised.value.code == 400
    assert raised.value.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    message = json.loads(raised.value.read())["message"]
    assert "botocore 1.44.18 speaks another protocol to athena" in message
    assert "pyproject.toml" in message
