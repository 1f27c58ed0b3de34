"""The verification e-mail travels the real path: commit -> Redis broker -> Celery worker."""

import email
import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import User
from portal.celery import app as celery_app
from tests.services import broker_url_or_skip, celery_worker, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _mails(mail_dir):
    return sorted(mail_dir.glob("*.log"))


def test_verification_email_is_sent_by_a_real_worker_after_commit(tmp_path):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    with celery_worker(mail_dir):
        user = services.user_register(email="worker@example.org", name="Wendy Worker", password="long enough pass")
        files = wait_for(lambda: _mails(mail_dir))

    message = email.message_from_string(files[0].read_text())
    assert message["To"] == "worker@example.org"
    assert "Confirm your e-mail address" in message["Subject"]
    body = next(part for part in message.walk() if part.get_content_type() == "text/plain").get_payload(decode=True)
    path = re.search(r"http://testserver(/accounts/verify/\S+/)", body.decode()).group(1)

    response = Client().post(path)
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).email_verified


def test_nothing_is_queued_when_the_registration_rolls_back(tmp_path):
    from django.db import transaction

    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()

    def register_then_fail():
        with transaction.atomic():
            services.user_register(email="gone@example.org", name="Gone", password="long enough pass")
            raise RuntimeError("the surrounding transaction fails")

    with celery_worker(mail_dir):
        with pytest.raises(RuntimeError, match="surrounding transaction"):
            register_then_fail()
        # A later task on the same queue proves the worker ran and found nothing before it.
        services.user_register(email="kept@example.org", name="Kept", password="long enough pass")
        files = wait_for(lambda: _mails(mail_dir))
    recipients = [email.message_from_string(f.read_text())["To"] for f in files]
    assert recipients == ["kept@example.org"]
    assert not User.objects.filter(email="gone@example.org").exists()


def test_readyz_sees_the_real_broker(client, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(celery_app.conf, "broker_url", broker_url_or_skip())
    response = client.get(reverse("readyz"))
    assert response.status_code == 200
    assert response.json()["checks"]["broker"] == {"ok": True, "mode": "broker"}
