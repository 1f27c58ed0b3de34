"""E-mail as people read it: the subject and text part say what was typed; the HTML part is escaped."""

from __future__ import annotations

import pytest
from django.core import mail

from portal.mail import send_templated_email

TYPED = "O'Brien & Co <Genomics>"


def test_text_and_subject_are_not_html_escaped_and_the_html_part_is():
    send_templated_email(
        template="requests/message",
        to=["ines@uni.example"],
        context={"name": TYPED, "dac": TYPED, "title": TYPED, "message": "Use 'quotes' & <angles>.", "link": "x"},
    )

    (sent,) = mail.outbox
    assert f"Hello {TYPED}," in sent.body
    assert "Use 'quotes' & <angles>." in sent.body
    assert "&amp;" not in sent.body
    assert "&#x27;" not in sent.body
    assert sent.subject == f'A message from {TYPED} about "{TYPED}"'
    html, _type = sent.alternatives[0]
    assert "O&#x27;Brien &amp; Co &lt;Genomics&gt;" in html
    assert "<Genomics>" not in html


@pytest.mark.django_db
def test_the_password_reset_mail_is_plain_text_too(client, django_capture_on_commit_callbacks):
    from tests.factories import UserFactory

    UserFactory(email="obrien@uni.example", name=TYPED)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": "obrien@uni.example"})

    (sent,) = mail.outbox
    assert "&amp;" not in sent.body
    assert "&#x27;" not in sent.body
    assert f"Hello {TYPED}," in sent.body
