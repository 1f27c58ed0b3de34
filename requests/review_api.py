"""The people's API for committee review (README.md, "The API"): the caller's committees' reviews, votes,
return to the applicant and decisions. Reads fetch and authorize in one query (a review of
another committee answers 404); the services enforce who may vote or decide (403).

Each view's InputSerializer (FilterSerializer for the list) reads its input and OutputSerializer
writes its answer, and both describe them in the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets import permissions as dac_perms
from portal.api import ErrorSerializer
from portal.exceptions import InvalidInput
from requests import services
from requests.api import JsonList, PersonSerializer, PortalInput, Text, TextChoice, TrueOrFalse, WholeNumber
from requests.models import (
    Application,
    ApplicationDataset,
    DatasetDecision,
    Outcome,
    Permit,
    Review,
    ReviewNote,
    ReviewStatus,
    Vote,
    VoteChoice,
)
from requests.permissions import access_review
from requests.selectors import reviews as selectors
from requests.selectors.applications import purpose_in_words, submitted_version

# --- Answers ------------------------------------------------------------------------------------


class ReviewQuorumSerializer(serializers.Serializer):
    counted = serializers.IntegerField(help_text="Votes that count (a declared conflict does not)")
    needed = serializers.IntegerField(help_text="Votes needed before the chair may decide")


class _ReviewFields(serializers.Serializer):
    id = serializers.IntegerField()
    dac = serializers.SlugField()
    # Text, not a choice: an enum named "status" would collide with the other "status" enums.
    status = serializers.CharField(help_text=", ".join(ReviewStatus.values))


class ReviewSummaryApplicationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()


class ReviewSummaryDatasetSerializer(serializers.Serializer):
    accession = serializers.CharField()
    match = serializers.CharField(allow_null=True, help_text="The matcher's stored decision: approve, review or deny")


class ReviewSummarySerializer(_ReviewFields):
    """One line of the list (review_row_json)."""

    application = ReviewSummaryApplicationSerializer()
    applicant = PersonSerializer()
    datasets = ReviewSummaryDatasetSerializer(many=True)
    quorum = ReviewQuorumSerializer()
    opened_at = serializers.DateTimeField(help_text="When the current round of review started")
    age_days = serializers.IntegerField(help_text="Whole days since opened_at")


class ReviewApplicationSerializer(serializers.Serializer):
    """The application as the committee reads it: the submitted version's fields."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    version = serializers.IntegerField()
    title = serializers.CharField()
    lay_summary = serializers.CharField()
    abstract = serializers.CharField()
    purpose = serializers.DictField()
    purpose_text = serializers.CharField(allow_null=True, help_text="The purpose in words; null if it no longer parses")
    requested_months = serializers.IntegerField(allow_null=True)
    applicant = PersonSerializer()
    submitted_at = serializers.DateTimeField(allow_null=True)


class ReviewDatasetSerializer(serializers.Serializer):
    accession = serializers.CharField()
    title = serializers.CharField()
    match = serializers.DictField(allow_null=True, help_text="The matcher's answer stored at submission")
    justification = serializers.CharField(help_text="The applicant's, where the matcher does not approve")


class VoteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    review = serializers.IntegerField()
    member = PersonSerializer()
    choice = serializers.CharField(help_text="approve, reject or abstain; empty with a conflict of interest")
    comment = serializers.CharField()
    conflict_of_interest = serializers.BooleanField()
    updated_at = serializers.DateTimeField()


class ReviewNoteSerializer(serializers.Serializer):
    author = PersonSerializer(allow_null=True)
    text = serializers.CharField()
    created_at = serializers.DateTimeField()


class DatasetDecisionSerializer(serializers.Serializer):
    dataset = serializers.CharField(help_text="Accession")
    outcome = serializers.ChoiceField(choices=Outcome.values)
    months = serializers.IntegerField(allow_null=True, help_text="The permit's length; null on a rejection")
    reason = serializers.CharField()
    conditions = serializers.ListField(child=serializers.DictField(), help_text='[{"code", "text", ...}]')
    decided_by = PersonSerializer(allow_null=True, help_text="Null when a committee's automatic policy decided")
    automatic_policy = serializers.CharField()
    decided_at = serializers.DateTimeField()


class IssuedPermitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    grantee = serializers.UUIDField(help_text="The holder's `sub`")
    dataset = serializers.CharField(help_text="Accession")
    starts_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    conditions = serializers.ListField(child=serializers.DictField())
    status = serializers.CharField()


class ReviewSerializer(_ReviewFields):
    """The whole review as its committee sees it (review_json)."""

    opened_at = serializers.DateTimeField(help_text="When the current round of review started")
    age_days = serializers.IntegerField(help_text="Whole days since opened_at")
    decided_at = serializers.DateTimeField(allow_null=True)
    quorum = ReviewQuorumSerializer()
    application = ReviewApplicationSerializer()
    datasets = ReviewDatasetSerializer(many=True)
    votes = VoteSerializer(many=True)
    discussion = ReviewNoteSerializer(many=True, help_text="The committee only")
    messages = ReviewNoteSerializer(many=True, help_text="Sent to the applicant")
    decisions = DatasetDecisionSerializer(many=True)
    permits = IssuedPermitSerializer(many=True)


# --- JSON out -----------------------------------------------------------------------------------


def _person(user) -> dict[str, str] | None:
    return {"sub": str(user.sub), "name": user.name} if user is not None else None


def _age_days(review: Review, now: dt.datetime) -> int:
    return (now - review.opened_at).days


def review_row_json(review: Review, quorum: tuple[int, int], now: dt.datetime) -> dict[str, Any]:
    """One line of the list; reads only what selectors.review_inbox prefetched."""
    app = review.application
    return {
        "id": review.pk,
        "dac": review.dac.slug,
        "status": review.status,
        "application": {"id": app.pk, "title": app.title},
        "applicant": _person(app.applicant),
        "datasets": [
            {"accession": i.dataset.accession, "match": (i.match or {}).get("decision")} for i in review.items.all()
        ],
        "quorum": {"counted": quorum[0], "needed": quorum[1]},
        "opened_at": review.opened_at,
        "age_days": _age_days(review, now),
    }


def _application_json(app: Application, submitted: Mapping[str, Any]) -> dict[str, Any]:
    """The application as the committee reads it: the submitted version's fields (a returned
    application may be half-edited since), as on the review page."""
    # A purpose validated at submission can stop parsing later (a MONDO term retired): no words then.
    purpose_text = purpose_in_words(submitted.get("purpose") or {}) or None
    return {
        "id": app.pk,
        "status": app.status,
        "version": app.version,
        "title": submitted.get("title", ""),
        "lay_summary": submitted.get("lay_summary", ""),
        "abstract": submitted.get("abstract", ""),
        "purpose": submitted.get("purpose") or {},
        "purpose_text": purpose_text,
        "requested_months": submitted.get("requested_months"),
        "applicant": _person(app.applicant),
        "submitted_at": app.submitted_at,
    }


def _item_json(item: ApplicationDataset, justifications: Mapping[str, str]) -> dict[str, Any]:
    accession = item.dataset.accession
    return {
        "accession": accession,
        "title": item.dataset.title,
        "match": item.match,
        "justification": justifications.get(accession, ""),
    }


def _vote_json(vote: Vote) -> dict[str, Any]:
    return {
        "id": vote.pk,
        "review": vote.review_id,
        "member": _person(vote.member),
        "choice": vote.choice,
        "comment": vote.comment,
        "conflict_of_interest": vote.conflict_of_interest,
        "updated_at": vote.updated_at,
    }


def _note_json(note: ReviewNote) -> dict[str, Any]:
    return {"author": _person(note.author), "text": note.text, "created_at": note.created_at}


def _decision_json(decision: DatasetDecision) -> dict[str, Any]:
    return {
        "dataset": decision.dataset.accession,
        "outcome": decision.outcome,
        "months": decision.months,
        "reason": decision.reason,
        "conditions": decision.conditions,
        "decided_by": _person(decision.decided_by),
        "automatic_policy": decision.automatic_policy,
        "decided_at": decision.decided_at,
    }


def _permit_json(permit: Permit) -> dict[str, Any]:
    return {
        "id": permit.pk,
        "grantee": str(permit.grantee.sub),
        "dataset": permit.dataset.accession,
        "starts_at": permit.starts_at,
        "expires_at": permit.expires_at,
        "conditions": permit.conditions,
        "status": permit.status,
    }


