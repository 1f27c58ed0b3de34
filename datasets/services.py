"""Writes to the catalogue: committee membership and review policy, datasets and their data-use
profiles, data nodes' webhooks and API keys."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import User
from accounts.services import api_key_expiry, api_key_fields, api_key_mark_used
from datasets import duo
from datasets.models import (
    NODE_KEY_PREFIX,
    RESOURCE_ID_VALIDATOR,
    DacMembership,
    DataAccessCommittee,
    DataNode,
    Dataset,
    DataUseProfile,
    DataUseTerm,
    DiseaseTerm,
    NodeApiKey,
)
from datasets.permissions import ALL_PERMISSIONS, MANAGE, ROLE_PERMISSIONS, dacs_where
from portal import audit
from portal.exceptions import InvalidInput, NotAllowed


def _sync_role_permissions(*, dac: DataAccessCommittee, user, role: str | None) -> None:
    granted = set(ROLE_PERMISSIONS.get(role, ())) if role else set()
    for perm in ALL_PERMISSIONS:
        if perm in granted:
            assign_perm(f"datasets.{perm}", user, dac)
        else:
            remove_perm(f"datasets.{perm}", user, dac)


def dac_membership_set(*, dac: DataAccessCommittee, user: User, role: str, actor: User | None = None) -> DacMembership:
    """Give `user` the role on the committee (adding or changing the membership) and the matching
    object permissions, audited as dac.role_granted in the same transaction; the role the user
    holds already changes nothing and is not audited. Raises ValueError for an unknown role."""
    if role not in DacMembership.Role.values:
        raise ValueError(f"unknown committee role {role!r}")
    with transaction.atomic():
        # The row lock makes two concurrent changes of a membership take turns, so each audit
        # event's `before` is the role the other one left.
        current = DacMembership.objects.select_for_update().filter(dac=dac, user=user).first()
        before = current.role if current else None
        membership, _ = DacMembership.objects.update_or_create(dac=dac, user=user, defaults={"role": role})
        _sync_role_permissions(dac=dac, user=user, role=role)
        if before != role:
            audit.record(
                action="dac.role_granted",
                target=dac,
                actor=actor,
                before={"role": before} if before else None,
                after={"role": role},
                data=_member_data(user),
            )
    return membership


def dac_membership_remove(*, membership: DacMembership, actor: User | None = None) -> None:
    """End a membership and withdraw every committee permission it carried, audited as
    dac.role_removed in the same transaction; a membership ended already changes nothing."""
    with transaction.atomic():
        # of=self: the membership row only, not the committee and the user it joins.
        rows = DacMembership.objects.select_for_update(of=("self",)).select_related("dac", "user")
        locked = rows.filter(pk=membership.pk).first()
        if locked is None:
            return
        _sync_role_permissions(dac=locked.dac, user=locked.user, role=None)
        locked.delete()
        audit.record(
            action="dac.role_removed",
            target=locked.dac,
            actor=actor,
            before={"role": locked.role},
            data=_member_data(locked.user),
        )


def _member_data(user: User) -> dict[str, str]:
    # The stable id says who for good; the address, who it was when the log was written.
    return {"user": str(user.sub), "email": user.email}


def _next_accession() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('datasets_accession_seq')")
        return f"GDS{cursor.fetchone()[0]:06d}"


def _write_profile(*, dataset: Dataset, data_use: duo.DataUse, version: int, note: str, actor) -> DataUseProfile:
    profile = DataUseProfile.objects.create(
        dataset=dataset,
        version=version,
        permission=DataUseTerm.objects.get(pk=data_use.permission),
        modifiers=[m.to_json() for m in data_use.modifiers],
        free_text=data_use.free_text,
        duo_version=data_use.duo_version,
        change_note=note,
        created_by=actor,
    )
    profile.diseases.set(DiseaseTerm.objects.filter(id__in=data_use.diseases))
    return profile


def dataset_create(
    *,
    dac: DataAccessCommittee,
    title: str,
    description: str,
    data_use: duo.DataUse,
    nodes=(),
    participants: int = 0,
    data_types: list[str] | None = None,
    status: str = Dataset.Status.DRAFT,
    agreement_version: str = "1.0",
    agreement_text: str = "",
    actor=None,
) -> Dataset:
    """Create a dataset with a new accession and version 1 of its data-use profile."""
    with transaction.atomic():
        dataset = Dataset.objects.create(
            accession=_next_accession(),
            title=title,
            description=description,
            dac=dac,
            participants=participants,
            data_types=data_types or [],
            status=status,
            agreement_version=agreement_version,
            agreement_text=agreement_text,
        )
        dataset.nodes.set(nodes)
        profile = _write_profile(dataset=dataset, data_use=data_use, version=1, note="First version", actor=actor)
        dataset.current_profile = profile
        dataset.save(update_fields=["current_profile"])
    return dataset


class NoChange(ValueError):
    """The submitted profile is the one in force; no new version is written."""


def dataset_profile_change(*, dataset: Dataset, data_use: duo.DataUse, note: str = "", actor=None) -> DataUseProfile:
    """Add a new version of the dataset's data-use profile and make it current; the earlier
    versions stay. Raises NoChange when the profile is the same as the current one.

    Re-evaluation of open applications and live permits against the new version hooks in here
    once applications and permits exist."""
    with transaction.atomic():
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        current = locked.current_profile
        if current is not None and current.as_data_use() == data_use:
            raise NoChange("The data use is unchanged.")
        version = (current.version if current else 0) + 1
        profile = _write_profile(dataset=locked, data_use=data_use, version=version, note=note, actor=actor)
        locked.current_profile = profile
        locked.save(update_fields=["current_profile", "updated_at"])
    dataset.current_profile = profile
    return profile


_RESOURCE_ID_MAX = Dataset._meta.get_field("resource_id").max_length


def dataset_resource_id_check(*, dataset: Dataset, resource_id: str) -> str:
    """The resource id, trimmed, if the dataset may take it: printable ASCII without spaces, at most
    255 characters, no other dataset's, and not a dataset URL of this portal (that form names a
    dataset by accession). Empty clears it. Raises InvalidInput naming `resource_id`."""
    resource_id = (resource_id or "").strip()
    if not resource_id:
        return ""
    problem = None
    try:
        RESOURCE_ID_VALIDATOR(resource_id)
    except ValidationError:
        problem = "Use printable ASCII without spaces (e.g. EGAD00001000001)."
    if len(resource_id) > _RESOURCE_ID_MAX:
        problem = f"At most {_RESOURCE_ID_MAX} characters."
    elif resource_id.startswith(f"{settings.PORTAL_BASE_URL}/datasets/"):
        problem = "A dataset URL of this portal is not a resource identifier: leave it empty to use the URL."
    elif Dataset.objects.filter(resource_id=resource_id).exclude(pk=dataset.pk).exists():
        problem = "Another dataset has this resource identifier."
    if problem:
        raise InvalidInput(problem, extra={"fields": {"resource_id": problem}})
    return resource_id


def dataset_resource_id_set(*, dataset: Dataset, resource_id: str, actor=None) -> Dataset:
    """Set (or, with "", clear) the identifier the dataset's hosting nodes use for it: visas minted
    from now on carry it as their `value`. Visas minted before keep theirs and still verify at the
    portal while they live. Raises InvalidInput (dataset_resource_id_check)."""
    with transaction.atomic():
        locked = Dataset.objects.select_for_update(of=("self",)).get(pk=dataset.pk)
        resource_id = dataset_resource_id_check(dataset=locked, resource_id=resource_id)
        before = locked.resource_id
        if resource_id != before:
            locked.resource_id = resource_id
            locked.save(update_fields=["resource_id", "updated_at"])
            audit.record(
                action="dataset.resource_id_changed",
                target=locked,
                actor=actor,
                before={"resource_id": before},
                after={"resource_id": resource_id},
                data={"dataset": locked.accession},
            )
    dataset.resource_id = resource_id
    return locked


POLICY_FIELDS = ("quorum", "default_permit_months", "max_permit_months", "auto_approve")
MAX_QUORUM = 100
MAX_PERMIT_MONTHS = 120


def _policy_errors(*, quorum: int, default_permit_months: int, max_permit_months: int) -> dict[str, str]:
    def whole(value: object, low: int, high: int) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

    errors = {}
    if not whole(quorum, 1, MAX_QUORUM):
        errors["quorum"] = f"The quorum is a whole number of votes from 1 to {MAX_QUORUM}."
    for name, value in (("default_permit_months", default_permit_months), ("max_permit_months", max_permit_months)):
        if not whole(value, 1, MAX_PERMIT_MONTHS):
            errors[name] = f"A permit length is a whole number of months from 1 to {MAX_PERMIT_MONTHS}."
    if not errors and default_permit_months > max_permit_months:
        errors["default_permit_months"] = f"The default cannot be longer than the maximum ({max_permit_months} months)."
    return errors


def dac_policy_update(
    *,
    dac: DataAccessCommittee,
    actor,
    quorum: int,
    default_permit_months: int,
    max_permit_months: int,
    auto_approve: bool,
) -> DataAccessCommittee:
    """Change a committee's review policy: the chair or the secretary (actor=None is the system).
    Raises InvalidInput naming each bad field (quorum at least 1, default within the maximum) and
    NotAllowed for anyone else. The change and its audit event commit together."""
    errors = _policy_errors(
        quorum=quorum, default_permit_months=default_permit_months, max_permit_months=max_permit_months
    )
    if errors:
        raise InvalidInput("The policy is not valid.", extra={"fields": errors})
    wanted = dict(
        zip(POLICY_FIELDS, (quorum, default_permit_months, max_permit_months, bool(auto_approve)), strict=True)
    )
    with transaction.atomic():
        locked = DataAccessCommittee.objects.select_for_update().get(pk=dac.pk)
        if actor is not None and not dacs_where(actor, MANAGE).filter(pk=locked.pk).exists():
            raise NotAllowed("Only the committee's chair or secretary changes its policy.")
        before = {name: getattr(locked, name) for name in POLICY_FIELDS if getattr(locked, name) != wanted[name]}
        if before:
            for name in before:
                setattr(locked, name, wanted[name])
            locked.save(update_fields=list(before))
            after = {name: wanted[name] for name in before}
            audit.record(action="dac.policy_changed", target=locked, actor=actor, before=before, after=after)
    return locked


# --- Data nodes' webhooks ---------------------------------------------------------------------

WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - a public marker, not a secret
_URL_MAX = DataNode._meta.get_field("webhook_url").max_length


def node_webhook_set(*, node: DataNode, url: str, actor=None) -> str:
    """Point the node's webhook at `url` (http or https) with a new signing secret, which replaces
    any earlier one at once; returns the secret, stored only sealed. Raises InvalidInput for a bad URL."""
    url = _checked_url(url)
    secret = WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        locked = DataNode.objects.select_for_update().get(pk=node.pk)
        before = {"webhook_url": locked.webhook_url, "had_secret": bool(locked.webhook_secret_sealed)}
        locked.webhook_url = url
        locked.seal_webhook_secret(secret)
        locked.save(update_fields=["webhook_url", "webhook_secret_sealed", "webhook_secret_set_at"])
        # Where a node's permit events go is an access decision: audited, the secret never.
        audit.record(
            action="node.webhook_set",
            target=locked,
            actor=actor,
            before=before,
            after={"webhook_url": url, "had_secret": True},
            data={"node": locked.slug},
        )
    return secret


def node_webhook_clear(*, node: DataNode, actor=None) -> DataNode:
    """Remove the node's webhook URL and secret: nothing more is pushed to it, and messages
    still waiting are closed unsent when their turn comes."""
    with transaction.atomic():
        locked = DataNode.objects.select_for_update().get(pk=node.pk)
        before = {"webhook_url": locked.webhook_url, "had_secret": bool(locked.webhook_secret_sealed)}
        locked.webhook_url = ""
        locked.seal_webhook_secret("")
        locked.save(update_fields=["webhook_url", "webhook_secret_sealed", "webhook_secret_set_at"])
        audit.record(
            action="node.webhook_cleared",
            target=locked,
            actor=actor,
            before=before,
            after={"webhook_url": "", "had_secret": False},
            data={"node": locked.slug},
        )
    return locked


def _checked_url(url: str) -> str:
    url = (url or "").strip()
    try:
        if len(url) > _URL_MAX:
            raise ValidationError(f"at most {_URL_MAX} characters")
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise InvalidInput(
            f"Give the webhook an http:// or https:// URL of at most {_URL_MAX} characters.",
            code="invalid_webhook_url",
            extra={"fields": {"url": "not an http(s) URL"}},
        ) from None
    return url


# --- Data nodes' API keys -------------------------------------------------------------------------

NODE_KEY_NAME_MAX = NodeApiKey._meta.get_field("name").max_length


def node_key_create(
    *, node: DataNode, name: str, days: int | None, broker: bool = False, actor: User | None = None
) -> tuple[NodeApiKey, str]:
    """Issue an API key for a data node, valid `days` days (None: until revoked); `broker=True` also
    flags the node as the broker, which sees every permit. Returns the row and the key, which is
    stored only as a hash. Raises InvalidInput for a bad name or number of days."""
    name = name.strip()
    if not name or len(name) > NODE_KEY_NAME_MAX:
        raise InvalidInput(f"Give the key a name of 1 to {NODE_KEY_NAME_MAX} characters.", code="invalid_key_name")
    now = timezone.now()
    expires_at = api_key_expiry(days, now)
    key, stored = api_key_fields(NODE_KEY_PREFIX)
    with transaction.atomic():
        if broker and not node.is_broker:
            node.is_broker = True
            node.save(update_fields=["is_broker"])
        row = NodeApiKey.objects.create(node=node, name=name, created_at=now, expires_at=expires_at, **stored)
        # A machine credential is an access grant: who issued it, for which node and scope, is audited.
        audit.record(
            action="node_key.created",
            target=row,
            actor=actor,
            data={
                "node": node.slug,
                "broker": node.is_broker,
                "prefix": row.display_prefix,
                "expires_at": _iso(expires_at),
            },
        )
    return row, key


def node_key_revoke(*, key: NodeApiKey, actor: User | None) -> NodeApiKey:
    """Revoke the node key at once; revoking twice keeps the first time. Only staff (or the system,
    actor=None) may: raises NotAllowed otherwise."""
    if actor is not None and not actor.is_staff:
        raise NotAllowed("Only the portal staff may revoke a node's key.", code="not_staff")
    with transaction.atomic():
        locked = NodeApiKey.objects.select_for_update().select_related("node").get(pk=key.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            audit.record(
                action="node_key.revoked",
                target=locked,
                actor=actor,
                data={"node": locked.node.slug, "prefix": locked.display_prefix},
            )
    return locked


def node_key_mark_used(*, key: NodeApiKey) -> bool:
    """Record that the node key was used, at most once per TOKEN_USE_RESOLUTION; True if it wrote."""
    return api_key_mark_used(key)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
