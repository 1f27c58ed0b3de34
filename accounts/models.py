"""People and the institutions they work for."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django_countries.fields import CountryField

from accounts.validators import validate_orcid, validate_ror_id


class Institution(models.Model):
    class OrganisationType(models.TextChoices):
        NON_PROFIT = "non_profit", "Non-profit"
        FOR_PROFIT = "for_profit", "For-profit"

    name = models.CharField(max_length=255)
    country = CountryField()
    ror_id = models.CharField("ROR id", max_length=64, unique=True, null=True, blank=True, validators=[validate_ror_id])
    organisation_type = models.CharField(max_length=16, choices=OrganisationType.choices)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), "country", name="institution_unique_name_country")]

    def __str__(self) -> str:
        return f"{self.name} ({self.country.code})"

    @property
    def is_non_profit(self) -> bool:
        return self.organisation_type == self.OrganisationType.NON_PROFIT


def email_key(address: str | None) -> str:
    """An e-mail address as the portal stores and compares it: trimmed and lower-cased, local part
    included. Addresses name one person whatever their letter case (the unique constraint
    `user_unique_email_ci` says so too), so sign-in, its lockout, registration, password reset
    and invitations all compare this form."""
    return (address or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=email_key(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(is_staff=True, is_superuser=True)
        fields.setdefault("email_verified_at", timezone.now())
        return self._create(email, password, **fields)

    def get_by_natural_key(self, username: str) -> User:
        return self.with_email(username).get()

    def with_email(self, address: str | None) -> models.QuerySet[User]:
        """The account of `address` in any letter case (at most one). Compares lower(email), which
        the index of `user_unique_email_ci` serves, so a sign-in is one indexed lookup."""
        return self.alias(email_ci=Lower("email")).filter(email_ci=email_key(address))


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Signs in with an e-mail address; `sub` is the stable id carried in visas."""

    sub = models.UUIDField("stable id", default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField("e-mail address", max_length=254, unique=True)
    name = models.CharField("full name", max_length=200)
    institution = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    country = CountryField(blank=True, help_text="The country where you process data.")
    orcid = models.CharField("ORCID iD", max_length=19, blank=True, validators=[validate_orcid])
    email_verified_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_unique_email_ci")]

    def __str__(self) -> str:
        return self.name or self.email

    def clean(self) -> None:
        super().clean()
        # Before the admin's forms check uniqueness, so "Ada@X.org" is compared as "ada@x.org".
        self.email = email_key(self.email)

    def save(self, *args, **kwargs) -> None:
        # Every path that writes an account (registration, the admin, the provider's sign-in)
        # stores the one form of the address that everything compares.
        self.email = email_key(self.email)
        super().save(*args, **kwargs)

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def profile_complete(self) -> bool:
        """What an applicant must have told the portal before applying: the committees check the
        institution (its kind and country) and the country where the data are processed."""
        return bool(self.institution_id and self.country)

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email


# API keys look like <fixed text><40 url-safe characters>: gapp_ for a person's token (gapn_ for a
# data node's key, datasets.models), so that scanners and people can tell them from other secrets
# (and from each other), and the 8 characters after the fixed text identify one in lists and logs.
TOKEN_KEY_PREFIX = "gapp_"  # noqa: S105 - a public marker, not a secret
TOKEN_RANDOM_BYTES = 30  # 40 url-safe characters, 240 bits
TOKEN_SHOWN_CHARS = 8


def api_key_new(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(TOKEN_RANDOM_BYTES)


def api_key_hash(key: str) -> str:
    # A plain SHA-256 suffices: the key is 240 random bits, so there is nothing to brute-force or
    # look up, and a fast hash keeps each API request to one indexed lookup.
    return hashlib.sha256(key.encode()).hexdigest()


def personal_token_key_new() -> str:
    return api_key_new(TOKEN_KEY_PREFIX)


personal_token_hash = api_key_hash


class ApiKeyQuerySet(models.QuerySet):
    def usable(self, now: datetime | None = None, **conditions) -> ApiKeyQuerySet:
        """Keys not revoked and not expired at `now`, matching `conditions` in the same filter()."""
        now = now or timezone.now()
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), revoked_at__isnull=True, **conditions)


class ApiKey(models.Model):
    """What every API key stores: only the hash of the key (shown once, when it is created), the
    shown prefix, and its life (created, last used, expiry, revocation)."""

    KEY_PREFIX = ""

    prefix = models.CharField(max_length=TOKEN_SHOWN_CHARS, editable=False)
    key_hash = models.CharField("SHA-256 of the key", max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name} ({self.display_prefix})"

    @property
    def display_prefix(self) -> str:
        return f"{self.KEY_PREFIX}{self.prefix}…"

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and (now or timezone.now()) >= self.expires_at

    def is_usable(self, now: datetime | None = None) -> bool:
        return self.revoked_at is None and not self.is_expired(now)

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.is_expired() else "active"


class PersonalToken(ApiKey):
    """A person's API key for scripts: `Authorization: Token <key>`."""

    KEY_PREFIX = TOKEN_KEY_PREFIX

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. “laptop script”.")
    # Required here (a node's key may be open-ended): a forgotten token dies on its own.
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "personal API token"


# OpenID Connect caps a `sub` at 255 ASCII characters; issuers are URLs of the same order.
FEDERATED_FIELD_MAX = 255


class FederatedIdentity(models.Model):
    """A person's account at an identity provider: the provider's `issuer` and the `sub` it gives
    them. One subject names one person at an issuer, and a person has at most one identity per
    issuer. The identity at settings.OIDC_ISSUER is the one visas carry (accounts.selectors)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="federated_identities")
    issuer = models.CharField(max_length=FEDERATED_FIELD_MAX, help_text="The provider's issuer URL.")
    subject = models.CharField(max_length=FEDERATED_FIELD_MAX, help_text="The provider's `sub` for the person.")
    linked_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["issuer", "subject"]
        verbose_name = "federated identity"
        verbose_name_plural = "federated identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="federated_identity_unique_subject"),
            models.UniqueConstraint(fields=["user", "issuer"], name="federated_identity_one_per_issuer"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
