"""The catalogue's JSON API (README.md, "The API"): public dataset metadata and data-use profiles, and the
data-use change for a committee's chair or secretary.

Each view's InputSerializer reads its input and OutputSerializer writes its answer, and both
describe them in the OpenAPI document. Profiles and purposes are read by the domain's own parser
(datasets.duo), so that the API names a wrong field as the pages and the matcher do."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from datasets import duo, services
from datasets.duo_matcher import Decision
from datasets.matcher_runtime import match_purpose
from datasets.models import Dataset
from datasets.permissions import may_manage_dataset
from datasets.presenters import DatasetRow, present_datasets
from datasets.selectors import CatalogueFilters, catalogue_search, dataset_for
from datasets.term_cache import data_use_labels, known_diseases, labels_for
from portal.api import ErrorSerializer
from portal.exceptions import Conflict, InvalidInput, NotAllowed, field_errors
from portal.throttling import ClientAddressScopedThrottle

# --- data use and purpose ---------------------------------------------------------------------


class DataUseTermSerializer(serializers.Serializer):
    """A DUO term in words; a modifier's parameters (`months`, `date`, `countries`, ...) come along."""

    id = serializers.CharField()
    shorthand = serializers.CharField()
    label = serializers.CharField()
    text = serializers.CharField()

    def to_representation(self, instance: dict[str, Any]) -> dict[str, Any]:
        return {**instance, **super().to_representation(instance)}


class DiseaseTermSerializer(serializers.Serializer):
    id = serializers.CharField()
    label = serializers.CharField()


def _errors_of(invalid: duo.ProfileInvalid, own_name: str) -> dict[str, str]:
    # The parser names the object itself by its own name ("data_use: must be an object").
    return {api_settings.NON_FIELD_ERRORS_KEY if path == own_name else path: m for path, m in invalid.errors.items()}


class DataUseSerializer(serializers.Serializer):
    """A data-use profile, as datasets.duo parses and writes it; in answers also in words."""

    duo_version = serializers.CharField(required=False, help_text=f"Only DUO release {duo.DUO_VERSION} is loaded.")
    permission = serializers.CharField(help_text="DUO id of the one permission, e.g. DUO:0000007")
    diseases = serializers.ListField(child=serializers.CharField(), required=False, help_text="MONDO ids (DS only)")
    modifiers = serializers.ListField(
        child=serializers.DictField(), required=False, help_text='[{"term": "DUO:0000025", "months": 12}]'
    )
    free_text = serializers.CharField(required=False, allow_blank=True)
    text = serializers.CharField(read_only=True, help_text="The profile in words")
    permission_term = DataUseTermSerializer(read_only=True)
    disease_terms = DiseaseTermSerializer(many=True, read_only=True)
    modifier_terms = DataUseTermSerializer(many=True, read_only=True)

    def to_internal_value(self, data: Any) -> duo.DataUse:
        try:
            return duo.parse_data_use(data, known_diseases=known_diseases)
        except duo.ProfileInvalid as invalid:
            raise serializers.ValidationError(_errors_of(invalid, "data_use")) from None

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return super().to_representation(instance.to_json())


class PurposeSerializer(serializers.Serializer):
    """A research purpose, as datasets.duo parses it, with the applicant's facts that the matcher weighs."""

    primary = serializers.ChoiceField(choices=[p.value for p in duo.Primary])
    diseases = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="MONDO ids; disease research needs one"
    )
    methods_development = serializers.BooleanField(required=False)
    commercial = serializers.BooleanField(required=False)
    for_profit_organisation = serializers.BooleanField(required=False, allow_null=True)
    genetic_study = serializers.BooleanField(required=False)
    population_ancestry = serializers.BooleanField(required=False)
    clinical_care = serializers.BooleanField(required=False)
    country = serializers.CharField(required=False, allow_blank=True, help_text="ISO 3166 code, e.g. DE")
    institution = serializers.CharField(required=False, allow_blank=True, help_text="ROR id (https://ror.org/...)")
    user = serializers.CharField(required=False, allow_blank=True, help_text="The researcher's id")
    project = serializers.CharField(required=False, allow_blank=True)
    free_text = serializers.CharField(required=False, allow_blank=True)

    def to_internal_value(self, data: Any) -> tuple[duo.ResearchPurpose, duo.ApplicantFacts]:
        try:
            return duo.parse_purpose(data, known_diseases=known_diseases)
        except duo.ProfileInvalid as invalid:
            raise serializers.ValidationError(_errors_of(invalid, "purpose")) from None


