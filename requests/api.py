"""The people's API for applications (README.md, "The API"): the same actions as the pages, for scripts.

Each view's InputSerializer reads its body and OutputSerializer writes its answer, and both describe
them in the OpenAPI document. The input fields below (shared by the request APIs) take JSON values as
sent and name a wrong field as the domain's own errors do, under the view's own message."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

from django.core.validators import ProhibitNullCharactersValidator
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.fields import empty
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.validators import ProhibitSurrogateCharactersValidator
from rest_framework.views import APIView

from datasets.models import Dataset
from datasets.permissions import datasets_visible_to
from portal.api import ErrorSerializer
from portal.exceptions import InvalidInput, field_errors
from portal.input_guard import GuardedFormParser, GuardedJSONParser, GuardedMultiPartParser
from requests import services
from requests.models import Application, ApplicationDataset, Review
from requests.permissions import ApplicationAction, access_application, read_scope
from requests.selectors.applications import missing_agreements, my_applications
from requests.selectors.grantees import GranteeRow
from requests.selectors.parts import ReadScope, application_parts
from requests.selectors.permits import permit_state

# --- Reading input (shared by the request APIs) -------------------------------------------------


# An API view's input, a JSON object body or the query parameters. `read` gives the validated data
# or raises the 400 `invalid` (InvalidInput) with `extra.fields` naming each wrong field; a body that
# is not a JSON object is named `body`. (A comment, not a docstring: the OpenAPI document would show
# it as the description of every input.)
class PortalInput(serializers.Serializer):
    invalid_message: ClassVar[str] = "The request is not valid."
    not_an_object: ClassVar[tuple[str, str]] = ("The body must be a JSON object.", "must be an object")

    @classmethod
    def read(cls, data: Any, **context: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            message, problem = cls.not_an_object
            raise InvalidInput(message, extra={"fields": {"body": problem}})
        serializer = cls(data=data, context=context)
        if not serializer.is_valid():
            raise cls.invalid(field_errors(serializer.errors))
        return serializer.validated_data

    @classmethod
    def invalid(cls, fields: dict[str, str]) -> InvalidInput:
        return InvalidInput(cls.invalid_message, extra={"fields": fields})


class _JsonValue:
    """A JSON value of one type, taken as sent: DRF's own fields would also take "12" for 12, 3
    for "3" and "yes" for true. With `null_is_absent=True` a null reads as a field left out."""

    json_type: ClassVar[type] = object

    def __init__(self, *args: Any, null_is_absent: bool = False, **kwargs: Any):
        self.null_is_absent = null_is_absent
        super().__init__(*args, **kwargs)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        return super().validate_empty_values(empty if data is None and self.null_is_absent else data)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, self.json_type) or (isinstance(data, bool) and self.json_type is not bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class _Whole:
    """A list or object that is right or wrong as a whole: an error in any item is the field's own
    `invalid` message, under the field's name."""

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError:
            self.fail("invalid")


class Text(_JsonValue, serializers.CharField):
    """Text as sent: not trimmed, blank allowed. CharField's checks of its characters (a NUL or a
    lone surrogate) are left out: the API's parsers and InputGuardMiddleware refuse those before a
    view reads its input, in one message for every field (portal.input_guard)."""

    json_type = str
    default_error_messages = {"invalid": "must be text", "null": "must be text"}

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        unchecked = (ProhibitNullCharactersValidator, ProhibitSurrogateCharactersValidator)
        self.validators = [v for v in self.validators if not isinstance(v, unchecked)]


class TextChoice(_JsonValue, serializers.ChoiceField):
    json_type = str
    default_error_messages = {"invalid": "must be text"}


class WholeNumber(_JsonValue, serializers.IntegerField):
    json_type = int
    default_error_messages = {"invalid": "must be a whole number"}


class TrueOrFalse(_JsonValue, serializers.BooleanField):
    json_type = bool
    default_error_messages = {"invalid": "must be true or false"}


class JsonList(_Whole, _JsonValue, serializers.ListField):
    json_type = list
    default_error_messages = {"invalid": "must be a list"}


class JsonObject(_Whole, _JsonValue, serializers.DictField):
    json_type = dict
    default_error_messages = {"invalid": "must be an object"}


