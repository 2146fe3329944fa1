"""OpenAPI additions: the one error shape on every operation, and the token security scheme.

drf-spectacular documents the success responses from the serializers; a REST client (and schemathesis's
status-code conformance check) must also know the errors every endpoint can give, in the shape
core.exceptions.api_exception_handler produces."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error: a stable code, a message in the request's language (Accept-Language), field details.",
    "properties": {
        "code": {"type": "string", "example": "invalid"},
        "message": {"type": "string", "example": "请检查输入：有字段未通过校验。"},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "example": {"reason": ["该字段是必填项。"]},
        },
    },
    "required": ["code", "message", "fields"],
}

ERRORS = {
    "400": "Invalid input or a rule refused the request",
    "401": "No or invalid credentials",
    "403": "The caller's role (or a statistics-only token) may not do this",
    "404": "Not found, or outside the caller's scope",
    "405": "Method not allowed",
    "406": "The requested format is not available",
    "409": "Conflict: someone changed the object first",
    "415": "Unsupported media type",
    "429": "Too many requests (see Retry-After)",
}
WRITE_ONLY = {"409", "415"}


def add_error_responses(result, generator, request, public):
    """POSTPROCESSING_HOOKS entry: add the Error component and the error responses to every operation."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code, description in ERRORS.items():
                if code in WRITE_ONLY and method in ("get", "head"):
                    continue
                responses.setdefault(code, {"description": description, "content": {"application/json": {"schema": ref}}})
            # a request line beyond the WSGI server's limit never reaches Django: gunicorn answers it in HTML
            responses.setdefault("414", {"description": "URI too long (answered by the WSGI server, before the portal)",
                                         "content": {"text/html": {"schema": {"type": "string"}}}})
            if "429" in responses:
                responses["429"].setdefault(
                    "headers", {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}
                )
    return result


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token <token>` (django-rest-knox, hashed; issued by district staff)."""

    target_class = "core.api.auth.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>`: issued by district staff at /api-tokens/; statistics-only tokens reach /api/v1/stats/ only.",
        }


class PortalAutoSchema(AutoSchema):
    """Requests are described by the viewset's input serializers (create/update), responses by its output one.

    A read-only choice field of a ModelSerializer loses the model field's `blank`/`null` (DRF drops them for
    read-only fields), so its schema would forbid the "" or null the response really carries: they are put back."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if not (isinstance(field, serializers.ChoiceField) and field.read_only):
            return schema
        model = getattr(getattr(field.parent, "Meta", None), "model", None)
        try:
            model_field = model._meta.get_field(field.source) if model is not None and field.source else None
        except Exception:  # noqa: BLE001 - a source that is not a model field (a property, a path)
            model_field = None
        if model_field is None:
            return schema
        if model_field.blank:
            schema = {"oneOf": [schema, {"type": "string", "enum": [""]}]}
        if model_field.null:
            schema = {**schema, "nullable": True}
        return schema

    def get_request_serializer(self):
        action = getattr(self.view, "action", None)
        serializer_class = {
            "create": getattr(self.view, "create_serializer_class", None),
            "partial_update": getattr(self.view, "update_serializer_class", None),
        }.get(action)
        if serializer_class is not None:
            return serializer_class()
        return super().get_request_serializer()
