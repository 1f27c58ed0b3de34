"""The catalogue's JSON API (API.md): public dataset metadata and data-use profiles, and the
data-use change for a committee's chair or secretary."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from datasets import duo, services
from datasets.matcher_runtime import match_purpose
from datasets.models import Dataset
from datasets.permissions import may_manage_dataset
from datasets.presenters import DatasetRow, present_datasets
from datasets.selectors import CatalogueFilters, catalogue_search, dataset_for
from datasets.term_cache import data_use_labels, known_diseases, labels_for
from portal.exceptions import Conflict, InvalidInput, NotAllowed


def dataset_json(row: DatasetRow, request: Request) -> dict:
    d = row.dataset
    return {
        "accession": d.accession,
        "url": request.build_absolute_uri(f"/datasets/{d.accession}/"),
        "title": d.title,
        "description": d.description,
        "status": d.status,
        "participants": d.participants,
        "data_types": d.data_types,
        "agreement_version": d.agreement_version,
        "dac": {"slug": d.dac.slug, "name": d.dac.name, "contact_email": d.dac.contact_email},
        "nodes": [{"slug": n.slug, "name": n.name, "country": n.country.code} for n in d.nodes.all()],
        "data_use": row.data_use.to_json() if row.data_use else None,
        "data_use_version": d.current_profile.version if d.current_profile else None,
    }


_TERM = inline_serializer(
    "DataUseTerm",
    {
        "id": serializers.CharField(),
        "shorthand": serializers.CharField(),
        "label": serializers.CharField(),
        "text": serializers.CharField(),
    },
)
DATA_USE_SCHEMA = inline_serializer(
    "DataUse",
    {
        "duo_version": serializers.CharField(),
        "permission": serializers.CharField(help_text="DUO id of the one permission, e.g. DUO:0000007"),
        "diseases": serializers.ListField(child=serializers.CharField(), help_text="MONDO ids (DS only)"),
        "modifiers": serializers.ListField(
            child=serializers.DictField(), help_text='[{"term": "DUO:0000025", "months": 12}]'
        ),
        "free_text": serializers.CharField(),
        "text": serializers.CharField(read_only=True, help_text="The profile in words"),
        "permission_term": _TERM,
        "disease_terms": serializers.ListField(child=serializers.DictField(), read_only=True),
        "modifier_terms": serializers.ListField(child=_TERM, read_only=True),
    },
)
DATASET_SCHEMA = inline_serializer(
    "Dataset",
    {
        "accession": serializers.CharField(),
        "url": serializers.URLField(),
        "title": serializers.CharField(),
        "description": serializers.CharField(),
        "status": serializers.ChoiceField(choices=Dataset.Status.values),
        "participants": serializers.IntegerField(),
        "data_types": serializers.ListField(child=serializers.CharField()),
        "agreement_version": serializers.CharField(),
        "dac": serializers.DictField(),
        "nodes": serializers.ListField(child=serializers.DictField()),
        "data_use": DATA_USE_SCHEMA,
        "data_use_version": serializers.IntegerField(),
    },
)
MATCH_SCHEMA = inline_serializer(
    "MatchResult",
    {
        "decision": serializers.ChoiceField(choices=["approve", "review", "deny"]),
        "algorithm_version": serializers.CharField(),
        "reasons": serializers.ListField(child=serializers.DictField(), help_text='[{"term", "decision", "message"}]'),
        "conditions": serializers.ListField(child=serializers.DictField(), help_text='[{"term", "code", "text", ...}]'),
        "max_months": serializers.IntegerField(allow_null=True),
        "data_use_text": serializers.CharField(),
        "purpose_text": serializers.CharField(),
    },
)
ERROR_SCHEMA = inline_serializer(
    "Error", {"code": serializers.CharField(), "message": serializers.CharField(), "extra": serializers.DictField()}
)


class CataloguePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class DatasetListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="datasets_list",
        summary="Search the catalogue",
        parameters=[
            OpenApiParameter("q", str, description="Text in title or description, or an accession"),
            OpenApiParameter("permission", str, description="DUO permission: shorthand (DS) or id"),
            OpenApiParameter("disease", str, description="MONDO id; matches the disease and all its subtypes"),
            OpenApiParameter("dac", str, description="Committee slug"),
            OpenApiParameter("node", str, description="Data node slug"),
            OpenApiParameter("country", str, description="ISO country code of a hosting node"),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: ERROR_SCHEMA},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        filters = CatalogueFilters(**{f: params.get(f, "") for f in CatalogueFilters.__dataclass_fields__})
        if filters.disease and not known_diseases({filters.disease.strip().upper()}):
            raise InvalidInput(
                f"Unknown MONDO id {filters.disease!r}.", extra={"fields": {"disease": "unknown MONDO id"}}
            )
        paginator = CataloguePagination()
        page = paginator.paginate_queryset(catalogue_search(request.user, filters), request, view=self)
        return paginator.get_paginated_response([dataset_json(r, request) for r in present_datasets(page)])


class DatasetDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="datasets_retrieve",
        summary="A dataset and its data-use profile",
        responses={200: DATASET_SCHEMA, 404: ERROR_SCHEMA},
    )
    def get(self, request: Request, accession: str) -> Response:
        dataset = dataset_for(request.user, accession)
        if dataset is None:
            raise Http404
        return Response(dataset_json(present_datasets([dataset])[0], request))


class DatasetDataUseApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="datasets_data_use_update",
        summary="Replace the data-use profile (committee chair or secretary); keeps the old version",
        request=inline_serializer(
            "DataUseChange", {"data_use": DATA_USE_SCHEMA, "note": serializers.CharField(required=False)}
        ),
        responses={200: DATASET_SCHEMA, 400: ERROR_SCHEMA, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA},
    )
    def put(self, request: Request, accession: str) -> Response:
        dataset = dataset_for(request.user, accession)
        if dataset is None:
            raise Http404
        if not may_manage_dataset(request.user, dataset):
            raise NotAllowed("Only the committee's chair or secretary may change the data use.")
        body = request.data if isinstance(request.data, dict) else {}
        try:
            data_use = duo.parse_data_use(body.get("data_use"), known_diseases=known_diseases)
        except duo.ProfileInvalid as invalid:
            raise InvalidInput(
                "The data-use profile is not valid.", code="invalid_data_use", extra={"fields": invalid.errors}
            ) from None
        note = body.get("note") if isinstance(body.get("note"), str) else ""
        try:
            services.dataset_profile_change(dataset=dataset, data_use=data_use, note=note, actor=request.user)
        except services.NoChange as unchanged:
            raise Conflict(str(unchanged), code="unchanged") from None
        return Response(dataset_json(present_datasets([dataset_for(request.user, accession)])[0], request))


class DuoMatchApi(APIView):
    """Does a research purpose fit a data-use profile? Anyone may ask; the answer is rate limited."""

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "duo_match"

    @extend_schema(
        operation_id="duo_match",
        summary="Match a research purpose against a data-use profile",
        request=inline_serializer("MatchRequest", {"data_use": DATA_USE_SCHEMA, "purpose": serializers.DictField()}),
        responses={200: MATCH_SCHEMA, 400: ERROR_SCHEMA, 429: ERROR_SCHEMA},
    )
    def post(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        errors: dict[str, str] = {}
        data_use = _parsed(duo.parse_data_use, body.get("data_use"), "data_use", errors)
        parsed_purpose = _parsed(duo.parse_purpose, body.get("purpose"), "purpose", errors)
        if errors:
            raise InvalidInput("The data use or the purpose is not valid.", extra={"fields": errors})
        purpose, facts = parsed_purpose
        result = match_purpose(data_use, purpose, facts)
        labels = data_use_labels(data_use) | labels_for(diseases=purpose.diseases)
        return Response(
            {
                **result.to_json(),
                "data_use_text": duo.describe_data_use(data_use, labels),
                "purpose_text": duo.describe_purpose(purpose, labels),
            }
        )


def _parsed(parser, value, prefix: str, errors: dict[str, str]):
    if value is None:
        errors[prefix] = "is required"
        return None
    try:
        return parser(value, known_diseases=known_diseases)
    except duo.ProfileInvalid as invalid:
        errors.update({f"{prefix}.{path}" if path != prefix else prefix: msg for path, msg in invalid.errors.items()})
        return None
