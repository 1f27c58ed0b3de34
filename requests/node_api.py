"""The API that data nodes and the broker call (docs/node-contract.md): a researcher's visas, visa
introspection, a permit check and the changes feed. Callers authenticate with a node API key; a
node sees only the permits of the datasets it hosts (the broker sees all), and a permit it may not
see answers exactly like one that does not exist.

Each view's InputSerializer (FilterSerializer for query parameters) reads its input and
OutputSerializer writes its answer, and both describe them in the OpenAPI document. The answers'
JSON is the contract: a field's name, order and value format do not change."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import person_named
from datasets.authentication import IsNode, NodeKeyAuthentication
from datasets.models import DataNode
from portal.api import NoStore
from requests import visas
from requests.api import PortalInput, Text
from requests.models import Permit, PermitEvent
from requests.selectors.permits import changes_for, hosted_by, live_permits_for, visas_seen_by
from requests.services.permits import change_object

CHANGES_LIMIT_DEFAULT = 100
CHANGES_LIMIT_MAX = 1000
# The cursor is an event id; PostgreSQL's bigint bounds it, so a longer one is refused, not a 500.
CURSOR_MAX = 2**63 - 1
INACTIVE = {"active": False}  # copied into each answer, never handed out itself


# --- input --------------------------------------------------------------------------------------


# A node's input: every 400 is "The request is not valid." naming each wrong field
# (docs/node-contract.md, "Errors").
class NodeInput(PortalInput):
    not_an_object: ClassVar[tuple[str, str]] = ("The request is not valid.", "must be a JSON object")


def _node_text(**kwargs: Any) -> Text:
    """A string field of a node's body, as sent (an empty or odd one simply matches nothing)."""
    messages = {"required": "required", "null": "must be a string", "invalid": "must be a string"}
    return Text(error_messages=messages, **kwargs)


def _query(request: Request) -> dict[str, str]:
    # The parameters as sent, the last of a repeated one: an empty value is a value (`limit=` is
    # refused), not a parameter left out as DRF's form handling would read it.
    return request.query_params.dict()


@extend_schema_field({"type": "string", "enum": ["false"], "default": "false"})
class OnlyLive(Text):
    """`expired=false` in any case, REMS's default, is the only value accepted: only live permits
    have visas (an expired one would be born expired)."""

    def run_validation(self, data: Any = empty) -> str:
        value = super().run_validation(data)
        if value.lower() != "false":
            raise serializers.ValidationError("only expired=false is supported: expired permits have no visas")
        return value


def _digits(value: str) -> str | None:
    """ASCII digits without their leading zeros ("0" for zero), or None: int() alone would take
    " 7", "+7", "1_0" and other scripts' digits, and raises (a 500) past 4300 digits."""
    if not value.isascii() or not value.isdigit():
        return None
    return value.lstrip("0") or "0"


@extend_schema_field(OpenApiTypes.STR)
class Cursor(serializers.Field):
    """An event id; empty is the start of the feed."""

    def to_internal_value(self, value: str) -> int:
        if not value:
            return 0
        digits = _digits(value)
        if digits is None or len(digits) > len(str(CURSOR_MAX)) or int(digits) > CURSOR_MAX:
            raise serializers.ValidationError("not a cursor of this feed: pass back a next_cursor you were given")
        return int(digits)


class Limit(serializers.IntegerField):
    """A whole number of at least 1, written in ASCII digits; more than CHANGES_LIMIT_MAX is lowered to it."""

    def to_internal_value(self, value: str) -> int:
        digits = _digits(value)
        if digits is None or digits == "0":
            raise serializers.ValidationError(
                f"a whole number of at least 1; more than {CHANGES_LIMIT_MAX} is lowered to it"
            )
        if len(digits) > len(str(CHANGES_LIMIT_MAX)):
            return CHANGES_LIMIT_MAX
        return min(int(digits), CHANGES_LIMIT_MAX)


# --- output -------------------------------------------------------------------------------------


def _introspection(visa: visas.VerifiedVisa, permit: Permit) -> dict[str, Any]:
    return {
        "active": True,
        "sub": visa.sub,
        "dataset": permit.dataset.accession,
        "permit_id": permit.pk,
        "exp": visa.claims["exp"],
        "permit_expires_at": permit.expires_at,
        "conditions": permit.conditions,
        "dac": permit.dataset.dac.slug,
    }


def _check(permit: Permit | None) -> dict[str, Any]:
    if permit is None:
        return {"allowed": False, "permit_id": None, "expires_at": None, "conditions": []}
    return {"allowed": True, "permit_id": permit.pk, "expires_at": permit.expires_at, "conditions": permit.conditions}


