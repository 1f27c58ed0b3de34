"""Reads of people that encode a rule: which id a person's visas carry, and who an id names.

A person has two ids: the portal's own (`User.sub`, a UUID) and, once their account at the
identity provider settings.OIDC_ISSUER is linked, that provider's `sub` (their federated id, the
one the broker knows). Visas carry the federated id when there is one, else the portal's; the node
API finds a person by either (docs/node-contract.md, "Who is named")."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from accounts.models import FEDERATED_FIELD_MAX, FederatedIdentity, User

# Where visa_subject caches a person's federated id (None: not linked) on the User object.
_CACHED = "_federated_subject"


def oidc_issuer() -> str:
    """The issuer whose subjects are "the federated id"; empty when none is configured."""
    return settings.OIDC_ISSUER


def prime_visa_subjects(users: Iterable[User]) -> None:
    """Read the federated ids of all `users` in one query (none without an issuer) and keep each
    on its User, so that visa_subject costs nothing per visa of a list."""
    # Each permit of a list brings its own copy of its grantee: every copy is primed.
    waiting = [user for user in users if not hasattr(user, _CACHED)]
    if not waiting:
        return
    found: dict[int, str] = {}
    if oidc_issuer():
        rows = FederatedIdentity.objects.filter(issuer=oidc_issuer(), user_id__in={user.pk for user in waiting})
        found = dict(rows.values_list("user_id", "subject"))
    for user in waiting:
        setattr(user, _CACHED, found.get(user.pk))


def forget_visa_subject(user: User) -> None:
    """Drop what prime_visa_subjects kept on this User (after a link or an unlink)."""
    user.__dict__.pop(_CACHED, None)


def visa_subject(user: User) -> str:
    """The `sub` of the person's visas and passport: their subject at settings.OIDC_ISSUER when
    linked, else the portal's own id. The one place that decides it."""
    prime_visa_subjects([user])
    return getattr(user, _CACHED) or str(user.sub)


def _portal_id(identifier: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(identifier)
    except ValueError:
        return None


def person_named(identifier: str) -> User | None:
    """The person `identifier` names: the portal's id first, else a federated id at
    settings.OIDC_ISSUER; None when it names nobody. At most two indexed queries."""
    portal_id = _portal_id(identifier)
    if portal_id is not None:
        person = User.objects.filter(sub=portal_id).first()
        if person is not None:
            return person
    if not oidc_issuer() or not identifier or len(identifier) > FEDERATED_FIELD_MAX:
        return None
    return User.objects.filter(
        federated_identities__issuer=oidc_issuer(), federated_identities__subject=identifier
    ).first()


def named_by(identifier: str, field: str) -> Q | None:
    """The condition "the person in `field` (e.g. "grantee") is named by `identifier`" (either id),
    for one filter() with the other conditions; None when the text can name nobody. For a query
    already narrowed to a row or a few: the OR defeats the person index on a large table, where
    person_named first is the faster read."""
    conditions = []
    portal_id = _portal_id(identifier)
    if portal_id is not None:
        conditions.append(Q(**{f"{field}__sub": portal_id}))
    if oidc_issuer() and identifier and len(identifier) <= FEDERATED_FIELD_MAX:
        linked = FederatedIdentity.objects.filter(
            user=OuterRef(f"{field}_id"), issuer=oidc_issuer(), subject=identifier
        )
        conditions.append(Q(Exists(linked)))
    if not conditions:
        return None
    condition = conditions[0]
    for other in conditions[1:]:
        condition |= other
    return condition
