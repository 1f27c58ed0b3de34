"""The people's API for applications (API.md): the same actions as the pages, for scripts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets.models import Dataset
from datasets.permissions import datasets_visible_to
from portal.exceptions import InvalidInput, NotAllowed
from requests import services
from requests.models import Application
from requests.permissions import applications_owned_by, applications_visible_to

ERROR = inline_serializer(
    "ApplicationError",
    {"code": serializers.CharField(), "message": serializers.CharField(), "extra": serializers.DictField()},
)
APPLICATION = inline_serializer(
    "Application",
    {
        "id": serializers.IntegerField(),
        "status": serializers.CharField(),
        "version": serializers.IntegerField(),
        "title": serializers.CharField(),
        "lay_summary": serializers.CharField(),
        "abstract": serializers.CharField(),
        "purpose": serializers.DictField(),
        "requested_months": serializers.IntegerField(allow_null=True),
        "datasets": serializers.ListField(child=serializers.CharField()),
        "collaborators": serializers.ListField(child=serializers.DictField()),
        "documents": serializers.ListField(child=serializers.DictField()),
        "reviews": serializers.ListField(
            child=serializers.DictField(), help_text='[{"id", "dac", "status", "datasets"}]'
        ),
        "match": serializers.DictField(help_text="accession -> matcher answer"),
        "versions": serializers.ListField(child=serializers.DictField()),
        "permits": serializers.ListField(child=serializers.DictField()),
    },
)
DRAFT = inline_serializer(
    "ApplicationDraft",
    {
        "title": serializers.CharField(required=False),
        "lay_summary": serializers.CharField(required=False),
        "abstract": serializers.CharField(required=False),
        "purpose": serializers.DictField(required=False),
        "datasets": serializers.ListField(child=serializers.CharField(), required=False),
        "requested_months": serializers.IntegerField(required=False),
        "collaborators": serializers.ListField(child=serializers.EmailField(), required=False),
    },
)


def application_json(app: Application) -> dict[str, Any]:
    items = list(app.requested.select_related("dataset"))
    live = services.dataset_matches(app) if app.editable else {}
    reviews = []
    for review in app.reviews.select_related("dac").order_by("dac__name"):
        accessions = [i.dataset.accession for i in items if i.review_id == review.pk]
        reviews.append({"id": review.pk, "dac": review.dac.slug, "status": review.status, "datasets": accessions})
    missing = services.missing_agreements(app)
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
        "reviews": reviews,
        "match": {i.dataset.accession: (i.match or live.get(i.dataset.accession)) for i in items},
        "versions": [{"number": v.number, "submitted_at": v.submitted_at} for v in app.versions.order_by("number")],
        "permits": [],
        "submitted_at": app.submitted_at,
        "updated_at": app.updated_at,
    }


def _text(body: dict, key: str, errors: dict) -> str | None:
    if key not in body:
        return None
    if not isinstance(body[key], str):
        errors[key] = "must be text"
        return None
    return body[key]


def _datasets(user, body: dict, errors: dict) -> list[Dataset] | None:
    if "datasets" not in body:
        return None
    raw = body["datasets"]
    if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
        errors["datasets"] = "must be a list of accessions"
        return None
    wanted = [a.upper() for a in raw]
    found = {
        d.accession: d for d in datasets_visible_to(user).filter(accession__in=wanted, status=Dataset.Status.PUBLISHED)
    }
    unknown = [a for a in wanted if a not in found]
    if unknown:
        errors["datasets"] = f"unknown or unpublished datasets: {', '.join(unknown)}"
        return None
    return [found[a] for a in wanted]


def _changes(user, body: Any) -> tuple[services.DraftChanges, list[Dataset] | None]:
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.", extra={"fields": {"body": "must be an object"}})
    errors: dict[str, str] = {}
    texts = {k: _text(body, k, errors) for k in ("title", "lay_summary", "abstract")}
    purpose = body.get("purpose")
    if purpose is not None and not isinstance(purpose, dict):
        errors["purpose"] = "must be an object"
    months = body.get("requested_months")
    if months is not None and (
        isinstance(months, bool) or not isinstance(months, int) or not 0 < months <= services.MAX_MONTHS
    ):
        errors["requested_months"] = f"must be a whole number of months from 1 to {services.MAX_MONTHS}"
    collaborators = body.get("collaborators")
    if collaborators is not None:
        field = serializers.ListField(child=serializers.EmailField())
        try:
            collaborators = field.run_validation(collaborators)
        except serializers.ValidationError:
            errors["collaborators"] = "must be a list of e-mail addresses"
    datasets = _datasets(user, body, errors)
    if errors:
        raise InvalidInput("The application data is not valid.", extra={"fields": errors})
    changes = services.DraftChanges(purpose=purpose, requested_months=months, collaborators=collaborators, **texts)
    return changes, datasets


def _own(request: Request, pk: int) -> Application:
    """The caller's own application; 404 when they may not see it, 403 when they may see but not change it."""
    app = applications_visible_to(request.user).filter(pk=pk).first()
    if app is None:
        raise Http404
    if not applications_owned_by(request.user).filter(pk=pk).exists():
        raise NotAllowed("Only the applicant may do this.")
    return app


class ApplicationListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="applications_list",
        summary="Your applications (as applicant or collaborator)",
        responses={
            200: inline_serializer(
                "ApplicationSummary", {"results": serializers.ListField(child=serializers.DictField())}
            )
        },
    )
    def get(self, request: Request) -> Response:
        apps = applications_visible_to(request.user).filter(applicant=request.user) | applications_visible_to(
            request.user
        ).filter(collaborators__user=request.user)
        rows = [
            {"id": a.pk, "title": a.title, "status": a.status, "version": a.version, "updated_at": a.updated_at}
            for a in apps.distinct().order_by("-updated_at")
        ]
        return Response({"results": rows})

    @extend_schema(
        operation_id="applications_create",
        summary="Create a draft",
        request=DRAFT,
        responses={201: APPLICATION, 400: ERROR},
    )
    def post(self, request: Request) -> Response:
        changes, datasets = _changes(request.user, request.data)
        if not datasets:
            raise InvalidInput("Name at least one dataset.", extra={"fields": {"datasets": "required"}})
        app = services.application_create(applicant=request.user, datasets=datasets)
        app = services.application_update(application=app, changes=changes, actor=request.user)
        return Response(application_json(app), status=status.HTTP_201_CREATED)


class ApplicationDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="applications_retrieve", summary="Read an application", responses={200: APPLICATION, 404: ERROR}
    )
    def get(self, request: Request, pk: int) -> Response:
        app = applications_visible_to(request.user).filter(pk=pk).first()
        if app is None:
            raise Http404
        return Response(application_json(app))

    @extend_schema(
        operation_id="applications_update",
        summary="Edit a draft or returned application",
        request=DRAFT,
        responses={200: APPLICATION, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    def patch(self, request: Request, pk: int) -> Response:
        app = _own(request, pk)
        changes, datasets = _changes(request.user, request.data)
        if datasets is not None:
            changes = services.DraftChanges(**{**changes.__dict__, "datasets": datasets})
        app = services.application_update(application=app, changes=changes, actor=request.user)
        return Response(application_json(app))


class ApplicationDocumentApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="applications_documents_create",
        summary="Upload an ethics approval (PDF, at most 10 MB)",
        request={
            "multipart/form-data": inline_serializer(
                "DocumentUpload",
                {
                    "kind": serializers.ChoiceField(choices=["ethics_approval"]),
                    "expires_on": serializers.DateField(),
                    "file": serializers.FileField(),
                },
            )
        },
        responses={201: OpenApiTypes.OBJECT, 400: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request: Request, pk: int) -> Response:
        app = _own(request, pk)
        if request.data.get("kind", "ethics_approval") != "ethics_approval":
            raise InvalidInput("Only kind=ethics_approval is accepted.", extra={"fields": {"kind": "unknown kind"}})
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput("Attach the PDF as the field 'file'.", extra={"fields": {"file": "required"}})
        try:
            expires = dt.date.fromisoformat(request.data.get("expires_on") or "")
        except ValueError:
            raise InvalidInput(
                "expires_on must be a date YYYY-MM-DD.", extra={"fields": {"expires_on": "not a date"}}
            ) from None
        document = services.application_document_add(
            application=app, upload=upload, expires_on=expires, actor=request.user
        )
        body = {
            "id": document.pk,
            "kind": document.kind,
            "name": document.original_name,
            "size": document.size,
            "sha256": document.sha256,
            "expires_on": document.expires_on,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class ApplicationAgreementsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="applications_agreements_accept",
        summary="Accept the data access agreements of the application's datasets",
        request=None,
        responses={200: OpenApiTypes.OBJECT, 403: ERROR, 404: ERROR},
    )
    def post(self, request: Request, pk: int) -> Response:
        app = applications_visible_to(request.user).filter(pk=pk).first()
        if app is None:
            raise Http404
        accepted = services.application_agreements_accept(application=app, user=request.user)
        return Response(
            {"accepted": [{"dataset": a.dataset.accession, "agreement_version": a.agreement_version} for a in accepted]}
        )


class ApplicationSubmitApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="applications_submit",
        summary="Submit (or resubmit) the application",
        request=inline_serializer(
            "Submit", {"justifications": serializers.DictField(child=serializers.CharField(), required=False)}
        ),
        responses={200: APPLICATION, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request: Request, pk: int) -> Response:
        app = _own(request, pk)
        body = request.data if isinstance(request.data, dict) else {}
        justifications = body.get("justifications")
        if justifications is not None and (
            not isinstance(justifications, dict) or not all(isinstance(v, str) for v in justifications.values())
        ):
            raise InvalidInput(
                "justifications must map accessions to text.", extra={"fields": {"justifications": "invalid"}}
            )
        if justifications is not None:
            justifications = {k.upper(): v for k, v in justifications.items()}
        app = services.application_submit(application=app, actor=request.user, justifications=justifications)
        return Response(application_json(app))


class ApplicationWithdrawApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="applications_withdraw",
        summary="Withdraw before a decision",
        request=None,
        responses={200: APPLICATION, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request: Request, pk: int) -> Response:
        app = services.application_withdraw(application=_own(request, pk), actor=request.user)
        return Response(application_json(app))