def _all(message: str) -> dict[str, str]:
    """One message for every way a field can be wrong."""
    return dict.fromkeys(("required", "null", "invalid", "invalid_choice", "min_value", "max_value"), message)


# --- Answers ------------------------------------------------------------------------------------


class PersonSerializer(serializers.Serializer):
    sub = serializers.UUIDField(help_text="The person's stable id (the visa `sub`)")
    name = serializers.CharField()


class ApplicationCollaboratorSerializer(serializers.Serializer):
    email = serializers.EmailField()
    accepted_agreements = serializers.BooleanField(
        help_text="Accepted the current agreement of every requested dataset"
    )


class ApplicationDocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    name = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes")
    expires_on = serializers.DateField(allow_null=True)
    current = serializers.BooleanField(help_text="False once a later document of its kind replaced it")


class ApplicationDecisionSerializer(serializers.Serializer):
    dataset = serializers.CharField(help_text="Accession")
    outcome = serializers.CharField(help_text="approve or reject")
    months = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_blank=True, help_text="Why, for a rejection")


class ApplicationMessageSerializer(serializers.Serializer):
    text = serializers.CharField()
    created_at = serializers.DateTimeField()


class ApplicationReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    dac = serializers.SlugField(help_text="The committee's slug")
    # Text, not a choice: an enum named "status" would collide with the other "status" enums.
    status = serializers.CharField()
    datasets = serializers.ListField(child=serializers.CharField(), help_text="Accessions this committee reviews")
    decisions = ApplicationDecisionSerializer(many=True)
    messages = ApplicationMessageSerializer(many=True, help_text="The committee's messages to the applicant")


class GranteeInstitutionSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField(help_text="non_profit or for_profit")
    country = serializers.CharField(help_text="ISO 3166 code")


class GranteeReasonSerializer(serializers.Serializer):
    term = serializers.CharField(allow_blank=True, help_text="The DUO modifier")
    decision = serializers.CharField()
    message = serializers.CharField()


class GranteeDatasetSerializer(serializers.Serializer):
    dataset = serializers.CharField(help_text="Accession")
    qualifies = serializers.BooleanField(help_text="The person's own facts meet the dataset's restrictions on who")
    permit = serializers.CharField(
        allow_null=True, help_text="After an approval: issued, withheld (see reasons) or not_granted"
    )
    reasons = GranteeReasonSerializer(many=True, help_text="Why they do not qualify")


class GranteeSerializer(serializers.Serializer):
    email = serializers.EmailField()
    name = serializers.CharField()
    role = serializers.CharField(help_text="applicant or collaborator")
    institution = GranteeInstitutionSerializer(allow_null=True)
    country = serializers.CharField(allow_blank=True, help_text="Where they process the data (ISO 3166 code)")
    datasets = GranteeDatasetSerializer(many=True)


class ApplicationVersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()


class ApplicationPermitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    grantee = serializers.UUIDField(help_text="The holder's `sub`")
    dataset = serializers.CharField(help_text="Accession")
    status = serializers.CharField()
    starts_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class ApplicationSerializer(serializers.Serializer):
    """An application as its reader reads it (application_json): the applicant and collaborators
    every part; a reviewing committee the shared project and only its own part."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    version = serializers.IntegerField(help_text="The number of submitted versions")
    applicant = PersonSerializer()
    title = serializers.CharField()
    lay_summary = serializers.CharField()
    abstract = serializers.CharField()
    purpose = serializers.DictField(help_text="The research purpose, as the matcher reads it")
    requested_months = serializers.IntegerField(allow_null=True)
    datasets = serializers.ListField(child=serializers.CharField(), help_text="Accessions")
    collaborators = ApplicationCollaboratorSerializer(many=True)
    documents = ApplicationDocumentSerializer(many=True)
    reviews = ApplicationReviewSerializer(many=True)
    match = serializers.DictField(child=serializers.DictField(allow_null=True), help_text="accession -> matcher answer")
    justifications = serializers.DictField(child=serializers.CharField(), help_text="accession -> why it fits")
    versions = ApplicationVersionSerializer(many=True)
    permits = ApplicationPermitSerializer(many=True)
    grantees = GranteeSerializer(many=True, help_text="Each person against each dataset's restrictions on who")
    warnings = serializers.DictField(
        child=serializers.CharField(), help_text="field -> a warning that does not stop submission"
    )
    submitted_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()


def _review_json(review: Review, items: list[ApplicationDataset]) -> dict[str, Any]:
    return {
        "id": review.pk,
        "dac": review.dac.slug,
        "status": review.status,
        "datasets": [i.dataset.accession for i in items if i.review_id == review.pk],
        "decisions": [
            {"dataset": d.dataset.accession, "outcome": d.outcome, "months": d.months, "reason": d.reason}
            for d in review.decisions.all()
        ],
        "messages": [{"text": n.text, "created_at": n.created_at} for n in review.messages_to_applicant],
    }


def _grantee_json(row: GranteeRow) -> dict[str, Any]:
    person = row.person
    institution = person.institution
    return {
        "email": person.email,
        "name": person.name,
        "role": person.role,
        "institution": {
            "name": institution.name,
            "kind": institution.organisation_type,
            "country": person.institution_country,
        }
        if institution is not None
        else None,
        "country": person.country,
        "datasets": [c.to_json() for c in row.checks],
    }


def application_json(app: Application, scope: ReadScope) -> dict[str, Any]:
    """The application as a reader with `scope` (requests.permissions.read_scope) reads it."""
    parts = application_parts(app, scope)
    items = parts.items
    missing = missing_agreements(app)
    now = timezone.now()
    return {
        "id": app.pk,
        "status": app.status,
        "version": app.version,
        "applicant": {"sub": str(app.applicant.sub), "name": app.applicant.name},
        "title": app.title,
        "lay_summary": app.lay_summary,
        "abstract": app.abstract,
        "purpose": app.purpose,
        "requested_months": app.requested_months,
        "datasets": [i.dataset.accession for i in items],
        "collaborators": [
            {"email": c.email, "accepted_agreements": c.email not in missing} for c in app.collaborators.all()
        ],
        "documents": [
            {
                "id": d.pk,
                "kind": d.kind,
                "name": d.original_name,
                "size": d.size,
                "expires_on": d.expires_on,
                "current": d.replaced_at is None,
            }
            for d in app.documents.all()
        ],
        "reviews": [_review_json(r, items) for r in parts.reviews],
        "match": parts.matches,
        "justifications": parts.justifications,
        "versions": [{"number": v.number, "submitted_at": v.submitted_at} for v in app.versions.order_by("number")],
        "permits": [
            {
                "id": p.pk,
                "grantee": str(p.grantee.sub),
                "dataset": p.dataset.accession,
                "status": permit_state(p, now),
                "starts_at": p.starts_at,
                "expires_at": p.expires_at,
            }
            for p in parts.permits
        ],
        "grantees": [_grantee_json(row) for row in parts.grantees],
        "warnings": parts.warnings,
        "submitted_at": app.submitted_at,
        "updated_at": app.updated_at,
    }


def _application(request: Request, app: Application) -> dict[str, Any]:
    return ApplicationSerializer(application_json(app, read_scope(request.user, app))).data


# --- Input --------------------------------------------------------------------------------------

_MONTHS = f"must be a whole number of months from 1 to {services.MAX_MONTHS}"


class ApplicationDraftSerializer(PortalInput):
    """What a new draft or an edit sets; a field left out (or null, where that is allowed) is
    left as it is."""

    invalid_message = "The application data is not valid."

    title = Text(required=False)
    lay_summary = Text(required=False)
    abstract = Text(required=False)
    purpose = JsonObject(required=False, null_is_absent=True)
    requested_months = WholeNumber(
        required=False,
        null_is_absent=True,
        min_value=1,
        max_value=services.MAX_MONTHS,
        error_messages=_all(_MONTHS),
    )
    collaborators = JsonList(
        child=serializers.EmailField(),
        required=False,
        null_is_absent=True,
        error_messages=_all("must be a list of e-mail addresses"),
        help_text="E-mail addresses to invite; the whole list",
    )
    datasets = JsonList(
        child=Text(),
        required=False,
        error_messages=_all("must be a list of accessions"),
        help_text="Accessions of published datasets; the whole list",
    )

    def validate_datasets(self, accessions: list[str]) -> list[Dataset]:
        wanted = [a.upper() for a in accessions]
        visible = datasets_visible_to(self.context["user"])
        found = {d.accession: d for d in visible.filter(accession__in=wanted, status=Dataset.Status.PUBLISHED)}
        unknown = [a for a in wanted if a not in found]
        if unknown:
            raise serializers.ValidationError(f"unknown or unpublished datasets: {', '.join(unknown)}")
        return [found[a] for a in wanted]


_FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Only the applicant may do this (`forbidden`).")
_NOT_EDITABLE = OpenApiResponse(
    ErrorSerializer, description="The application is no longer a draft or returned (`not_editable`)."
)


def _own(request: Request, pk: int) -> Application:
    """The caller's own application; 404 when they may not see it, 403 when they may see but not change it."""
    return access_application(request.user, pk, ApplicationAction.CHANGE)


