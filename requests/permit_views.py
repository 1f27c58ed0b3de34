"""Pages for permits: a researcher's own permits and passport, and revocation by the chair of
the permit's committee.

The reads here are shared with the people's API (requests.permit_api), so that a permit's
state, the order of the list and who may revoke are decided in one place for both.

Revocation answers like the review pages: a permit of a committee the user has no role on is
404 (fetched and authorized in one query); a member or secretary of that committee gets 403,
since the page is never offered to them."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from datasets.permissions import DECIDE, VIEW_WORK, dacs_where
from portal.exceptions import Conflict, InvalidInput, NotAllowed
from requests import services
from requests.models import Permit, PermitStatus, Review
from requests.review_forms import add_service_errors
from requests.visas import mint_passport, mint_visas

# --- Reads shared with the API ----------------------------------------------------------------------

# Not a stored status: an active permit whose time has run out (CONVENTIONS 9, time is read).
EXPIRED = "expired"
STATE_LABELS = {**dict(PermitStatus.choices), EXPIRED: "Expired"}


def permit_state(permit: Permit, now: dt.datetime) -> str:
    """active, expired, revoked or replaced: expiry is derived from the clock at every read."""
    if permit.status == PermitStatus.ACTIVE and permit.expires_at <= now:
        return EXPIRED
    return permit.status


def condition_texts(permit: Permit) -> list[str]:
    """The words of each condition; conditions are {code, text, ...} objects, older rows may be text."""
    return [str(c.get("text", "")) if isinstance(c, dict) else str(c) for c in permit.conditions or []]


def permits_of(user, now: dt.datetime) -> list[Permit]:
    """The user's own permits, live ones first, each group newest first."""
    permits = (
        Permit.objects.filter(grantee=user).select_related("dataset__dac", "application").order_by("-starts_at", "-pk")
    )
    # Sorted here rather than in SQL so that "live" keeps its one definition, Permit.is_live;
    # a person holds a handful of permits, and sorted() is stable, so each group keeps its order.
    return sorted(permits, key=lambda p: not p.is_live(now))


def passport_of(user, now: dt.datetime) -> tuple[str, int]:
    """A signed passport holding a fresh visa for each live permit of the user, and their number."""
    live = Permit.objects.live(now).filter(grantee=user).select_related("grantee", "dataset__dac", "decision")
    visas = mint_visas(live, now)
    return mint_passport(user, visas, now), len(visas)


def permit_for_revocation(user, pk: int, *, grantee_sees: bool) -> Permit | None:
    """The permit if the user has a role on its dataset's committee (or, with grantee_sees, holds
    it), annotated with `may_revoke` (chair of that committee): one query, so a permit the user
    may not see and a missing one are the same None."""
    seen = Q(dataset__dac__in=dacs_where(user, VIEW_WORK))
    if grantee_sees:
        seen |= Q(grantee=user)
    chairs = dacs_where(user, DECIDE).filter(pk=OuterRef("dataset__dac_id"))
    return (
        Permit.objects.filter(seen, pk=pk)
        .annotate(may_revoke=Exists(chairs))
        .select_related("grantee", "dataset__dac", "application")
        .first()
    )


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


def _row(permit: Permit, now: dt.datetime) -> PermitRow:
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


def _permit_to_revoke(request: HttpRequest, pk: int) -> Permit:
    permit = permit_for_revocation(request.user, pk, grantee_sees=False)
    if permit is None:
        raise Http404("No such permit")
    if not permit.may_revoke:
        raise PermissionDenied("Only the chair of the dataset's committee revokes its permits.")
    return permit


def _review_url(permit: Permit) -> str | None:
    """The committee's review of the application that gave the permit, where the chair came from."""
    review_pk = (
        Review.objects.filter(application_id=permit.application_id, dac_id=permit.dataset.dac_id)
        .values_list("pk", flat=True)
        .first()
    )
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


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def permit_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    permit = _permit_to_revoke(request, pk)
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
    except NotAllowed as refused:  # the chair stepped down between the check and the lock
        raise PermissionDenied(refused.message) from refused
    messages.success(request, f"Permit {permit.pk} of {permit.grantee.name} on {permit.dataset.accession} is revoked.")
    return redirect(_review_url(permit) or reverse("requests:permits"))
