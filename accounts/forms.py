"""Forms for registration, sign-in, the profile and API tokens. Every error names its field."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from accounts import services
from accounts.models import Institution, PersonalToken, User
from accounts.services import PasswordChange
from accounts.validators import normalise_orcid
from portal.mail import render_text
from portal.tasks import send_rendered_email


class RegistrationForm(forms.Form):
    name = forms.CharField(label="Full name", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        help_text="Use your institutional address; we send a link to confirm it.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters, not a common password and not all digits.",
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError("Enter your name.", code="required")
        return name

    def clean_password2(self) -> str:
        password1 = self.cleaned_data.get("password1")
        password2 = self.cleaned_data.get("password2")
        if password1 and password2 and password1 != password2:
            raise ValidationError("The two passwords differ.", code="password_mismatch")
        return password2

    def _post_clean(self) -> None:
        super()._post_clean()
        password = self.cleaned_data.get("password1")
        if password:
            probe = User(email=self.cleaned_data.get("email", ""), name=self.cleaned_data.get("name", ""))
            try:
                password_validation.validate_password(password, probe)
            except ValidationError as error:
                self.add_error("password1", error)


class LoginForm(AuthenticationForm):
    """Sign in with e-mail and password; an unverified address is told how to verify."""

    username = forms.EmailField(
        label="E-mail address", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if not user.email_verified:
            resend = reverse("accounts:resend_verification")
            raise ValidationError(
                format_html(
                    "Please confirm your e-mail address first: follow the link we sent you, "
                    'or <a href="{}">send a new link</a>.',
                    resend,
                ),
                code="unverified",
            )


class ResendVerificationForm(forms.Form):
    email = forms.EmailField(label="E-mail address", widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class ProfileForm(forms.ModelForm):
    institution = forms.ModelChoiceField(
        queryset=Institution.objects.order_by("name"),
        required=False,
        empty_label="(not listed / none)",
        help_text="Missing? Ask the portal operators to add it with its ROR id.",
    )
    # Longer than the stored iD so that a pasted https://orcid.org/ address can be normalised.
    orcid = forms.CharField(
        label="ORCID iD", max_length=64, required=False, help_text="For example 0000-0002-1825-0097."
    )

    class Meta:
        model = User
        fields = ["name", "institution", "country", "orcid"]
        labels = {"name": "Full name", "country": "Country where you process data"}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError("Enter your name.", code="required")
        return name

    def clean_orcid(self) -> str:
        value = self.cleaned_data.get("orcid", "").strip()
        return normalise_orcid(value) if value else ""


class ProfileCompletionForm(ProfileForm):
    """The profile after a first sign-in: the institution and country are required here, as every
    application needs them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].required = True
        self.fields["institution"].empty_label = "(choose your institution)"
        self.fields["institution"].error_messages["required"] = "Choose your institution."
        self.fields["country"].required = True
        self.fields["country"].error_messages["required"] = "Choose the country where you process data."


class SetFirstPasswordForm(SetPasswordForm):
    """A first password for an account that has none (made by the provider's sign-in). It
    replaces no password, so the person's API tokens stay."""


class ReplacesPassword:
    """For the forms that replace a password: saving also revokes the person's API tokens
    (accounts.services.user_password_save); `tokens_revoked` then says how many, for the page."""

    reason: PasswordChange
    tokens_revoked = 0

    def password_actor(self) -> User | None:
        return self.user

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        if commit:
            self.tokens_revoked = services.user_password_save(
                user=user, reason=self.reason, actor=self.password_actor()
            )
        return user


class TokenRevokingPasswordChangeForm(ReplacesPassword, PasswordChangeForm):
    reason = PasswordChange.CHANGED


class TokenRevokingSetPasswordForm(ReplacesPassword, SetPasswordForm):
    """The new password of a reset link."""

    reason = PasswordChange.RESET


def tokens_revoked_message(count: int) -> str:
    """What a person is told after a password change revoked `count` API tokens."""
    tokens = "personal API token was" if count == 1 else f"{count} personal API tokens were"
    them = "it" if count == 1 else "them"
    return (
        f"Your {tokens} revoked with the old password: scripts using {them} are refused from now on. "
        "Create new tokens on your profile."
    )


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, but the mail goes through the Celery queue after commit instead of
    holding the request open on SMTP."""

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None
    ):
        # Plain text: not HTML-escaped (portal.mail.render_text), the HTML part is.
        subject = "".join(render_text(subject_template_name, context).splitlines())
        body = render_text(email_template_name, context)
        html = render_to_string(html_email_template_name, context) if html_email_template_name else None
        transaction.on_commit(lambda: send_rendered_email.delay(subject, body, [to_email], html))


class PersonalTokenForm(forms.Form):
    name = forms.CharField(
        label="Token name",
        max_length=PersonalToken._meta.get_field("name").max_length,
        help_text="What it is for, so that you can recognise it later, e.g. “laptop script”.",
    )
    days = forms.IntegerField(label="Valid for (days)", required=False, min_value=1)

    def __init__(self, *args, **kwargs):
        # The profile form on the same page has a "name" field too: distinct ids keep labels right.
        kwargs.setdefault("auto_id", "id_token_%s")
        super().__init__(*args, **kwargs)
        # Read per form, not at import: the setting comes from the environment (and tests).
        longest = settings.PERSONAL_TOKEN_MAX_DAYS
        days = self.fields["days"]
        days.max_value = longest
        days.validators.append(MaxValueValidator(longest))
        days.widget.attrs["max"] = longest
        days.help_text = f"1 to {longest} days. Leave empty for the longest, {longest} days."

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError("Give the token a name.", code="required")
        return name
