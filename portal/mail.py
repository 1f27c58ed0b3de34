"""Sending templated e-mail: one text and one HTML template per message, under templates/email/.

The subject and the text part are rendered without HTML escaping (the "text" template engine):
they are plain text, where `&amp;` would be read as typed. The HTML part is escaped as pages are."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import engines
from django.template.loader import render_to_string


def render_text(template_name: str, context: dict) -> str:
    """A plain-text template (an e-mail's subject or text part), unescaped."""
    return engines["text"].get_template(template_name).render(context)


def send_templated_email(*, template: str, to: list[str], context: dict) -> None:
    """Render templates/email/<template>.{subject.txt,txt,html} and send it."""
    context = {"portal_name": settings.PORTAL_NAME, "base_url": settings.PORTAL_BASE_URL, **context}
    subject = " ".join(render_text(f"email/{template}.subject.txt", context).split())
    body = render_text(f"email/{template}.txt", context)
    html = render_to_string(f"email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=body, to=to)
    message.attach_alternative(html, "text/html")
    message.send()
