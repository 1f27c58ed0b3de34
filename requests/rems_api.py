"""The REMS-compatible endpoints (docs/node-contract.md, "The REMS-compatible path"), so that a
broker that pulls visas from REMS (e.g. LS Login) can register the portal as a visa source as it
is: `GET /api/permissions/{user}` answers a person's visas, and `GET /api/jwk` the keys that sign
them. Outside /api/v1/ because REMS clients build these paths themselves.

Callers: a node or the broker with its node key, in `x-rems-api-key` as REMS clients send it or
`Authorization: Api-Key`; or a researcher with their personal token, for their own visas only."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.fields import empty
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import PersonalTokenAuthentication
from datasets.authentication import NodeKeyAuthentication, RemsKeyAuthentication
from portal.api import NoStore
from portal.views import jwks_response
from requests.api import Text
from requests.node_api import EXAMPLE_VISA, NOT_AUTHENTICATED, NodeInput
from requests.selectors.permits import visas_seen_by


@extend_schema_field({"type": "string", "enum": ["false", "true"], "default": "false"})
class Expired(Text):
    """REMS's `expired`: `false` (the default) or `true`, in any case. Both answer the visas of
    live permits: a visa of an expired permit would be born expired, and no verifier, the portal
    included, would accept it."""

    def run_validation(self, data: Any = empty) -> str:
        value = super().run_validation(data).lower()
        if value not in {"false", "true"}:
            raise serializers.ValidationError("true or false")
        return value


class RemsPermissionsApi(NoStore, APIView):
    authentication_classes = [RemsKeyAuthentication, NodeKeyAuthentication, PersonalTokenAuthentication]
    permission_classes = [IsAuthenticated]

    class FilterSerializer(NodeInput):
        expired = Expired(default="false", help_text="Accepted as REMS does; live permits' visas either way.")

    class OutputSerializer(serializers.Serializer):
        ga4gh_passport_v1 = serializers.ListField(
            child=serializers.CharField(), help_text="One signed visa (JWT) per live permit"
        )

    @extend_schema(
        operation_id="rems_permissions_retrieve",
        tags=["rems"],
        summary="A researcher's visas, at the path and in the shape of the REMS permissions API",
        description="One fresh GA4GH visa per live permit of the researcher: on the datasets the calling node "
        "hosts (every dataset for the broker), or all of them for the researcher with their own token. The "
        "key goes in `x-rems-api-key` (as REMS clients send it) or `Authorization: Api-Key`. 404 for an id "
        "that names nobody and, for a researcher, for anyone but themselves. `expired=true` answers the same "
        "live visas: an expired permit has none.",
        parameters=[
            OpenApiParameter(
                "user",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="The researcher's federated id (URL-encoded; it may hold `@`) or portal id.",
            ),
            OpenApiParameter(
                "x-rems-user-id",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Sent by REMS clients; accepted and not used.",
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
    def get(self, request: Request, user: str) -> Response:
        self.FilterSerializer.read(request.query_params.dict())  # expired=true changes nothing (Expired)
        passport = visas_seen_by(request.user, user, timezone.now())
        if passport is None:
            raise NotFound()
        return Response(self.OutputSerializer({"ga4gh_passport_v1": passport}).data)


class JwkApi(APIView):
    """The JWKS of /.well-known/jwks.json at the path REMS serves it."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        keys = serializers.ListField(
            child=serializers.DictField(), help_text="`kid`, `alg`, `use: sig` and the public parameters of each key"
        )

    @extend_schema(
        operation_id="rems_jwk_retrieve",
        tags=["rems"],
        summary="The public keys that sign visas (the JWKS of /.well-known/jwks.json)",
        description="The current key and those retiring. Cacheable for 5 minutes; fetch again on an unknown `kid`.",
        responses=OutputSerializer,
        examples=[
            OpenApiExample(
                "Keys",
                value={"keys": [{"kty": "RSA", "n": "…", "e": "AQAB", "kid": "…", "alg": "RS256", "use": "sig"}]},
            )
        ],
    )
    def get(self, request: Request) -> HttpResponse:
        return jwks_response()
