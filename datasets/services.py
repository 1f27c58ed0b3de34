"""Writes to the catalogue: committee membership, datasets and their data-use profiles."""

from __future__ import annotations

from django.db import connection, transaction
from guardian.shortcuts import assign_perm, remove_perm

from datasets import duo
from datasets.models import DacMembership, DataAccessCommittee, Dataset, DataUseProfile, DataUseTerm, DiseaseTerm
from datasets.permissions import ALL_PERMISSIONS, ROLE_PERMISSIONS


def _sync_role_permissions(*, dac: DataAccessCommittee, user, role: str | None) -> None:
    granted = set(ROLE_PERMISSIONS.get(role, ())) if role else set()
    for perm in ALL_PERMISSIONS:
        if perm in granted:
            assign_perm(f"datasets.{perm}", user, dac)
        else:
            remove_perm(f"datasets.{perm}", user, dac)


def dac_membership_set(*, dac: DataAccessCommittee, user, role: str, actor=None) -> DacMembership:
    """Give `user` the role on the committee (adding or changing the membership) and the
    matching object permissions, in one transaction."""
    if role not in DacMembership.Role.values:
        raise ValueError(f"unknown committee role {role!r}")
    with transaction.atomic():
        membership, _ = DacMembership.objects.select_for_update().update_or_create(
            dac=dac, user=user, defaults={"role": role}
        )
        _sync_role_permissions(dac=dac, user=user, role=role)
    return membership


def dac_membership_remove(*, membership: DacMembership, actor=None) -> None:
    """End a membership and withdraw every committee permission it carried."""
    with transaction.atomic():
        _sync_role_permissions(dac=membership.dac, user=membership.user, role=None)
        membership.delete()


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
