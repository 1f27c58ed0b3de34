"""Every limit counts the client address the portal trusts: X-Forwarded-For only through
TRUSTED_PROXY_COUNT proxies (portal.ratelimit.client_ip), for the API's throttle as for the
forms and the sign-in."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.settings import api_settings

from portal.ratelimit import client_ip

pytestmark = pytest.mark.django_db

MATCH = {
    "data_use": {"permission": "DUO:0000007", "diseases": ["MONDO:0004992"], "modifiers": []},
    "purpose": {"primary": "disease", "diseases": ["MONDO:0007254"], "for_profit_organisation": False},
}


@pytest.fixture
def three_per_minute(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"duo_match": "3/min"}}
    api_settings.reload()
    yield
    api_settings.reload()


def match(client, forwarded_for: str | None = None, remote: str = "203.0.113.7"):
    headers = {"REMOTE_ADDR": remote}
    if forwarded_for:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.post(reverse("api:duo_match"), MATCH, content_type="application/json", **headers)


def test_a_forged_forwarded_for_does_not_escape_the_match_limit(client, ontologies, three_per_minute, settings):
    settings.AXES_IPWARE_PROXY_COUNT = None  # TRUSTED_PROXY_COUNT=0: no proxy is believed

    codes = [match(client, forwarded_for=f"198.51.100.{n}").status_code for n in range(5)]

    assert codes == [200, 200, 200, 429, 429]


def test_behind_one_trusted_proxy_each_client_has_its_own_count(client, ontologies, three_per_minute, settings):
    settings.AXES_IPWARE_PROXY_COUNT = 1
    proxy = "10.0.0.2"

    first = [match(client, forwarded_for="198.51.100.1", remote=proxy).status_code for _ in range(4)]
    other = match(client, forwarded_for="198.51.100.2", remote=proxy).status_code
    # A client that prepends its own address to the header is still counted as what the proxy saw.
    forged = match(client, forwarded_for="192.0.2.99, 198.51.100.1", remote=proxy).status_code

    assert first == [200, 200, 200, 429]
    assert other == 200
    assert forged == 429


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "198.51.100.1", "203.0.113.7"),
        (1, "198.51.100.1", "198.51.100.1"),
        (1, "192.0.2.99, 198.51.100.1", "198.51.100.1"),
        (2, "192.0.2.99, 198.51.100.1, 10.0.0.3", "198.51.100.1"),
        (2, "198.51.100.1", "203.0.113.7"),  # fewer hops than proxies: not through them all
    ],
)
def test_the_client_address_believes_only_the_trusted_proxies(settings, hops, forwarded, expected):
    settings.AXES_IPWARE_PROXY_COUNT = hops or None
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
