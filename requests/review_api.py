"""The people's API for committee review (API.md): the caller's committees' reviews, votes,
return to the applicant and decisions. Reads fetch and authorize in one query (a review of
another committee answers 404); the services enforce who may vote or decide (403)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets import duo
from datasets.term_cache import labels_for
from portal.exceptions import InvalidInput
from requests import selectors, services
from requests.api import ERROR
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
from requests.services.applications import parsed_purpose

# --- OpenAPI shapes -----------------------------------------------------------------------------

_PERSON = {"sub": serializers.UUIDField(), "name": serializers.CharField()}
# Built once: two components of the same name but different classes make drf-spectacular warn.
_QUORUM = inline_serializer(
    "ReviewQuorum",
    {
        "counted": serializers.IntegerField(help_text="Votes that count (a declared conflict does not)"),
        "needed": serializers.IntegerField(help_text="Votes needed before the chair may decide"),
    },
)


def _summary_fields() -> dict[str, serializers.Field]:
    return {
        "id": serializers.IntegerField(),
        "dac": serializers.SlugField(),
        # Text, not a choice: an enum named "status" would collide with the other "status" enums.
        "status": serializers.CharField(help_text=", ".join(ReviewStatus.values)),
        "opened_at": serializers.DateTimeField(help_text="When the current round of review started"),
        "age_days": serializers.IntegerField(help_text="Whole days since opened_at"),
        "quorum": _QUORUM,
    }


REVIEW_PAGE = inline_serializer(
    "ReviewPage",
    {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": inline_serializer(
            "ReviewSummary",
            {
                **_summary_fields(),
                "application": inline_serializer(
                    "ReviewSummaryApplication", {"id": serializers.IntegerField(), "title": serializers.CharField()}
                ),
                "applicant": inline_serializer("ReviewApplicant", _PERSON),
                "datasets": serializers.ListField(
                    child=serializers.DictField(),
                    help_text='[{"accession", "match": "approve|review|deny"}]: the matcher\'s stored decision',
                ),
            },
            many=True,
        ),
    },
)
REVIEW = inline_serializer(
    "Review",
    {
        **_summary_fields(),
        "decided_at": serializers.DateTimeField(allow_null=True),
        "application": serializers.DictField(
            help_text="id, status, version, title, lay_summary, abstract, purpose, purpose_text, "
            "requested_months, applicant {sub, name}, submitted_at"
        ),
        "datasets": serializers.ListField(
            child=serializers.DictField(), help_text='[{"accession", "title", "match", "justification"}]'
        ),
        "votes": serializers.ListField(
            child=serializers.DictField(),
            help_text='[{"member": {"sub", "name"}, "choice", "comment", "conflict_of_interest", "updated_at"}]',
        ),
        "discussion": serializers.ListField(
            child=serializers.DictField(), help_text='[{"author", "text", "created_at"}]: the committee only'
        ),
        "messages": serializers.ListField(
            child=serializers.DictField(), help_text='[{"author", "text", "created_at"}]: sent to the applicant'
        ),
        "decisions": serializers.ListField(
            child=serializers.DictField(),
            help_text='[{"dataset", "outcome", "months", "reason", "conditions", "decided_by", '
            '"automatic_policy", "decided_at"}]',
        ),
        "permits": serializers.ListField(
            child=serializers.DictField(),
            help_text='[{"id", "grantee": "<sub>", "dataset", "starts_at", "expires_at", "conditions", "status"}]',
        ),
    },
)
VOTE = inline_serializer(
    "ReviewVote",
    {
        "id": serializers.IntegerField(),
        "review": serializers.IntegerField(),
        "member": inline_serializer("ReviewVoter", _PERSON),
        "choice": serializers.CharField(help_text="approve, reject or abstain; empty with a conflict of interest"),
        "comment": serializers.CharField(),
        "conflict_of_interest": serializers.BooleanField(),
        "updated_at": serializers.DateTimeField(),
    },
)
VOTE_REQUEST = inline_serializer(
    "ReviewVoteRequest",
    {
        "vote": serializers.ChoiceField(
            choices=VoteChoice.values, required=False, help_text="Required unless conflicted"
        ),
        "comment": serializers.CharField(required=False, allow_blank=True),
        "conflict_of_interest": serializers.BooleanField(required=False, default=False),
    },
)
RETURN_REQUEST = inline_serializer("ReviewReturnRequest", {"message": serializers.CharField()})
DECIDE_REQUEST = inline_serializer(
    "ReviewDecideRequest",
    {
        "decisions": inline_serializer(
            "ReviewDecisionRequest",
            {
                "dataset": serializers.CharField(help_text="Accession"),
                "outcome": serializers.ChoiceField(choices=Outcome.values),
                "months": serializers.IntegerField(required=False, help_text="Permit length; required to approve"),
                "reason": serializers.CharField(required=False, help_text="Required to reject"),
                "conditions": serializers.ListField(
                    child=serializers.JSONField(),
                    required=False,
                    help_text="Texts or {code, text} objects; absent: the matcher's proposal",
                ),
            },
            many=True,
        )
    },
)

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


def _purpose_text(app: Application) -> str | None:
    purpose, _errors = parsed_purpose(app)
    # A purpose validated at submission can stop parsing later (a MONDO term retired): no words then.
    if purpose is None:
        return None
    return duo.describe_purpose(purpose, labels_for(diseases=purpose.diseases))


def _application_json(app: Application) -> dict[str, Any]:
    return {
        "id": app.pk,
        "status": app.status,
        "version": app.version,
        "title": app.title,
        "lay_summary": app.lay_summary,
        "abstract": app.abstract,
        "purpose": app.purpose,
        "purpose_text": _purpose_text(app),
        "requested_months": app.requested_months,
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
    counted, needed = services.quorum_of(review)
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
        "application": _application_json(app),
        "datasets": [_item_json(i, app.justifications or {}) for i in review.items.all()],
        "votes": [_vote_json(v) for v in review.votes.all()],
        "discussion": [_note_json(n) for n in notes if n.kind == ReviewNote.Kind.DISCUSSION],
        "messages": [_note_json(n) for n in notes if n.kind == ReviewNote.Kind.TO_APPLICANT],
        "decisions": [_decision_json(d) for d in decisions],
        "permits": [_permit_json(p) for d in decisions for p in d.permits.all()],
    }


# --- JSON in ------------------------------------------------------------------------------------

_TYPE_ERRORS: dict[type, str] = {
    str: "must be text",
    bool: "must be true or false",
    int: "must be a whole number",
    list: "must be a list",
}


def _typed(
    body: Mapping[str, Any], key: str, kind: type, default: Any, errors: dict[str, str], prefix: str = ""
) -> Any:
    """body[key] when it has the type `kind` (null counts as absent); else the default, and an
    error under the field's path. JSON true is not a number here, although bool is an int."""
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    errors[prefix + key] = _TYPE_ERRORS[kind]
    return default


