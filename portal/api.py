"""Shared pieces of the JSON API."""

from rest_framework import serializers
from rest_framework.permissions import BasePermission


class NoPermissionDeclared(BasePermission):
    """The default permission class: refuses everyone, so a view that forgets to declare its
    permissions fails closed instead of open (docs/conventions.md, "Fetch and authorise")."""

    message = "This endpoint declares no permission policy."

    def has_permission(self, request, view) -> bool:
        return False


class NoStore:
    """A mixin for API views whose answers hold bearer credentials (visas) or say who may read
    what: no browser or proxy cache may keep a copy."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response


class ErrorSerializer(serializers.Serializer):
    """Every error of the API (docs/node-contract.md, "Errors"), whatever its status."""

    code = serializers.CharField(help_text="Stable and documented, e.g. `invalid`, `not_found`, `conflict`.")
    message = serializers.CharField(help_text="For people; may change.")
    extra = serializers.DictField(
        help_text="Details. On `invalid`, `fields` maps each field's path (`purpose.diseases`, "
        "`modifiers[0].months`, `body` for the whole body) to what is wrong with it."
    )
