import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_home_says_what_the_portal_is_and_for_whom(client):
    html = client.get(reverse("home")).content.decode()
    assert "Controlled access to Europe's pooled genomes" in html
    for audience in ("Researchers", "Data-access committees", "Data nodes"):
        assert audience in html


def test_navigation_fits_the_role(client_for):
    anonymous = client_for("anonymous").get(reverse("home")).content.decode()
    researcher = client_for("applicant").get(reverse("home")).content.decode()
    staff = client_for("staff").get(reverse("home")).content.decode()
    assert "Create account" in anonymous
    assert "My profile" not in anonymous
    assert "My profile" in researcher
    assert "Administration" not in researcher
    assert "Administration" in staff


def test_404_page_is_in_the_portal_style(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"We cannot find this page" in response.content
    assert b"portal.css" in response.content


def test_500_page_is_in_the_portal_style(settings):
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    from django.urls import path

    from portal import urls

    def boom(request):
        raise RuntimeError("boom")

    urls.urlpatterns.append(path("__boom__", boom))
    try:
        response = Client(raise_request_exception=False).get("/__boom__")
    finally:
        urls.urlpatterns.pop()
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content


def test_pages_carry_security_headers_and_a_strict_csp(client):
    response = client.get(reverse("home"))
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_pages_load_no_third_party_assets(client):
    html = client.get(reverse("home")).content.decode()
    for attr in ('src="http', "src='http", 'href="http', "href='http", 'src="//', 'href="//'):
        assert attr not in html


def test_the_stylesheet_is_served_by_the_portal(client):
    response = client.get("/static/portal/portal.css")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"--brand" in body


def test_admin_login_goes_through_the_portal_login(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
