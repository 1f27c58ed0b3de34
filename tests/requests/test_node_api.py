"""The node API (docs/node-contract.md): node API keys, the scope of a node (hosted datasets; all for
the broker), the permissions answer, introspection, the check, the changes feed, and the walk from
approval to revocation as a node sees it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from io import StringIO

import jwt
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder

from accounts import services as account_services
from datasets import services as dataset_services
from datasets.models import NodeApiKey
from portal.audit import events_for
from portal.exceptions import NotAllowed
from requests import services, visas
from requests.models import Permit, PermitEvent
from tests.conftest import PEOPLE
from tests.factories import DatasetFactory, NodeFactory, complete_application

pytestmark = pytest.mark.django_db

GRU = {"permission": "DUO:0000042", "modifiers": []}
ACKNOWLEDGE = "Acknowledge the Nordic cohorts in every publication."
NODE_URLS = ("api:permissions", "api:permit_introspect", "api:permit_check", "api:permit_changes")


# --- helpers (the security tests use them too) ----------------------------------------------------


def node_key(node, **options) -> str:
    """A new usable API key of `node` (the key itself: the row keeps only its hash)."""
    return dataset_services.node_key_create(node=node, name="verifier", days=options.pop("days", None), **options)[1]


def as_node(key: str | None) -> Client:
    """A client that sends `key` as the node API key (none when key is None)."""
    return Client(HTTP_AUTHORIZATION=f"Api-Key {key}") if key is not None else Client()


def approve(application, datasets, chair, member, months: int = 12, conditions=None) -> list[Permit]:
    """The committee approves the submitted `application` for `datasets`: two votes and the
    chair's decision, through the services. Returns the new permits."""
    review = application.reviews.get()
    services.review_vote(review=review, actor=chair, choice="approve")
    services.review_vote(review=review, actor=member, choice="approve")
    services.review_decide(
        review=review,
        actor=chair,
        decisions=[
            services.DecisionInput(dataset=d.accession, outcome="approve", months=months, conditions=conditions)
            for d in datasets
        ],
    )
    return list(Permit.objects.filter(application=application, dataset__in=datasets).order_by("dataset__accession"))


def grant_gru(applicant, datasets, chair, member, months: int = 12) -> list[Permit]:
    """Permits for `applicant` on GRU datasets (no ethics approval needed), through the services."""
    app = complete_application(applicant, list(datasets), purpose={"primary": "hmb"})
    services.application_submit(application=app, actor=applicant)
    return approve(app, datasets, chair, member, months)


def as_json(value):
    """`value` as the API renders it (DRF's encoder: UTC as Z, milliseconds)."""
    return json.loads(json.dumps(value, cls=JSONEncoder))


