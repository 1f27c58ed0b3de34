"""Who may do what in the catalogue. DAC roles are held as django-guardian object permissions
on the committee row; everything here reads them, nothing else does."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from datasets.models import DacMembership, DataAccessCommittee, Dataset

VIEW_WORK = "view_committee_work"
VOTE = "vote"
DECIDE = "decide"
MANAGE = "manage_datasets"

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    DacMembership.Role.CHAIR: (VIEW_WORK, VOTE, DECIDE, MANAGE),
    DacMembership.Role.MEMBER: (VIEW_WORK, VOTE),
    DacMembership.Role.SECRETARY: (VIEW_WORK, MANAGE),
}
ALL_PERMISSIONS = (VIEW_WORK, VOTE, DECIDE, MANAGE)


def dacs_where(user, perm: str) -> QuerySet[DataAccessCommittee]:
    """The committees on which `user` holds `perm` (none for anonymous visitors)."""
    if user is None or not user.is_authenticated:
        return DataAccessCommittee.objects.none()
    # with_superuser=False: a portal operator is not thereby a member of every committee.
    return get_objects_for_user(
        user, f"datasets.{perm}", klass=DataAccessCommittee, accept_global_perms=False, with_superuser=False
    )


def may_manage_dataset(user, dataset: Dataset) -> bool:
    """Chair or secretary of the dataset's committee (or staff) may edit its data use."""
    if user is None or not user.is_authenticated:
        return False
    return user.is_staff or user.has_perm(f"datasets.{MANAGE}", dataset.dac)


def datasets_visible_to(user) -> QuerySet[Dataset]:
    """Published datasets for everyone; drafts and retired ones also to their committee's
    managers and to staff."""
    if user is not None and user.is_authenticated and user.is_staff:
        return Dataset.objects.all()
    visible = Q(status=Dataset.Status.PUBLISHED)
    if user is not None and user.is_authenticated:
        visible |= Q(dac__in=dacs_where(user, MANAGE))
    return Dataset.objects.filter(visible)


def may_manage_committee(user, dac: DataAccessCommittee) -> bool:
    """The committee's chair or secretary (not staff: a committee's policy is its own)."""
    return dacs_where(user, MANAGE).filter(pk=dac.pk).exists()
