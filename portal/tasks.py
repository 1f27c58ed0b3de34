"""Celery tasks of the portal as a whole."""

from __future__ import annotations

from celery import shared_task
from django.core.mail import EmailMultiAlternatives


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def send_rendered_email(subject: str, body: str, to: list[str], html: str | None = None) -> None:
    """Send a message rendered by the caller; SMTP hiccups are retried with backoff."""
    message = EmailMultiAlternatives(subject=subject, body=body, to=to)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
