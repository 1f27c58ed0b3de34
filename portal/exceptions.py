"""Typed domain errors and the one DRF handler that turns every error into
`{"code", "message", "extra"}` with the right HTTP status (docs/node-contract.md, "Errors")."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.settings import api_settings


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


class NotAllowed(PortalError, PermissionDenied):
    """The caller may see the object but not do this. Also Django's PermissionDenied, so that a
    page raising it answers 403 like the API does."""

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
    # Imported here: rest_framework.views loads the authentication classes, which import this module.
    from rest_framework.views import exception_handler

    if isinstance(exc, PortalError):
        body = {"code": exc.code, "message": exc.message, "extra": exc.extra}
        return Response(body, status=exc.status)
    if isinstance(exc, RequestDataTooBig):  # a multipart body's form fields past DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response({"code": "too_large", "message": "The request body is too large.", "extra": {}}, status=413)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, drf.APIException):
        return response
    if isinstance(exc, drf.ValidationError):
        body = {
            "code": "invalid",
            "message": "The request is not valid.",
            "extra": {"fields": field_errors(response.data)},
        }
    else:
        body = {"code": _drf_code(exc), "message": str(exc.detail), "extra": {}}
    response.data = body
    return response


def field_errors(detail: Any, path: str = "") -> dict[str, str]:
    """A serializer's nested error detail as the portal's flat `extra.fields`, named like the errors
    the domain raises itself: `{"purpose.diseases": "...", "modifiers[0].months": "..."}`; errors
    of a whole object are named by its path, and those of the whole body `body`."""
    if isinstance(detail, dict):
        fields: dict[str, str] = {}
        for key, value in detail.items():
            fields |= field_errors(value, _field_path(path, key))
        return fields
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        # A list of objects: one entry per item, empty for the items without errors.
        fields = {}
        for index, item in enumerate(detail):
            if item:
                fields |= field_errors(item, f"{path}[{index}]")
        return fields
    messages = detail if isinstance(detail, list) else [detail]
    return {path or "body": " ".join(str(message) for message in messages)}


def _field_path(path: str, key: str | int) -> str:
    if key == api_settings.NON_FIELD_ERRORS_KEY:
        return path
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)
