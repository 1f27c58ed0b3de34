"""The OpenAPI description's error answers, derived from each view rather than listed by hand:
every operation under /api/ documents the errors it can answer with the one ErrorSerializer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import AllowAny, IsAuthenticated

from portal.api import ErrorSerializer
from portal.input_guard import MAX_JSON_DEPTH

ERRORS = {
    400: "The request is not valid: `invalid`, with `extra.fields` naming each field and what is wrong (a text "
    "holding a NUL or a lone surrogate, anywhere, included), `malformed` when the body is not JSON, or `too_deep` "
    f"when it nests arrays and objects more than {MAX_JSON_DEPTH} levels deep.",
    401: "Credentials are missing, or wrong, expired or revoked (`not_authenticated`, `authentication_failed`).",
    403: "The caller may see this but not do it (`forbidden`).",
    404: "Nothing here, or nothing the caller may see: both answer the same (`not_found`); for a list, a page "
    "past the last.",
    413: "The request body is too large (`too_large`).",
    429: "Too many requests; try again later (`rate_limited`).",
}
# Permission classes that let through every caller who authenticated.
_ADMIT_EVERY_AUTHENTICATED = (AllowAny, IsAuthenticated)


class PortalAutoSchema(AutoSchema):
    """400 for a body or query parameters, 401 when the caller must authenticate, 403 when a
    permission class may refuse an authenticated caller, 404 for a path parameter or a paginated
    list (a page past the last), 413 for a body,
    429 for a throttled view (or one that counts requests itself and says `rate_limited = True`).
    What an operation declares itself (a 409, its own words for a 403) wins, and a view can name the
    statuses it never answers although a rule would infer them (`schema_omit_statuses = {404}`)."""

    def get_operation(self, path, path_regex, path_prefix, method, registry) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None or not path.startswith("/api/"):
            return operation
        error = {"application/json": {"schema": self.resolve_serializer(ErrorSerializer, "response").ref}}
        responses = operation["responses"]
        for status in self.error_statuses(operation):
            responses.setdefault(str(status), {"description": ERRORS[status], "content": error})
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def get_serializer_name(self, serializer, direction) -> str:
        # A view's nested InputSerializer is named after its view ("DuoMatchInput"), so that two
        # views' "Input" components do not collide; Meta.ref_name still wins.
        owner, _, name = type(serializer).__qualname__.rpartition(".")
        if owner and "<" not in owner:
            return owner.removesuffix("Api") + name.removesuffix("Serializer")
        return super().get_serializer_name(serializer, direction)

    def error_statuses(self, operation: dict[str, Any]) -> set[int]:
        located = {parameter["in"] for parameter in operation.get("parameters", [])}
        has_body = "requestBody" in operation
        permissions = self.view.get_permissions()
        statuses = set()
        if has_body or "query" in located:
            statuses.add(400)
        if self.view.get_authenticators() and not any(isinstance(p, AllowAny) for p in permissions):
            statuses.add(401)
            if any(_may_refuse_authenticated(p) for p in permissions):
                statuses.add(403)
        if "path" in located or getattr(self.view, "pagination_class", None) is not None:
            statuses.add(404)
        if has_body:
            statuses.add(413)
        # 429: a throttled view, one that counts requests itself, or one whose key authentication
        # refuses an address after repeated failed keys (`throttles_failures` on the class).
        authenticators = self.view.get_authenticators()
        if (
            getattr(self.view, "throttle_classes", None)
            or getattr(self.view, "rate_limited", False)
            or any(getattr(a, "throttles_failures", False) for a in authenticators)
        ):
            statuses.add(429)
        return statuses - set(getattr(self.view, "schema_omit_statuses", ()))


def _may_refuse_authenticated(permission: object) -> bool:
    """A permission class can say it never refuses an authenticated caller (one that only checks
    which scheme authenticated, where the view has that scheme alone) with
    `refuses_authenticated = False`."""
    default = not isinstance(permission, _ADMIT_EVERY_AUTHENTICATED)
    return getattr(permission, "refuses_authenticated", default)
