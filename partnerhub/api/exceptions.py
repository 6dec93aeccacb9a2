"""One JSON error shape for the whole API (drf-standardized-errors), including services' domain errors."""

from drf_standardized_errors.handler import exception_handler as standardized_exception_handler

from partnerhub.api.base import domain_error_to_drf
from partnerhub.errors import DomainError


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        exc = domain_error_to_drf(exc)
    return standardized_exception_handler(exc, context)
