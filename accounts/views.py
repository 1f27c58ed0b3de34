"""Pages for registration, e-mail verification, sign-in, the profile and its API tokens."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import oidc, services
from accounts.forms import (
    LoginForm,
    PersonalTokenForm,
    ProfileCompletionForm,
    ProfileForm,
    QueuedPasswordResetForm,
    RegistrationForm,
    ResendVerificationForm,
    SetFirstPasswordForm,
    TokenRevokingPasswordChangeForm,
    TokenRevokingSetPasswordForm,
    tokens_revoked_message,
)
from accounts.models import FederatedIdentity, PersonalToken, User
from accounts.tokens import email_verification_token
from portal.exceptions import Conflict, InvalidInput
from portal.input_guard import forms_refuse_nul
from portal.ratelimit import allow, client_ip
from portal.redirects import safe_next

TOO_MANY = "Too many attempts from your network. Please wait a while and try again."


def _form_rate_ok(request: HttpRequest, scope: str) -> bool:
    return allow(scope, client_ip(request), limit=settings.FORM_RATE_PER_HOUR, window_seconds=3600)


def _passwords_off() -> bool:
    return not settings.PASSWORD_LOGIN


def passwords_on(view):
    """A page of local passwords: 404 where the deployment turned them off (PASSWORD_LOGIN)."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if _passwords_off():
            raise Http404("Local passwords are turned off here.")
        return view(request, *args, **kwargs)

    return guarded


@forms_refuse_nul
@passwords_on
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    form = RegistrationForm(request.POST or None)
    if request.method == "POST":
        if not _form_rate_ok(request, "register"):
            form.add_error(None, TOO_MANY)
            return render(request, "accounts/register.html", {"form": form}, status=429)
        if form.is_valid():
            data = form.cleaned_data
            services.user_register(email=data["email"], name=data["name"], password=data["password1"])
            request.session["registered_email"] = data["email"]
            return redirect("accounts:registered")
    status = 400 if form.errors else 200
    return render(request, "accounts/register.html", {"form": form}, status=status)


