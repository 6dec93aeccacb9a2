"""OpenAPI schema pieces drf-spectacular cannot infer on its own.

* ``AutoSchema`` documents the 4xx answers of every operation. drf-standardized-errors does that only for
  views whose exception handler *is* its own; ours wraps it (to map services' domain errors), so the check
  is widened to accept the wrapper. Numeric ids (``lookup_value_regex = r"\\d+"``) are documented as integers.
* ``ApiTokenScheme`` describes PartnerHub's API keys: ``Authorization: Token <key>``.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_basic_type, build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema

from partnerhub.api.exceptions import exception_handler as partnerhub_exception_handler

NUMERIC_ID = {"type": "string", "pattern": r"^\d+$"}


class AutoSchema(StandardizedErrorsAutoSchema):
    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        if self.view.get_exception_handler() is not partnerhub_exception_handler:
            return super()._should_add_error_response(responses, status_code)
        if status_code in responses:
            return False  # documented explicitly with extend_schema
        checks = {
            "400": lambda: self._should_add_parse_error_response() or self._should_add_validation_error_response(),
            "401": self._should_add_http401_error_response,
            "403": self._should_add_http403_error_response,
            "404": self._should_add_http404_error_response,
            "405": self._should_add_http405_error_response,
            "406": self._should_add_http406_error_response,
            "415": self._should_add_http415_error_response,
            "429": self._should_add_http429_error_response,
            "500": self._should_add_http500_error_response,
        }
        check = checks.get(status_code)
        return check() if check is not None else True

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter.get("schema") == NUMERIC_ID:
                parameter["schema"] = build_basic_type(OpenApiTypes.INT)
        return parameters


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """``Authorization: Token <key>`` (a django-rest-knox key with the ``ph_`` prefix)."""

    target_class = "partnerhub.api.authentication.ApiTokenAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")  # noqa: S106 (a header prefix)
