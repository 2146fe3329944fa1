"""ETag / Last-Modified for statistics and snapshots: a client polling every minute gets 304 until figures change.

The ETag is a hash of the response data, its format and language, so it changes exactly when the body would.
Last-Modified is the view's `last_modified(request)` (e.g. the latest audited write: every write is audited)."""

import hashlib
import json

from django.utils.http import http_date, parse_http_date_safe, quote_etag
from django.utils.translation import get_language
from rest_framework import status
from rest_framework.response import Response


def data_etag(data, fmt: str) -> str:
    blob = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    return quote_etag(hashlib.sha256(f"{fmt}|{get_language()}|{blob}".encode()).hexdigest()[:32])


def _etag_matches(header: str, etag: str) -> bool:
    candidates = [c.strip() for c in header.split(",")]
    bare = etag.removeprefix("W/")
    return "*" in candidates or any(c.removeprefix("W/") == bare for c in candidates)


class ConditionalMixin:
    """On GET 200: set ETag (and Last-Modified when the view knows it); answer 304 when the client has it."""

    def last_modified(self, request):
        return None

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method not in ("GET", "HEAD") or response.status_code != 200 or getattr(response, "data", None) is None:
            return response
        fmt = getattr(response.accepted_renderer, "format", "json")
        etag = data_etag(response.data, fmt)
        modified = self.last_modified(request)
        headers = {"ETag": etag, "Vary": "Accept, Accept-Language, Authorization, Cookie"}
        if modified is not None:
            headers["Last-Modified"] = http_date(modified.timestamp())
        none_match = request.headers.get("If-None-Match")
        since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
        not_modified = (
            _etag_matches(none_match, etag)
            if none_match
            else (since is not None and modified is not None and int(modified.timestamp()) <= since)
        )
        if not_modified:
            response = Response(status=status.HTTP_304_NOT_MODIFIED)
            response.accepted_renderer = request.accepted_renderer
            response.accepted_media_type = request.accepted_media_type
            response.renderer_context = self.get_renderer_context()
        for key, value in headers.items():
            response[key] = value
        return response
