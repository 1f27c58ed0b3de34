"""No cache keeps what a signed-in person sees; public pages stay cacheable."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["accounts:profile", "requests:list", "requests:permits", "home"])
def test_signed_in_pages_are_not_stored(client, applicant, name):
    client.force_login(applicant)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_the_api_answer_to_a_personal_token_is_not_stored(applicant):
    from accounts import services

    _token, key = services.personal_token_create(user=applicant, name="script")
    response = Client(HTTP_AUTHORIZATION=f"Token {key}").get(reverse("api:applications"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_public_pages_for_visitors_are_not_marked(client, dataset):
    response = client.get(reverse("datasets:catalogue"))
    assert "no-store" not in response.get("Cache-Control", "")
