import pytest
from django.urls import reverse

from datasets.models import DataUseProfile

pytestmark = pytest.mark.django_db


def test_dataset_api_returns_the_profile_with_ids_and_text(client, dataset):
    body = client.get(reverse("api:dataset", args=[dataset.accession])).json()
    assert body["accession"] == dataset.accession
    use = body["data_use"]
    assert use["permission"] == "DUO:0000007"
    assert use["diseases"] == ["MONDO:0007254"]
    assert use["modifiers"] == [{"term": "DUO:0000045"}, {"term": "DUO:0000021"}]
    assert use["text"] == (
        "Use is limited to research on breast cancer or its subtypes; not-for-profit organisations only; "
        "ethics approval required."
    )
    assert use["disease_terms"] == [{"id": "MONDO:0007254", "label": "breast cancer"}]
    assert use["permission_term"]["shorthand"] == "DS"
    assert [m["shorthand"] for m in use["modifier_terms"]] == ["NPU", "IRB"]
    assert body["dac"]["slug"] == dataset.dac.slug
    assert body["data_use_version"] == 1


def test_dataset_list_filters_by_disease_including_descendants(client, dataset, other_dataset):
    body = client.get(reverse("api:datasets"), {"disease": "MONDO:0004992"}).json()
    assert body["count"] == 1
    assert [d["accession"] for d in body["results"]] == [dataset.accession]


def test_dataset_list_refuses_an_unknown_disease_with_the_field_named(client, dataset):
    response = client.get(reverse("api:datasets"), {"disease": "MONDO:9999999"})
    assert response.status_code == 400
    assert response.json()["extra"]["fields"] == {"disease": "unknown MONDO id"}


def test_unknown_and_draft_datasets_answer_404_in_the_error_shape(client, draft_dataset):
    for accession in ("GDS999999", draft_dataset.accession):
        response = client.get(reverse("api:dataset", args=[accession]))
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("data_use", "field"),
    [
        ({"permission": ["DUO:0000007", "DUO:0000042"], "diseases": ["MONDO:0007254"]}, "permission"),
        ({"permission": "DUO:0000007"}, "diseases"),
        ({"permission": "DUO:0000007", "diseases": ["MONDO:9999999"]}, "diseases"),
        ({"permission": "DUO:0000042", "modifiers": [{"term": "DUO:0000025", "months": -2}]}, "modifiers[0].months"),
        ({"permission": "DUO:0000042", "modifiers": [{"term": "DUO:0000025", "months": "6"}]}, "modifiers[0].months"),
        ("not an object", "data_use"),
    ],
)
def test_invalid_profile_put_is_400_naming_the_field(client_for, dac_secretary, dataset, data_use, field):
    response = client_for("dac_secretary").put(
        reverse("api:dataset_data_use", args=[dataset.accession]),
        {"data_use": data_use},
        content_type="application/json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_data_use"
    assert field in body["extra"]["fields"]
    assert DataUseProfile.objects.filter(dataset=dataset).count() == 1


def test_malformed_json_is_400_not_500(client_for, dac_secretary, dataset):
    response = client_for("dac_secretary").put(
        reverse("api:dataset_data_use", args=[dataset.accession]), "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed"


def test_valid_put_adds_a_version(client_for, dac_secretary, dataset):
    new = {"permission": "DUO:0000006", "modifiers": [{"term": "DUO:0000025", "months": 6}]}
    response = client_for("dac_secretary").put(
        reverse("api:dataset_data_use", args=[dataset.accession]),
        {"data_use": new, "note": "Broadened"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["data_use"]["permission"] == "DUO:0000006"
    assert response.json()["data_use_version"] == 2
    again = client_for("dac_secretary").put(
        reverse("api:dataset_data_use", args=[dataset.accession]), {"data_use": new}, content_type="application/json"
    )
    assert again.status_code == 409
    assert again.json()["code"] == "unchanged"


def test_openapi_schema_describes_the_dataset_endpoints(client):
    response = client.get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/datasets/{accession}" in schema["paths"]
    assert "/api/v1/datasets" in schema["paths"]


def test_api_docs_page_uses_only_the_portals_own_assets(client):
    html = client.get(reverse("api:docs")).content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()
