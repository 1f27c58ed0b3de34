"""Settings fail loudly on bad values, and production refuses to start half-configured."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_choice, env_int, env_list

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("1", True), ("Yes", True), ("off", False), ("", False)])
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG") is expected


def test_env_bool_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG='maybe' is not a boolean"):
        env_bool("X_FLAG")


def test_env_int_refuses_text_and_values_below_the_minimum(monkeypatch):
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "0")
    with pytest.raises(ImproperlyConfigured, match="below the minimum"):
        env_int("X_NUM", 1, minimum=1)
    monkeypatch.setenv("X_NUM", "7")
    assert env_int("X_NUM", 1, minimum=1) == 7


def test_env_list_and_choice(monkeypatch):
    monkeypatch.setenv("X_LIST", " a.example, b.example ,,")
    assert env_list("X_LIST") == ["a.example", "b.example"]
    monkeypatch.setenv("X_CHOICE", "ES512")
    with pytest.raises(ImproperlyConfigured, match="must be one of ES256, RS256"):
        env_choice("X_CHOICE", ("ES256", "RS256"), "ES256")


def _manage(args: list[str], **env: str) -> subprocess.CompletedProcess:
    dropped = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def _production_env() -> dict[str, str]:
    from django.db import connection

    s = connection.settings_dict
    url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    if not os.environ.get("DATABASE_URL") and str(s["HOST"]).startswith("/"):
        url = f"postgres://postgres@/{s['NAME']}?host={s['HOST']}&port={s['PORT']}"
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SIGNING_KEY_SECRET": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "portal.example.org",
        "DATABASE_URL": url,
    }


@pytest.mark.django_db
def test_production_refuses_to_start_without_a_secret_key():
    env = _production_env()
    del env["SECRET_KEY"]
    result = _manage(["check"], **env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


@pytest.mark.django_db
def test_production_refuses_to_start_without_allowed_hosts():
    env = _production_env()
    del env["ALLOWED_HOSTS"]
    result = _manage(["check"], **env)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set when DEBUG is off" in result.stderr


@pytest.mark.django_db
def test_a_bad_value_stops_the_process_with_its_name():
    result = _manage(["check"], **_production_env(), LOGIN_FAILURE_LIMIT="five")
    assert result.returncode != 0
    assert "LOGIN_FAILURE_LIMIT='five' is not an integer" in result.stderr


@pytest.mark.django_db
def test_a_visa_signing_algorithm_other_than_rs256_or_es256_stops_the_process():
    result = _manage(["check"], **_production_env(), VISA_SIGNING_ALG="HS256")
    assert result.returncode != 0
    assert "VISA_SIGNING_ALG='HS256' must be one of RS256, ES256" in result.stderr


def test_visas_are_signed_with_rs256_unless_the_setting_says_es256(monkeypatch):
    import importlib

    import portal.settings

    try:
        monkeypatch.delenv("VISA_SIGNING_ALG", raising=False)
        assert importlib.reload(portal.settings).VISA_SIGNING_ALG == "RS256"
        monkeypatch.setenv("VISA_SIGNING_ALG", "ES256")
        assert importlib.reload(portal.settings).VISA_SIGNING_ALG == "ES256"
    finally:
        monkeypatch.undo()
        importlib.reload(portal.settings)


@pytest.mark.django_db
def test_a_non_postgres_database_url_is_refused():
    result = _manage(["check"], **{**_production_env(), "DATABASE_URL": "sqlite:///db.sqlite3"})
    assert result.returncode != 0
    assert "DATABASE_URL must point to PostgreSQL" in result.stderr


@pytest.mark.django_db
def test_check_deploy_reports_no_issue_with_production_settings():
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], **_production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.django_db
def test_check_deploy_warns_when_the_signing_keys_hang_on_the_secret_key():
    env = _production_env()
    del env["SIGNING_KEY_SECRET"]
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], **env)
    assert result.returncode != 0
    assert "portal.W001" in result.stdout + result.stderr


def test_without_a_broker_tasks_run_at_once_and_nothing_warns_about_a_missing_broker():
    """`make run` with no REDIS_URL: an e-mail task runs in the process, quietly."""
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "from portal.tasks import send_rendered_email; "
        "send_rendered_email.delay('Subject', 'Body', ['someone@uni.example']); "
        "print('eager', settings.CELERY_TASK_ALWAYS_EAGER, settings.CELERY_BROKER_URL)"
    )
    dropped = {"REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(DEBUG="true", DJANGO_SETTINGS_MODULE="portal.settings", DATABASE_URL=_production_env()["DATABASE_URL"])
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "eager True memory://localhost/" in result.stdout
    assert "No hostname was supplied" not in result.stderr
    assert "WARNING" not in result.stderr
