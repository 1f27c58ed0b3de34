"""Personal API tokens: `Authorization: Token <key>` for a person's scripts (README.md, "The API")."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.exceptions import AuthenticationFailed

from accounts import services
from accounts.authentication import PersonalTokenAuthentication
from accounts.models import PersonalToken
from portal.exceptions import Conflict, InvalidInput, NotAllowed

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _authenticate(key: str | None = None, header: str | None = None):
    if header is None and key is not None:
        header = f"Token {key}"
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    return PersonalTokenAuthentication().authenticate(RequestFactory().get("/api/v1/datasets", **extra))


def _put_data_use(dataset, **headers):
    url = reverse("api:dataset_data_use", args=[dataset.accession])
    return Client().put(url, {}, content_type="application/json", **headers)


# --- the service and what is stored ------------------------------------------------------------


def test_created_key_is_gapp_and_40_url_safe_characters(applicant):
    token, key = services.personal_token_create(user=applicant, name="laptop script")

    assert key.startswith("gapp_")
    random_part = key.removeprefix("gapp_")
    assert len(random_part) == 40
    assert set(random_part) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert token.user == applicant
    assert token.name == "laptop script"
    assert token.revoked_at is None
    assert token.last_used_at is None


def test_key_is_stored_only_as_its_sha256_and_an_8_character_prefix(applicant):
    token, key = services.personal_token_create(user=applicant, name="laptop script")

    row = PersonalToken.objects.values().get(pk=token.pk)
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert row["prefix"] == key[5:13]
    secret_part = key[13:]
    for column, value in row.items():
        assert key not in str(value), column
        assert secret_part not in str(value), column


def test_each_key_is_new(applicant):
    keys = {services.personal_token_create(user=applicant, name=f"script {n}")[1] for n in range(5)}
    assert len(keys) == 5


def test_days_set_the_expiry_and_none_means_the_longest_allowed(applicant, time_machine, settings):
    settings.PERSONAL_TOKEN_MAX_DAYS = 365
    time_machine.move_to(T0, tick=False)
    expiring, _ = services.personal_token_create(user=applicant, name="cluster job", days=30)
    longest, _ = services.personal_token_create(user=applicant, name="laptop")

    assert expiring.expires_at == T0 + timedelta(days=30)
    assert longest.expires_at == T0 + timedelta(days=365)


def test_no_token_may_outlast_the_configured_maximum(applicant, settings):
    settings.PERSONAL_TOKEN_MAX_DAYS = 90
    services.personal_token_create(user=applicant, name="quarter", days=90)
    with pytest.raises(InvalidInput, match="A token lasts from 1 to 90 days") as caught:
        services.personal_token_create(user=applicant, name="too long", days=91)
    assert caught.value.code == "invalid_token_days"
    assert list(PersonalToken.objects.values_list("name", flat=True)) == ["quarter"]


def test_a_person_holds_at_most_the_configured_number_of_usable_tokens(applicant, other_applicant, settings):
    settings.PERSONAL_TOKEN_MAX_LIVE = 3
    services.personal_token_create(user=applicant, name="one", days=1)
    for name in ("two", "three"):
        services.personal_token_create(user=applicant, name=name)

    with pytest.raises(Conflict, match="You hold 3 usable tokens, the most a person may") as caught:
        services.personal_token_create(user=applicant, name="four")
    assert caught.value.code == "too_many_tokens"
    # Other people have their own allowance.
    services.personal_token_create(user=other_applicant, name="theirs")


@pytest.mark.parametrize("retire", ["revoke", "expire"])
def test_a_revoked_or_expired_token_frees_its_place(applicant, settings, time_machine, retire):
    settings.PERSONAL_TOKEN_MAX_LIVE = 2
    time_machine.move_to(T0, tick=False)
    short, _ = services.personal_token_create(user=applicant, name="short", days=1)
    services.personal_token_create(user=applicant, name="long")
    if retire == "revoke":
        services.personal_token_revoke(token=short, actor=applicant)
    else:
        time_machine.move_to(T0 + timedelta(days=1), tick=False)

    token, _ = services.personal_token_create(user=applicant, name="replacement")
    assert token.name == "replacement"


@pytest.mark.parametrize(
    ("name", "days", "code"),
    [
        ("   ", None, "invalid_token_name"),
        ("x" * 101, None, "invalid_token_name"),
        ("script", 0, "invalid_token_days"),
        ("script", -3, "invalid_token_days"),
        ("script", 366, "invalid_token_days"),
        ("script", 10**9, "invalid_token_days"),
    ],
)
def test_service_refuses_a_blank_name_or_a_bad_number_of_days(applicant, name, days, code):
    with pytest.raises(InvalidInput) as caught:
        services.personal_token_create(user=applicant, name=name, days=days)
    assert caught.value.code == code
    assert not PersonalToken.objects.exists()


def test_revoking_twice_keeps_the_first_time(applicant, applicant_token, time_machine):
    time_machine.move_to(T0, tick=False)
    first = services.personal_token_revoke(token=applicant_token, actor=applicant)
    time_machine.move_to(T0 + timedelta(hours=1), tick=False)
    second = services.personal_token_revoke(token=applicant_token, actor=applicant)

    assert first.revoked_at == second.revoked_at == T0
    assert PersonalToken.objects.get(pk=applicant_token.pk).revoked_at == T0


def test_another_user_may_not_revoke_a_token(applicant_token, other_applicant):
    with pytest.raises(NotAllowed):
        services.personal_token_revoke(token=applicant_token, actor=other_applicant)
    assert PersonalToken.objects.get(pk=applicant_token.pk).revoked_at is None


def test_staff_may_revoke_anyones_token(applicant_token, staff):
    revoked = services.personal_token_revoke(token=applicant_token, actor=staff)
    assert revoked.revoked_at is not None


# --- the authentication class ------------------------------------------------------------------


def test_usable_key_authenticates_as_its_owner(applicant):
    token, key = services.personal_token_create(user=applicant, name="laptop script")

    user, auth = _authenticate(key)

    assert user == applicant
    assert auth == token


@pytest.mark.parametrize("header", [None, "", "Bearer abc.def.ghi", "Basic dXNlcjpwYXNz", "Api-Key gapp_x"])
def test_no_token_header_leaves_the_request_to_other_schemes(applicant, header):
    services.personal_token_create(user=applicant, name="laptop script")
    assert _authenticate(header=header) is None


@pytest.mark.parametrize(
    "header",
    ["Token", "Token   ", "Token gapp_a gapp_b", "token gapp_unknownunknownunknownunknownunknown00"],
)
def test_malformed_or_unknown_token_header_fails(applicant, header):
    services.personal_token_create(user=applicant, name="laptop script")
    with pytest.raises(AuthenticationFailed, match=re.escape("Invalid, expired or revoked token.")):
        _authenticate(header=header)


def test_a_wrong_key_with_a_right_prefix_fails(applicant):
    _, key = services.personal_token_create(user=applicant, name="laptop script")
    with pytest.raises(AuthenticationFailed):
        _authenticate(key[:-1] + ("A" if key[-1] != "A" else "B"))


def test_revoked_key_fails(applicant, applicant_token):
    token, key = services.personal_token_create(user=applicant, name="old laptop")
    services.personal_token_revoke(token=token, actor=applicant)
    with pytest.raises(AuthenticationFailed):
        _authenticate(key)


def test_key_works_until_its_expiry_and_fails_from_then_on(applicant, time_machine):
    time_machine.move_to(T0, tick=False)
    _, key = services.personal_token_create(user=applicant, name="cluster job", days=1)

    time_machine.move_to(T0 + timedelta(days=1) - timedelta(seconds=1), tick=False)
    assert _authenticate(key)[0] == applicant
    time_machine.move_to(T0 + timedelta(days=1), tick=False)
    with pytest.raises(AuthenticationFailed):
        _authenticate(key)


def test_key_of_a_deactivated_user_fails(applicant):
    _, key = services.personal_token_create(user=applicant, name="laptop script")
    applicant.is_active = False
    applicant.save(update_fields=["is_active"])
    with pytest.raises(AuthenticationFailed):
        _authenticate(key)


def test_authenticate_header_asks_for_a_token():
    assert PersonalTokenAuthentication().authenticate_header(RequestFactory().get("/")) == "Token"


def test_last_used_is_recorded_at_most_once_a_minute(applicant, time_machine, django_assert_num_queries):
    token, key = services.personal_token_create(user=applicant, name="busy script")

    time_machine.move_to(T0, tick=False)
    _authenticate(key)
    assert PersonalToken.objects.get(pk=token.pk).last_used_at == T0

    time_machine.move_to(T0 + timedelta(seconds=59), tick=False)
    # The lookup only: the row read says it was used a moment ago, so nothing is written.
    with django_assert_num_queries(1):
        _authenticate(key)
    assert PersonalToken.objects.get(pk=token.pk).last_used_at == T0

    time_machine.move_to(T0 + timedelta(seconds=60), tick=False)
    _authenticate(key)
    assert PersonalToken.objects.get(pk=token.pk).last_used_at == T0 + timedelta(seconds=60)


# --- end to end through a real endpoint --------------------------------------------------------


def test_secretary_key_reaches_validation_of_the_data_use_endpoint(dac_secretary, dataset):
    _, key = services.personal_token_create(user=dac_secretary, name="curation script")

    response = _put_data_use(dataset, HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_data_use"


def test_key_of_someone_without_the_right_is_authenticated_but_refused(applicant, dataset):
    _, key = services.personal_token_create(user=applicant, name="laptop script")
    assert _put_data_use(dataset, HTTP_AUTHORIZATION=f"Token {key}").status_code == 403


def test_revoked_key_gets_401_from_the_endpoint(dac_secretary, dataset):
    token, key = services.personal_token_create(user=dac_secretary, name="curation script")
    services.personal_token_revoke(token=token, actor=dac_secretary)

    response = _put_data_use(dataset, HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert response.json()["message"] == "Invalid, expired or revoked token."


def test_expired_key_gets_401_from_the_endpoint(dac_secretary, dataset, time_machine):
    _, key = services.personal_token_create(user=dac_secretary, name="curation script", days=7)
    time_machine.move_to(datetime.now(tz=UTC) + timedelta(days=8))

    assert _put_data_use(dataset, HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


@pytest.mark.parametrize("header", ["Token", "Token a b", "Token gapp_not-a-real-key"])
def test_malformed_or_unknown_header_gets_401_from_the_endpoint(dac_secretary, dataset, header):
    assert _put_data_use(dataset, HTTP_AUTHORIZATION=header).status_code == 401


def test_no_credentials_get_401_asking_for_a_token(dataset):
    response = _put_data_use(dataset)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


# --- the profile page --------------------------------------------------------------------------


def test_profile_shows_the_new_key_once_and_never_again(client, applicant):
    client.force_login(applicant)

    response = client.post(reverse("accounts:token_create"), {"name": "laptop script", "days": "90"})

    assert response.status_code == 200
    token = PersonalToken.objects.get(user=applicant)
    key = response.context["new_key"]
    assert key.startswith(f"gapp_{token.prefix}")
    page = response.content.decode()
    assert key in page
    assert "it will not be shown again" in page
    assert "no-store" in response["Cache-Control"]
    later = client.get(reverse("accounts:profile")).content.decode()
    assert key not in later
    assert key[13:] not in later
    assert f"gapp_{token.prefix}…" in later
    assert "laptop script" in later


def test_profile_lists_tokens_with_their_status(client, applicant, time_machine):
    time_machine.move_to(T0, tick=False)
    services.personal_token_create(user=applicant, name="still good")
    expired, _ = services.personal_token_create(user=applicant, name="short job", days=1)
    revoked, _ = services.personal_token_create(user=applicant, name="old laptop")
    services.personal_token_revoke(token=revoked, actor=applicant)
    time_machine.move_to(T0 + timedelta(days=2), tick=False)
    client.force_login(applicant)

    page = client.get(reverse("accounts:profile")).content.decode()

    for text in ("still good", "short job", "old laptop", "Active", "Expired", "Revoked", "3 Mar 2026, 09:00"):
        assert text in page
    assert reverse("accounts:token_revoke", args=[expired.pk]) in page
    assert reverse("accounts:token_revoke", args=[revoked.pk]) not in page


def test_profile_does_not_list_other_peoples_tokens(client, applicant, other_applicant):
    services.personal_token_create(user=other_applicant, name="someone else's script")
    client.force_login(applicant)
    assert "someone else's script" not in client.get(reverse("accounts:profile")).content.decode()


@pytest.mark.parametrize(
    ("data", "field", "kept"),
    [
        ({"name": "", "days": "30"}, "name", 'value="30"'),
        ({"name": "cluster job", "days": "0"}, "days", 'value="cluster job"'),
        ({"name": "cluster job", "days": "soon"}, "days", 'value="cluster job"'),
        ({"name": "cluster job", "days": "100000"}, "days", 'value="cluster job"'),
    ],
)
def test_bad_token_input_is_shown_next_to_the_field_and_kept(client, applicant, data, field, kept):
    client.force_login(applicant)

    response = client.post(reverse("accounts:token_create"), data)

    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_token_{field}_error"' in page
    assert kept in page
    assert not PersonalToken.objects.exists()


def test_a_token_made_without_a_length_lasts_the_longest_allowed(client, applicant, settings, time_machine):
    settings.PERSONAL_TOKEN_MAX_DAYS = 30
    time_machine.move_to(T0, tick=False)
    client.force_login(applicant)

    page = client.get(reverse("accounts:profile")).content.decode()
    assert "Leave empty for the longest, 30 days." in page
    assert "until you revoke it" not in page
    response = client.post(reverse("accounts:token_create"), {"name": "laptop script", "days": ""})

    assert response.status_code == 200
    assert PersonalToken.objects.get(user=applicant).expires_at == T0 + timedelta(days=30)


def test_a_length_past_the_configured_maximum_is_shown_next_to_the_field(client, applicant, settings):
    settings.PERSONAL_TOKEN_MAX_DAYS = 30
    client.force_login(applicant)

    response = client.post(reverse("accounts:token_create"), {"name": "cluster job", "days": "31"})

    assert response.status_code == 400
    assert 'id="id_token_days_error"' in response.content.decode()
    assert not PersonalToken.objects.exists()


def test_the_profile_says_when_the_person_holds_the_most_tokens_allowed(client, applicant, settings):
    settings.PERSONAL_TOKEN_MAX_LIVE = 1
    services.personal_token_create(user=applicant, name="laptop script")
    client.force_login(applicant)

    response = client.post(reverse("accounts:token_create"), {"name": "cluster job", "days": "30"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "You hold 1 usable token, the most a person may: revoke one you no longer use first." in page
    assert 'value="cluster job"' in page
    assert PersonalToken.objects.count() == 1


def test_owner_revokes_from_the_profile_and_is_sent_back(client, applicant, applicant_token):
    client.force_login(applicant)

    response = client.post(reverse("accounts:token_revoke", args=[applicant_token.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")
    assert PersonalToken.objects.get(pk=applicant_token.pk).revoked_at is not None


@pytest.mark.parametrize("persona", ["other_applicant", "staff"])
def test_revoking_someone_elses_token_from_the_profile_is_404(client_for, applicant_token, persona):
    response = client_for(persona).post(reverse("accounts:token_revoke", args=[applicant_token.pk]))

    assert response.status_code == 404
    assert PersonalToken.objects.get(pk=applicant_token.pk).revoked_at is None


@pytest.mark.parametrize("name", ["accounts:token_create", "accounts:token_revoke"])
def test_token_pages_accept_only_post(client, applicant, applicant_token, name):
    client.force_login(applicant)
    kwargs = {"pk": applicant_token.pk} if name == "accounts:token_revoke" else {}
    assert client.get(reverse(name, kwargs=kwargs)).status_code == 405


# --- management command and admin --------------------------------------------------------------


def test_command_prints_the_key_alone_on_the_last_line_and_it_works(applicant):
    out = StringIO()

    call_command("create_user_token", "Applicant@Example.org", "--name", "backup job", "--days", "10", stdout=out)

    key = out.getvalue().rstrip("\n").splitlines()[-1]
    assert key.startswith("gapp_")
    assert " " not in key
    user, token = _authenticate(key)
    assert user == applicant
    assert token.name == "backup job"
    assert token.expires_at is not None


def test_command_without_days_makes_a_token_of_the_longest_allowed_length(applicant, settings, time_machine):
    settings.PERSONAL_TOKEN_MAX_DAYS = 365
    time_machine.move_to(T0, tick=False)
    out = StringIO()

    call_command("create_user_token", applicant.email, stdout=out)

    assert PersonalToken.objects.get(user=applicant).expires_at == T0 + timedelta(days=365)
    assert "expires 2027-03-02 09:00 UTC" in out.getvalue()


def test_command_refuses_past_the_number_of_tokens_allowed(applicant, settings):
    settings.PERSONAL_TOKEN_MAX_LIVE = 1
    call_command("create_user_token", applicant.email, stdout=StringIO())
    with pytest.raises(CommandError, match="You hold 1 usable token,"):
        call_command("create_user_token", applicant.email, stdout=StringIO())


def test_command_refuses_an_unknown_email(db):
    with pytest.raises(CommandError, match=re.escape("No account has the e-mail address 'nobody@example.org'")):
        call_command("create_user_token", "nobody@example.org", stdout=StringIO())
    assert not PersonalToken.objects.exists()


def test_command_refuses_bad_days(applicant):
    with pytest.raises(CommandError, match="A token lasts from 1 to"):
        call_command("create_user_token", applicant.email, "--days", "0", stdout=StringIO())


def test_admin_shows_no_hash_and_revokes_selected_tokens(client_for, applicant_token):
    client = client_for("staff")

    page = client.get(reverse("admin:accounts_personaltoken_change", args=[applicant_token.pk])).content.decode()
    assert applicant_token.key_hash not in page
    assert applicant_token.prefix in page

    response = client.post(
        reverse("admin:accounts_personaltoken_changelist"),
        {"action": "revoke_selected", "_selected_action": [applicant_token.pk]},
    )
    assert response.status_code == 302
    assert PersonalToken.objects.get(pk=applicant_token.pk).revoked_at is not None


def test_the_migration_caps_tokens_made_for_longer_than_the_maximum(applicant, settings, time_machine):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("accounts.migrations.0007_personal_token_expiry")
    settings.PERSONAL_TOKEN_MAX_DAYS = 365
    time_machine.move_to(T0, tick=False)
    far, _ = services.personal_token_create(user=applicant, name="ten years")
    near, _ = services.personal_token_create(user=applicant, name="a week", days=7)
    PersonalToken.objects.filter(pk=far.pk).update(expires_at=T0 + timedelta(days=3650))

    migration.cap_expiries(apps, None)

    assert PersonalToken.objects.get(pk=far.pk).expires_at == T0 + timedelta(days=365)
    assert PersonalToken.objects.get(pk=near.pk).expires_at == T0 + timedelta(days=7)
