"""The API that data nodes and the broker call (API.md, "Endpoints"): a researcher's visas, visa
introspection, a permit check and the changes feed. Callers authenticate with a node API key; a
node sees only the permits of the datasets it hosts (the broker sees all), and a permit it may not
see answers exactly like one that does not exist."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import IsNode, NodeKeyAuthentication
from datasets.models import DataNode
from portal.exceptions import InvalidInput
from requests import visas
from requests.models import Permit, PermitEvent
from requests.services.permits import change_object

CHANGES_LIMIT_DEFAULT = 100
CHANGES_LIMIT_MAX = 1000
# The cursor is an event id; PostgreSQL's bigint bounds it, so a longer one is refused, not a 500.
CURSOR_MAX = 2**63 - 1
INACTIVE = {"active": False}  # copied into each answer, never handed out itself


# --- scope ----------------------------------------------------------------------------------------


def hosted_by(node: DataNode, via: str = "") -> Q:
    """The condition "the permit's dataset is one `node` may see", on Permit or, with `via`
    ("permit__"), on a model that points to one. Meant for a single filter() with the other
    conditions: the nodes relation is many-to-many, so chaining it would widen the result."""
    return Q() if node.is_broker else Q(**{f"{via}dataset__nodes": node})


def live_permits_for(node: DataNode, now: dt.datetime, **conditions: Any) -> QuerySet[Permit]:
    """Live permits that `node` may see and that match `conditions`, with what a visa needs."""
    return (
        Permit.objects.live(now)
        .filter(hosted_by(node), **conditions)
        .select_related("dataset__dac", "decision", "grantee")
    )


def _invalid(fields: dict[str, str]) -> InvalidInput:
    return InvalidInput("The request is not valid.", extra={"fields": fields})


def _text_fields(data: Any, *names: str) -> dict[str, str]:
    """The named fields of a JSON object body, each a string; a 400 names every field that is not."""
    if not isinstance(data, dict):
        raise _invalid({"body": "must be a JSON object"})
    errors = {name: "required" for name in names if name not in data}
    errors |= {name: "must be a string" for name in names if name in data and not isinstance(data[name], str)}
    if errors:
        raise _invalid(errors)
    return {name: data[name] for name in names}


def _researcher_id(value: str) -> uuid.UUID | None:
    """A researcher's stable id, or None when the text cannot be one (it then matches nobody)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _only_live(query: Mapping[str, str]) -> None:
    # Only live permits have visas (an expired one would be born expired), so `expired=false`,
    # REMS's default, is the only value accepted.
    if query.get("expired", "false").lower() != "false":
        raise _invalid({"expired": "only expired=false is supported: expired permits have no visas"})


def _digits(value: str) -> str | None:
    """ASCII digits without their leading zeros ("0" for zero), or None: int() alone would take
    " 7", "+7", "1_0" and other scripts' digits, and raises (a 500) past 4300 digits."""
    if not value.isascii() or not value.isdigit():
        return None
    return value.lstrip("0") or "0"


def _cursor(value: str | None) -> int:
    if not value:
        return 0
    digits = _digits(value)
    if digits is None or len(digits) > len(str(CURSOR_MAX)) or int(digits) > CURSOR_MAX:
        raise _invalid({"cursor": "not a cursor of this feed: pass back a next_cursor you were given"})
    return int(digits)


def _limit(value: str | None) -> int:
    if value is None:
        return CHANGES_LIMIT_DEFAULT
    digits = _digits(value)
    if digits is None or digits == "0":
        raise _invalid({"limit": f"a whole number of at least 1; more than {CHANGES_LIMIT_MAX} is lowered to it"})
    return CHANGES_LIMIT_MAX if len(digits) > len(str(CHANGES_LIMIT_MAX)) else min(int(digits), CHANGES_LIMIT_MAX)


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


# --- OpenAPI ------------------------------------------------------------------------------------

ERROR = inline_serializer(
    "NodeApiError",
    {"code": serializers.CharField(), "message": serializers.CharField(), "extra": serializers.DictField()},
)
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


class NodeApiView(APIView):
    """Node keys only: a person's session or token never reaches these views, and a request
    without a key answers 401 (NodeKeyAuthentication names the Api-Key scheme)."""

    authentication_classes = [NodeKeyAuthentication]
    permission_classes = [IsNode]

    @property
    def node(self) -> DataNode:
        return self.request.user.node

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        # Visas are bearer credentials and every answer is about a person's access: no browser or
        # proxy cache may keep a copy.
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response


