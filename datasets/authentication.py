"""How a data node (or the broker) authenticates to the node API (docs/node-contract.md,
"Authentication"): `Authorization: Api-Key <key>`, a key of datasets.models.NodeApiKey. The
request's user is then the node, never a person."""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.authentication import key_from_header
from accounts.models import api_key_hash
from datasets import services
from datasets.models import DataNode, NodeApiKey

NODE_KEYWORD = "Api-Key"
# One message for every failure, so a caller cannot tell a revoked key from one that never existed.
NODE_FAILED = "Invalid, expired or revoked API key."


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
        key = key_from_header(request, NODE_KEYWORD, NODE_FAILED)
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

    # The node views authenticate node keys alone, so every caller this refuses is unauthenticated
    # (401): it never refuses an authenticated one (portal.schema documents no 403).
    refuses_authenticated = False

    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.user, NodePrincipal)
