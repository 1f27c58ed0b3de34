"""Pages of the sign-in with the identity provider: start, return, link and unlink.

The flow's secrets (state, nonce, PKCE verifier) stay in the person's session, keyed by state and
used once, so a second tab's sign-in does not spoil the first, a replayed return finds nothing,
and a return into another browser (a forged login) finds nothing either."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from accounts import oidc, services
from accounts.models import FederatedIdentity
from portal.exceptions import Conflict, InvalidInput, NotAllowed
from portal.redirects import safe_next

logger = logging.getLogger(__name__)

SESSION_FLOWS = "oidc_flows"
# Sign-ins begun and not yet back, kept per session (several tabs); the oldest goes first.
MAX_OPEN_FLOWS = 5
# Django's own backend: after the provider's sign-in the person is known, no password is asked.
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _require_configured() -> None:
    if not oidc.configured():
        raise Http404("Sign-in with an identity provider is not configured.")


def failure_page(request: HttpRequest, failure: oidc.OidcFailure) -> HttpResponse:
    logger.warning("OIDC sign-in refused (%s): %s", failure.code, failure.detail or failure.message)
    context = {"failure": failure, "provider_name": oidc.provider_name()}
    return render(request, "accounts/oidc_failure.html", context, status=failure.status)


def _begin(request: HttpRequest, *, next_url: str, link_user_id: int | None) -> HttpResponse:
    try:
        flow, address = oidc.flow_start(next_url=next_url, link_user_id=link_user_id)
    except oidc.OidcFailure as failure:
        return failure_page(request, failure)
    flows = {
        state: data
        for state, data in request.session.get(SESSION_FLOWS, {}).items()
        if not oidc.Flow.from_dict(data).expired()
    }
    for state in sorted(flows, key=lambda s: flows[s]["started_at"])[: max(0, len(flows) - MAX_OPEN_FLOWS + 1)]:
        del flows[state]
    flows[flow.state] = flow.as_dict()
    request.session[SESSION_FLOWS] = flows
    return HttpResponseRedirect(address)


@require_safe
@never_cache
def oidc_login(request: HttpRequest) -> HttpResponse:
    """Send the person to the provider; `next` (an address on this site) is where they land."""
    _require_configured()
    return _begin(request, next_url=safe_next(request, request.GET.get("next", "")), link_user_id=None)


@login_required
@require_POST
def oidc_link(request: HttpRequest) -> HttpResponse:
    """The signed-in person links their account at the provider: they prove it by signing in there."""
    _require_configured()
    return _begin(request, next_url=reverse("accounts:profile"), link_user_id=request.user.pk)


def _take_flow(request: HttpRequest) -> oidc.Flow:
    state = request.GET.get("state", "")
    flows = request.session.get(SESSION_FLOWS, {})
    data = flows.pop(state, None) if state else None
    if data is not None:
        request.session[SESSION_FLOWS] = flows
    if data is None:
        raise oidc.OidcFailure(
            "state_mismatch",
            "This sign-in was not started in this browser, or it is complete already. Please sign in again.",
            detail="unknown or reused state",
        )
    flow = oidc.Flow.from_dict(data)
    if flow.expired():
        raise oidc.OidcFailure("flow_expired", "The sign-in took too long. Please sign in again.")
    return flow


def _provider_refusal(request: HttpRequest) -> oidc.OidcFailure:
    error = request.GET.get("error", "")[:100]
    if error == "access_denied":
        message = f"The sign-in was cancelled at {oidc.provider_name()}: you are not signed in."
    else:
        message = f"{oidc.provider_name()} could not sign you in. Please try again."
    return oidc.OidcFailure("provider_error", message, detail=f"{error}: {request.GET.get('error_description', '')}")


@require_safe
@never_cache
def oidc_callback(request: HttpRequest) -> HttpResponse:
    """Where the provider sends the person back: check everything, then sign in or link."""
    _require_configured()
    try:
        flow = _take_flow(request)
        # RFC 9207: a provider that names itself in the answer must be the one the flow went to
        # (a mix-up attack hands the portal a code from another provider).
        if "iss" in request.GET and request.GET["iss"] != settings.OIDC_ISSUER:
            raise oidc.OidcFailure(
                "issuer_mismatch", "The answer came from another provider. Please sign in again.", detail="iss"
            )
        if "error" in request.GET:
            raise _provider_refusal(request)
        code = request.GET.get("code", "")
        if not code:
            raise oidc.OidcFailure("code_missing", "The provider sent no sign-in code. Please sign in again.")
        person = oidc.flow_finish(flow, code=code)
    except oidc.OidcFailure as failure:
        return failure_page(request, failure)
    if flow.link_user_id is not None:
        return _link(request, flow, person)
    return _sign_in(request, flow, person)


def _refused(request: HttpRequest, error: InvalidInput | Conflict | NotAllowed, status: int) -> HttpResponse:
    return failure_page(request, oidc.OidcFailure(error.code, error.message, status=status))


def _sign_in(request: HttpRequest, flow: oidc.Flow, person: oidc.Person) -> HttpResponse:
    try:
        user, created = services.federated_sign_in(
            issuer=person.issuer,
            subject=person.subject,
            email=person.email,
            email_verified=person.email_verified,
            name=person.name,
        )
    except InvalidInput as error:
        return _refused(request, error, 400)
    except Conflict as error:
        return _refused(request, error, 409)
    except NotAllowed as error:
        return _refused(request, error, 403)
    login(request, user, backend=BACKEND)
    destination = flow.next_url or reverse(settings.LOGIN_REDIRECT_URL)
    if created:
        messages.success(request, f"Welcome! Your account is made from your {oidc.provider_name()} identity.")
    if not user.profile_complete:
        return redirect(f"{reverse('accounts:profile_complete')}?{urlencode({'next': destination})}")
    return redirect(destination)


def _link(request: HttpRequest, flow: oidc.Flow, person: oidc.Person) -> HttpResponse:
    # Linking needs the same person signed in at the start and at the return.
    if not request.user.is_authenticated or request.user.pk != flow.link_user_id:
        return failure_page(
            request,
            oidc.OidcFailure(
                "link_session_changed",
                "You are no longer signed in to the account you were linking. Sign in to it and link again.",
                status=403,
            ),
        )
    try:
        services.federated_identity_link(user=request.user, issuer=person.issuer, subject=person.subject, actor=None)
    except Conflict:
        return failure_page(
            request,
            oidc.OidcFailure(
                "identity_taken",
                f"This {oidc.provider_name()} identity is linked to another portal account, or yours has "
                "another one linked already. Unlink it there first.",
                status=409,
            ),
        )
    messages.success(request, f"Your {oidc.provider_name()} identity is linked: you can sign in with it.")
    return redirect("accounts:profile")


@login_required
@require_POST
def identity_unlink(request: HttpRequest, pk: int) -> HttpResponse:
    # Someone else's identity answers 404, like a missing one.
    identity = get_object_or_404(FederatedIdentity.objects.filter(pk=pk, user=request.user))
    try:
        services.federated_identity_unlink(identity=identity, actor=request.user)
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "The identity is unlinked. Your permits now name your portal id.")
    return redirect("accounts:profile")
