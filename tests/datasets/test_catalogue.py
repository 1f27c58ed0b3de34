import pytest
from django.urls import reverse

from tests.factories import DatasetFactory, NodeFactory

pytestmark = pytest.mark.django_db


def titles(response) -> list[str]:
    return [row.dataset.title for row in response.context["rows"]]


def test_filtering_by_cancer_finds_breast_cancer_but_not_diabetes(client, dataset, other_dataset):
    response = client.get(reverse("datasets:catalogue"), {"disease": "MONDO:0004992"})
    assert response.status_code == 200
    assert titles(response) == ["Nordic Breast Cancer Genomes"]


def test_filtering_by_the_exact_disease_finds_it(client, dataset, other_dataset):
    response = client.get(reverse("datasets:catalogue"), {"disease": "mondo:0005148"})
    assert titles(response) == ["Type 2 Diabetes Exomes"]


def test_an_unknown_disease_is_shown_next_to_the_filter(client, dataset):
    response = client.get(reverse("datasets:catalogue"), {"disease": "MONDO:9999999"})
    assert response.status_code == 400
    assert "not a MONDO disease" in response.content.decode()
    assert 'id="id_disease_error"' in response.content.decode()


def test_text_search_permission_committee_node_and_country_filters(client, dac, other_dac):
    fi, de = NodeFactory(slug="fi-node", country="FI"), NodeFactory(slug="de-node", country="DE")
    DatasetFactory(dac=dac, title="Finnish Reference Genomes", nodes=[fi])
    DatasetFactory(
        dac=other_dac,
        title="German Ancestry Panel",
        nodes=[de],
        data_use={"permission": "DUO:0000011", "modifiers": []},
    )
    url = reverse("datasets:catalogue")
    assert titles(client.get(url, {"q": "ancestry"})) == ["German Ancestry Panel"]
    assert titles(client.get(url, {"permission": "POA"})) == ["German Ancestry Panel"]
    assert titles(client.get(url, {"permission": "GRU"})) == ["Finnish Reference Genomes"]
    assert titles(client.get(url, {"dac": dac.slug})) == ["Finnish Reference Genomes"]
    assert titles(client.get(url, {"node": "de-node"})) == ["German Ancestry Panel"]
    assert titles(client.get(url, {"country": "FI"})) == ["Finnish Reference Genomes"]
    assert titles(client.get(url, {"country": "FI", "permission": "POA"})) == []


def test_the_catalogue_is_paginated(client, dac):
    for n in range(23):
        DatasetFactory(dac=dac, title=f"Cohort {n:02d}")
    first = client.get(reverse("datasets:catalogue"))
    second = client.get(reverse("datasets:catalogue"), {"page": 2})
    assert len(titles(first)) == 20
    assert len(titles(second)) == 3
    assert first.context["page"].paginator.count == 23


def test_drafts_are_shown_only_to_their_committee_managers_and_staff(client_for, dataset, draft_dataset):
    url = reverse("datasets:catalogue")
    for persona, sees_draft in [
        ("anonymous", False),
        ("applicant", False),
        ("dac_member", False),
        ("other_dac_member", False),
        ("dac_secretary", True),
        ("dac_chair", True),
        ("staff", True),
    ]:
        shown = titles(client_for(persona).get(url))
        assert ("Unpublished Tumour Genomes" in shown) is sees_draft, persona
        detail = client_for(persona).get(reverse("datasets:detail", args=[draft_dataset.accession]))
        assert detail.status_code == (200 if sees_draft else 404), persona


def test_catalogue_query_count_does_not_grow_with_the_page(client, dac, django_assert_max_num_queries):
    node = NodeFactory()
    for n in range(3):
        DatasetFactory(
            dac=dac,
            title=f"Small {n}",
            nodes=[node],
            data_use={
                "permission": "DUO:0000042",
                "modifiers": [{"term": "DUO:0000028", "institutions": ["https://ror.org/040af2s02"]}],
            },
        )
    client.get(reverse("datasets:catalogue"))  # warm the in-memory term catalogue
    with django_assert_max_num_queries(12) as small:
        client.get(reverse("datasets:catalogue"))
    for n in range(17):
        DatasetFactory(
            dac=dac,
            title=f"Large {n}",
            nodes=[node],
            data_use={"permission": "DUO:0000007", "diseases": ["MONDO:0007254"], "modifiers": []},
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("datasets:catalogue"))


def test_dataset_page_shows_words_codes_committee_and_request_action(client_for, dataset):
    html = client_for("applicant").get(reverse("datasets:detail", args=[dataset.accession])).content.decode()
    assert "Use is limited to research on breast cancer or its subtypes" in html
    assert "DUO:0000007" in html
    assert "MONDO:0007254" in html
    assert dataset.dac.name in html
    assert "Request access" in html
    anonymous = client_for("anonymous").get(reverse("datasets:detail", args=[dataset.accession])).content.decode()
    assert "Sign in to request access" in anonymous


def test_only_managers_see_the_edit_link(client_for, dataset):
    url = reverse("datasets:detail", args=[dataset.accession])
    assert "Edit data use" in client_for("dac_secretary").get(url).content.decode()
    assert "Edit data use" not in client_for("dac_member").get(url).content.decode()


def test_committee_page_lists_members_roles_datasets_and_policy(client, dac_chair, dac_member, dac_secretary, dataset):
    html = client.get(reverse("datasets:dac_detail", args=[dataset.dac.slug])).content.decode()
    for text in (
        "Chiara Chair",
        "Mika Member",
        "Selma Secretary",
        "Secretary",
        "Nordic Breast Cancer Genomes",
        "Quorum",
    ):
        assert text in html


def test_disease_autocomplete_ranks_names_that_start_with_the_query_first(client, ontologies):
    results = client.get(reverse("datasets:disease_autocomplete"), {"q": "breast canc"}).json()["results"]
    assert results[0] == {"id": "MONDO:0007254", "label": "breast cancer"}
    assert len(results) <= 20
    assert (
        client.get(reverse("datasets:disease_autocomplete"), {"q": "0007254"}).json()["results"][0]["id"]
        == "MONDO:0007254"
    )
    assert client.get(reverse("datasets:disease_autocomplete"), {"q": "b"}).json() == {"results": []}


def test_about_page_credits_both_ontologies(client, ontologies):
    html = client.get(reverse("about_data")).content.decode()
    assert "GA4GH Data Use Ontology" in html
    assert "Mondo Disease Ontology" in html
    assert "CC BY 4.0" in html
    assert "22382" in html


def test_request_basket_groups_datasets_by_committee(client_for, dataset, other_dataset):
    client = client_for("applicant")
    for d in (dataset, other_dataset):
        assert client.post(reverse("requests:basket_add"), {"accession": d.accession}).status_code == 302
    html = client.get(reverse("requests:basket")).content.decode()
    assert "2 datasets, governed by 2 committees" in html
    client.post(reverse("requests:basket_remove"), {"accession": dataset.accession})
    assert "1 dataset, governed by 1 committee" in client.get(reverse("requests:basket")).content.decode()


def test_drafts_cannot_be_put_in_the_basket(client_for, draft_dataset):
    response = client_for("dac_chair").post(reverse("requests:basket_add"), {"accession": draft_dataset.accession})
    assert response.status_code == 404