def introspect(key: str, token) -> dict:
    response = as_node(key).post(reverse("api:permit_introspect"), {"token": token}, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def check(key: str, user: str, accession: str) -> dict:
    body = {"user": user, "dataset": accession}
    response = as_node(key).post(reverse("api:permit_check"), body, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def passport_of(key: str, user_id: str) -> list[str]:
    response = as_node(key).get(reverse("api:permissions", args=[user_id]))
    assert response.status_code == 200, response.content
    return response.json()["ga4gh_passport_v1"]


def changes(key: str, **query) -> dict:
    response = as_node(key).get(reverse("api:permit_changes"), query)
    assert response.status_code == 200, response.content
    return response.json()


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture
def broker(db):
    return NodeFactory(slug="ls-login", name="LS Login", is_broker=True)


@pytest.fixture
def key(node) -> str:
    return node_key(node)


@pytest.fixture
def other_key(other_node) -> str:
    return node_key(other_node)


@pytest.fixture
def broker_key(broker) -> str:
    return node_key(broker)


@pytest.fixture
def permit(applicant_submission, dataset, dac_chair, dac_member) -> Permit:
    """The applicant's live permit on `dataset` (hosted by `node` once that fixture is used)."""
    return approve(applicant_submission, [dataset], dac_chair, dac_member, conditions=[ACKNOWLEDGE])[0]


# --- node API keys ------------------------------------------------------------------------------


def test_a_node_key_is_gapn_and_stored_only_as_its_hash_and_prefix(node):
    row, key = dataset_services.node_key_create(node=node, name="beacon", days=None)

    assert key.startswith("gapn_")
    assert len(key.removeprefix("gapn_")) == 40
    stored = NodeApiKey.objects.values().get(pk=row.pk)
    assert stored["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert stored["prefix"] == key[5:13]
    assert all(key[13:] not in str(value) for value in stored.values())
    assert row.node == node
    assert row.expires_at is None


def test_a_node_key_authenticates_and_records_its_use(node, key):
    assert as_node(key).get(reverse("api:permit_changes")).status_code == 200
    assert NodeApiKey.objects.get(node=node).last_used_at is not None


def test_an_expired_node_key_is_refused(node, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    key = node_key(node, days=1)
    assert as_node(key).get(reverse("api:permit_changes")).status_code == 200

    time_machine.shift(dt.timedelta(days=1))

    response = as_node(key).get(reverse("api:permit_changes"))
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_a_revoked_node_key_is_refused_at_once(node, staff):
    row, key = dataset_services.node_key_create(node=node, name="beacon", days=30)
    dataset_services.node_key_revoke(key=row, actor=staff)

    assert as_node(key).get(reverse("api:permit_changes")).status_code == 401


def test_only_staff_revoke_node_keys(node, dac_chair):
    row, _ = dataset_services.node_key_create(node=node, name="beacon", days=None)
    with pytest.raises(NotAllowed):
        dataset_services.node_key_revoke(key=row, actor=dac_chair)


def test_revoking_twice_keeps_the_first_time(node, staff):
    row, _ = dataset_services.node_key_create(node=node, name="beacon", days=None)
    first = dataset_services.node_key_revoke(key=row, actor=staff).revoked_at
    assert dataset_services.node_key_revoke(key=row, actor=staff).revoked_at == first


def test_a_key_of_a_deleted_node_goes_with_it(node, key):
    node.delete()
    assert as_node(key).get(reverse("api:permit_changes")).status_code == 401


def test_create_node_key_prints_a_working_key_alone_on_the_last_line(node):
    out = StringIO()
    call_command("create_node_key", node.slug, "--days", "30", stdout=out)

    key = out.getvalue().splitlines()[-1]
    assert key.startswith("gapn_")
    assert key not in "\n".join(out.getvalue().splitlines()[:-1])
    assert as_node(key).get(reverse("api:permit_changes")).status_code == 200
    row = NodeApiKey.objects.get(node=node)
    assert row.expires_at is not None
    node.refresh_from_db()
    assert not node.is_broker


def test_create_node_key_with_broker_flags_the_node(other_node):
    out = StringIO()
    call_command("create_node_key", other_node.slug, "--broker", stdout=out)

    other_node.refresh_from_db()
    assert other_node.is_broker
    assert NodeApiKey.objects.get(node=other_node).expires_at is None


@pytest.mark.parametrize(
    ("args", "message"), [(["no-such-node"], "No data node"), (["fi-node", "--days", "0"], "lasts")]
)
def test_create_node_key_refuses_an_unknown_node_or_bad_days(node, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_node_key", *args, stdout=StringIO())
    assert not NodeApiKey.objects.exists()


def test_staff_create_a_key_in_the_admin_and_see_it_once(client, staff, node):
    client.force_login(staff)
    url = reverse("admin:datasets_nodeapikey_add")
    response = client.post(url, {"node": node.pk, "name": "beacon", "days": "90"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    row = NodeApiKey.objects.get(node=node)
    key = re.search(r"gapn_[A-Za-z0-9_-]{40}", response.content.decode())[0]
    assert hashlib.sha256(key.encode()).hexdigest() == row.key_hash
    assert key not in client.get(reverse("admin:datasets_nodeapikey_change", args=[row.pk])).content.decode()


def test_staff_revoke_keys_with_the_admin_action(client, staff, node, key):
    client.force_login(staff)
    row = NodeApiKey.objects.get(node=node)
    client.post(
        reverse("admin:datasets_nodeapikey_changelist"), {"action": "revoke_selected", "_selected_action": [row.pk]}
    )
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert as_node(key).get(reverse("api:permit_changes")).status_code == 401


# --- who may call -------------------------------------------------------------------------------


def _call(client: Client, name: str, user_sub: str = "00000000-0000-0000-0000-000000000000"):
    if name == "api:permissions":
        return client.get(reverse(name, args=[user_sub]))
    if name == "api:permit_changes":
        return client.get(reverse(name))
    return client.post(reverse(name), {}, content_type="application/json")


@pytest.mark.parametrize("persona", PEOPLE)
@pytest.mark.parametrize("name", NODE_URLS)
def test_people_get_401_with_the_error_shape(client_for, persona, name):
    response = _call(client_for(persona), name)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert set(response.json()) == {"code", "message", "extra"}


@pytest.mark.parametrize("name", NODE_URLS)
def test_a_personal_token_is_not_a_node_key(applicant, name):
    _, token = account_services.personal_token_create(user=applicant, name="script")
    assert _call(Client(HTTP_AUTHORIZATION=f"Token {token}"), name).status_code == 401
    assert _call(as_node(token), name).status_code == 401


@pytest.mark.parametrize("header", ["Api-Key", "Api-Key gapn_wrong", "Api-Key a b", "Api-Key gapn_\u00e9t\u00e9"])
@pytest.mark.parametrize("name", NODE_URLS)
def test_a_wrong_key_gets_401(db, header, name):
    response = _call(Client(HTTP_AUTHORIZATION=header), name)
    assert response.status_code == 401
    assert response.json()["code"] in {"authentication_failed", "not_authenticated"}


# Statuses of the four URLs for the node personas with the bodies of tests/test_url_permissions.py
# (an empty JSON object for the POSTs): the scope never changes a status, only the answer.
@pytest.mark.parametrize(
    ("name", "status"), [(NODE_URLS[0], 200), (NODE_URLS[1], 400), (NODE_URLS[2], 400), (NODE_URLS[3], 200)]
)
def test_nodes_hosting_or_not_get_the_same_statuses(key, other_key, name, status):
    assert _call(as_node(key), name).status_code == status
    assert _call(as_node(other_key), name).status_code == status


# --- scope and the answers ----------------------------------------------------------------------


def test_the_hosting_node_and_the_broker_see_the_permit_another_node_does_not(
    permit, applicant, dataset, key, other_key, broker_key
):
    sub = str(applicant.sub)
    visa = visas.mint_visa(permit)
    for seeing in (key, broker_key):
        assert len(passport_of(seeing, sub)) == 1
        assert introspect(seeing, visa)["active"] is True
        assert check(seeing, sub, dataset.accession)["allowed"] is True
        assert [c["permit_id"] for c in changes(seeing)["changes"]] == [permit.pk]

    assert passport_of(other_key, sub) == []
    assert introspect(other_key, visa) == {"active": False}
    assert check(other_key, sub, dataset.accession) == {
        "allowed": False,
        "permit_id": None,
        "expires_at": None,
        "conditions": [],
    }
    assert changes(other_key)["changes"] == []


def test_permissions_answer_holds_fresh_visas_of_the_live_permits(permit, applicant, dataset, key, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    first = passport_of(key, str(applicant.sub))
    time_machine.shift(dt.timedelta(seconds=5))
    second = passport_of(key, str(applicant.sub))

    assert len(first) == len(second) == 1
    assert first != second
    old, new = (visas.verify_visa(v) for v in (first[0], second[0]))
    assert new.claims["iat"] == old.claims["iat"] + 5
    assert new.claims["jti"] != old.claims["jti"]
    assert new.sub == str(applicant.sub)
    assert new.value == dataset.resource == f"http://testserver/datasets/{dataset.accession}"
    assert visas.permit_for(new) == permit


def test_permissions_accepts_expired_false_and_refuses_other_values(permit, applicant, key):
    url = reverse("api:permissions", args=[applicant.sub])
    assert len(as_node(key).get(url, {"expired": "false"}).json()["ga4gh_passport_v1"]) == 1
    response = as_node(key).get(url, {"expired": "true"})
    assert response.status_code == 400
    assert "expired" in response.json()["extra"]["fields"]


@pytest.mark.parametrize("user_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "1"])
def test_permissions_of_an_unknown_or_invalid_id_are_empty(permit, key, user_id):
    assert passport_of(key, user_id) == []


def test_permissions_of_a_user_with_many_permits_take_a_constant_number_of_queries(
    applicant, other_applicant, dac, dac_chair, dac_member, node, key
):
    datasets = [DatasetFactory(dac=dac, title=f"Cohort {n}", data_use=GRU, nodes=[node]) for n in range(6)]
    grant_gru(applicant, datasets[:1], dac_chair, dac_member)
    grant_gru(other_applicant, datasets, dac_chair, dac_member)
    passport_of(key, str(applicant.sub))  # the first call creates the signing key and marks the key used

    with CaptureQueriesContext(connection) as one:
        assert len(passport_of(key, str(applicant.sub))) == 1
    with CaptureQueriesContext(connection) as six:
        assert len(passport_of(key, str(other_applicant.sub))) == 6
    assert len(six) == len(one)


def test_permissions_of_a_linked_person_take_a_constant_number_of_queries(
    settings, applicant, other_applicant, dac, dac_chair, dac_member, node, key
):
    settings.OIDC_ISSUER = "https://login.example.org/oidc/"
    datasets = [DatasetFactory(dac=dac, title=f"Cohort {n}", data_use=GRU, nodes=[node]) for n in range(6)]
    grant_gru(applicant, datasets[:1], dac_chair, dac_member)
    grant_gru(other_applicant, datasets, dac_chair, dac_member)
    for person in (applicant, other_applicant):
        subject = f"{person.pk}@lifescience-ri.eu"
        account_services.federated_identity_link(user=person, issuer=settings.OIDC_ISSUER, subject=subject, actor=None)
    passport_of(key, str(applicant.sub))  # the first call creates the signing key and marks the key used

    with CaptureQueriesContext(connection) as one:
        assert len(passport_of(key, str(applicant.sub))) == 1
    with CaptureQueriesContext(connection) as six:
        six_visas = passport_of(key, f"{other_applicant.pk}@lifescience-ri.eu")
    assert len(six) == len(one)
    assert {visas.verify_visa(v).sub for v in six_visas} == {f"{other_applicant.pk}@lifescience-ri.eu"}


def test_introspection_of_a_live_visa(permit, applicant, dataset, dac, key):
    visa = visas.mint_visa(permit)
    answer = introspect(key, visa)

    assert answer == {
        "active": True,
        "sub": str(applicant.sub),
        "dataset": dataset.accession,
        "permit_id": permit.pk,
        "exp": jwt.decode(visa, options={"verify_signature": False})["exp"],
        "permit_expires_at": as_json(permit.expires_at),
        "conditions": permit.conditions,
        "dac": dac.slug,
    }
    assert answer["conditions"] == [{"code": "DAC", "text": ACKNOWLEDGE}]


@pytest.mark.parametrize("token", ["", "not a jwt", "a.b.c", "x" * 20_000])
def test_introspection_of_a_token_that_is_no_visa_is_inactive(db, key, token):
    assert introspect(key, token) == {"active": False}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("[]", "body"),
        ('"token"', "body"),
        ("null", "body"),
        ("{}", "token"),
        ('{"token": 5}', "token"),
        ('{"token": null}', "token"),
        ('{"token": ["a.b.c"]}', "token"),
    ],
)
def test_introspection_of_a_bad_body_is_400_naming_the_field(db, key, body, field):
    response = as_node(key).post(reverse("api:permit_introspect"), body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]


def test_introspection_of_malformed_json_is_400(db, key):
    response = as_node(key).post(reverse("api:permit_introspect"), "{", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed"


def test_check_of_a_live_permit(permit, applicant, dataset, key):
    assert check(key, str(applicant.sub), dataset.accession.lower()) == {
        "allowed": True,
        "permit_id": permit.pk,
        "expires_at": as_json(permit.expires_at),
        "conditions": permit.conditions,
    }


@pytest.mark.parametrize("who", ["other", "nobody", "not-a-uuid"])
def test_check_of_someone_without_a_permit_is_not_allowed(permit, other_applicant, dataset, key, who):
    user = {"other": str(other_applicant.sub), "nobody": "00000000-0000-0000-0000-000000000000"}.get(who, who)
    assert check(key, user, dataset.accession)["allowed"] is False
    assert check(key, str(permit.grantee.sub), "GDS999999")["allowed"] is False


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ([], {"body"}),
        ({}, {"user", "dataset"}),
        ({"user": 1, "dataset": "GDS000001"}, {"user"}),
        ({"user": "x", "dataset": ["GDS000001"]}, {"dataset"}),
    ],
)
def test_check_of_a_bad_body_is_400_naming_the_fields(db, key, body, fields):
    response = as_node(key).post(reverse("api:permit_check"), body, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["extra"]["fields"]) == fields


def test_answers_are_not_cached(permit, applicant, key):
    response = as_node(key).get(reverse("api:permissions", args=[applicant.sub]))
    assert response["Cache-Control"] == "no-store"


# --- the changes feed -----------------------------------------------------------------------------


def test_the_feed_shows_issue_revocation_and_expiry_oldest_first(
    applicant, other_applicant, dac, dac_chair, dac_member, node, key, time_machine
):
    revoked_ds, expiring_ds = (DatasetFactory(dac=dac, title=t, data_use=GRU, nodes=[node]) for t in ("R", "E"))
    revoked = grant_gru(applicant, [revoked_ds], dac_chair, dac_member)[0]
    expiring = grant_gru(other_applicant, [expiring_ds], dac_chair, dac_member, months=1)[0]
    services.permit_revoke(permit=revoked, actor=dac_chair, reason="The ethics approval was withdrawn.")
    time_machine.move_to(expiring.expires_at + dt.timedelta(hours=1))
    assert services.record_expiries() == 1

    feed = changes(key)["changes"]

    assert [(c["permit_id"], c["event"]) for c in feed] == [
        (revoked.pk, "issued"),
        (expiring.pk, "issued"),
        (revoked.pk, "revoked"),
        (expiring.pk, "expired"),
    ]
    assert feed[1] == {
        "permit_id": expiring.pk,
        "user": str(other_applicant.sub),
        "dataset": expiring_ds.accession,
        "event": "issued",
        "at": as_json(expiring.starts_at),
        "expires_at": as_json(expiring.expires_at),
    }
    assert feed[3]["at"] == feed[3]["expires_at"]


def test_the_feed_pages_with_the_cursor(applicant, dac, dac_chair, dac_member, node, key):
    datasets = [DatasetFactory(dac=dac, title=f"Cohort {n}", data_use=GRU, nodes=[node]) for n in range(5)]
    grant_gru(applicant, datasets, dac_chair, dac_member)
    ids = list(PermitEvent.objects.order_by("id").values_list("id", flat=True))

    first = changes(key, limit=2)
    second = changes(key, limit=2, cursor=first["next_cursor"])
    third = changes(key, limit=2, cursor=second["next_cursor"])
    done = changes(key, limit=2, cursor=third["next_cursor"])

    seen = [c for page in (first, second, third) for c in page["changes"]]
    assert len(seen) == 5
    assert first["next_cursor"] == str(ids[1])
    assert third["next_cursor"] == str(ids[4])
    assert done == {"changes": [], "next_cursor": third["next_cursor"]}
    assert changes(key) == {**changes(key), "next_cursor": str(ids[4])}


def test_an_empty_feed_without_a_cursor_starts_at_zero(db, key):
    assert changes(key) == {"changes": [], "next_cursor": "0"}


def test_the_feed_limit_defaults_to_100_and_a_larger_one_is_lowered_to_1000(permit, node, key, monkeypatch):
    for _ in range(120):
        services.record_event(permit, PermitEvent.Kind.EXTENDED)
    monkeypatch.setattr("requests.node_api.CHANGES_LIMIT_MAX", 110)

    assert len(changes(key)["changes"]) == 100
    assert len(changes(key, limit=5000)["changes"]) == 110
    assert len(changes(key, limit=7)["changes"]) == 7
    assert len(changes(key, limit="0000000000007")["changes"]) == 7
    assert len(changes(key, limit="9" * 5000)["changes"]) == 110


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"cursor": "abc"}, "cursor"),
        ({"cursor": "-1"}, "cursor"),
        ({"cursor": "1.5"}, "cursor"),
        ({"cursor": "9" * 30}, "cursor"),
        ({"cursor": "9" * 5000}, "cursor"),
        ({"cursor": " 5"}, "cursor"),
        ({"cursor": "1_0"}, "cursor"),
        ({"cursor": "\u0663"}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "+5"}, "limit"),
        ({"limit": ""}, "limit"),
    ],
)
def test_a_bad_cursor_or_limit_is_400_naming_it(db, key, query, field):
    response = as_node(key).get(reverse("api:permit_changes"), query)
    assert response.status_code == 400
    assert set(response.json()["extra"]["fields"]) == {field}


# --- the walk -----------------------------------------------------------------------------------


def test_a_revocation_reaches_the_node_at_once(permit, applicant, dataset, dac_chair, key):
    visa = passport_of(key, str(applicant.sub))[0]
    assert introspect(key, visa)["active"] is True
    cursor = changes(key)["next_cursor"]

    services.permit_revoke(permit=permit, actor=dac_chair, reason="The ethics approval was withdrawn.")

    assert introspect(key, visa) == {"active": False}
    assert check(key, str(applicant.sub), dataset.accession)["allowed"] is False
    news = changes(key, cursor=cursor)["changes"]
    assert [(c["permit_id"], c["event"]) for c in news] == [(permit.pk, "revoked")]
    assert passport_of(key, str(applicant.sub)) == []


def test_a_new_approval_replaces_the_permit_and_the_visa_of_the_old_one_dies(
    applicant, dac, dac_chair, dac_member, node, key, time_machine
):
    cohort = DatasetFactory(dac=dac, title="Cohort", data_use=GRU, nodes=[node])
    old = grant_gru(applicant, [cohort], dac_chair, dac_member)[0]
    old_visa = visas.mint_visa(old)
    # `asserted` (the decision time) has a resolution of one second: decisions in one second
    # would be indistinguishable to permit_for.
    time_machine.move_to(timezone.now() + dt.timedelta(seconds=2))

    new = grant_gru(applicant, [cohort], dac_chair, dac_member, months=6)[0]

    assert new.pk != old.pk
    assert introspect(key, old_visa) == {"active": False}
    assert introspect(key, visas.mint_visa(new))["permit_id"] == new.pk
    assert [introspect(key, v)["permit_id"] for v in passport_of(key, str(applicant.sub))] == [new.pk]


def test_creating_and_revoking_a_node_key_is_audited(node, staff):
    row, _ = dataset_services.node_key_create(node=node, name="beacon", days=None, actor=staff)
    dataset_services.node_key_revoke(key=row, actor=staff)

    events = list(events_for(row))
    assert [e.action for e in events] == ["node_key.created", "node_key.revoked"]
    assert all(e.actor == staff for e in events)


def test_the_openapi_description_names_the_node_key_and_shows_examples(db):
    schema = Client().get(reverse("api:schema"), {"format": "json"}).json()

    assert schema["components"]["securitySchemes"]["nodeApiKey"]["name"] == "Authorization"
    for path, method in [
        ("/api/v1/permissions/{user_id}", "get"),
        ("/api/v1/permits/introspect", "post"),
        ("/api/v1/permits/check", "post"),
        ("/api/v1/permits/changes", "get"),
    ]:
        operation = schema["paths"][path][method]
        assert operation["security"] == [{"nodeApiKey": []}]
        assert operation["responses"]["200"]["content"]["application/json"]["examples"]
        assert "401" in operation["responses"]
        if method == "post":
            assert operation["requestBody"]["content"]["application/json"]["examples"]


def test_the_changes_feed_lets_new_events_settle_before_serving_them(
    settings, applicant, dataset, node, dac_chair, dac_member
):
    import time_machine

    settings.PERMIT_FEED_SETTLE_SECONDS = 2
    key = node_key(node)
    gru = DatasetFactory(
        dac=dataset.dac, title="GRU set", nodes=[node], data_use={"permission": "DUO:0000042", "modifiers": []}
    )
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        (permit,) = grant_gru(applicant, [gru], dac_chair, dac_member)
        assert changes(key)["changes"] == []
    with time_machine.travel(now + dt.timedelta(seconds=3), tick=False):
        assert [c["permit_id"] for c in changes(key)["changes"]] == [permit.pk]


def test_a_visa_of_a_replaced_permit_stays_inactive_even_within_the_same_second(
    applicant, dataset, node, dac_chair, dac_member
):
    import time_machine

    key = node_key(node)
    gru = DatasetFactory(
        dac=dataset.dac, title="GRU set", nodes=[node], data_use={"permission": "DUO:0000042", "modifiers": []}
    )
    with time_machine.travel(timezone.now(), tick=False):
        (first,) = grant_gru(applicant, [gru], dac_chair, dac_member)
        old_visa = visas.mint_visa(first)
        (second,) = grant_gru(applicant, [gru], dac_chair, dac_member)
        assert introspect(key, old_visa) == {"active": False}
        assert introspect(key, visas.mint_visa(second))["permit_id"] == second.pk
