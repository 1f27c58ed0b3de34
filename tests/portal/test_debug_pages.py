"""`make run` runs with DEBUG on: a visitor trying the demo still sees the portal's pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/no-such-page/", "/datasets/GDS999999/"])
def test_a_missing_page_is_the_portals_own_with_debug_on(client, settings, path):
    settings.DEBUG = True
    response = client.get(path)
    assert response.status_code == 404
    page = response.content.decode()
    assert "We cannot find this page" in page
    assert "Django tried these URL patterns" not in page


def test_developers_can_still_ask_for_djangos_page(client, settings):
    settings.DEBUG = True
    response = client.get("/no-such-page/?debug-404")
    assert response.status_code == 404
    assert "Django tried these URL patterns" in response.content.decode()


def test_the_api_keeps_its_json_404(client, settings):
    settings.DEBUG = True
    response = client.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_every_page_links_the_api_docs_and_about_the_data(client):
    page = client.get(reverse("home")).content.decode()
    assert reverse("api:docs") in page
    assert reverse("about_data") in page
