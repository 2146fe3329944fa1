"""What several members pages share: a refusal past a per-user limit answers 429 with Retry-After."""

from __future__ import annotations

from contextlib import contextmanager

from core.exceptions import RateLimitedError


class RateLimitedFormMixin:
    """For a ScopedFormView whose action may refuse with RateLimitedError (duplicate registrations, roster
    uploads): the form shows the error as usual, and the response is 429 with Retry-After.
    Wrap the action call in `with self.rate_limit():`."""

    retry_after: int | None = None

    @contextmanager
    def rate_limit(self):
        try:
            yield
        except RateLimitedError as exc:
            self.retry_after = exc.retry_after
            raise

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if self.retry_after is not None:
            response.status_code = 429
            response["Retry-After"] = str(self.retry_after)
        return response
