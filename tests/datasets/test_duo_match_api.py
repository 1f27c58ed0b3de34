"""POST /api/v1/duo/match and the page where anyone checks a purpose before applying."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

DS_CANCER = {"permission": "DUO:0000007", "diseases": ["MONDO:0004992"], "modifiers": [{"term": "DUO:0000045"}]}
BREAST = {"primary": "disease", "diseases": ["MONDO:0007254"], "for_profit_organisation": False}


def post(client, body):
    return client.post(reverse("api:duo_match"), body, content_type="application/json")


def test_match_approves_breast_cancer_against_ds_cancer_with_reasons_and_words(client, ontologies):
    response = post(client, {"data_use": DS_CANCER, "purpose": BREAST})
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "approve"
    assert body["algorithm_version"] == "duo-match/1.0"
    assert [r["term"] for r in body["reasons"]] == ["DUO:0000007", "DUO:0000045"]
    assert "breast cancer" in body["reasons"][0]["message"]
    assert body["data_use_text"].startswith("Use is limited to research on cancer or its subtypes")
    assert body["purpose_text"] == "Research on breast cancer; non-commercial."


def test_match_denies_a_for_profit_applicant_against_npu(client, ontologies):
    body = post(client, {"data_use": DS_CANCER, "purpose": {**BREAST, "for_profit_organisation": True}}).json()
    assert body["decision"] == "deny"
    assert body["reasons"][1]["decision"] == "deny"


def test_match_returns_conditions_and_the_length_cap(client, ontologies):
    data_use = {
        "permission": "DUO:0000042",
        "modifiers": [{"term": "DUO:0000024", "date": "2027-06-30"}, {"term": "DUO:0000025", "months": 12}],
    }
    body = post(client, {"data_use": data_use, "purpose": {"primary": "hmb"}}).json()
    assert body["decision"] == "approve"
    assert {
        "term": "DUO:0000024",
        "code": "MOR",
        "text": "no publication before 2027-06-30",
        "date": "2027-06-30",
    } in body["conditions"]
    assert body["max_months"] == 12


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"purpose": BREAST}, "data_use"),
        ({"data_use": DS_CANCER}, "purpose"),
        ({"data_use": {"permission": "DUO:0000007"}, "purpose": BREAST}, "data_use.diseases"),
        ({"data_use": {"permission": ["DUO:0000007", "DUO:0000042"]}, "purpose": BREAST}, "data_use.permission"),
        ({"data_use": DS_CANCER, "purpose": {"primary": "astrology"}}, "purpose.primary"),
        ({"data_use": DS_CANCER, "purpose": {**BREAST, "diseases": ["MONDO:9999999"]}}, "purpose.diseases"),
        ({"data_use": DS_CANCER, "purpose": {**BREAST, "commercial": "no"}}, "purpose.commercial"),
        ({"data_use": DS_CANCER, "purpose": {**BREAST, "country": "Germany"}}, "purpose.country"),
        ({"data_use": DS_CANCER, "purpose": {**BREAST, "institution": "Helsinki"}}, "purpose.institution"),
        ({"data_use": DS_CANCER, "purpose": "breast cancer please"}, "purpose"),
    ],
)
def test_invalid_input_is_400_naming_the_field(client, ontologies, body, field):
    response = post(client, body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["code"] == "invalid"
    assert field in payload["extra"]["fields"], payload


def test_a_non_object_body_is_400(client, ontologies):
    response = client.post(reverse("api:duo_match"), "[1, 2]", content_type="application/json")
    assert response.status_code == 400


def test_match_is_rate_limited(client, ontologies, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"duo_match": "3/min"}}
    from rest_framework.settings import api_settings
    from rest_framework.throttling import ScopedRateThrottle

    api_settings.reload()
    ScopedRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        codes = [post(client, {"data_use": DS_CANCER, "purpose": BREAST}).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert post(client, {"data_use": DS_CANCER, "purpose": BREAST}).json()["code"] == "rate_limited"
    finally:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}
        api_settings.reload()
        ScopedRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


def test_check_page_shows_the_decision_and_each_reason(client, dataset):
    response = client.get(
        reverse("datasets:check"),
        {
            "dataset": dataset.accession,
            "primary": "disease",
            "diseases": "MONDO:0005148",
            "for_profit_organisation": "no",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'Result: <span class="decision">does not fit</span>' in html
    assert "type 2 diabetes mellitus is outside them" in html
    assert "Research on type 2 diabetes mellitus" in html


def test_check_page_puts_errors_next_to_the_field_and_keeps_the_answers(client, dataset):
    response = client.get(
        reverse("datasets:check"),
        {"dataset": dataset.accession, "primary": "disease", "diseases": "MONDO:9999999", "project": "BRCA-2026"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_diseases_error"' in html
    assert "Unknown MONDO ids: MONDO:9999999" in html
    assert 'value="BRCA-2026"' in html


def test_check_page_prefills_the_applicants_institution(client_for, applicant, dataset):
    response = client_for("applicant").get(reverse("datasets:check"), {"dataset": dataset.accession})
    form = response.context["form"]
    assert form.initial["institution"] == "https://ror.org/040af2s02"
    assert form.initial["for_profit_organisation"] == "no"