# --- Views --------------------------------------------------------------------------------------


class ApplicationSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class ApplicationListApi(APIView):
    permission_classes = [IsAuthenticated]

    InputSerializer = ApplicationDraftSerializer

    class OutputSerializer(serializers.Serializer):
        results = ApplicationSummarySerializer(many=True)

    @extend_schema(
        operation_id="applications_list",
        summary="Your applications (as applicant or collaborator)",
        responses=OutputSerializer,
    )
    def get(self, request: Request) -> Response:
        rows = [
            {"id": a.pk, "title": a.title, "status": a.status, "version": a.version, "updated_at": a.updated_at}
            for a in my_applications(request.user)
        ]
        return Response(self.OutputSerializer({"results": rows}).data)

    @extend_schema(
        operation_id="applications_create",
        summary="Create a draft",
        request=InputSerializer,
        responses={201: ApplicationSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer.read(request.data, user=request.user)
        datasets = data.pop("datasets", None)
        if not datasets:
            raise InvalidInput("Name at least one dataset.", extra={"fields": {"datasets": "required"}})
        app = services.application_create(applicant=request.user, datasets=datasets)
        app = services.application_update(application=app, changes=services.DraftChanges(**data), actor=request.user)
        return Response(_application(request, app), status=status.HTTP_201_CREATED)


class ApplicationDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    InputSerializer = ApplicationDraftSerializer
    OutputSerializer = ApplicationSerializer

    @extend_schema(operation_id="applications_retrieve", summary="Read an application", responses=OutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(_application(request, access_application(request.user, pk)))

    @extend_schema(
        operation_id="applications_update",
        summary="Edit a draft or returned application",
        request=InputSerializer,
        responses={200: OutputSerializer, 403: _FORBIDDEN, 409: _NOT_EDITABLE},
    )
    def patch(self, request: Request, pk: int) -> Response:
        app = _own(request, pk)
        data = self.InputSerializer.read(request.data, user=request.user)
        app = services.application_update(application=app, changes=services.DraftChanges(**data), actor=request.user)
        return Response(_application(request, app))


class IsoDateField(serializers.DateField):
    """A date as YYYY-MM-DD (what datetime.date.fromisoformat reads)."""

    def to_internal_value(self, data: Any) -> dt.date:
        if not isinstance(data, str):
            self.fail("invalid", format="YYYY-MM-DD")
        try:
            return dt.date.fromisoformat(data)
        except ValueError:
            self.fail("invalid", format="YYYY-MM-DD")


class ApplicationDocumentApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [GuardedMultiPartParser, GuardedFormParser]

    class InputSerializer(PortalInput):
        """The fields are checked in order and the first wrong one is named, with its own message."""

        MESSAGES: ClassVar[dict[str, str]] = {
            "kind": "Only kind=ethics_approval is accepted.",
            "file": "Attach the PDF as the field 'file'.",
            "expires_on": "expires_on must be a date YYYY-MM-DD.",
        }

        kind = TextChoice(choices=["ethics_approval"], default="ethics_approval", error_messages=_all("unknown kind"))
        file = serializers.FileField(
            allow_empty_file=True,  # the PDF check of the service names what is wrong with the file
            error_messages=dict.fromkeys(("required", "null", "invalid", "no_name", "empty", "max_length"), "required"),
        )
        expires_on = IsoDateField(error_messages=_all("not a date"))

        @classmethod
        def invalid(cls, fields: dict[str, str]) -> InvalidInput:
            first = next(iter(fields))
            return InvalidInput(cls.MESSAGES[first], extra={"fields": {first: fields[first]}})

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        kind = serializers.CharField()
        name = serializers.CharField(source="original_name")
        size = serializers.IntegerField(help_text="Bytes")
        sha256 = serializers.CharField()
        expires_on = serializers.DateField()

    @extend_schema(
        operation_id="applications_documents_create",
        summary="Upload an ethics approval (PDF, at most 10 MB)",
        request={"multipart/form-data": InputSerializer},
        responses={
            201: OutputSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="`invalid`, naming the first wrong field (`kind`, `file`, `expires_on`); "
                "`invalid_document` when the file is not a PDF or the approval's expiry is not in the future.",
            ),
            403: _FORBIDDEN,
            409: _NOT_EDITABLE,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        app = _own(request, pk)
        # The form as a plain dict (the last value of a repeated field): an empty value is then a
        # value, not a field left out.
        data = self.InputSerializer.read(request.data.dict())
        document = services.application_document_add(
            application=app, upload=data["file"], expires_on=data["expires_on"], actor=request.user
        )
        return Response(self.OutputSerializer(document).data, status=status.HTTP_201_CREATED)


class AcceptedAgreementSerializer(serializers.Serializer):
    dataset = serializers.CharField(source="dataset.accession", help_text="Accession")
    agreement_version = serializers.CharField()


class ApplicationAgreementsApi(APIView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        accepted = AcceptedAgreementSerializer(many=True)

    @extend_schema(
        operation_id="applications_agreements_accept",
        summary="Accept the data access agreements of the application's datasets",
        request=None,
        responses={
            200: OutputSerializer,
            403: OpenApiResponse(
                ErrorSerializer, description="Only the applicant and invited collaborators (`forbidden`)."
            ),
            409: OpenApiResponse(
                ErrorSerializer, description="The application no longer takes agreements (`not_editable`)."
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        app = access_application(request.user, pk, ApplicationAction.TAKE_PART)
        accepted = services.application_agreements_accept(application=app, actor=request.user)
        return Response(self.OutputSerializer({"accepted": accepted}).data)


class ApplicationSubmitApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [GuardedJSONParser]

    class InputSerializer(PortalInput):
        invalid_message = "justifications must map accessions to text."

        justifications = JsonObject(
            child=Text(),
            required=False,
            null_is_absent=True,
            error_messages=_all("invalid"),
            help_text="accession -> why access is justified where the matcher does not approve",
        )

        def validate_justifications(self, justifications: dict[str, str]) -> dict[str, str]:
            return {accession.upper(): text for accession, text in justifications.items()}

    OutputSerializer = ApplicationSerializer

    @extend_schema(
        operation_id="applications_submit",
        summary="Submit (or resubmit) the application",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="`invalid` (`justifications`), or `application_incomplete` with `extra.fields` "
                "naming what is missing.",
            ),
            403: _FORBIDDEN,
            409: OpenApiResponse(ErrorSerializer, description="Submitted already (`invalid_transition`)."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        app = _own(request, pk)
        # A body that is not an object reads as an empty one: nothing to justify.
        data = self.InputSerializer.read(request.data if isinstance(request.data, dict) else {})
        app = services.application_submit(
            application=app, actor=request.user, justifications=data.get("justifications")
        )
        return Response(_application(request, app))


class ApplicationWithdrawApi(APIView):
    permission_classes = [IsAuthenticated]

    OutputSerializer = ApplicationSerializer

    @extend_schema(
        operation_id="applications_withdraw",
        summary="Withdraw before a decision",
        request=None,
        responses={
            200: OutputSerializer,
            403: _FORBIDDEN,
            409: OpenApiResponse(ErrorSerializer, description="Decided or withdrawn already (`invalid_transition`)."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        app = services.application_withdraw(application=_own(request, pk), actor=request.user)
        return Response(_application(request, app))
