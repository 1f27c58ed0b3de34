import pytest
from django.urls import reverse

from datasets.models import DataUseProfile

pytestmark = pytest.mark.django_db

BASE = {
    "permission": "DUO:0000007",
    "diseases": "MONDO:0007254",
    "mod_NPU": "on",
    "mod_IRB": "on",
    "change_note": "Consent review 2026",
}


def edit(client, dataset, **changes):
    data = {**BASE, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(reverse("datasets:edit_data_use", args=[dataset.accession]), data)


def test_secretary_saves_a_new_version_and_the_old_one_stays(client_for, dac_secretary, dataset):
    response = edit(
        client_for("dac_secretary"), dataset, mod_TS="on", param_TS="24", diseases="MONDO:0007254 MONDO:0008170"
    )
    assert response.status_code == 302
    versions = list(DataUseProfile.objects.filter(dataset=dataset).order_by("version"))
    assert [v.version for v in versions] == [1, 2]
    dataset.refresh_from_db()
    assert dataset.current_profile == versions[1]
    assert versions[1].created_by == dac_secretary
    assert versions[1].change_note == "Consent review 2026"
    new = versions[1].as_data_use()
    assert new.modifier("DUO:0000025").months == 24
    assert new.diseases == ("MONDO:0007254", "MONDO:0008170")
    assert versions[0].as_data_use().modifier("DUO:0000025") is None


def test_history_shows_every_version_with_who_and_why(client_for, dac_secretary, dataset):
    client = client_for("dac_secretary")
    edit(client, dataset, mod_PUB="on", change_note="Add publication duty")
    html = client.get(reverse("datasets:data_use_history", args=[dataset.accession])).content.decode()
    assert "Version 2" in html
    assert "Version 1" in html
    assert "Selma Secretary" in html
    assert "Add publication duty" in html
    assert "results must be published" in html


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        (
            {"permission": ["DUO:0000007", "DUO:0000042"]},
            "permission",
            "exactly one data use permission; 2 were chosen",
        ),
        ({"permission": None}, "permission", "Choose the dataset"),
        ({"diseases": ""}, "diseases", "needs at least one MONDO disease"),
        ({"diseases": "MONDO:9999999"}, "diseases", "Unknown MONDO ids: MONDO:9999999"),
        ({"mod_TS": "on", "param_TS": "0"}, "param_TS", "positive whole number of months"),
        ({"mod_TS": "on", "param_TS": "twelve"}, "param_TS", "positive whole number of months"),
        ({"mod_TS": "on", "param_TS": ""}, "param_TS", "positive whole number of months"),
        ({"mod_GS": "on", "param_GS": "FI, Narnia"}, "param_GS", "Not ISO 3166 country codes: NARNIA"),
        ({"mod_MOR": "on", "param_MOR": "next year"}, "param_MOR", "YYYY-MM-DD"),
        ({"change_note": ""}, "change_note", "This field is required"),
    ],
)
def test_invalid_profile_is_refused_next_to_the_field_and_nothing_is_saved(
    client_for, dac_secretary, dataset, changes, field, words
):
    response = edit(client_for("dac_secretary"), dataset, **changes)
    assert response.status_code == 400
    form = response.context["form"]
    assert any(words in e for e in form.errors[field]), form.errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert DataUseProfile.objects.filter(dataset=dataset).count() == 1
    # What was typed is still in the form.
    if field != "change_note":
        assert 'value="Consent review 2026"' in response.content.decode()


def test_saving_the_same_profile_again_says_so_and_writes_nothing(client_for, dac_secretary, dataset):
    response = edit(client_for("dac_secretary"), dataset)
    assert response.status_code == 400
    assert "The data use is unchanged." in response.content.decode()
    assert DataUseProfile.objects.filter(dataset=dataset).count() == 1


def test_chair_may_edit_but_member_and_other_committee_may_not(client_for, dataset):
    assert edit(client_for("dac_chair"), dataset, mod_PUB="on").status_code == 302
    assert edit(client_for("dac_member"), dataset, mod_RTN="on").status_code == 403
    assert edit(client_for("other_dac_member"), dataset, mod_RTN="on").status_code == 403
    assert DataUseProfile.objects.filter(dataset=dataset).count() == 2


def test_the_form_starts_from_the_profile_in_force(client_for, dac_secretary, dataset):
    response = client_for("dac_secretary").get(reverse("datasets:edit_data_use", args=[dataset.accession]))
    form = response.context["form"]
    assert form.initial["permission"] == ["DUO:0000007"]
    assert form.initial["diseases"] == "MONDO:0007254"
    assert form.initial["mod_NPU"] is True
    assert form.initial["mod_IRB"] is True
