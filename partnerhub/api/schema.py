"""OpenAPI schema pieces drf-spectacular cannot infer on its own.

* ``AutoSchema`` documents the 4xx answers of every operation. drf-standardized-errors does that only for
  views whose exception handler *is* its own; ours wraps it (to map services' domain errors), so the check
  is widened to accept the wrapper. Numeric ids (``lookup_value_regex = r"\\d+"``) are documented as integers.
  Every write documents 403 (services refuse some actions with ``ActionNotAllowed``; the scoped viewsets
  refuse changes to objects the caller may only see). A request body declared per media type gets its field
  errors documented too, lists document the 400 of DRF's search filter, and the 400 of every write lists the
  ``unknown_field`` / ``read_only`` errors of ``StrictFieldsMixin``, whose ``attr`` is whatever key was sent.
* ``ApiTokenScheme`` describes PartnerHub's API keys: ``Authorization: Token <key>``.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_basic_type, build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from drf_standardized_errors.openapi_serializers import ValidationErrorEnum
from drf_standardized_errors.openapi_utils import (
    get_error_serializer,
    get_flat_serializer_fields,
    get_serializer_fields_with_error_codes,
)
from inflection import camelize
from rest_framework import serializers
from rest_framework.filters import SearchFilter

from partnerhub.api.exceptions import exception_handler as partnerhub_exception_handler

NUMERIC_ID = {"type": "string", "pattern": r"^\d+$"}
WRITE_METHODS = ("PUT", "PATCH", "POST")


class UnknownFieldErrorSerializer(serializers.Serializer):
    """A key the serializer does not accept (`unknown_field`) or may not set (`read_only`)."""

    attr = serializers.CharField(help_text="The key as it was sent.")
    code = serializers.ChoiceField(choices=[("unknown_field", "unknown_field"), ("read_only", "read_only")])
    detail = serializers.CharField()

    class Meta:
        # The "ErrorComponent" suffix keeps drf-standardized-errors' enum hook away from its choices.
        ref_name = "UnknownFieldErrorComponent"


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

    def _should_add_http403_error_response(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS") or super()._should_add_http403_error_response()

    def _media_type_request_serializer(self):
        """The serializer of ``request={"multipart/form-data": Serializer}``, which the base does not unwrap."""
        request = self.get_request_serializer() if self.method in WRITE_METHODS else None
        if isinstance(request, dict) and request:
            return next(iter(request.values()))
        return None

    def _search_filter_applies(self) -> bool:
        # DRF's SearchFilter refuses a ?search= holding NUL characters (400, attr null) on every list it filters,
        # whether or not the view names search fields.
        return self.method == "GET" and any(issubclass(b, SearchFilter) for b in self.get_filter_backends())

    def _should_add_validation_error_response(self) -> bool:
        return (
            super()._should_add_validation_error_response()
            or self._media_type_request_serializer() is not None
            or self._search_filter_applies()
        )

    def _get_validation_error_codes_by_field(self, data_fields):
        codes = super()._get_validation_error_codes_by_field(data_fields)
        if self._search_filter_applies():
            codes[None].add("null_characters_not_allowed")
        return codes

    def _determine_fields_with_error_codes(self):
        serializer = self._media_type_request_serializer()
        if serializer is None:
            return super()._determine_fields_with_error_codes()
        return get_serializer_fields_with_error_codes(get_flat_serializer_fields(serializer))

    def _get_serializer_for_validation_error_response(self):
        if self.method not in WRITE_METHODS:
            return super()._get_serializer_for_validation_error_response()
        # As drf_standardized_errors.openapi_utils.get_validation_error_serializer, plus the unknown-key errors.
        # Their ``attr`` is any string, so the list is a plain oneOf: no ``attr`` discriminator can map it.
        codes_by_field = self._get_validation_error_codes_by_field(self._determine_fields_with_error_codes())
        operation_id = self.get_operation_id()
        field_errors = [get_error_serializer(operation_id, name, codes) for name, codes in codes_by_field.items()]

        class ValidationErrorSerializer(serializers.Serializer):
            type = serializers.ChoiceField(choices=ValidationErrorEnum.choices)
            errors = PolymorphicProxySerializer(
                component_name=f"{camelize(operation_id)}Error",
                serializers=[*field_errors, UnknownFieldErrorSerializer],
                resource_type_field_name=None,
                many=True,
            )

            class Meta:
                ref_name = f"{camelize(operation_id)}ValidationError"

        return ValidationErrorSerializer

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


def list_item_error_attrs(result, generator, request, public):
    """drf-standardized-errors names the errors of a list's items ``field.INDEX`` and of a mapping's values
    ``field.KEY``; responses carry the item's position or key (``proofs.0``, ``schedule.1.0``). Document such an
    ``attr`` as a pattern instead of an enum, so that the schema matches what the API sends."""
    import re

    for component in result.get("components", {}).get("schemas", {}).values():
        attr = component.get("properties", {}).get("attr") if isinstance(component, dict) else None
        if not attr or attr.get("type") != "string" or len(attr.get("enum") or ()) != 1:
            continue
        name = attr["enum"][0]
        placeholders = {"INDEX": r"\d+", "KEY": r"[^.]+"}
        if not isinstance(name, str) or not placeholders.keys() & set(name.split(".")):
            continue
        parts = [placeholders.get(part, re.escape(part)) for part in name.split(".")]
        attr.pop("enum")
        attr["pattern"] = "^" + r"\.".join(parts) + "$"
        attr["description"] = f"`{name}`: INDEX is an item's position in a list (from 0), KEY a key of a mapping"
    return result
