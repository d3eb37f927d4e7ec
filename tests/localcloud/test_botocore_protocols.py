"""botocore decides the wire protocol each client speaks; localcloud understands exactly these.

The router recognises operations by X-Amz-Target (JSON protocols) or by method and path (REST ones, see
localcloud/router.py REST_ROUTES), and moto 5.2.5 parses requests in these protocols. A botocore release can move
a service to another protocol: 1.44.18 moved Athena to REST-JSON, and every Athena call then ended in moto's
HTML 404 page. boto3 and botocore are pinned in pyproject.toml; this test says what to review before an upgrade.
"""

from __future__ import annotations

import botocore
import botocore.session
import pytest

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