NOT_AUTHENTICATED = OpenApiExample(
    "Unauthenticated",
    summary="Missing, wrong, expired or revoked key",
    value={"code": "authentication_failed", "message": "Invalid, expired or revoked API key.", "extra": {}},
    response_only=True,
    status_codes=["401"],
)
EXAMPLE_SUB = "3f1c2a9e-8d4b-4f6a-9c1e-2b7d5e8f0a13"
EXAMPLE_VISA = "eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiIsInR5cCI6InZuZC5nYTRnaC52aXNhK2p3dCJ9.eyJ...In0.MEUCIQ..."
EXAMPLE_CONDITIONS = [{"term": "DUO:0000019", "code": "PUB", "text": "Publish the results."}]


class NodeApiView(NoStore, APIView):
    """Node keys only: a person's session or token never reaches these views, and a request
    without a key answers 401 (NodeKeyAuthentication names the Api-Key scheme). Answered with
    Cache-Control: no-store: visas are bearer credentials and every answer is about a person's
    access."""

    authentication_classes = [NodeKeyAuthentication]
    permission_classes = [IsNode]

    @property
    def node(self) -> DataNode:
        return self.request.user.node


def _utc(**kwargs: Any) -> serializers.DateTimeField:
    # In UTC with a Z, whatever the portal's time zone: the contract's format.
    return serializers.DateTimeField(default_timezone=dt.UTC, **kwargs)


class PermissionsApi(NodeApiView):
    # A user id that is not a researcher's answers an empty list, never 404.
    schema_omit_statuses = frozenset({404})

    class FilterSerializer(NodeInput):
        expired = OnlyLive(default="false", help_text="Only `false` is accepted.")

    class OutputSerializer(serializers.Serializer):
        ga4gh_passport_v1 = serializers.ListField(
            child=serializers.CharField(), help_text="One signed visa (JWT) per live permit"
        )

    @extend_schema(
        operation_id="permissions_retrieve",
        summary="A researcher's visas for the caller's datasets (the REMS permissions shape)",
        description="One fresh GA4GH visa per live permit of the researcher on a dataset the calling node "
        "hosts (every dataset for the broker). An id that is not a researcher's answers an empty list.",
        parameters=[
            OpenApiParameter(
                "user_id",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="The researcher's portal id or federated id (the visa `sub`).",
            ),
            FilterSerializer,
        ],
        responses=OutputSerializer,
        examples=[
            OpenApiExample("Two live permits", value={"ga4gh_passport_v1": [EXAMPLE_VISA, EXAMPLE_VISA]}),
            OpenApiExample("No live permit", value={"ga4gh_passport_v1": []}),
            NOT_AUTHENTICATED,
        ],
    )
    def get(self, request: Request, user_id: str) -> Response:
        self.FilterSerializer.read(_query(request))
        # An id that names nobody answers an empty list here (the REMS path answers 404).
        passport = visas_seen_by(request.user, user_id, timezone.now()) or []
        return Response(self.OutputSerializer({"ga4gh_passport_v1": passport}).data)


class IntrospectApi(NodeApiView):
    class InputSerializer(NodeInput):
        token = _node_text(help_text="A visa (JWT)")

    class OutputSerializer(serializers.Serializer):
        """`{"active": false}` alone, or every field."""

        active = serializers.BooleanField()
        sub = serializers.CharField(required=False)
        dataset = serializers.CharField(required=False)
        permit_id = serializers.IntegerField(required=False)
        exp = serializers.IntegerField(required=False, help_text="The visa's expiry, seconds.")
        permit_expires_at = _utc(required=False)
        conditions = serializers.ListField(child=serializers.DictField(), required=False)
        dac = serializers.CharField(required=False)

    @extend_schema(
        operation_id="permits_introspect",
        summary="Is this visa valid now? (modelled on RFC 7662)",
        description='`{"active": false}` for anything invalid, expired, revoked, unknown or of a dataset the '
        "calling node does not host; the reason is not told. A body that is not an object, or a token that "
        "is missing or not a string, is a 400.",
        request=InputSerializer,
        responses=OutputSerializer,
        examples=[
            OpenApiExample("A visa", value={"token": EXAMPLE_VISA}, request_only=True),
            OpenApiExample(
                "Active",
                value={
                    "active": True,
                    "sub": EXAMPLE_SUB,
                    "dataset": "GDS000123",
                    "permit_id": 42,
                    "exp": 1798722000,
                    "permit_expires_at": "2027-06-30T09:00:00Z",
                    "conditions": EXAMPLE_CONDITIONS,
                    "dac": "cancer-dac",
                },
                response_only=True,
            ),
            OpenApiExample("Inactive", value=INACTIVE, response_only=True),
            OpenApiExample(
                "No token",
                value={
                    "code": "invalid",
                    "message": "The request is not valid.",
                    "extra": {"fields": {"token": "required"}},
                },
                response_only=True,
                status_codes=["400"],
            ),
            NOT_AUTHENTICATED,
        ],
    )
    def post(self, request: Request) -> Response:
        token = self.InputSerializer.read(request.data)["token"]
        now = timezone.now()
        try:
            visa = visas.verify_visa(token, now)
        except visas.VisaInvalid:
            return Response(self.OutputSerializer(INACTIVE).data)
        # One query: the permit behind the visa, live and on a dataset this node may see.
        permit = visas.permit_for(visa, now, scope=hosted_by(self.node))
        answer = INACTIVE if permit is None else _introspection(visa, permit)
        return Response(self.OutputSerializer(answer).data)


