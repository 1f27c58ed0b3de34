import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from datasets import duo, services
from datasets.models import DacMembership, Dataset
from portal.audit import events_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ALL = ("view_committee_work", "vote", "decide", "manage_datasets")


def perms(user, dac) -> set[str]:
    user = User.objects.get(pk=user.pk)  # a fresh object: guardian caches per instance
    return {p for p in ALL if user.has_perm(f"datasets.{p}", dac)}


def test_roles_carry_their_object_permissions(dac, other_dac, dac_chair, dac_member, dac_secretary):
    assert perms(dac_chair, dac) == set(ALL)
    assert perms(dac_member, dac) == {"view_committee_work", "vote"}
    assert perms(dac_secretary, dac) == {"view_committee_work", "manage_datasets"}
    assert perms(dac_chair, other_dac) == set()


def test_changing_and_ending_a_role_updates_the_permissions(dac, dac_member):
    services.dac_membership_set(dac=dac, user=dac_member, role="secretary")
    assert perms(dac_member, dac) == {"view_committee_work", "manage_datasets"}
    services.dac_membership_remove(membership=DacMembership.objects.get(dac=dac, user=dac_member))
    assert perms(dac_member, dac) == set()


def test_a_user_has_one_membership_per_committee(dac):
    user = UserFactory()
    services.dac_membership_set(dac=dac, user=user, role="member")
    services.dac_membership_set(dac=dac, user=user, role="chair")
    assert DacMembership.objects.filter(dac=dac, user=user).count() == 1


def role_events(dac) -> list[tuple[str, str, dict, str]]:
    """(action, about whom, role before and after, who acted) of each role change, oldest first."""
    return [
        (e.action, e.data["user"], {k: e.data[k]["role"] for k in ("before", "after") if k in e.data}, e.actor_label)
        for e in events_for(dac).filter(action__startswith="dac.role_")
    ]


def test_granting_changing_and_removing_a_role_are_audited_on_the_committee(dac, staff):
    user = UserFactory(email="new.member@example.org")
    services.dac_membership_set(dac=dac, user=user, role="member", actor=staff)
    services.dac_membership_set(dac=dac, user=user, role="chair", actor=staff)
    services.dac_membership_remove(membership=DacMembership.objects.get(dac=dac, user=user), actor=staff)

    sub = str(user.sub)
    assert role_events(dac) == [
        ("dac.role_granted", sub, {"after": "member"}, staff.email),
        ("dac.role_granted", sub, {"before": "member", "after": "chair"}, staff.email),
        ("dac.role_removed", sub, {"before": "chair"}, staff.email),
    ]
    assert events_for(dac).last().data["email"] == "new.member@example.org"


def test_a_role_granted_by_the_system_is_audited_without_an_actor(dac, dac_member):
    (event,) = role_events(dac)
    assert event == ("dac.role_granted", str(dac_member.sub), {"after": "member"}, "system")


def test_the_role_a_member_holds_already_writes_no_event(dac, dac_member):
    services.dac_membership_set(dac=dac, user=dac_member, role="member")
    assert len(role_events(dac)) == 1


def test_ending_a_membership_twice_writes_one_event(dac, dac_member):
    membership = DacMembership.objects.get(dac=dac, user=dac_member)
    services.dac_membership_remove(membership=membership)
    services.dac_membership_remove(membership=membership)
    assert [action for action, *_ in role_events(dac)] == ["dac.role_granted", "dac.role_removed"]


ROLE_CHANGES = {
    "grant": lambda dac, user: services.dac_membership_set(dac=dac, user=user, role="chair"),
    "remove": lambda dac, user: services.dac_membership_remove(membership=user.dac_memberships.get(dac=dac)),
}


@pytest.mark.parametrize("change", sorted(ROLE_CHANGES))
def test_a_role_change_whose_audit_fails_changes_nothing(dac, dac_member, monkeypatch, change):
    def refuse(**kwargs):
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr("datasets.services.audit.record", refuse)
    with pytest.raises(RuntimeError, match="audit log"):
        ROLE_CHANGES[change](dac, dac_member)

    assert DacMembership.objects.get(dac=dac, user=dac_member).role == "member"
    assert perms(dac_member, dac) == {"view_committee_work", "vote"}


def test_seed_demo_refuses_when_debug_is_off(settings, ontologies):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DEBUG on"):
        call_command("seed_demo", "--password", "x")


def test_seed_demo_builds_the_demo_world_and_is_idempotent(settings, ontologies, capsys):
    settings.DEBUG = True
    call_command("seed_demo", "--password", "pw-for-tests-1")
    out = capsys.readouterr().out
    datasets = list(Dataset.objects.with_profile())
    assert len(datasets) >= 30
    permissions = {d.current_profile.permission_id for d in datasets}
    assert permissions == {duo.NRES, duo.GRU, duo.HMB, duo.DS, duo.POA}
    modifiers = {m["term"] for d in datasets for m in d.current_profile.modifiers}
    for short in ("NPU", "NCU", "IRB", "PUB", "MOR", "GS", "TS", "NMDS", "IS"):
        assert duo.BY_SHORTHAND[short] in modifiers, short
    ds_diseases = {dz.id for d in datasets for dz in d.current_profile.diseases.all()}
    assert {"MONDO:0007254", "MONDO:0005148", "MONDO:0009061"} <= ds_diseases  # cancer, diabetes, rare
    emails = ["researcher@demo.example", "researcher2@demo.example"] + [
        f"{dac}-{role}@demo.example"
        for dac in ("cancer-dac", "metabolic-dac", "rare-disease-dac", "population-dac")
        for role in ("chair", "member", "secretary")
    ]
    for email in emails:
        assert email in out
        assert User.objects.get(email=email).check_password("pw-for-tests-1")
    assert DacMembership.objects.get(user__email="cancer-dac-secretary@demo.example").role == "secretary"
    call_command("seed_demo", "--password", "pw-for-tests-1")
    assert Dataset.objects.count() == len(datasets)
    call_command("seed_demo", "--if-empty")
    assert "left as it is" in capsys.readouterr().out
