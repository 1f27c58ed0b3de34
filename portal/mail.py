"""Sending templated e-mail: one text and one HTML template per message, under templates/email/."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def send_templated_email(*, template: str, to: list[str], context: dict) -> None:
    """Render templates/email/<template>.{subject.txt,txt,html} and send it."""
    context = {"portal_name": settings.PORTAL_NAME, "base_url": settings.PORTAL_BASE_URL, **context}
    subject = render_to_string(f"email/{template}.subject.txt", context).strip()
    body = render_to_string(f"email/{template}.txt", context)
    html = render_to_string(f"email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=body, to=to)
    message.attach_alternative(html, "text/html")
    message.send()
