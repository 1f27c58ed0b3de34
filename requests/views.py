"""The request basket: datasets a researcher collects before filling an application."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from datasets.permissions import VIEW_WORK, dacs_where
from datasets.presenters import present_datasets
from datasets.selectors import dataset_for
from portal import audit
from portal.audit_actions import AuditAction
from portal.exceptions import Conflict, InvalidInput, NotAllowed
from requests import basket, services, uploads
from requests.forms import ApplicationForm, ApplicationPurposeForm, purpose_from_data, purpose_initial
from requests.models import Application, DatasetDecision, Review, ReviewNote
from requests.permissions import ApplicationAction, access_application, documents_visible_to, is_participant
from requests.selectors import applications as app_selectors
from requests.selectors.permits import permits_of_application


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(fallback)


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


def _changes_from(form: ApplicationForm, data) -> services.DraftChanges:
    valid_emails, _ = form.collaborator_emails()
    justifications = {k.removeprefix("justification_"): v for k, v in data.items() if k.startswith("justification_")}
    return services.DraftChanges(
        title=data.get("title", ""),
        lay_summary=data.get("lay_summary", ""),
        abstract=data.get("abstract", ""),
        purpose=purpose_from_data(data),
        requested_months=data.get("requested_months", "") or "",
        collaborators=valid_emails,
        justifications=justifications,
    )


def _initial(app: Application) -> dict:
    return {
        "title": app.title,
        "lay_summary": app.lay_summary,
        "abstract": app.abstract,
        "requested_months": app.requested_months or "",
        "collaborators": "\n".join(app.collaborators.values_list("email", flat=True)),
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


@login_required
@require_http_methods(["GET", "POST"])
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    app = _own_or_404(request, pk)
    if not app.editable:
        messages.info(request, "The application has been submitted; it can no longer be edited.")
        return redirect("requests:detail", pk=app.pk)
    bound = request.method == "POST"
    form = ApplicationForm(request.POST if bound else None, request.FILES if bound else None, initial=_initial(app))
    purpose_form = ApplicationPurposeForm(
        request.POST if bound else None, prefix="purpose", initial=purpose_initial(app.purpose)
    )
    other_errors: dict[str, str] = {}
    if bound:
        form.is_valid()
        app = services.application_update(
            application=app, changes=_changes_from(form, request.POST), actor=request.user
        )
        _, invalid_emails = form.collaborator_emails()
        if invalid_emails:
            form.add_error("collaborators", f"Not e-mail addresses: {', '.join(invalid_emails)}.")
        document_ok = _save_document(request, app, form)
        if "submit" in request.POST and document_ok and not invalid_emails:
            try:
                services.application_submit(application=app, actor=request.user)
            except services.SubmissionInvalid as invalid:
                other_errors = _apply_submission_errors(invalid.errors, form, purpose_form)
            except Conflict as conflict:
                messages.info(request, conflict.message)
                return redirect("requests:detail", pk=app.pk)
            else:
                messages.success(request, "Application submitted. A receipt is on its way to your inbox.")
                return redirect("requests:detail", pk=app.pk)
        elif document_ok and not invalid_emails and not form.errors:
            messages.success(request, "Draft saved.")
            return redirect("requests:edit", pk=app.pk)
    context = _edit_context(request, app, form, purpose_form, other_errors)
    return render(
        request,
        "requests/edit.html",
        context,
        status=400 if (form.errors or purpose_form.errors or other_errors) else 200,
    )


def _edit_context(request, app, form, purpose_form, other_errors) -> dict:
    items = list(app.requested.select_related("dataset__dac", "dataset__current_profile"))
    matches = app_selectors.dataset_matches(app)
    justification_values = {
        **app.justifications,
        **{k.removeprefix("justification_"): v for k, v in request.POST.items() if k.startswith("justification_")},
    }
    rows = [
        {
            "item": item,
            "match": matches.get(item.dataset.accession),
            "justification": justification_values.get(item.dataset.accession, ""),
            "error": other_errors.get(f"justification_{item.dataset.accession}"),
        }
        for item in items
    ]
    return {
        "app": app,
        "form": form,
        "purpose_form": purpose_form,
        "rows": rows,
        "needs_ethics": app_selectors.needs_ethics_approval(app),
        "document": app_selectors.current_ethics_document(app),
        "missing_agreements": app_selectors.missing_agreements(app),
        "other_errors": {k: v for k, v in other_errors.items() if not k.startswith("justification_")},
    }


@login_required
@require_POST
def application_autosave(request: HttpRequest, pk: int) -> JsonResponse:
    """Saves the draft as typed (called by the page every few seconds); never validates."""
    try:
        app = access_application(request.user, pk, ApplicationAction.CHANGE)
    except Http404:
        return JsonResponse({"code": "not_found", "message": "No such application.", "extra": {}}, status=404)
    except NotAllowed as refused:
        return JsonResponse({"code": refused.code, "message": refused.message, "extra": {}}, status=403)
    form = ApplicationForm(request.POST)
    try:
        app = services.application_update(
            application=app, changes=_changes_from(form, request.POST), actor=request.user
        )
    except Conflict as conflict:
        return JsonResponse({"code": conflict.code, "message": conflict.message, "extra": conflict.extra}, status=409)
    return JsonResponse({"saved_at": app.updated_at.isoformat()})


@login_required
@require_safe
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    app = _visible_or_404(request, pk)
    is_applicant = app.applicant_id == request.user.pk
    participant = is_participant(request.user, app)
    items = list(app.requested.select_related("dataset__dac", "review"))
    matches = app_selectors.matches_shown(app)
    versions = list(app.versions.order_by("number"))
    _submitted, changes = app_selectors.submitted_version(app)
    missing = app_selectors.missing_agreements(app)
    collaborators = list(app.collaborators.select_related("user"))
    people = [(app.applicant.name, "applicant", app.applicant.email not in missing)]
    people += [(c.user.name if c.user else c.email, "collaborator", c.email not in missing) for c in collaborators]
    context = {
        "app": app,
        "is_applicant": is_applicant,
        "participant": participant,
        "rows": [
            {
                "item": i,
                "match": matches.get(i.dataset.accession),
                "justification": app.justifications.get(i.dataset.accession, ""),
            }
            for i in items
        ],
        "people": people,
        "reviews": _reviews_for_the_applicant(app),
        "permits": list(permits_of_application(app.pk)),
        "versions": versions,
        "changes": changes,
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


def _reviews_for_the_applicant(app: Application) -> list[Review]:
    """Each committee's review with its decisions and its messages to the applicant; never its
    votes or its discussion, which stay with the committee."""
    messages_only = ReviewNote.objects.filter(kind=ReviewNote.Kind.TO_APPLICANT)
    reviews = app.reviews.select_related("dac").prefetch_related(
        Prefetch("decisions", queryset=DatasetDecision.objects.select_related("dataset")),
        Prefetch("notes", queryset=messages_only, to_attr="messages_to_applicant"),
    )
    return list(reviews.order_by("dac__name"))


@login_required
@require_http_methods(["GET", "POST"])
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
@require_POST
def application_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    app = _own_or_404(request, pk)
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
