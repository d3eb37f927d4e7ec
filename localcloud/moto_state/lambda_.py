"""Lambda functions in moto's backend: the configuration and deployment package that Invoke needs.

moto stores the function (Runtime, Handler, Timeout, Environment, ...) and keeps the uploaded zip
as `code_bytes`, but it cannot run it. The Lambda engine reads both from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.utils import get_backend
from moto.core import DEFAULT_ACCOUNT_ID

from localcloud.errors import AwsError
from localcloud.moto_state import STATE_LOCK

LATEST = "$LATEST"


@dataclass(frozen=True)
class LambdaFunctionSpec:
    """One version of a function, as GetFunctionConfiguration describes it, plus its zip."""

    name: str
    arn: str  # unqualified: arn:aws:lambda:<region>:<account>:function:<name>
    version: str  # "$LATEST" or a published version number
    runtime: str | None
    handler: str | None
    package_type: str
    timeout: int
    memory_size: int
    code_sha256: str  # base64, as CodeSha256 in the API
    environment: dict[str, str] = field(compare=False)
    code: bytes = field(compare=False, repr=False)

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]

    @property
    def account_id(self) -> str:
        return self.arn.split(":")[4]


class LambdaFunctions:
    """The functions in moto's Lambda backend for one account and region."""

    def __init__(self, account_id: str = DEFAULT_ACCOUNT_ID, region: str = "us-east-1"):
        self.account_id = account_id
        self.region = region

    @property
    def _backend(self) -> Any:
        # moto keeps functions in its "lambda_simple" backend when Docker is off (server.py turns it off).
        return get_backend(self.account_id, self.region)

    def get(self, name_or_arn: str, qualifier: str | None = None) -> LambdaFunctionSpec:
        """The function by name, `name:qualifier` or ARN, as Invoke resolves it.

        Raises the AWS error moto gives, e.g. ResourceNotFoundException "Function not found: arn:...".
        """
        with STATE_LOCK:
            try:
                function = self._backend.get_function(name_or_arn, qualifier)
            except LambdaClientError as error:
                raise AwsError(error.message, code=error.error_type, status=error.code) from None
            return _spec(function)


def _spec(function: Any) -> LambdaFunctionSpec:
    # A published version's ARN ends in ":<version>"; $LATEST's ARN has no qualifier.
    arn, _, version = function.function_arn.partition(f":function:{function.function_name}")
    return LambdaFunctionSpec(
        name=function.function_name,
        arn=f"{arn}:function:{function.function_name}",
        version=version.lstrip(":") or LATEST,
        runtime=function.run_time,
        handler=function.handler,
        package_type=function.package_type,
        timeout=int(function.timeout),
        memory_size=int(function.memory_size),
        code_sha256=function.code_sha_256,
        environment=dict(function.environment_vars or {}),
        code=getattr(function, "code_bytes", b""),
    )
