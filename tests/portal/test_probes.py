import pytest
from django.urls import reverse

from portal import views
from portal.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_services(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_each_service_ok(client):
    response = client.get(reverse("readyz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "signing_keys"}
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_answers_503_and_names_the_cache_when_it_fails(client, monkeypatch):
    def broken_cache():
        raise ConnectionError("cache down")

    monkeypatch.setitem(views._CHECKS, "cache", broken_cache)
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"] == {"ok": False, "error": "ConnectionError"}
    assert body["checks"]["database"]["ok"] is True


def test_readyz_answers_503_when_the_broker_cannot_be_reached(client, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def test_readyz_answers_503_when_the_database_cannot_be_reached(client, monkeypatch):
    def broken_database():
        from django.db import OperationalError

        raise OperationalError("connection refused")

    monkeypatch.setitem(views._CHECKS, "database", broken_database)
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {"ok": False, "error": "OperationalError"}