def _raise_if(errors: dict[str, str], message: str) -> None:
    if errors:
        raise InvalidInput(message, extra={"fields": errors})


def _object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidInput("The body must be a JSON object.", extra={"fields": {"body": "must be an object"}})
    return body


def _vote_input(body: Any) -> dict[str, Any]:
    """The vote's types; whether a choice is required (not with a conflict) is the service's rule."""
    fields, errors = _object(body), {}
    choice = _typed(fields, "vote", str, "", errors)
    if choice and choice not in VoteChoice.values:
        errors["vote"] = "must be approve, reject or abstain"
    comment = _typed(fields, "comment", str, "", errors)
    conflict = _typed(fields, "conflict_of_interest", bool, False, errors)
    _raise_if(errors, "The vote is not valid.")
    return {"choice": choice, "comment": comment, "conflict_of_interest": conflict}


def _decision_input(raw: Any, path: str, errors: dict[str, str]) -> services.DecisionInput:
    """One decision's shape; its rules (length cap, reason to reject, the datasets) are the service's."""
    if not isinstance(raw, Mapping):
        errors[path] = "must be an object"
        return services.DecisionInput(dataset="", outcome="")
    prefix = f"{path}."
    dataset = _typed(raw, "dataset", str, "", errors, prefix).strip().upper()
    if not dataset:
        errors.setdefault(f"{prefix}dataset", "give the dataset's accession")
    outcome = _typed(raw, "outcome", str, "", errors, prefix)
    if outcome not in Outcome.values:
        errors.setdefault(f"{prefix}outcome", "must be approve or reject")
    return services.DecisionInput(
        dataset=dataset,
        outcome=outcome,
        months=_typed(raw, "months", int, None, errors, prefix),
        reason=_typed(raw, "reason", str, "", errors, prefix),
        conditions=_typed(raw, "conditions", list, None, errors, prefix),
    )


