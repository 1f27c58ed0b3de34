"""Writes about accounts: registration, e-mail verification, profile changes, personal API
tokens, with the helpers every kind of API key shares (a data node's keys: datasets.services),
and federated identities (a person's account at an identity provider)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import (
    FEDERATED_FIELD_MAX,
    TOKEN_KEY_PREFIX,
    TOKEN_SHOWN_CHARS,
    ApiKey,
    FederatedIdentity,
    Institution,
    PersonalToken,
    User,
    api_key_hash,
    api_key_new,
    email_key,
)
from accounts.selectors import forget_visa_subject
from accounts.tasks import send_account_exists_email, send_verification_email
from portal import audit
from portal.audit_actions import AuditAction
from portal.exceptions import Conflict, InvalidInput, NotAllowed

TOKEN_NAME_MAX = PersonalToken._meta.get_field("name").max_length
# The longest a data node's key lasts (personal tokens: settings.PERSONAL_TOKEN_MAX_DAYS). Ten
# years: long enough for any real use, and far from where a datetime would overflow.
TOKEN_MAX_DAYS = 3650
# last_used_at is a hint for people, not an audit trail: one write a minute per token is plenty.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def user_register(*, email: str, name: str, password: str) -> User | None:
    """Create an unverified account and mail its verification link after commit.

    When the address already has an account (in any letter case), nothing is created and its
    owner is told by e-mail instead; the caller shows the same answer either way, so the form
    cannot be used to find out who has an account. Nor can its answer time: both paths hash the
    password (the slow part, by design) and queue one e-mail after commit. Returns the new user,
    or None for a known address."""
    email = email_key(email)
    # Hashed before the lookup and whatever it finds, outside the transaction (no row is held
    # for the hashing time).
    encoded = make_password(password)
    with transaction.atomic():
        existing = User.objects.with_email(email).first()
        if existing is not None:
            transaction.on_commit(lambda: send_account_exists_email.delay(existing.pk))
            return None
        user = User.objects.create(email=email, password=encoded, name=name.strip())
        transaction.on_commit(lambda: send_verification_email.delay(user.pk))
    return user


def user_verify_email(*, user: User) -> User:
    """Mark the address verified; verifying twice keeps the first time."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.email_verified_at is None:
            locked.email_verified_at = timezone.now()
            locked.save(update_fields=["email_verified_at"])
    return locked


def verification_resend(*, email: str) -> None:
    """Mail a fresh link when the address belongs to an unverified account; silent otherwise."""
    user = User.objects.with_email(email).filter(email_verified_at__isnull=True, is_active=True).first()
    if user is not None:
        transaction.on_commit(lambda: send_verification_email.delay(user.pk))


