"""Every error under /api/ in the one JSON shape (docs/node-contract.md, "Errors"), whoever answers
it: Django's 404 for an unknown path, its 500 page for a crash, or a body too large to read."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"
# A multipart upload carries one document of at most 10 MB (requests.uploads) and its form
# fields; Django counts only the fields against DATA_UPLOAD_MAX_MEMORY_SIZE.
MULTIPART_MAX_BYTES = 11 * 1024 * 1024

_CODES = {
    400: ("malformed", "The request is malformed."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("forbidden", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    413: ("too_large", "The request body is too large."),
    429: ("rate_limited", "Too many requests."),
}


def error_response(status: int, message: str = "", extra: dict | None = None, *, code: str = "") -> JsonResponse:
    default_code, default = _CODES.get(status, ("server_error" if status >= 500 else "error", ""))
    code = code or default_code
    body = {"code": code, "message": message or default or _phrase(status), "extra": extra or {}}
    return JsonResponse(body, status=status)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def body_limit(request: HttpRequest) -> int | None:
    """The most bytes a body may have: Django's limit for everything it reads whole, since DRF's
    JSON parser reads the stream itself and so never meets Django's check."""
    if request.content_type == "multipart/form-data":
        return MULTIPART_MAX_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class ApiErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        limit = body_limit(request)
        if limit is not None and _content_length(request) > limit:
            return error_response(413, f"The request body is larger than {limit} bytes.", {"max_bytes": limit})
        response = self.get_response(request)
        if response.status_code >= 400 and "json" not in response.get("Content-Type", ""):
            # Django's own pages (404, 500, 400 for a suspicious request) and its debug pages.
            return error_response(response.status_code)
        return response


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