# --- datasets ---------------------------------------------------------------------------------


class DatasetCommitteeSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    contact_email = serializers.EmailField()


class DatasetNodeSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    country = serializers.CharField(source="country.code", help_text="ISO 3166 code")


class DatasetSerializer(serializers.Serializer):
    """A dataset's public metadata and its current data-use profile (a DatasetRow)."""

    accession = serializers.CharField(source="dataset.accession")
    url = serializers.SerializerMethodField()
    title = serializers.CharField(source="dataset.title")
    description = serializers.CharField(source="dataset.description")
    status = serializers.ChoiceField(choices=Dataset.Status.values, source="dataset.status")
    participants = serializers.IntegerField(source="dataset.participants")
    data_types = serializers.ListField(child=serializers.CharField(), source="dataset.data_types")
    agreement_version = serializers.CharField(source="dataset.agreement_version")
    dac = DatasetCommitteeSerializer(source="dataset.dac")
    nodes = DatasetNodeSerializer(source="dataset.nodes.all", many=True)
    data_use = DataUseSerializer(allow_null=True)
    data_use_version = serializers.IntegerField(source="dataset.current_profile.version", allow_null=True)

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, row: DatasetRow) -> str:
        return self.context["request"].build_absolute_uri(f"/datasets/{row.dataset.accession}/")


def _visible_dataset(request: Request, accession: str) -> Dataset:
    dataset = dataset_for(request.user, accession)
    if dataset is None:
        raise Http404
    return dataset


def _row(dataset: Dataset) -> DatasetRow:
    return present_datasets([dataset])[0]


def _object(data: Any) -> Any:
    # A body that is not a JSON object reads as an empty one: its fields are then named as missing.
    return data if isinstance(data, dict) else {}


class CataloguePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _filter(help_text: str) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, help_text=help_text)


