"""One exception hierarchy for errors users can cause, and how each surface shows them."""

from django.core.exceptions import ValidationError as DjangoValidationError
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


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        api_exc = drf_exceptions.APIException(detail={"detail": str(exc.message), "field": exc.field})
        api_exc.status_code = exc.status_code
        exc = api_exc
    if isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    return exception_handler(exc, context)


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
