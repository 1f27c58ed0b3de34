"""Typed domain errors and the one DRF handler that turns every error into
`{"code", "message", "extra"}` with the right HTTP status (API.md)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler


class PortalError(Exception):
    """A rule of the domain was broken; `code` is stable and documented, `message` is for people."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.extra = extra or {}


class InvalidInput(PortalError):
    code = "invalid"
    status = 400


class NotAllowed(PortalError):
    code = "forbidden"
    status = 403


class Conflict(PortalError):
    """The object is not in a state that allows the action (a transition guard failed)."""

    code = "conflict"
    status = 409


class RateLimited(PortalError):
    code = "rate_limited"
    status = 429


_DRF_CODES = {
    drf.NotAuthenticated: "not_authenticated",
    drf.AuthenticationFailed: "authentication_failed",
    drf.PermissionDenied: "forbidden",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "rate_limited",
    drf.ParseError: "malformed",
    drf.ValidationError: "invalid",
}


def _drf_code(exc: drf.APIException) -> str:
    for cls, code in _DRF_CODES.items():
        if isinstance(exc, cls):
            return code
    return "error"


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Render PortalError and DRF errors in the one error shape; leave the rest to Django."""
    if isinstance(exc, PortalError):
        body = {"code": exc.code, "message": exc.message, "extra": exc.extra}
        return Response(body, status=exc.status)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, drf.APIException):
        return response
    if isinstance(exc, drf.ValidationError):
        body = {"code": "invalid", "message": "The request is not valid.", "extra": {"fields": response.data}}
    else:
        body = {"code": _drf_code(exc), "message": str(exc.detail), "extra": {}}
    response.data = body
    return response