def _decisions_input(body: Any) -> list[services.DecisionInput]:
    raw = _object(body).get("decisions")
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(
            "Give the decisions as a list, one per dataset.",
            extra={"fields": {"decisions": "must be a non-empty list"}},
        )
    errors: dict[str, str] = {}
    # The index of each input is kept, so the service's paths (decisions[i].months) point into the body.
    decisions = [_decision_input(item, f"decisions[{i}]", errors) for i, item in enumerate(raw)]
    _raise_if(errors, "Some decisions are not valid.")
    return decisions


# --- Views --------------------------------------------------------------------------------------


def _visible_review(request: Request, pk: int) -> Review:
    review = selectors.reviews_visible_to(request.user, pk=pk).first()
    if review is None:
        raise Http404
    return review


def _review_response(request: Request, pk: int) -> Response:
    review = selectors.review_for(request.user, pk)
    if review is None:
        raise Http404
    return Response(review_json(review))


class ReviewPagination(PageNumberPagination):
    page_size = 50


class ReviewListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="reviews_list",
        summary="Your committees' reviews, oldest round first",
        parameters=[
            OpenApiParameter("status", str, enum=ReviewStatus.values, description="Only reviews in this status"),
            OpenApiParameter("dac", str, description="Only this committee's reviews (slug)"),
            OpenApiParameter("page", int),
        ],
        responses={200: REVIEW_PAGE, 400: ERROR, 401: ERROR, 404: ERROR},
    )
    def get(self, request: Request) -> Response:
        wanted = request.query_params.get("status", "")
        if wanted and wanted not in ReviewStatus.values:
            raise InvalidInput(
                "Unknown review status.", extra={"fields": {"status": f"one of {', '.join(ReviewStatus.values)}"}}
            )
        reviews = selectors.review_inbox(request.user, status=wanted, dac=request.query_params.get("dac", ""))
        paginator = ReviewPagination()
        page = paginator.paginate_queryset(reviews, request, view=self)
        quorums, now = selectors.quorums(page), timezone.now()
        return paginator.get_paginated_response([review_row_json(r, quorums[r.pk], now) for r in page])


class ReviewDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="reviews_retrieve",
        summary="A review with the application, the matches, votes, notes and decisions",
        responses={200: REVIEW, 401: ERROR, 404: ERROR},
    )
    def get(self, request: Request, pk: int) -> Response:
        return _review_response(request, pk)


class ReviewVoteApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="reviews_vote",
        summary="Vote, change your vote, or declare a conflict of interest (chair and members)",
        description="Answers 201 also when it changes the caller's earlier vote. A declared conflict of "
        "interest records no choice and cannot be taken back by voting (409 conflict_of_interest).",
        request=VOTE_REQUEST,
        responses={201: VOTE, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request: Request, pk: int) -> Response:
        review = _visible_review(request, pk)
        vote = services.review_vote(review=review, member=request.user, **_vote_input(request.data))
        return Response(_vote_json(vote), status=status.HTTP_201_CREATED)


class ReviewReturnApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="reviews_return",
        summary="Return the application to the applicant with a message (chair)",
        request=RETURN_REQUEST,
        responses={200: REVIEW, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request: Request, pk: int) -> Response:
        review = _visible_review(request, pk)
        errors: dict[str, str] = {}
        message = _typed(_object(request.data), "message", str, "", errors)
        _raise_if(errors, "The message is not valid.")
        services.review_return(review=review, actor=request.user, message=message)
        return _review_response(request, pk)


class ReviewDecideApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="reviews_decide",
        summary="Decide each of the review's datasets (chair, once the quorum is met)",
        description="Approvals issue permits to the applicant and to each collaborator who accepted the "
        "dataset's agreement. 400 names the field as decisions[i].<field> in extra.fields; 409 has "
        "code quorum_not_met, review_closed or invalid_transition.",
        request=DECIDE_REQUEST,
        responses={200: REVIEW, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request: Request, pk: int) -> Response:
        review = _visible_review(request, pk)
        decisions = _decisions_input(request.data)
        services.review_decide(review=review, actor=request.user, decisions=decisions)
        return _review_response(request, pk)
