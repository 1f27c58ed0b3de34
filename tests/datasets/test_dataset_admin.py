"""Staff set a dataset's resource identifier in the admin (the value of its visas); nothing else
about a dataset is edited there, and a bad or taken identifier is refused next to the field."""

from __future__ import annotations

import pytest
from django.urls import reverse

from datasets.services import dataset_resource_id_set
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_staff_set_the_resource_id_and_only_it(client_for, dataset):
    url = reverse("admin:datasets_dataset_change", args=[dataset.pk])
    client = client_for("staff")
    page = client.get(url).content.decode()
    assert 'name="resource_id"' in page
    assert 'name="title"' not in page
    assert f"http://testserver/datasets/{dataset.accession}<" in page  # the value its visas carry now

    assert client.post(url, {"resource_id": "EGAD00001000001", "title": "Renamed"}).status_code == 302
    dataset.refresh_from_db()
    assert (dataset.resource_id, dataset.resource) == ("EGAD00001000001", "EGAD00001000001")
    assert dataset.title != "Renamed"
    assert AuditEvent.objects.filter(action="dataset.resource_id_changed", actor__is_staff=True).count() == 1


def test_a_taken_or_malformed_resource_id_is_refused_on_the_form(client_for, dataset, other_dataset):
    dataset_resource_id_set(dataset=other_dataset, resource_id="EGAD00001000001")
    url = reverse("admin:datasets_dataset_change", args=[dataset.pk])
    client = client_for("staff")
    for bad, message in (("EGAD00001000001", "Another dataset"), ("EGAD 01", "printable ASCII")):
        response = client.post(url, {"resource_id": bad})
        assert response.status_code == 200
        assert message in response.content.decode()
    dataset.refresh_from_db()
    assert dataset.resource_id == ""
