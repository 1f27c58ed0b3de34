"""The people's API for permits (README.md, "The API"): a researcher's own permits and passport, and
revocation by the chair of the permit's committee.

Who sees what is decided by requests.permissions.access_permit and the reads of
requests.selectors.permits, shared with the pages. A permit
is visible to its grantee and to every role on its dataset's committee; anyone else gets 404.
Of those who see it, only the chair revokes (403 for the others, checked before the body is
read, so validation tells a refused caller nothing).

Each view's InputSerializer reads its body and OutputSerializer writes its answer, and both describe
them in the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import ErrorSerializer
from requests import services
from requests.api import PortalInput, Text
from requests.models import Permit, PermitStatus
from requests.permissions import PermitAction, access_permit
from requests.selectors.permits import STATES, passport_of, permit_state, permits_of

# --- Answers --------------------------------------------------------------------------------------


class PermitSerializer(serializers.Serializer):
    """A permit as its grantee and its committee read it (permit_json)."""

    id = serializers.IntegerField()
    dataset = serializers.CharField(help_text="Accession")
    dac = serializers.SlugField(help_text="The committee's slug")
    # Text, not a choice: an enum named "status" would collide with the other "status" enums.
    status = serializers.CharField(
        help_text=f"{', '.join(STATES)}; expired is an active permit past expires_at, read from the clock"
    )
    starts_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    conditions = serializers.ListField(
        child=serializers.DictField(), help_text='[{"code", "text", ...}]: obligations the grantee keeps'
    )
    revoked_reason = serializers.CharField(allow_null=True, help_text="The committee's reason; null unless revoked")


_PERMIT_EXAMPLE = {
    "id": 42,
    "dataset": "GDS000123",
    "dac": "cancer-dac",
    "status": "active",
    "starts_at": "2025-03-01T09:30:00Z",
    "expires_at": "2026-03-01T09:30:00Z",
    "conditions": [{"code": "PUB", "text": "Publish the results of the research."}],
    "revoked_reason": None,
}
_REVOKED_EXAMPLE = {**_PERMIT_EXAMPLE, "status": "revoked", "revoked_reason": "The ethics approval was withdrawn."}
_EXPIRED_EXAMPLE = {**_PERMIT_EXAMPLE, "id": 17, "status": "expired", "expires_at": "2025-01-01T00:00:00Z"}

# --- JSON -----------------------------------------------------------------------------------------


def permit_json(permit: Permit, now: dt.datetime) -> dict[str, Any]:
    state = permit_state(permit, now)
    return {
        "id": permit.pk,
        "dataset": permit.dataset.accession,
        "dac": permit.dataset.dac.slug,
        "status": state,
        "starts_at": permit.starts_at,
        "expires_at": permit.expires_at,
        "conditions": permit.conditions,
        "revoked_reason": permit.revoked_reason if state == PermitStatus.REVOKED else None,
    }


def _no_store(response: Response) -> Response:
    # A passport is a bearer credential: no browser or proxy cache may keep a copy.
    response["Cache-Control"] = "no-store"
    return response


# --- Views ----------------------------------------------------------------------------------------


class PermitRevokeApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(PortalInput):
        invalid_message = "The reason must be text."

        # Left out, the service answers that a reason is required.
        reason = Text(default="", null_is_absent=True, help_text="Required; the grantee reads it")

    OutputSerializer = PermitSerializer

    @extend_schema(
        operation_id="permits_revoke",
        summary="Revoke a permit with a reason the grantee reads (chair of the dataset's committee)",
        description="Effective at once for online checks (introspection, check, the changes feed); visas "
        "already handed out expire within their lifetime. 404 for a permit the caller neither holds nor "
        "sees as a member of its committee; 403 for its grantee and the committee's members and secretary; "
        "400 without a reason; 409 (code not_active) when the permit is revoked or replaced already.",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            403: OpenApiResponse(
                ErrorSerializer, description="Only the chair of the dataset's committee revokes (`forbidden`)."
            ),
            409: OpenApiResponse(ErrorSerializer, description="Revoked or replaced already (`not_active`)."),
        },
        examples=[
            OpenApiExample("Revocation", value={"reason": "The ethics approval was withdrawn."}, request_only=True),
            OpenApiExample("Revoked permit", value=_REVOKED_EXAMPLE, response_only=True, status_codes=["200"]),
            OpenApiExample(
                "Already revoked",
                value={"code": "not_active", "message": "The permit is revoked already.", "extra": {}},
                response_only=True,
                status_codes=["409"],
            ),
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        permit = access_permit(request.user, pk, PermitAction.REVOKE)
        data = self.InputSerializer.read(request.data)
        revoked = services.permit_revoke(permit=permit, actor=request.user, reason=data["reason"])
        return Response(self.OutputSerializer(permit_json(revoked, timezone.now())).data)


class MyPermitsApi(APIView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        permits = PermitSerializer(many=True)

    @extend_schema(
        operation_id="me_permits_list",
        summary="Your permits, live ones first",
        responses=OutputSerializer,
        examples=[
            OpenApiExample(
                "Permits",
                value={"permits": [_PERMIT_EXAMPLE, _EXPIRED_EXAMPLE]},
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def get(self, request: Request) -> Response:
        now = timezone.now()
        permits = [permit_json(p, now) for p in permits_of(request.user, now)]
        return Response(self.OutputSerializer({"permits": permits}).data)


class MyPassportApi(APIView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        passport = serializers.CharField(help_text="Signed passport JWT (typ vnd.ga4gh.passport+jwt)")
        visas = serializers.IntegerField(help_text="Number of visas in it: one per live permit")

    @extend_schema(
        operation_id="me_passport_retrieve",
        summary="A signed GA4GH passport holding a fresh visa per live permit",
        description="Each visa expires at the earlier of its permit's expiry and the visa lifetime (one hour by "
        "default), and the passport with it: fetch a new one when needed. Answered with Cache-Control: no-store.",
        responses=OutputSerializer,
        examples=[
            OpenApiExample(
                "Passport",
                value={
                    "passport": "eyJhbGciOiJFUzI1NiIsInR5cCI6InZuZC5nYTRnaC5wYXNzcG9ydCtqd3QiLC4uLn0...",
                    "visas": 2,
                },
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def get(self, request: Request) -> Response:
        passport, count = passport_of(request.user, timezone.now())
        return _no_store(Response(self.OutputSerializer({"passport": passport, "visas": count}).data))
