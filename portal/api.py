"""Shared pieces of the JSON API."""

from rest_framework.permissions import BasePermission


class NoPermissionDeclared(BasePermission):
    """The default permission class: refuses everyone, so a view that forgets to declare its
    permissions fails closed instead of open (CONVENTIONS.md 6)."""

    message = "This endpoint declares no permission policy."

    def has_permission(self, request, view) -> bool:
        return False
