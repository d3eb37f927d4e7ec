"""AWS errors, as the intercepted operations return them.

botocore turns the error code into an exception class (`client.exceptions.ResourceNotFoundException`),
so the code must be exactly AWS's. The message should say what to fix: a learner reads it.
"""

from __future__ import annotations


class AwsError(Exception):
    """An error response: AWS error code, HTTP status and a message."""

    code = "InternalFailure"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class ValidationException(AwsError):
    code = "ValidationException"


class InvalidArgumentException(AwsError):
    code = "InvalidArgumentException"


class InvalidRequestException(AwsError):
    code = "InvalidRequestException"


class ResourceNotFoundException(AwsError):
    code = "ResourceNotFoundException"
    status = 404


class ResourceInUseException(AwsError):
    code = "ResourceInUseException"


class EntityNotFoundException(AwsError):
    code = "EntityNotFoundException"


class AlreadyExistsException(AwsError):
    code = "AlreadyExistsException"


class InvalidInputException(AwsError):
    code = "InvalidInputException"


class CrawlerRunningException(AwsError):
    code = "CrawlerRunningException"


class CrawlerNotRunningException(AwsError):
    code = "CrawlerNotRunningException"


class CrawlerStoppingException(AwsError):
    code = "CrawlerStoppingException"


class InvalidParameterValueException(AwsError):
    code = "InvalidParameterValueException"


class ServiceException(AwsError):
    code = "ServiceException"
    status = 500


class NotFoundException(AwsError):
    """Pipes' (and other REST services') code for a resource that does not exist."""

    code = "NotFoundException"
    status = 404


class ConflictException(AwsError):
    code = "ConflictException"
    status = 409
