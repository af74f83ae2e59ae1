"""SageMaker's own error codes, worded as the service words them.

The SDKs match on these: SDK 2.x's ``_deployment_entity_exists`` looks for
"Could not find", the ``endpoint_deleted`` waiter succeeds on
ValidationException, and duplicate training job names are ResourceInUse.
"""

from __future__ import annotations

from ..wire import WireError


class ValidationException(WireError):
    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


class ResourceNotFound(WireError):
    def __init__(self, message: str) -> None:
        super().__init__("ResourceNotFound", message)


class ResourceInUse(WireError):
    def __init__(self, message: str) -> None:
        super().__init__("ResourceInUse", message)


class ResourceLimitExceeded(WireError):
    def __init__(self, message: str) -> None:
        super().__init__("ResourceLimitExceeded", message)


def could_not_find(kind: str, arn: str) -> ValidationException:
    return ValidationException(f'Could not find {kind} "{arn}".')


def already_exists(kind: str, arn: str) -> ValidationException:
    return ValidationException(f'Cannot create already existing {kind} "{arn}".')
