"""How a data node (or the broker) authenticates to the node API (docs/node-contract.md,
"Authentication"): `Authorization: Api-Key <key>`, a key of datasets.models.NodeApiKey, or on the
REMS-compatible path the same key as `x-rems-api-key: <key>`. The request's user is then the
node, never a person. Failed attempts are throttled per client address as personal tokens' are
(accounts.authentication), on a count of their own shared by both headers."""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.authentication import failures_counted, key_from_header, scheme_sent
from accounts.models import api_key_hash
from datasets import services
from datasets.models import DataNode, NodeApiKey

NODE_KEYWORD = "Api-Key"
# One message for every failure, so a caller cannot tell a revoked key from one that never existed.
NODE_FAILED = "Invalid, expired or revoked API key."
# The header REMS clients send their key in (`x-rems-api-key`), as Django names it.
REMS_KEY_HEADER = "x-rems-api-key"
REMS_KEY_META = "HTTP_X_REMS_API_KEY"
# Node keys' failed attempts, whichever header carried them.
NODE_KEY_FAILURES = "node_key"


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

    # It may answer 429 (accounts.authentication.failures_counted).
    throttles_failures = True

    def authenticate(self, request: Request) -> tuple[NodePrincipal, NodeApiKey] | None:
        if not scheme_sent(request, NODE_KEYWORD):
            return None
        with failures_counted(request, NODE_KEY_FAILURES):
            return node_of_key(key_from_header(request, NODE_KEYWORD, NODE_FAILED))

    def authenticate_header(self, request: Request) -> str:
        # Also the reason a request without a key gets 401 from IsNode rather than 403.
        return NODE_KEYWORD


class RemsKeyAuthentication(BaseAuthentication):
    """The same node keys sent as REMS clients send theirs: `x-rems-api-key: <key>`. REMS's
    `x-rems-user-id` (the user a REMS key acts as) is accepted and not used: the key alone says who
    calls. Without the header it returns None, so `Authorization` schemes can still authenticate."""

    throttles_failures = True

    def authenticate(self, request: Request) -> tuple[NodePrincipal, NodeApiKey] | None:
        key = request.META.get(REMS_KEY_META)
        if key is None:
            return None
        with failures_counted(request, NODE_KEY_FAILURES):
            key = key.strip()
            if not key or not key.isascii():
                raise AuthenticationFailed(NODE_FAILED)
            return node_of_key(key)

    def authenticate_header(self, request: Request) -> str:
        return NODE_KEYWORD


def node_of_key(key: str) -> tuple[NodePrincipal, NodeApiKey]:
    """The node of a usable key, its use recorded; raises AuthenticationFailed otherwise."""
    row = NodeApiKey.objects.usable(key_hash=api_key_hash(key)).select_related("node").first()
    if row is None:
        raise AuthenticationFailed(NODE_FAILED)
    services.node_key_mark_used(key=row)
    return NodePrincipal(row.node), row


class IsNode(BasePermission):
    """The caller authenticated with a node API key (people, even staff, never pass)."""

    # The node views authenticate node keys alone, so every caller this refuses is unauthenticated
    # (401): it never refuses an authenticated one (portal.schema documents no 403).
    refuses_authenticated = False

    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.user, NodePrincipal)