class CheckApi(NodeApiView):
    class InputSerializer(NodeInput):
        user = _node_text(help_text="The researcher's portal id or federated id (the visa `sub`)")
        dataset = _node_text(help_text="Accession; trimmed and upper-cased")

    class OutputSerializer(serializers.Serializer):
        allowed = serializers.BooleanField()
        permit_id = serializers.IntegerField(allow_null=True)
        expires_at = _utc(allow_null=True)
        conditions = serializers.ListField(child=serializers.DictField())

    @extend_schema(
        operation_id="permits_check",
        summary="Does this researcher hold a live permit for this dataset?",
        description="A dataset the calling node does not host answers like one without a permit.",
        request=InputSerializer,
        responses=OutputSerializer,
        examples=[
            OpenApiExample("A question", value={"user": EXAMPLE_SUB, "dataset": "GDS000123"}, request_only=True),
            OpenApiExample(
                "Allowed",
                value={
                    "allowed": True,
                    "permit_id": 42,
                    "expires_at": "2027-06-30T09:00:00Z",
                    "conditions": EXAMPLE_CONDITIONS,
                },
                response_only=True,
            ),
            OpenApiExample(
                "Not allowed",
                value={"allowed": False, "permit_id": None, "expires_at": None, "conditions": []},
                response_only=True,
            ),
            NOT_AUTHENTICATED,
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer.read(request.data)
        person = person_named(data["user"])
        permit = None
        if person is not None:
            wanted = {"grantee": person, "dataset__accession": data["dataset"].strip().upper()}
            permit = live_permits_for(self.node, timezone.now(), **wanted).first()
        return Response(self.OutputSerializer(_check(permit)).data)


class PermitChangeSerializer(serializers.Serializer):
    """A change object (requests.services.permits.change_object), as the feed and the webhooks carry it."""

    permit_id = serializers.IntegerField()
    user = serializers.UUIDField(help_text="The grantee's `sub`")
    dataset = serializers.CharField(help_text="Accession")
    event = serializers.ChoiceField(choices=PermitEvent.Kind.values)
    at = serializers.DateTimeField(help_text="When it happened")
    expires_at = serializers.DateTimeField(help_text="The permit's expiry as it stood at that event")


class ChangesApi(NodeApiView):
    class FilterSerializer(NodeInput):
        cursor = Cursor(required=False, help_text="A `next_cursor` from an earlier answer.")
        limit = Limit(
            default=CHANGES_LIMIT_DEFAULT,
            min_value=1,
            help_text=f"Events per page, default {CHANGES_LIMIT_DEFAULT}, "
            f"at most {CHANGES_LIMIT_MAX} (larger values are lowered).",
        )

    class OutputSerializer(serializers.Serializer):
        changes = PermitChangeSerializer(many=True)
        next_cursor = serializers.CharField()

    @extend_schema(
        operation_id="permits_changes",
        summary="Permit events of the caller's datasets, oldest first, from a cursor",
        description="Poll with the `next_cursor` of the previous answer; without a cursor the feed starts at "
        "its beginning. When nothing is new, `next_cursor` is the cursor given.",
        parameters=[FilterSerializer],
        responses=OutputSerializer,
        examples=[
            OpenApiExample(
                "Issued, then revoked",
                value={
                    "changes": [
                        {
                            "permit_id": 42,
                            "user": EXAMPLE_SUB,
                            "dataset": "GDS000123",
                            "event": "issued",
                            "at": "2026-06-30T09:00:00Z",
                            "expires_at": "2027-06-30T09:00:00Z",
                        },
                        {
                            "permit_id": 42,
                            "user": EXAMPLE_SUB,
                            "dataset": "GDS000123",
                            "event": "revoked",
                            "at": "2026-09-01T14:12:05Z",
                            "expires_at": "2027-06-30T09:00:00Z",
                        },
                    ],
                    "next_cursor": "1187",
                },
                response_only=True,
            ),
            OpenApiExample(
                "Bad cursor",
                value={
                    "code": "invalid",
                    "message": "The request is not valid.",
                    "extra": {
                        "fields": {"cursor": "not a cursor of this feed: pass back a next_cursor you were given"}
                    },
                },
                response_only=True,
                status_codes=["400"],
            ),
            NOT_AUTHENTICATED,
        ],
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer.read(_query(request))
        after = filters.get("cursor", 0)  # the feed's beginning
        events = changes_for(self.node, after=after, limit=filters["limit"], now=timezone.now())
        next_cursor = str(events[-1].id if events else after)
        answer = {"changes": [change_object(e) for e in events], "next_cursor": next_cursor}
        return Response(self.OutputSerializer(answer).data)