class DatasetListApi(APIView):
    permission_classes = [AllowAny]
    pagination_class = CataloguePagination

    class FilterSerializer(serializers.Serializer):
        q = _filter("Text in title or description, or an accession")
        permission = _filter("DUO permission: shorthand (DS) or id")
        disease = _filter("MONDO id; matches the disease and all its subtypes")
        dac = _filter("Committee slug")
        node = _filter("Data node slug")
        country = _filter("ISO country code of a hosting node")

    OutputSerializer = DatasetSerializer

    @extend_schema(
        operation_id="datasets_list",
        summary="Search the catalogue",
        parameters=[FilterSerializer],
        responses=OutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        filters = CatalogueFilters(**params.validated_data)
        if filters.disease and not known_diseases({filters.disease.strip().upper()}):
            raise InvalidInput(
                f"Unknown MONDO id {filters.disease!r}.", extra={"fields": {"disease": "unknown MONDO id"}}
            )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(catalogue_search(request.user, filters), request, view=self)
        rows = self.OutputSerializer(present_datasets(page), many=True, context={"request": request})
        return paginator.get_paginated_response(rows.data)


class DatasetDetailApi(APIView):
    permission_classes = [AllowAny]

    OutputSerializer = DatasetSerializer

    @extend_schema(
        operation_id="datasets_retrieve", summary="A dataset and its data-use profile", responses=OutputSerializer
    )
    def get(self, request: Request, accession: str) -> Response:
        row = _row(_visible_dataset(request, accession))
        return Response(self.OutputSerializer(row, context={"request": request}).data)


class DatasetDataUseApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        data_use = DataUseSerializer(error_messages={"required": "must be an object", "null": "must be an object"})
        note = serializers.CharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=False)

        class Meta:
            ref_name = "DataUseChange"

    OutputSerializer = DatasetSerializer

    @extend_schema(
        operation_id="datasets_data_use_update",
        summary="Replace the data-use profile (committee chair or secretary); keeps the old version",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="`invalid_data_use`: `extra.fields` names each wrong field of the profile "
                "(`permission`, `modifiers[0].months`; `data_use` for the whole profile).",
            ),
            403: OpenApiResponse(ErrorSerializer, description="Only the committee's chair or secretary (`forbidden`)."),
            409: OpenApiResponse(ErrorSerializer, description="The profile is the current one (`unchanged`)."),
        },
    )
    def put(self, request: Request, accession: str) -> Response:
        dataset = _visible_dataset(request, accession)
        if not may_manage_dataset(request.user, dataset):
            raise NotAllowed("Only the committee's chair or secretary may change the data use.")
        data = self.InputSerializer(data=_object(request.data))
        if not data.is_valid():
            # This answer names a profile's fields from the profile: "permission", not "data_use.permission".
            fields = {path.removeprefix("data_use."): m for path, m in field_errors(data.errors).items()}
            raise InvalidInput("The data-use profile is not valid.", code="invalid_data_use", extra={"fields": fields})
        try:
            services.dataset_profile_change(
                dataset=dataset,
                data_use=data.validated_data["data_use"],
                note=data.validated_data.get("note") or "",
                actor=request.user,
            )
        except services.NoChange as unchanged:
            raise Conflict(str(unchanged), code="unchanged") from None
        row = _row(_visible_dataset(request, accession))
        return Response(self.OutputSerializer(row, context={"request": request}).data)


# --- matching ---------------------------------------------------------------------------------

_REQUIRED = {"required": "is required", "null": "is required"}


class MatchReasonSerializer(serializers.Serializer):
    term = serializers.CharField(help_text="The DUO term weighed")
    decision = serializers.ChoiceField(choices=[d.value for d in Decision])
    message = serializers.CharField()


class DuoMatchApi(APIView):
    """Does a research purpose fit a data-use profile? Anyone may ask; the answer is rate limited."""

    permission_classes = [AllowAny]
    throttle_classes = [ClientAddressScopedThrottle]
    throttle_scope = "duo_match"

    class InputSerializer(serializers.Serializer):
        data_use = DataUseSerializer(error_messages=_REQUIRED)
        purpose = PurposeSerializer(error_messages=_REQUIRED)

        class Meta:
            ref_name = "MatchRequest"

    class OutputSerializer(serializers.Serializer):
        decision = serializers.ChoiceField(choices=[d.value for d in Decision])
        algorithm_version = serializers.CharField()
        reasons = MatchReasonSerializer(many=True)
        conditions = serializers.ListField(
            child=serializers.DictField(), help_text='[{"term", "code", "text", ...}]: what a permit would carry'
        )
        max_months = serializers.IntegerField(allow_null=True, help_text="The longest permit the profile allows")
        data_use_text = serializers.CharField()
        purpose_text = serializers.CharField()

        class Meta:
            ref_name = "MatchResult"

    @extend_schema(
        operation_id="duo_match",
        summary="Match a research purpose against a data-use profile",
        request=InputSerializer,
        responses=OutputSerializer,
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=_object(request.data))
        if not data.is_valid():
            raise InvalidInput("The data use or the purpose is not valid.", extra={"fields": field_errors(data.errors)})
        data_use = data.validated_data["data_use"]
        purpose, facts = data.validated_data["purpose"]
        result = match_purpose(data_use, purpose, facts)
        labels = data_use_labels(data_use) | labels_for(diseases=purpose.diseases)
        answer = {
            **result.to_json(),
            "data_use_text": duo.describe_data_use(data_use, labels),
            "purpose_text": duo.describe_purpose(purpose, labels),
        }
        return Response(self.OutputSerializer(answer).data)
