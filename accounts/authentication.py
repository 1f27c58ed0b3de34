"""API authentication (API.md): `Authorization: Token <key>` for the people's API, where a person's
scripts act as that person, and `Authorization: Api-Key <key>` for data nodes and the broker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts import services
from accounts.models import NodeApiKey, PersonalToken, User, api_key_hash

if TYPE_CHECKING:
    from datasets.models import DataNode

KEYWORD = "Token"
NODE_KEYWORD = "Api-Key"
# One message for every failure, so a caller cannot tell a revoked key from one that never existed.
FAILED = "Invalid, expired or revoked token."
NODE_FAILED = "Invalid, expired or revoked API key."


class PersonalTokenAuthentication(BaseAuthentication):
    """Authenticates a usable personal token of an active user. Without a `Token` header it
    returns None, so the session (or another scheme) can still authenticate the request."""

    def authenticate(self, request: Request) -> tuple[User, PersonalToken] | None:
        key = _key_from_header(request, KEYWORD, FAILED)
        if key is None:
            return None
        # Looked up by hash, never compared as text: the stored value is not the key, and an
        # indexed equality on a SHA-256 tells an attacker nothing about the key they guessed.
        token = (
            PersonalToken.objects.usable(key_hash=api_key_hash(key), user__is_active=True)
            .select_related("user")
            .first()
        )
        if token is None:
            raise AuthenticationFailed(FAILED)
        services.personal_token_mark_used(token=token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # A WWW-Authenticate value makes DRF answer 401 rather than 403 to a missing login.
        return KEYWORD


class NodePrincipal:
    """Who a node key authenticates: a data node, not a person. It holds no user permissions, so
    nothing written for people (which tests is_staff, has_perm, pk) lets it through."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, node: DataNode):
        self.node = node

    def __str__(self) -> str:
        return f"node {self.node.slug}"

    def get_username(self) -> str:
        return str(self)

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False


class NodeKeyAuthentication(BaseAuthentication):
    """Authenticates a usable node API key; the request's user is the key's NodePrincipal."""

    def authenticate(self, request: Request) -> tuple[NodePrincipal, NodeApiKey] | None:
        key = _key_from_header(request, NODE_KEYWORD, NODE_FAILED)
        if key is None:
            return None
        row = NodeApiKey.objects.usable(key_hash=api_key_hash(key)).select_related("node").first()
        if row is None:
            raise AuthenticationFailed(NODE_FAILED)
        services.node_key_mark_used(key=row)
        return NodePrincipal(row.node), row

    def authenticate_header(self, request: Request) -> str:
        # Also the reason a request without a key gets 401 from IsNode rather than 403.
        return NODE_KEYWORD


class IsNode(BasePermission):
    """The caller authenticated with a node API key (people, even staff, never pass)."""

    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.user, NodePrincipal)


def _key_from_header(request: Request, keyword: str, failed: str) -> str | None:
    parts = get_authorization_header(request).split()
    if not parts or parts[0].lower() != keyword.lower().encode():
        return None
    if len(parts) != 2:
        raise AuthenticationFailed(failed)
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        raise AuthenticationFailed(failed) from None
