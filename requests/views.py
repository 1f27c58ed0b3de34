"""The request basket: datasets a researcher collects before filling an application."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone

from datasets.permissions import VIEW_WORK, dacs_where
from datasets.presenters import present_datasets
from datasets.selectors import dataset_for
from portal import audit
from portal.audit_actions import AuditAction
from portal.exceptions import Conflict, InvalidInput, NotAllowed
from portal.redirects import safe_next
from requests import basket, services, uploads
from requests.forms import (
    ApplicationForm,
    ApplicationPurposeForm,
    parse_collaborators,
    purpose_from_data,
    purpose_initial,
)
from requests.models import Application, ApplicationStatus, ReviewStatus
from requests.permissions import (
    ApplicationAction,
    access_application,
    documents_visible_to,
    is_participant,
    read_scope,
)
from requests.selectors import applications as app_selectors
from requests.selectors.grantees import grantee_warnings
from requests.selectors.parts import application_parts
from requests.selectors.permits import STATE_LABELS, permit_state


def page_methods(*methods: str) -> Callable:
    """Django's require_http_methods for pages: a method the view does not take gets the 405 page
    (with the Allow header), not the empty answer Django gives (it has no 405 handler to render)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def inner(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in methods:
                response = render(request, "405.html", {"allowed": methods}, status=405)
                response["Allow"] = ", ".join(methods)
                return response
            return view(request, *args, **kwargs)

        return inner

    return decorator


require_safe = page_methods("GET", "HEAD")
require_POST = page_methods("POST")


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    return redirect(safe_next(request, request.POST.get("next", "")) or fallback)


@login_required
@require_safe
def basket_view(request: HttpRequest) -> HttpResponse:
    rows = present_datasets(basket.datasets(request))
    groups: dict = {}
    for row in rows:
        groups.setdefault(row.dataset.dac, []).append(row)
    return render(request, "requests/basket.html", {"groups": groups, "count": len(rows)})


@login_required
@require_POST
def basket_add(request: HttpRequest) -> HttpResponse:
    dataset = dataset_for(request.user, request.POST.get("accession", ""))
    if dataset is None or dataset.status != dataset.Status.PUBLISHED:
        raise Http404("No such dataset")
    basket.add(request, dataset.accession)
    messages.success(request, f"{dataset.accession} is in your request basket.")
    return _back(request, "requests:basket")


@login_required
@require_POST
def basket_remove(request: HttpRequest) -> HttpResponse:
    basket.remove(request, request.POST.get("accession", ""))
    return _back(request, "requests:basket")


# --- Applications ---------------------------------------------------------------------------------


def _action_label(action: str) -> str:
    return AuditAction(action).label if action in AuditAction.values else action


# The committee's first vote moves the application under review; naming the voter would tell
# the applicant who voted.
UNSIGNED_ACTIONS = {AuditAction.APPLICATION_UNDER_REVIEW}


def _own_or_404(request: HttpRequest, pk: int) -> Application:
    return access_application(request.user, pk, ApplicationAction.CHANGE)


def _visible_or_404(request: HttpRequest, pk: int) -> Application:
    return access_application(request.user, pk)


@login_required
@require_safe
def application_list(request: HttpRequest) -> HttpResponse:
    mine = app_selectors.my_applications(request.user)
    return render(request, "requests/application_list.html", {"applications": mine})


@login_required
@require_POST
def application_new(request: HttpRequest) -> HttpResponse:
    """Start a draft from the basket's datasets."""
    datasets = basket.datasets(request)
    if not datasets:
        messages.error(request, "Your basket is empty: add datasets from the catalogue first.")
        return redirect("requests:basket")
    app = services.application_create(applicant=request.user, datasets=datasets)
    request.session[basket.SESSION_KEY] = []
    messages.success(request, "Draft started. It is saved as you type.")
    return redirect("requests:edit", pk=app.pk)


def _changes_from(data) -> services.DraftChanges:
    """The draft as typed. The collaborators are left out: typing an address invites nobody
    (application_collaborators_invite does, when the applicant asks)."""
    return services.DraftChanges(
        title=data.get("title", ""),
        lay_summary=data.get("lay_summary", ""),
        abstract=data.get("abstract", ""),
        purpose=purpose_from_data(data),
        requested_months=data.get("requested_months", "") or "",
        justifications=_typed_justifications(data),
    )


# The collaborators' addresses as typed, kept in the applicant's session until they are invited.
# Not on the application: a Collaborator row is an invitation (its address may read the
# application), so a half-typed or mistyped address must never become one before the applicant
# says so.
TYPED_COLLABORATORS = "typed_collaborators"
TYPED_COLLABORATORS_LIMIT = 10_000


def _typed_collaborators(request: HttpRequest, app: Application) -> str | None:
    return request.session.get(TYPED_COLLABORATORS, {}).get(str(app.pk))


def _keep_typed_collaborators(request: HttpRequest, app: Application, text: str | None) -> None:
    kept = dict(request.session.get(TYPED_COLLABORATORS, {}))
    if text is None:
        kept.pop(str(app.pk), None)
    else:
        kept[str(app.pk)] = text[:TYPED_COLLABORATORS_LIMIT]
    request.session[TYPED_COLLABORATORS] = kept


def _initial(request: HttpRequest, app: Application) -> dict:
    typed = _typed_collaborators(request, app)
    return {
        "title": app.title,
        "lay_summary": app.lay_summary,
        "abstract": app.abstract,
        "requested_months": app.requested_months or "",
        "collaborators": typed if typed is not None else "\n".join(app.collaborators.values_list("email", flat=True)),
    }


def _save_document(request: HttpRequest, app: Application, form: ApplicationForm) -> bool:
    upload = request.FILES.get("ethics_file")
    if upload is None:
        return True
    expires = form.cleaned_data.get("ethics_expires_on") if form.is_valid() else None
    try:
        services.application_document_add(application=app, upload=upload, expires_on=expires, actor=request.user)
    except InvalidInput as invalid:
        fields = invalid.extra.get("fields", {})
        form.add_error("ethics_expires_on" if "expires_on" in fields else "ethics_file", invalid.message)
        return False
    return True


def _apply_submission_errors(errors: dict[str, str], form: ApplicationForm, purpose_form) -> dict[str, str]:
    """Put each error next to its field; return those that belong to other parts of the page."""
    rest = {}
    for key, message in errors.items():
        if key in form.fields:
            form.add_error(key, message)
        elif key == "ethics_document":
            form.add_error("ethics_file", message)
        elif key.startswith("purpose.") and key.removeprefix("purpose.") in purpose_form.fields:
            purpose_form.add_error(key.removeprefix("purpose."), message)
        else:
            rest[key] = message
    return rest


def _invite(request: HttpRequest, app: Application, emails: list[str]) -> None:
    """Invite as the applicant asked, and say whom."""
    newly = services.application_collaborators_invite(application=app, emails=emails, actor=request.user)
    if newly:
        messages.success(request, f"Invitations sent to {', '.join(newly)}.")
    elif "invite" in request.POST:
        messages.info(request, "Everyone in the list has been invited already.")


def _submitted_message(app: Application) -> str:
    if app.status == ApplicationStatus.DECIDED:
        return (
            "Application submitted and approved automatically under the committee's policy: "
            "your permits are on “My permits”."
        )
    return "Application submitted. A receipt is on its way to your inbox."


@login_required
@page_methods("GET", "HEAD", "POST")
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The draft form. Saving (the button, or the page's autosave) keeps everything as typed;
    "Invite now" and submitting also invite the listed collaborators; submitting then submits."""
    app = _own_or_404(request, pk)
    if not app.editable:
        messages.info(request, "The application has been submitted; it can no longer be edited.")
        return redirect("requests:detail", pk=app.pk)
    bound = request.method == "POST"
    form = ApplicationForm(
        request.POST if bound else None,
        request.FILES if bound else None,
        initial=_initial(request, app),
        ethics_needed=_ethics_needed(app),
    )
    purpose_form = ApplicationPurposeForm(
        request.POST if bound else None, prefix="purpose", initial=purpose_initial(app.purpose)
    )
    other_errors: dict[str, str] = {}
    if bound:
        try:
            response, other_errors = _edit_post(request, app, form, purpose_form)
        except Conflict as conflict:
            messages.info(request, conflict.message)
            return redirect("requests:detail", pk=app.pk)
        if response is not None:
            return response
        app.refresh_from_db()
    context = _edit_context(request, app, form, purpose_form, other_errors)
    return render(
        request,
        "requests/edit.html",
        context,
        status=400 if (form.errors or purpose_form.errors or other_errors) else 200,
    )


def _edit_post(
    request: HttpRequest, app: Application, form: ApplicationForm, purpose_form
) -> tuple[HttpResponse | None, dict[str, str]]:
    """Save, and invite and submit when asked: a redirect, or None and the errors to show."""
    form.is_valid()
    app = services.application_update(application=app, changes=_changes_from(request.POST), actor=request.user)
    _keep_typed_collaborators(request, app, request.POST.get("collaborators", ""))
    emails, not_emails = form.collaborator_emails()
    if not_emails:
        form.add_error("collaborators", f"Not e-mail addresses: {', '.join(not_emails)}.")
    document_ok = _save_document(request, app, form)
    if not not_emails and ("invite" in request.POST or "submit" in request.POST):
        _invite(request, app, emails)
    if "submit" in request.POST and document_ok and not not_emails:
        try:
            app = services.application_submit(application=app, actor=request.user)
        except services.SubmissionInvalid as invalid:
            return None, _apply_submission_errors(invalid.errors, form, purpose_form)
        _keep_typed_collaborators(request, app, None)
        messages.success(request, _submitted_message(app))
        return redirect("requests:detail", pk=app.pk), {}
    if document_ok and not not_emails and not form.errors:
        if "invite" not in request.POST:
            messages.success(request, "Draft saved.")
        return redirect("requests:edit", pk=app.pk), {}
    return None, {}


def _ethics_needed(app: Application) -> bool:
    """The upload is needed to submit: a dataset asks for an ethics approval and none is on file."""
    return app_selectors.needs_ethics_approval(app) and app_selectors.current_ethics_document(app) is None


def _dataset_rows(app: Application, matches: dict, justifications: dict[str, str], errors: dict[str, str]) -> list:
    """The edit page's rows of requested datasets: the consent check and any justification."""
    items = app.requested.select_related("dataset__dac", "dataset__current_profile")
    return [
        {
            "item": item,
            "match": matches.get(item.dataset.accession),
            "justification": justifications.get(item.dataset.accession, ""),
            "error": errors.get(f"justification_{item.dataset.accession}"),
        }
        for item in items
    ]


def _typed_justifications(data) -> dict[str, str]:
    return {k.removeprefix("justification_"): v for k, v in data.items() if k.startswith("justification_")}


def _collaborator_rows(app: Application, typed: str) -> list[dict[str, str]]:
    """Each listed address and each invitation, and where it stands: invited (and whether the
    agreements are accepted), not invited yet, or invited but no longer listed."""
    listed, _ = parse_collaborators(typed)
    applicant = app.applicant.email.lower()
    invitations = {c.email.lower(): c for c in app.collaborators.all()}
    missing = app_selectors.missing_agreements(app)
    rows = []
    for email in dict.fromkeys(e for e in listed if e != applicant):
        invitation = invitations.get(email)
        if invitation is None:
            rows.append({"email": email, "state": "pending", "text": "Not invited yet"})
        elif invitation.email in missing:
            rows.append({"email": email, "state": "invited", "text": "Invited; has not accepted the agreements yet"})
        else:
            rows.append({"email": email, "state": "accepted", "text": "Invited; has accepted the agreements"})
    for email, invitation in invitations.items():
        if email not in listed:
            rows.append(
                {
                    "email": invitation.email,
                    "state": "leaving",
                    "text": "Invited, but no longer in your list: the invitation ends when you press "
                    "“Invite now” or submit",
                }
            )
    return rows


def _edit_context(request, app, form, purpose_form, other_errors) -> dict:
    justifications = {**app.justifications, **_typed_justifications(request.POST)}
    typed = form.data.get("collaborators", "") if form.is_bound else form.initial.get("collaborators", "")
    return {
        "app": app,
        "form": form,
        "purpose_form": purpose_form,
        "rows": _dataset_rows(app, app_selectors.dataset_matches(app), justifications, other_errors),
        "purpose_text": app_selectors.purpose_in_words(app.purpose),
        "needs_ethics": app_selectors.needs_ethics_approval(app),
        "document": app_selectors.current_ethics_document(app),
        "missing_agreements": app_selectors.missing_agreements(app),
        "collaborator_rows": _collaborator_rows(app, typed),
        "grantee_warnings": grantee_warnings(app),
        "other_errors": {k: v for k, v in other_errors.items() if not k.startswith("justification_")},
    }


def _json_access(request: HttpRequest, pk: int) -> Application | JsonResponse:
    """The applicant's own application, or the JSON answer of the page's scripts when it is not."""
    try:
        return access_application(request.user, pk, ApplicationAction.CHANGE)
    except Http404:
        return JsonResponse({"code": "not_found", "message": "No such application.", "extra": {}}, status=404)
    except NotAllowed as refused:
        return JsonResponse({"code": refused.code, "message": refused.message, "extra": {}}, status=403)


@login_required
@require_POST
def application_autosave(request: HttpRequest, pk: int) -> JsonResponse:
    """Saves the draft as typed (called by the page every few seconds); never validates, and
    never invites: the typed collaborators are only kept."""
    app = _json_access(request, pk)
    if isinstance(app, JsonResponse):
        return app
    try:
        app = services.application_update(application=app, changes=_changes_from(request.POST), actor=request.user)
    except Conflict as conflict:
        return JsonResponse({"code": conflict.code, "message": conflict.message, "extra": conflict.extra}, status=409)
    if "collaborators" in request.POST:
        _keep_typed_collaborators(request, app, request.POST["collaborators"])
    return JsonResponse({"saved_at": app.updated_at.isoformat()})


# What the live region says of each answer of the matcher, for one dataset and for several.
CONSENT_PHRASES = {
    "approve": ("fits your purpose", "fit your purpose"),
    "deny": ("does not fit", "do not fit"),
    "review": ("needs the committee's judgement", "need the committee's judgement"),
}


def _consent_summary(decisions: dict[str, str]) -> str:
    """One sentence for the page's live region, e.g. "1 dataset fits your purpose, 1 does not fit"."""
    parts = []
    for decision, (one, several) in CONSENT_PHRASES.items():
        count = sum(1 for d in decisions.values() if d == decision)
        if count:
            noun = "" if parts else (" dataset" if count == 1 else " datasets")
            parts.append(f"{count}{noun} {one if count == 1 else several}")
    if not parts:
        return "Describe the research purpose to see whether it fits each dataset's consent."
    return "Consent check: " + ", ".join(parts) + "."


@login_required
@require_POST
def application_consent_check(request: HttpRequest, pk: int) -> JsonResponse:
    """The edit page's consent check for the purpose as typed, before it is saved: the matcher's
    answer per requested dataset, the rows as the page shows them, and a sentence for its live
    region. Saves nothing."""
    app = _json_access(request, pk)
    if isinstance(app, JsonResponse):
        return app
    app.purpose = purpose_from_data(request.POST)  # in memory only: the check is a read
    matches = app_selectors.dataset_matches(app)
    purpose_text = app_selectors.purpose_in_words(app.purpose)
    rows = _dataset_rows(app, matches, {**app.justifications, **_typed_justifications(request.POST)}, {})
    html = render_to_string(
        "requests/includes/consent_rows.html", {"rows": rows, "purpose_text": purpose_text}, request=request
    )
    decisions = {accession: match["decision"] for accession, match in matches.items()}
    return JsonResponse(
        {"decisions": decisions, "purpose_text": purpose_text, "summary": _consent_summary(decisions), "html": html}
    )


@login_required
@require_safe
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    app = _visible_or_404(request, pk)
    is_applicant = app.applicant_id == request.user.pk
    participant = is_participant(request.user, app)
    # A committee member reads the shared project and their own committee's part only.
    parts = application_parts(app, read_scope(request.user, app))
    versions = list(app.versions.order_by("number"))
    missing = app_selectors.missing_agreements(app)
    collaborators = list(app.collaborators.select_related("user"))
    people = [(app.applicant.name, "applicant", app.applicant.email not in missing)]
    people += [(c.user.name if c.user else c.email, "collaborator", c.email not in missing) for c in collaborators]
    now = timezone.now()
    context = {
        "app": app,
        "is_applicant": is_applicant,
        "participant": participant,
        "purpose_text": app_selectors.purpose_in_words(app.purpose) if app.purpose else "",
        "rows": parts.rows,
        "people": people,
        "reviews": parts.reviews,
        "permits": [permit_row(p, now) for p in parts.permits],
        "grantees": parts.grantees,
        "warnings": parts.warnings,
        "versions": versions,
        "changes": parts.changes,
        "documents": app.documents.all() if participant or not is_applicant else [],
        "missing_agreements": missing,
        "timeline": [
            (e, _action_label(e.action), None if e.action in UNSIGNED_ACTIONS else e.actor)
            for e in audit.events_for(app).select_related("actor")
        ],
        "can_withdraw": is_applicant and app.status in services.withdrawable(),
        "my_committee_ids": set(dacs_where(request.user, VIEW_WORK).values_list("pk", flat=True)),
    }
    return render(request, "requests/detail.html", context)


def permit_row(permit, now) -> dict:
    """A permit with its state in the words every page uses (requests.selectors.permits)."""
    state = permit_state(permit, now)
    return {"permit": permit, "state": state, "label": STATE_LABELS[state]}


@login_required
@page_methods("GET", "HEAD", "POST")
def application_agreements(request: HttpRequest, pk: int) -> HttpResponse:
    app = access_application(request.user, pk, ApplicationAction.TAKE_PART)
    if request.method == "POST":
        if request.POST.get("accept") != "yes":
            messages.error(request, "Tick the box to accept the agreements.")
        else:
            try:
                services.application_agreements_accept(application=app, actor=request.user)
            except Conflict as conflict:
                messages.error(request, conflict.message)
            else:
                messages.success(request, "You have accepted the data access agreements.")
                return redirect("requests:detail", pk=app.pk)
    items = app.requested.select_related("dataset__dac")
    accepted = set(app.acceptances.filter(user=request.user).values_list("dataset_id", "agreement_version"))
    rows = [{"dataset": i.dataset, "accepted": (i.dataset_id, i.dataset.agreement_version) in accepted} for i in items]
    return render(request, "requests/agreements.html", {"app": app, "rows": rows})


@login_required
@page_methods("GET", "HEAD", "POST")
def application_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what withdrawing does, with the form that does it; POST: withdraw (a second POST, a
    double click, is refused by the workflow and says so)."""
    app = _own_or_404(request, pk)
    if request.method != "POST":
        context = {
            "app": app,
            "withdrawable": app.status in services.withdrawable(),
            # The reviews that withdrawing ends: those the review workflow lets move to withdrawn.
            "ending": app.reviews.select_related("dac")
            .filter(status__in=services.REVIEW_WORKFLOW.sources(ReviewStatus.WITHDRAWN))
            .order_by("dac__name"),
        }
        return render(request, "requests/withdraw_confirm.html", context)
    try:
        services.application_withdraw(application=app, actor=request.user)
    except Conflict as conflict:
        messages.error(request, conflict.message)
    else:
        messages.success(request, "The application is withdrawn.")
    return redirect("requests:detail", pk=app.pk)


@login_required
@require_safe
def document_download(request: HttpRequest, pk: int, document_pk: int) -> FileResponse:
    """Serves an uploaded document to those who may read its application; 404 to anyone else."""
    document = documents_visible_to(request.user).filter(application_id=pk, pk=document_pk).first()
    if document is None:
        raise Http404("No such document")
    path = uploads.path_of(document.storage_name)
    if not path.exists():
        raise Http404("The file is missing")
    response = FileResponse(
        path.open("rb"), content_type="application/pdf", as_attachment=True, filename=document.original_name
    )
    response["Cache-Control"] = "private, no-store"
    return response
