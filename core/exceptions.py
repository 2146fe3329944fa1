"""One exception hierarchy for errors users can cause, and how each surface shows them."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions as drf_exceptions
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A rule refused the request; `message` is shown to the user as is (translated)."""

    status_code = 400

    def __init__(self, message, *, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class ConflictError(DomainError):
    """Someone else changed the same thing first."""

    status_code = 409


API_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    415: "unsupported_media_type",
    429: "throttled",
}


def _messages(detail):
    """DRF's nested error detail → {"field": ["message", ...]} with plain strings."""
    if isinstance(detail, dict):
        return {str(k): _messages(v) for k, v in detail.items()}
    if isinstance(detail, list):
        if any(isinstance(item, dict) for item in detail):  # a list of objects: errors by position
            return {str(i): _messages(item) for i, item in enumerate(detail) if item}
        flat = []
        for item in detail:
            value = _messages(item)
            flat.extend(value if isinstance(value, list) else [value])
        return flat
    return str(detail)


def _flat_fields(errors: dict, prefix: str = "") -> dict[str, list[str]]:
    """Nested errors (a list item, a nested object) as dotted paths: {"attendance.2.member": ["..."]}."""
    flat: dict[str, list[str]] = {}
    for key, value in errors.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flat_fields(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = [str(v) for v in value]
        else:
            flat[name] = [str(value)]
    return flat


def api_exception_handler(exc, context):
    """One error shape for every API error: `{"code", "message", "fields"}`, the message in the request's language.

    DomainError (a rule refused) → 400 (ConflictError 409, RateLimitedError 429 with Retry-After); Django's
    ValidationError → 400; out of scope → 404; DRF's own exceptions keep their status and headers."""
    if isinstance(exc, DomainError):
        api_exc = drf_exceptions.APIException(detail=str(exc.message))
        api_exc.status_code = exc.status_code
        if isinstance(exc, RateLimitedError):
            api_exc = drf_exceptions.Throttled(wait=exc.retry_after, detail=str(exc.message))
        fields = {exc.field: [str(exc.message)]} if exc.field else {}
        response = exception_handler(api_exc, context)
        code = "conflict" if isinstance(exc, ConflictError) else API_CODES.get(exc.status_code, "invalid")
        response.data = {"code": code, "message": str(exc.message), "fields": fields}
        return response
    if isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = exception_handler(exc, context)
    if response is None:
        return None
    status_code = response.status_code
    detail = getattr(exc, "detail", None)
    fields = {}
    if isinstance(exc, drf_exceptions.ValidationError):
        errors = _messages(detail)
        if isinstance(errors, dict):
            non_field = errors.pop("non_field_errors", [])
            fields = _flat_fields(errors)
            message = non_field[0] if non_field else str(_("请检查输入：有字段未通过校验。"))
        else:
            message = errors[0] if errors else str(_("输入无效。"))
        code = "invalid"
    else:
        message = _messages(detail) if detail is not None else ""
        if isinstance(message, (list, dict)):
            message = str(message)
        code = getattr(exc, "default_code", None) if isinstance(exc, drf_exceptions.APIException) else None
        if isinstance(detail, drf_exceptions.ErrorDetail) and detail.code:
            code = detail.code
        code = API_CODES.get(status_code, code or "error") if code in (None, "error") else code
        if status_code == 404:
            # Http404 from a lookup (its text names the model) and DRF's default say the same neutral thing;
            # a NotFound raised with its own message (e.g. "no snapshot for that month") keeps it
            code = "not_found"
            if isinstance(exc, Http404) or message == str(drf_exceptions.NotFound.default_detail):
                message = str(_("未找到。"))
    response.data = {"code": code, "message": message, "fields": fields}
    return response


def apply_to_form(form, error: DomainError) -> None:
    """Show a domain error on a form: on its field when it names one, else as a non-field error."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, str(error.message))
    if field is not None:
        widget = form.fields[field].widget
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
        widget.attrs["aria-invalid"] = "true"


class RateLimitedError(DomainError):
    """Too many attempts in a window; `retry_after` seconds until the oldest counted attempt leaves it."""

    status_code = 429

    def __init__(self, message, *, retry_after: int = 0, field: str | None = None):
        super().__init__(message, field=field)
        self.retry_after = max(int(retry_after), 1)