@require_safe
def registered(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/registered.html", {"email": request.session.get("registered_email")})


def _user_from_uid(uidb64: str) -> User | None:
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None
    return User.objects.filter(pk=pk, is_active=True).first()


@require_http_methods(["GET", "POST"])
def verify_email(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """GET shows a confirm button and POST verifies, so mail scanners that prefetch links
    cannot confirm an address on the owner's behalf."""
    user = _user_from_uid(uidb64)
    if user is not None and user.email_verified:
        messages.info(request, "Your e-mail address is already confirmed. Please sign in.")
        return redirect("accounts:login")
    if user is None or not email_verification_token.check_token(user, token):
        return render(request, "accounts/verify_invalid.html", status=400)
    if request.method == "POST":
        services.user_verify_email(user=user)
        messages.success(request, "Thank you, your e-mail address is confirmed. You can sign in now.")
        return redirect("accounts:login")
    return render(request, "accounts/verify_confirm.html", {"email": user.email})


@forms_refuse_nul
@require_http_methods(["GET", "POST"])
def resend_verification(request: HttpRequest) -> HttpResponse:
    form = ResendVerificationForm(request.POST or None)
    if request.method == "POST":
        if not _form_rate_ok(request, "resend"):
            form.add_error(None, TOO_MANY)
            return render(request, "accounts/resend_verification.html", {"form": form}, status=429)
        if form.is_valid():
            services.verification_resend(email=form.cleaned_data["email"])
            messages.info(request, "If that address has an unconfirmed account, a new link is on its way.")
            return redirect("accounts:login")
    status = 400 if form.errors else 200
    return render(request, "accounts/resend_verification.html", {"form": form}, status=status)


class LoginView(auth_views.LoginView):
    """Sign-in, limited per client address on top of django-axes' per-account lockout."""

    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["oidc_configured"] = oidc.configured()
        context["provider_name"] = oidc.provider_name()
        return context

    def post(self, request, *args, **kwargs):
        if _passwords_off():
            raise Http404("Local passwords are turned off here.")
        limit = settings.LOGIN_RATE_PER_MINUTE
        if not allow("login", client_ip(request), limit=limit, window_seconds=60):
            # An unbound form keeps the typed address without validating it: validating would
            # try the password and count as one more failure.
            form = self.form_class(request, initial={"username": request.POST.get("username", "")})
            context = self.get_context_data(form=form, page_error=TOO_MANY)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


def _tell_tokens_revoked(request: HttpRequest, form) -> None:
    if form.tokens_revoked:
        messages.warning(request, tokens_revoked_message(form.tokens_revoked))


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = TokenRevokingPasswordChangeForm
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)
        _tell_tokens_revoked(self.request, form)
        return response

    def dispatch(self, request, *args, **kwargs):
        # An account made by the provider's sign-in has no password to change: it sets a first one.
        if request.user.is_authenticated and not request.user.has_usable_password():
            return redirect("accounts:password_set")
        return super().dispatch(request, *args, **kwargs)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    form_class = QueuedPasswordResetForm
    email_template_name = "email/accounts/password_reset.txt"
    html_email_template_name = "email/accounts/password_reset.html"
    subject_template_name = "email/accounts/password_reset.subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    @property
    def extra_email_context(self) -> dict:
        # Links use the configured public address, never the request's Host header.
        return {"portal_name": settings.PORTAL_NAME, "base_url": settings.PORTAL_BASE_URL}

    def post(self, request, *args, **kwargs):
        if not _form_rate_ok(request, "password_reset"):
            form = self.get_form()
            form.add_error(None, TOO_MANY)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = TokenRevokingSetPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        _tell_tokens_revoked(self.request, form)
        return response

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


@passwords_on
@login_required
@require_http_methods(["GET", "POST"])
def password_set(request: HttpRequest) -> HttpResponse:
    """A first password for an account made by the provider's sign-in (it has none)."""
    if request.user.has_usable_password():
        return redirect("accounts:password_change")
    form = SetFirstPasswordForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        update_session_auth_hash(request, form.user)  # the person stays signed in
        messages.success(request, "Your password is set: you can also sign in with your e-mail address and it.")
        return redirect("accounts:profile")
    status = 400 if form.errors else 200
    return render(request, "accounts/password_set.html", {"form": form}, status=status)


def _profile_save(request: HttpRequest, form: ProfileForm) -> None:
    data = form.cleaned_data
    services.profile_update(
        user=request.user,
        name=data["name"],
        institution=data["institution"],
        country=data["country"],
        orcid=data["orcid"],
    )


@forms_refuse_nul
@login_required
@require_http_methods(["GET", "POST"])
def profile_complete(request: HttpRequest) -> HttpResponse:
    """The first stop after a first sign-in: the institution and country every application needs."""
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    instance = User.objects.select_related("institution").get(pk=request.user.pk)
    form = ProfileCompletionForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        _profile_save(request, form)
        messages.success(request, "Your profile is complete: you can apply for data.")
        return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    status = 400 if form.errors else 200
    return render(request, "accounts/profile_complete.html", {"form": form, "next": next_url}, status=status)


@forms_refuse_nul
@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    # A fresh copy: a rejected form must not leave half-applied values on request.user.
    instance = User.objects.select_related("institution").get(pk=request.user.pk)
    form = ProfileForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        _profile_save(request, form)
        messages.success(request, "Your profile is saved.")
        return redirect("accounts:profile")
    status = 400 if form.errors else 200
    return _profile_page(request, form=form, profile_user=instance, status=status)


def _profile_page(
    request: HttpRequest,
    *,
    form: ProfileForm | None = None,
    profile_user: User | None = None,
    token_form: PersonalTokenForm | None = None,
    new_token: PersonalToken | None = None,
    new_key: str = "",
    status: int = 200,
) -> HttpResponse:
    if profile_user is None:
        profile_user = User.objects.select_related("institution").get(pk=request.user.pk)
    context = {
        "form": form if form is not None else ProfileForm(instance=profile_user),
        "profile_user": profile_user,
        "token_form": token_form if token_form is not None else PersonalTokenForm(),
        "tokens": PersonalToken.objects.filter(user=request.user),
        "new_token": new_token,
        "new_key": new_key,
        "identities": _identities(request.user),
        "oidc_configured": oidc.configured(),
        "provider_name": oidc.provider_name(),
        "linked_here": FederatedIdentity.objects.filter(user=request.user, issuer=settings.OIDC_ISSUER).exists()
        if oidc.configured()
        else False,
    }
    return render(request, "accounts/profile.html", context, status=status)


def _identities(user: User) -> list[dict]:
    """The person's linked identities, each with whether it may be unlinked (another way to
    sign in remains) and whether it is the one their permits name."""
    return [
        {
            "identity": identity,
            "signs_in": identity.issuer == settings.OIDC_ISSUER and oidc.configured(),
            "in_permits": identity.issuer == settings.OIDC_ISSUER,
            "may_unlink": services.sign_in_remains_without(identity, user),
        }
        for identity in FederatedIdentity.objects.filter(user=user)
    ]


@forms_refuse_nul
@login_required
@require_POST
@never_cache
def token_create(request: HttpRequest) -> HttpResponse:
    form = PersonalTokenForm(request.POST)
    if form.is_valid():
        try:
            token, key = services.personal_token_create(
                user=request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"]
            )
        except (InvalidInput, Conflict) as error:
            form.add_error("days" if error.code == "invalid_token_days" else None, error.message)
        else:
            # The page is rendered from the POST instead of redirecting: a redirect would have to
            # park the key in the session store, in clear, until the next page view. never_cache
            # keeps it out of the browser's and any proxy's cache.
            return _profile_page(request, new_token=token, new_key=key)
    return _profile_page(request, token_form=form, status=400)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    # Fetched and authorised in one query: someone else's token answers 404, like a missing one.
    token = get_object_or_404(PersonalToken.objects.filter(pk=pk, user=request.user))
    services.personal_token_revoke(token=token, actor=request.user)
    messages.success(request, f"The token “{token.name}” is revoked; scripts using it are refused from now on.")
    return redirect("accounts:profile")