def review_json(review: Review) -> dict[str, Any]:
    """The whole review as its committee sees it; reads what selectors.review_for prefetched."""
    app = review.application
    submitted, _changes = submitted_version(app)
    counted, needed = selectors.quorum_of(review)
    notes = list(review.notes.all())
    decisions = list(review.decisions.all())
    return {
        "id": review.pk,
        "dac": review.dac.slug,
        "status": review.status,
        "opened_at": review.opened_at,
        "age_days": _age_days(review, timezone.now()),
        "decided_at": review.decided_at,
        "quorum": {"counted": counted, "needed": needed},
        "application": _application_json(app, submitted),
        "datasets": [_item_json(i, submitted.get("justifications") or {}) for i in review.items.all()],
        "votes": [_vote_json(v) for v in review.votes.all()],
        "discussion": [_note_json(n) for n in notes if n.kind == ReviewNote.Kind.DISCUSSION],
        "messages": [_note_json(n) for n in notes if n.kind == ReviewNote.Kind.TO_APPLICANT],
        "decisions": [_decision_json(d) for d in decisions],
        "permits": [_permit_json(p) for d in decisions for p in d.permits.all()],
    }


# --- Views --------------------------------------------------------------------------------------

_ROLE_REFUSED = "The caller's role on the committee does not allow this (`forbidden`)."


def _review_response(request: Request, pk: int) -> Response:
    review = selectors.review_for(request.user, pk)
    if review is None:
        raise Http404
    return Response(ReviewSerializer(review_json(review)).data)


class ReviewPagination(PageNumberPagination):
    page_size = 50


class ReviewListApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = ReviewPagination

    class FilterSerializer(PortalInput):
        invalid_message = "Unknown review status."

        status = TextChoice(
            choices=ReviewStatus.values,
            allow_blank=True,
            default="",
            error_messages={"invalid_choice": f"one of {', '.join(ReviewStatus.values)}"},
            help_text="Only reviews in this status",
        )
        dac = Text(default="", help_text="Only this committee's reviews (slug)")

    OutputSerializer = ReviewSummarySerializer

    @extend_schema(
        operation_id="reviews_list",
        summary="Your committees' reviews, oldest round first",
        parameters=[FilterSerializer],
        responses={
            200: OutputSerializer(many=True),
            404: OpenApiResponse(ErrorSerializer, description="A page past the last (`not_found`)."),
        },
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer.read(request.query_params)
        reviews = selectors.review_inbox(request.user, status=filters["status"], dac=filters["dac"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(reviews, request, view=self)
        quorums, now = selectors.quorums(page), timezone.now()
        rows = self.OutputSerializer([review_row_json(r, quorums[r.pk], now) for r in page], many=True)
        return paginator.get_paginated_response(rows.data)


class ReviewDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    OutputSerializer = ReviewSerializer

    @extend_schema(
        operation_id="reviews_retrieve",
        summary="A review with the application, the matches, votes, notes and decisions",
        responses=OutputSerializer,
    )
    def get(self, request: Request, pk: int) -> Response:
        return _review_response(request, pk)


class ReviewVoteApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(PortalInput):
        """A vote, or a declared conflict of interest (then without a choice)."""

        invalid_message = "The vote is not valid."

        vote = TextChoice(
            source="choice",
            choices=VoteChoice.values,
            allow_blank=True,
            default="",
            null_is_absent=True,
            error_messages={"invalid_choice": "must be approve, reject or abstain"},
            help_text="Required unless conflicted",
        )
        comment = Text(default="", null_is_absent=True)
        conflict_of_interest = TrueOrFalse(default=False, null_is_absent=True)

    OutputSerializer = VoteSerializer

    @extend_schema(
        operation_id="reviews_vote",
        summary="Vote, change your vote, or declare a conflict of interest (chair and members)",
        description="Answers 201 also when it changes the caller's earlier vote. A declared conflict of "
        "interest records no choice and cannot be taken back by voting (409 conflict_of_interest).",
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            403: OpenApiResponse(ErrorSerializer, description=_ROLE_REFUSED + " A secretary does not vote."),
            409: OpenApiResponse(
                ErrorSerializer,
                description="The review is decided (`review_closed`), or the caller declared a conflict of "
                "interest (`conflict_of_interest`).",
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        review = access_review(request.user, pk, dac_perms.VOTE)
        data = self.InputSerializer.read(request.data)
        vote = services.review_vote(review=review, actor=request.user, **data)
        return Response(self.OutputSerializer(_vote_json(vote)).data, status=status.HTTP_201_CREATED)


class ReviewReturnApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(PortalInput):
        invalid_message = "The message is not valid."

        message = Text(default="", null_is_absent=True, help_text="What the applicant should change; required")

    OutputSerializer = ReviewSerializer

    @extend_schema(
        operation_id="reviews_return",
        summary="Return the application to the applicant with a message (chair)",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            403: OpenApiResponse(ErrorSerializer, description=_ROLE_REFUSED),
            409: OpenApiResponse(
                ErrorSerializer,
                description="The review is no longer pending (`review_closed`, `invalid_transition`).",
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        review = access_review(request.user, pk, dac_perms.DECIDE)
        data = self.InputSerializer.read(request.data)
        services.review_return(review=review, actor=request.user, message=data["message"])
        return _review_response(request, pk)


_ACCESSION = "give the dataset's accession"
_OUTCOME = "must be approve or reject"


class DecisionInputSerializer(serializers.Serializer):
    """The decision on one dataset of the review. Its shape is checked here; its rules (the
    committee's length cap, a reason to reject, each dataset once) by the service."""

    default_error_messages = {"invalid": "must be an object", "null": "must be an object"}

    dataset = Text(error_messages={"required": _ACCESSION, "null": _ACCESSION}, help_text="Accession")
    outcome = TextChoice(
        choices=Outcome.values, error_messages={"required": _OUTCOME, "null": _OUTCOME, "invalid_choice": _OUTCOME}
    )
    months = WholeNumber(
        default=None, null_is_absent=True, help_text="Permit length; required to approve, capped by the committee"
    )
    reason = Text(default="", null_is_absent=True, help_text="Required to reject")
    conditions = JsonList(
        child=serializers.JSONField(allow_null=True),
        default=None,
        null_is_absent=True,
        help_text="Texts or {code, text} objects; absent: the matcher's proposal",
    )

    def validate_dataset(self, accession: str) -> str:
        accession = accession.strip().upper()
        if not accession:
            raise serializers.ValidationError(_ACCESSION)
        return accession


_NOT_A_LIST = "must be a non-empty list"


class ReviewDecideApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(PortalInput):
        invalid_message = "Some decisions are not valid."

        # The index of each decision is kept, so the service's paths (decisions[i].months) point into the body.
        decisions = serializers.ListSerializer(
            child=DecisionInputSerializer(),
            allow_empty=False,
            error_messages=dict.fromkeys(("required", "null", "not_a_list", "empty"), _NOT_A_LIST),
            help_text="One per dataset of the review",
        )

        @classmethod
        def invalid(cls, fields: dict[str, str]) -> InvalidInput:
            if "decisions" in fields:
                return InvalidInput("Give the decisions as a list, one per dataset.", extra={"fields": fields})
            return super().invalid(fields)

    OutputSerializer = ReviewSerializer

    @extend_schema(
        operation_id="reviews_decide",
        summary="Decide each of the review's datasets (chair, once the quorum is met)",
        description="Approvals issue permits to the applicant and to each collaborator who accepted the "
        "dataset's agreement. 400 names the field as decisions[i].<field> in extra.fields; 409 has "
        "code quorum_not_met, review_closed or invalid_transition.",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            403: OpenApiResponse(ErrorSerializer, description=_ROLE_REFUSED),
            409: OpenApiResponse(
                ErrorSerializer,
                description="`quorum_not_met` (`extra`: `votes`, `needed`), `review_closed` or `invalid_transition`.",
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        review = access_review(request.user, pk, dac_perms.DECIDE)
        data = self.InputSerializer.read(request.data)
        decisions = [services.DecisionInput(**decision) for decision in data["decisions"]]
        services.review_decide(review=review, actor=request.user, decisions=decisions)
        return _review_response(request, pk)