def profile_update(*, user: User, name: str, institution: Institution | None, country: str, orcid: str) -> User:
    """Save the researcher's own profile fields."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.name, locked.institution, locked.country, locked.orcid = name.strip(), institution, country, orcid
        locked.save(update_fields=["name", "institution", "country", "orcid"])
    return locked


def api_key_expiry(days: int | None, now: datetime) -> datetime | None:
    """When a key made `now` to last `days` days expires (None: never); raises InvalidInput
    outside 1 to TOKEN_MAX_DAYS."""
    if days is None:
        return None
    if not 1 <= days <= TOKEN_MAX_DAYS:
        raise InvalidInput(f"A token lasts from 1 to {TOKEN_MAX_DAYS} days.", code="invalid_token_days")
    return now + timedelta(days=days)


def api_key_fields(prefix: str) -> tuple[str, dict[str, str]]:
    """A new key and what is stored of it: the shown prefix and the hash, never the key."""
    key = api_key_new(prefix)
    return key, {"prefix": key[len(prefix) :][:TOKEN_SHOWN_CHARS], "key_hash": api_key_hash(key)}


def personal_token_days(days: int | None) -> int:
    """How long a new personal token lasts: `days`, or settings.PERSONAL_TOKEN_MAX_DAYS when
    None. A token never lasts forever: a forgotten one dies on its own. Raises InvalidInput (code
    `invalid_token_days`) outside 1 to that maximum."""
    longest = settings.PERSONAL_TOKEN_MAX_DAYS
    if days is None:
        return longest
    if not 1 <= days <= longest:
        raise InvalidInput(f"A token lasts from 1 to {longest} days.", code="invalid_token_days")
    return days


def personal_token_create(*, user: User, name: str, days: int | None = None) -> tuple[PersonalToken, str]:
    """Issue an API key for `user`, valid `days` days (None: the longest allowed,
    settings.PERSONAL_TOKEN_MAX_DAYS); returns the row and the key, which is stored only as a hash.
    Raises InvalidInput for a bad name or number of days, and Conflict (code `too_many_tokens`)
    when the person holds settings.PERSONAL_TOKEN_MAX_LIVE usable tokens already."""
    name = name.strip()
    if not name or len(name) > TOKEN_NAME_MAX:
        raise InvalidInput(f"Give the token a name of 1 to {TOKEN_NAME_MAX} characters.", code="invalid_token_name")
    now = timezone.now()
    expires_at = now + timedelta(days=personal_token_days(days))
    key, stored = api_key_fields(TOKEN_KEY_PREFIX)
    with transaction.atomic():
        # The person's row lock makes two creations take turns, so both cannot pass the count.
        User.objects.select_for_update(of=("self",)).filter(pk=user.pk).first()
        most = settings.PERSONAL_TOKEN_MAX_LIVE
        if PersonalToken.objects.usable(now, user=user).count() >= most:
            tokens = "token" if most == 1 else "tokens"
            raise Conflict(
                f"You hold {most} usable {tokens}, the most a person may: revoke one you no longer use first.",
                code="too_many_tokens",
            )
        token = PersonalToken.objects.create(user=user, name=name, created_at=now, expires_at=expires_at, **stored)
    return token, key


def personal_token_revoke(*, token: PersonalToken, actor: User) -> PersonalToken:
    """Revoke the token at once; revoking twice keeps the first time. Only its owner or staff may:
    raises NotAllowed otherwise."""
    if actor.pk != token.user_id and not actor.is_staff:
        raise NotAllowed("Only the token's owner or the portal staff may revoke it.", code="not_token_owner")
    with transaction.atomic():
        locked = PersonalToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
    return locked


class PasswordChange(StrEnum):
    """Why a password was replaced, as the audit event of the tokens it revoked says."""

    CHANGED = "changed"  # by the person, who gave the old one
    RESET = "reset"  # through an e-mailed link
    SET_BY_STAFF = "set_by_staff"  # set or disabled by the portal staff in the admin


def user_password_save(*, user: User, reason: PasswordChange, actor: User | None) -> int:
    """Save the password just put on `user` (set_password or set_unusable_password) and revoke,
    in the same transaction, every usable personal token of theirs: a token lets a script act as
    the person, so whoever replaces a password they fear is known also cuts off the tokens made
    with it. The revocation is audited (ACCOUNT_TOKENS_REVOKED) when there was a token to revoke.
    Returns how many were revoked. A person's first password (an account made by the provider's
    sign-in) replaces nothing and is saved without this."""
    with transaction.atomic():
        user.save(update_fields=["password"])
        now = timezone.now()
        tokens = list(PersonalToken.objects.usable(now, user=user).select_for_update().order_by("pk"))
        if not tokens:
            return 0
        PersonalToken.objects.filter(pk__in=[token.pk for token in tokens]).update(revoked_at=now)
        audit.record(
            action=AuditAction.ACCOUNT_TOKENS_REVOKED,
            target=user,
            actor=actor,
            data={"reason": str(reason), "tokens": [token.display_prefix for token in tokens]},
        )
    return len(tokens)


def personal_token_mark_used(*, token: PersonalToken) -> bool:
    """Record that the token was used, at most once per TOKEN_USE_RESOLUTION; True if it wrote."""
    return api_key_mark_used(token)


def api_key_mark_used(key: ApiKey) -> bool:
    """Set the key's last_used_at to now unless it was set less than TOKEN_USE_RESOLUTION ago;
    True if it wrote."""
    now = timezone.now()
    if key.last_used_at is not None and key.last_used_at > now - TOKEN_USE_RESOLUTION:
        return False  # recorded recently, as the row just read says: no round trip at all
    # One conditional UPDATE instead of a save per request: a busy script costs one write a minute,
    # and of several concurrent requests only the first writes (the row lock serialises them).
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - TOKEN_USE_RESOLUTION)
    updated = type(key).objects.filter(stale, pk=key.pk).update(last_used_at=now)
    if updated:
        key.last_used_at = now
    return bool(updated)


# --- Federated identities -------------------------------------------------------------------------


def _federated_text(name: str, value: str) -> str:
    value = value.strip() if isinstance(value, str) else ""
    if not value or len(value) > FEDERATED_FIELD_MAX:
        raise InvalidInput(
            "The request is not valid.", extra={"fields": {name: f"1 to {FEDERATED_FIELD_MAX} characters"}}
        )
    return value


def federated_identity_link(*, user: User, issuer: str, subject: str, actor: User | None) -> FederatedIdentity:
    """Record that `subject` at `issuer` is `user`. Only the system (the provider's sign-in, which
    proved the subject; actor None) or staff may: a person naming their own subject could claim
    someone else's (NotAllowed). Linking the same identity again changes nothing and returns it.
    Raises InvalidInput for an empty or overlong issuer or subject, and Conflict (code
    `identity_taken`) when the subject names someone else or the user has another subject there."""
    if actor is not None and not actor.is_staff:
        raise NotAllowed("Only the portal staff link federated identities.", code="not_staff")
    issuer, subject = _federated_text("issuer", issuer), _federated_text("subject", subject)
    with transaction.atomic():
        # The user's row lock makes two links of one person take turns; the unique constraints
        # settle a race between two people for one subject.
        User.objects.select_for_update(of=("self",)).filter(pk=user.pk).first()
        existing = FederatedIdentity.objects.filter(issuer=issuer).filter(Q(subject=subject) | Q(user=user)).first()
        if existing is not None:
            if existing.user_id == user.pk and existing.subject == subject:
                return existing
            raise Conflict(
                "This identity, or another of this person at the issuer, is linked already.", code="identity_taken"
            )
        try:
            with transaction.atomic():
                identity = FederatedIdentity.objects.create(user=user, issuer=issuer, subject=subject)
        except IntegrityError:
            raise Conflict("This identity is linked to someone else.", code="identity_taken") from None
        audit.record(
            action=AuditAction.ACCOUNT_IDENTITY_LINKED,
            target=identity,
            actor=actor,
            after={"user": str(user.sub), "issuer": issuer, "subject": subject},
        )
    forget_visa_subject(user)
    return identity


def sign_in_remains_without(identity: FederatedIdentity, user: User) -> bool:
    """Whether `user` could still sign in with `identity` gone: with a password where passwords are
    on, or because the identity is not at the provider the portal signs people in with."""
    if settings.PASSWORD_LOGIN and user.has_usable_password():
        return True
    return identity.issuer != settings.OIDC_ISSUER


def federated_identity_unlink(*, identity: FederatedIdentity, actor: User | None) -> None:
    """Remove the link: the person's visas carry the portal's own id again. The person themselves,
    staff or the system (actor None) may; raises NotAllowed for anyone else. The person may not
    remove their last way to sign in (Conflict, code `last_sign_in`); staff may. Unlinking an
    identity that is gone already does nothing."""
    if actor is not None and actor.pk != identity.user_id and not actor.is_staff:
        raise NotAllowed("Only the person or the portal staff unlink an identity.", code="not_identity_owner")
    with transaction.atomic():
        # The person's row first (the order federated_identity_link takes), then the identity.
        person = User.objects.select_for_update(of=("self",)).get(pk=identity.user_id)
        locked = FederatedIdentity.objects.select_for_update().select_related("user").filter(pk=identity.pk).first()
        if locked is None:
            return
        if actor is not None and actor.pk == person.pk and not sign_in_remains_without(locked, person):
            raise Conflict(
                "This is your only way to sign in: set a password first, then unlink it.", code="last_sign_in"
            )
        audit.record(
            action=AuditAction.ACCOUNT_IDENTITY_UNLINKED,
            target=locked,
            actor=actor,
            before={"user": str(locked.user.sub), "issuer": locked.issuer, "subject": locked.subject},
        )
        locked.delete()
    forget_visa_subject(identity.user)


def federated_sign_in(*, issuer: str, subject: str, email: str, email_verified: bool, name: str) -> tuple[User, bool]:
    """The person a provider's sign-in names, and whether their account was made just now.

    A known identity (issuer and subject) is its person. An unknown one gets a new account from
    what the provider shared, with no password: the e-mail counts as verified only when the
    provider says so (otherwise the portal sends its own link). An account is never found or
    joined by e-mail: when the address has an account already, the sign-in is refused (Conflict,
    code `email_taken`) and its owner links the identity while signed in to that account. Raises
    NotAllowed (code `account_disabled`) for a deactivated account and InvalidInput (code
    `email_missing`) when the provider shared no e-mail address."""
    issuer, subject = _federated_text("issuer", issuer), _federated_text("subject", subject)
    identity = FederatedIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    if identity is None:
        try:
            return _federated_account_create(issuer, subject, email, email_verified, name), True
        except (IntegrityError, Conflict) as error:
            # The same person's other tab made the account a moment ago (its commit came after the
            # lookup above, before this one's insert or its check of the address): theirs is the one.
            identity = FederatedIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
            if identity is None:
                if isinstance(error, Conflict):
                    raise
                raise Conflict(_EMAIL_TAKEN, code="email_taken") from None
    if not identity.user.is_active:
        raise NotAllowed("This account is disabled. Please contact the portal's operators.", code="account_disabled")
    return identity.user, False


_EMAIL_TAKEN = (
    "An account with this e-mail address exists already. Sign in to it with your password, "
    "then link this identity from your profile."
)


def _federated_account_create(issuer: str, subject: str, email: str, email_verified: bool, name: str) -> User:
    email = email_key(email)
    if not email or len(email) > User._meta.get_field("email").max_length or "@" not in email:
        raise InvalidInput(
            "The identity provider did not share your e-mail address, which the portal needs. "
            "Allow the portal to see it when the provider asks, and sign in again.",
            code="email_missing",
        )
    name = (name or "").strip()[: User._meta.get_field("name").max_length] or email.split("@")[0]
    with transaction.atomic():
        if User.objects.with_email(email).exists():
            raise Conflict(_EMAIL_TAKEN, code="email_taken")
        verified_at = timezone.now() if email_verified else None
        user = User.objects.create_user(email=email, password=None, name=name, email_verified_at=verified_at)
        identity = FederatedIdentity.objects.create(user=user, issuer=issuer, subject=subject)
        audit.record(
            action=AuditAction.ACCOUNT_CREATED_FEDERATED,
            target=identity,
            actor=None,
            after={"user": str(user.sub), "issuer": issuer, "subject": subject, "email_verified": email_verified},
        )
        if not email_verified:
            transaction.on_commit(lambda: send_verification_email.delay(user.pk))
    return user