class PermissionsApi(NodeApiView):
    @extend_schema(
        operation_id="permissions_retrieve",
        summary="A researcher's visas for the caller's datasets (the REMS permissions shape)",
        description="One fresh GA4GH visa per live permit of the researcher on a dataset the calling node "
        "hosts (every dataset for the broker). An id that is not a researcher's answers an empty list.",
        parameters=[
            OpenApiParameter("user_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The visa `sub`."),
            OpenApiParameter("expired", OpenApiTypes.STR, enum=["false"], description="Only `false` is accepted."),
        ],
        responses={
            200: inline_serializer(
                "Permissions", {"ga4gh_passport_v1": serializers.ListField(child=serializers.CharField())}
            ),
            400: ERROR,
            401: ERROR,
        },
        examples=[
            OpenApiExample("Two live permits", value={"ga4gh_passport_v1": [EXAMPLE_VISA, EXAMPLE_VISA]}),
            OpenApiExample("No live permit", value={"ga4gh_passport_v1": []}),
            NOT_AUTHENTICATED,
        ],
    )
    def get(self, request: Request, user_id: str) -> Response:
        _only_live(request.query_params)
        sub = _researcher_id(user_id)
        if sub is None:
            return Response({"ga4gh_passport_v1": []})
        now = timezone.now()
        permits = live_permits_for(self.node, now, grantee__sub=sub).order_by("dataset__accession")
        return Response({"ga4gh_passport_v1": visas.mint_visas(permits, now)})


class IntrospectApi(NodeApiView):
    @extend_schema(
        operation_id="permits_introspect",
        summary="Is this visa valid now? (modelled on RFC 7662)",
        description='`{"active": false}` for anything invalid, expired, revoked, unknown or of a dataset the '
        "calling node does not host; the reason is not told. A body that is not an object, or a token that "
        "is missing or not a string, is a 400.",
        request=inline_serializer("IntrospectRequest", {"token": serializers.CharField()}),
        responses={
            200: inline_serializer(
                "Introspection",
                {
                    "active": serializers.BooleanField(),
                    "sub": serializers.CharField(required=False),
                    "dataset": serializers.CharField(required=False),
                    "permit_id": serializers.IntegerField(required=False),
                    "exp": serializers.IntegerField(required=False, help_text="The visa's expiry, seconds."),
                    "permit_expires_at": serializers.DateTimeField(required=False),
                    "conditions": serializers.ListField(child=serializers.DictField(), required=False),
                    "dac": serializers.CharField(required=False),
                },
            ),
            400: ERROR,
            401: ERROR,
        },
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
        token = _text_fields(request.data, "token")["token"]
        now = timezone.now()
        try:
            visa = visas.verify_visa(token, now)
        except visas.VisaInvalid:
            return Response(dict(INACTIVE))
        # One query: the permit behind the visa, live and on a dataset this node may see.
        permit = visas.permit_for(visa, now, scope=hosted_by(self.node))
        if permit is None:
            return Response(dict(INACTIVE))
        return Response(_introspection(visa, permit))


class CheckApi(NodeApiView):
    @extend_schema(
        operation_id="permits_check",
        summary="Does this researcher hold a live permit for this dataset?",
        description="A dataset the calling node does not host answers like one without a permit.",
        request=inline_serializer(
            "CheckRequest", {"user": serializers.CharField(), "dataset": serializers.CharField()}
        ),
        responses={
            200: inline_serializer(
                "Check",
                {
                    "allowed": serializers.BooleanField(),
                    "permit_id": serializers.IntegerField(allow_null=True),
                    "expires_at": serializers.DateTimeField(allow_null=True),
                    "conditions": serializers.ListField(child=serializers.DictField()),
                },
            ),
            400: ERROR,
            401: ERROR,
        },
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
        body = _text_fields(request.data, "user", "dataset")
        sub = _researcher_id(body["user"])
        if sub is None:
            return Response(_check(None))
        wanted = {"grantee__sub": sub, "dataset__accession": body["dataset"].strip().upper()}
        return Response(_check(live_permits_for(self.node, timezone.now(), **wanted).first()))


class ChangesApi(NodeApiView):
    @extend_schema(
        operation_id="permits_changes",
        summary="Permit events of the caller's datasets, oldest first, from a cursor",
        description="Poll with the `next_cursor` of the previous answer; without a cursor the feed starts at "
        "its beginning. When nothing is new, `next_cursor` is the cursor given.",
        parameters=[
            OpenApiParameter("cursor", OpenApiTypes.STR, description="A `next_cursor` from an earlier answer."),
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                description=f"Events per page, default {CHANGES_LIMIT_DEFAULT}, "
                f"at most {CHANGES_LIMIT_MAX} (larger values are lowered).",
            ),
        ],
        responses={
            200: inline_serializer(
                "Changes",
                {
                    "changes": serializers.ListField(child=serializers.DictField()),
                    "next_cursor": serializers.CharField(),
                },
            ),
            400: ERROR,
            401: ERROR,
        },
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
        after = _cursor(request.query_params.get("cursor"))
        limit = _limit(request.query_params.get("limit"))
        # Events settle for a moment before they are served: ids are taken before commit, so a
        # row with a lower id can become visible after a higher one; the wait lets it catch up
        # instead of being skipped by a cursor that has moved on.
        settled = timezone.now() - dt.timedelta(seconds=settings.PERMIT_FEED_SETTLE_SECONDS)
        events = list(
            PermitEvent.objects.filter(hosted_by(self.node, via="permit__"), id__gt=after, at__lte=settled)
            .select_related("permit__grantee", "permit__dataset")
            .order_by("id")[:limit]
        )
        next_cursor = str(events[-1].id if events else after)
        return Response({"changes": [change_object(e) for e in events], "next_cursor": next_cursor})
