"""Pages for permits: a researcher's own permits and passport, and revocation by the chair of
the permit's committee.

The reads are requests.selectors.permits, shared with the people's API (requests.permit_api),
and the access check is requests.permissions.access_permit, so a permit's state, the order of
the list and who may revoke are decided in one place for both: a permit the user neither holds
nor sees as a member of its committee is 404; its grantee and the committee's members and
secretary get 403."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from portal.exceptions import Conflict, InvalidInput
from portal.input_guard import forms_refuse_nul
from requests import services
from requests.models import Permit
from requests.permissions import PermitAction, access_permit
from requests.review_forms import add_service_errors
from requests.selectors.permits import (
    STATE_LABELS,
    condition_texts,
    passport_of,
    permit_state,
    permits_of,
    review_of_permit,
)
from requests.views import page_methods

require_safe = page_methods("GET", "HEAD")


def visa_lifetime_text() -> str:
    """VISA_LIFETIME_SECONDS in words for the pages: "1 hour", "90 minutes"."""
    seconds = settings.VISA_LIFETIME_SECONDS
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'' if hours == 1 else 's'}"
    # Rounded up: the pages say "at most", which must stay true.
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


# --- My permits -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PermitRow:
    permit: Permit
    state: str
    label: str
    conditions: list[str]


def _row(permit: Permit, now) -> PermitRow:
    state = permit_state(permit, now)
    return PermitRow(permit, state, STATE_LABELS[state], condition_texts(permit))


@login_required
@require_safe
def my_permits(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = [_row(p, now) for p in permits_of(request.user, now)]
    context = {
        "rows": rows,
        "live_count": sum(1 for r in rows if r.permit.is_live(now)),
        "visa_lifetime": visa_lifetime_text(),
    }
    return render(request, "requests/permits.html", context)


@login_required
@require_safe
def passport_download(request: HttpRequest) -> HttpResponse:
    passport, _count = passport_of(request.user, timezone.now())
    response = HttpResponse(passport, content_type="application/jwt")
    response["Content-Disposition"] = 'attachment; filename="passport.jwt"'
    # The passport is a bearer credential: no browser or proxy cache may keep a copy.
    response["Cache-Control"] = "no-store"
    return response


# --- Revocation -------------------------------------------------------------------------------------


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label="Reason for the revocation",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        # The service's own words, so the page and the API say the same.
        error_messages={"required": "Give the reason for the revocation."},
        help_text="The researcher reads this reason on their permits page.",
    )


def _review_url(permit: Permit) -> str | None:
    """The committee's review of the application that gave the permit, where the chair came from."""
    review_pk = review_of_permit(permit)
    return reverse("requests:review", args=[review_pk]) if review_pk else None


def _render_revoke(
    request: HttpRequest, permit: Permit, form: RevokeForm, *, status: int = 200, page_error: str = ""
) -> HttpResponse:
    state = permit_state(permit, timezone.now())
    context = {
        "permit": permit,
        "form": form,
        "state": state,
        "state_label": STATE_LABELS[state],
        "visa_lifetime": visa_lifetime_text(),
        "conditions": condition_texts(permit),
        "review_url": _review_url(permit),
        "page_error": page_error,
    }
    return render(request, "requests/permit_revoke.html", context, status=status)


@forms_refuse_nul
@login_required
@page_methods("GET", "HEAD", "POST")
def permit_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the confirmation page the review page's "Revoke" link leads to (the permit, what
    revoking does, the reason to give) with the form; POST: revoke. A second POST (a double
    click) finds the permit revoked and says so (409)."""
    permit = access_permit(request.user, pk, PermitAction.REVOKE)
    if request.method != "POST":
        return _render_revoke(request, permit, RevokeForm())
    form = RevokeForm(request.POST)
    if not form.is_valid():
        return _render_revoke(request, permit, form, status=400)
    try:
        services.permit_revoke(permit=permit, actor=request.user, reason=form.cleaned_data["reason"])
    except InvalidInput as invalid:
        add_service_errors(form, invalid)
        return _render_revoke(request, permit, form, status=400)
    except Conflict as conflict:
        permit.refresh_from_db()
        return _render_revoke(request, permit, form, status=409, page_error=conflict.message)
    messages.success(request, f"Permit {permit.pk} of {permit.grantee.name} on {permit.dataset.accession} is revoked.")
    return redirect(_review_url(permit) or reverse("requests:permits"))
