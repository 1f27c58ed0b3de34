"""Pages of committee review: the inbox, one review, and the actions on it.

Views parse, call one service, and render or redirect with a message. A review the user may not
see answers 404 (fetched and authorized in one query). An action by a committee member whose role
does not allow it (a secretary voting, a member deciding) answers 403: the page never offers them
the form, so such a request is not a mistake to explain. Invalid input is shown next to its field
(400); a review whose state refuses the action (decided, quorum not met) gives an error message on
the review page, and so does opening an action's address (a GET: a reload, a bookmark).

Irreversible actions ask first: declaring a conflict of interest has its own page (GET) with the
form that declares it, and the decision form leads to a summary (review_decide_confirm) with the
form that records it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from datasets.permissions import DECIDE, VOTE
from portal.exceptions import Conflict, InvalidInput
from portal.input_guard import forms_refuse_nul
from requests import services
from requests.models import Outcome, Review, ReviewNote, ReviewStatus
from requests.permissions import access_review
from requests.review_forms import STATUS_CHOICES, InboxFilterForm, NoteForm, ReturnForm, VoteForm, add_service_errors
from requests.selectors.applications import submitted_version
from requests.selectors.committee import (
    DatasetUnderReview,
    InboxFilters,
    committee_choices,
    committee_datasets,
    datasets_under_review,
    inbox_reviews,
    inbox_rows,
    review_dossier,
    status_counts,
)
from requests.selectors.reviews import holds_role, review_for
from requests.views import page_methods, permit_row

require_safe = page_methods("GET", "HEAD")

PAGE_SIZE = 50

# --- Inbox -----------------------------------------------------------------------------------------


@forms_refuse_nul
@login_required
@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    dacs = committee_choices(request.user)
    if not dacs:
        raise PermissionDenied("Committee work is for the members of a data access committee.")
    form = InboxFilterForm(request.GET, dacs=dacs, datasets=committee_datasets(request.user))
    filters = form.filters() if form.is_valid() else InboxFilters()
    now = timezone.now()
    page = Paginator(inbox_reviews(request.user, filters, now), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "rows": inbox_rows(page.object_list, now=now, user=request.user),
        "tabs": _status_tabs(request, filters.status, status_counts(request.user)),
        "query": query.urlencode(),
        "several_dacs": len(dacs) > 1,
    }
    return render(request, "requests/inbox.html", context, status=400 if form.errors else 200)


@dataclass(frozen=True)
class StatusTab:
    value: str
    label: str
    count: int
    query: str
    current: bool


def _status_tabs(request: HttpRequest, current: str, counts: dict[str, int]) -> list[StatusTab]:
    """One link per status that keeps the other filters (and starts again at page 1)."""
    tabs = []
    for value, label in STATUS_CHOICES:
        query = request.GET.copy()
        query.pop("page", None)
        query["status"] = value
        tabs.append(StatusTab(value, label, counts.get(value, 0), query.urlencode(), value == current))
    return tabs


# --- One review ------------------------------------------------------------------------------------


@login_required
@require_safe
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_review(request, access_review(request.user, pk))


def _decided(dossier) -> dict[str, Any] | None:
    """Who decided the review (the chair, or the committee's automatic policy) for the page."""
    decision = next((entry.decision for entry in dossier.datasets if entry.decision), None)
    if decision is None:
        return None
    return {"by": decision.decided_by, "automatic": bool(decision.automatic_policy), "at": decision.decided_at}


def _render_review(request: HttpRequest, review: Review, *, status: int = 200, **forms: Any) -> HttpResponse:
    review = review_for(request.user, review.pk)
    if review is None:  # a membership ended between the action and the page
        raise Http404("No such review")
    dossier = review_dossier(review)
    now = timezone.now()
    can_vote = holds_role(request.user, review.dac_id, VOTE)
    can_decide = holds_role(request.user, review.dac_id, DECIDE)
    my_vote = next((v for v in dossier.votes if v.member_id == request.user.pk), None)
    vote_initial = {"choice": my_vote.choice, "comment": my_vote.comment} if my_vote else {}
    context = {
        "review": review,
        "app": review.application,
        "dossier": dossier,
        "open": review.status == ReviewStatus.PENDING,
        "can_vote": can_vote,
        "can_decide": can_decide,
        "my_vote": my_vote,
        "vote_form": forms.get("vote_form") or VoteForm(initial=vote_initial),
        "discussion_form": forms.get("discussion_form") or NoteForm(kind=ReviewNote.Kind.DISCUSSION),
        "message_form": forms.get("message_form") or NoteForm(kind=ReviewNote.Kind.TO_APPLICANT),
        "return_form": forms.get("return_form") or ReturnForm(),
        "decision_rows": forms.get("decision_rows") or _decision_rows(dossier.datasets),
        "decision_error": forms.get("decision_error", ""),
        "decided": _decided(dossier) if review.status == ReviewStatus.DECIDED else None,
        "permit_rows": [permit_row(p, now) for p in dossier.permits],
    }
    return render(request, "requests/review.html", context, status=status)


def review_action(view):
    """The address of a form of the review page: a POST acts; opening it (a GET: a reload, a
    bookmark) shows the review with a message rather than an empty 405; other methods get the
    405 page. Someone who may not see the review gets 404 either way."""

    @page_methods("GET", "HEAD", "POST")
    @wraps(view)
    def inner(request: HttpRequest, pk: int) -> HttpResponse:
        if request.method == "POST":
            return view(request, pk)
        review = access_review(request.user, pk)
        if request.method == "GET":
            messages.info(request, "Nothing was sent: use the forms on this page.")
        return redirect("requests:review", pk=review.pk)

    return inner


def _act(
    request: HttpRequest, review: Review, form: Form, action: Callable[[dict[str, Any]], object], success: str
) -> HttpResponse | None:
    """Run a service on a valid form: a redirect to the review with a message, or None when the
    page must be shown again with the errors now on the form."""
    if not form.is_valid():
        return None
    try:
        action(form.cleaned_data)
    except InvalidInput as invalid:
        add_service_errors(form, invalid, {"vote": "choice"})
        return None
    except Conflict as conflict:
        messages.error(request, conflict.message)
    else:
        messages.success(request, success)
    return redirect("requests:review", pk=review.pk)


@forms_refuse_nul
@login_required
@review_action
def review_vote(request: HttpRequest, pk: int) -> HttpResponse:
    review = access_review(request.user, pk, VOTE)
    form = VoteForm(request.POST)
    declaring = request.POST.get("conflict_of_interest", "").lower() in {"on", "true", "1"}
    success = "Your conflict of interest is recorded: you are out of this vote." if declaring else "Your vote is saved."
    response = _act(
        request, review, form, lambda data: services.review_vote(review=review, actor=request.user, **data), success
    )
    return response or _render_review(request, review, status=400, vote_form=form)


@forms_refuse_nul
@login_required
@review_action
def review_note(request: HttpRequest, pk: int) -> HttpResponse:
    review = access_review(request.user, pk)  # every committee role writes here: seeing the review is enough
    kind = request.POST.get("kind", "")
    form = NoteForm(request.POST, kind=kind)
    sent = "Message sent to the applicant." if kind == ReviewNote.Kind.TO_APPLICANT else "Added to the discussion."
    response = _act(
        request,
        review,
        form,
        lambda data: services.review_note_add(review=review, actor=request.user, kind=data["kind"], text=data["text"]),
        sent,
    )
    if response:
        return response
    slot = "message_form" if kind == ReviewNote.Kind.TO_APPLICANT else "discussion_form"
    return _render_review(request, review, status=400, **{slot: form})


@forms_refuse_nul
@login_required
@review_action
def review_return(request: HttpRequest, pk: int) -> HttpResponse:
    review = access_review(request.user, pk, DECIDE)
    form = ReturnForm(request.POST)
    response = _act(
        request,
        review,
        form,
        lambda data: services.review_return(review=review, actor=request.user, message=data["message"]),
        "The application is returned to the applicant with your message.",
    )
    return response or _render_review(request, review, status=400, return_form=form)


# --- Decisions -------------------------------------------------------------------------------------


@dataclass
class DecisionRow:
    """One dataset's part of the decision form, as typed, with its errors."""

    entry: DatasetUnderReview
    outcome: str = ""
    months: str = ""
    reason: str = ""
    conditions: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _decision_rows(
    entries: list[DatasetUnderReview], data=None, errors: dict[str, dict[str, str]] | None = None
) -> list[DecisionRow]:
    """The form's rows: the proposal (default length, the matcher's conditions) or what was typed."""
    rows = []
    for e in entries:
        proposed = "\n".join(c.get("text", "") for c in e.proposed_conditions)
        if data is None:
            rows.append(DecisionRow(e, months=str(e.default_months), conditions=proposed))
            continue
        a = e.accession
        rows.append(
            DecisionRow(
                e,
                outcome=data.get(f"outcome_{a}", ""),
                months=data.get(f"months_{a}", ""),
                reason=data.get(f"reason_{a}", ""),
                conditions=data.get(f"conditions_{a}", proposed),
                errors=(errors or {}).get(a, {}),
            )
        )
    return rows


def _whole_number(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if re.fullmatch(r"\d{1,4}", raw) else None


def _conditions(raw: str | None, proposed: list[dict[str, Any]]) -> list[Any] | None:
    """One condition per line; a line left as the matcher wrote it keeps the matcher's code and
    parameters, a new or edited line becomes the committee's own condition."""
    if raw is None:
        return None
    by_text = {c.get("text", "").strip(): c for c in proposed}
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    return [by_text.get(line, line) for line in lines]


def _decision_inputs(data, entries: list[DatasetUnderReview]) -> list[services.DecisionInput]:
    return [
        services.DecisionInput(
            dataset=e.accession,
            outcome=data.get(f"outcome_{e.accession}", ""),
            months=_whole_number(data.get(f"months_{e.accession}", "")),
            reason=data.get(f"reason_{e.accession}", ""),
            conditions=_conditions(data.get(f"conditions_{e.accession}"), e.proposed_conditions),
        )
        for e in entries
    ]


_DECISION_PATH = re.compile(r"^decisions\[(\d+)\]\.(outcome|months|reason|conditions)")


def _decision_errors(invalid: InvalidInput, inputs: list[services.DecisionInput]) -> tuple[dict, str]:
    """The service's "decisions[i].field" errors by accession and field; the rest as one text."""
    by_dataset: dict[str, dict[str, str]] = {}
    rest = []
    for path, message in (invalid.extra.get("fields") or {}).items():
        found = _DECISION_PATH.match(path)
        if found and int(found[1]) < len(inputs):
            by_dataset.setdefault(inputs[int(found[1])].dataset, {}).setdefault(found[2], message)
        else:
            rest.append(message)
    return by_dataset, " ".join([invalid.message, *rest])


@login_required
@review_action
def review_decide(request: HttpRequest, pk: int) -> HttpResponse:
    review = access_review(request.user, pk, DECIDE)
    entries = datasets_under_review(review, {})
    inputs = _decision_inputs(request.POST, entries)
    try:
        services.review_decide(review=review, actor=request.user, decisions=inputs)
    except InvalidInput as invalid:
        errors, summary = _decision_errors(invalid, inputs)
        rows = _decision_rows(entries, request.POST, errors)
        return _render_review(request, review, status=400, decision_rows=rows, decision_error=summary)
    except Conflict as conflict:
        messages.error(request, conflict.message)
    else:
        messages.success(request, "The decision is recorded and the applicant is told.")
    return redirect("requests:review", pk=review.pk)


@login_required
@review_action
def review_decide_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """The decision as typed, summarised, with the form that records it (review_decide): a
    decision cannot be changed. "Change the decision" goes back to the review page with the
    form as typed. Writes nothing."""
    review = access_review(request.user, pk, DECIDE)
    entries = datasets_under_review(review, {})
    rows = _decision_rows(entries, request.POST)
    if "change" in request.POST:
        return _render_review(request, review, decision_rows=rows)
    context = {
        "review": review,
        "app": review.application,
        "rows": rows,
        "summary": [(row, _lines(row.conditions)) for row in rows],
        "complete": all(row.outcome in Outcome.values for row in rows),
    }
    return render(request, "requests/decide_confirm.html", context)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


# --- Conflict of interest ------------------------------------------------------------------------


@login_required
@page_methods("GET", "HEAD", "POST")
def review_conflict(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what declaring a conflict of interest does, with the form that declares it; POST:
    declare it (a second POST, a double click, leaves the same one declaration)."""
    review = access_review(request.user, pk, VOTE)
    if request.method == "POST":
        try:
            services.review_vote(review=review, actor=request.user, conflict_of_interest=True)
        except Conflict as conflict:
            messages.error(request, conflict.message)
        else:
            messages.success(request, "Your conflict of interest is recorded: you are out of this vote.")
        return redirect("requests:review", pk=review.pk)
    submitted, _changes = submitted_version(review.application)
    context = {
        "review": review,
        "title": submitted.get("title") or "(untitled)",
        "open": review.status == ReviewStatus.PENDING,
        "my_vote": review.votes.filter(member=request.user).first(),
    }
    return render(request, "requests/conflict_confirm.html", context)
