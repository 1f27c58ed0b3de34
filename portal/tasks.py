"""Celery tasks of the portal as a whole."""

from __future__ import annotations

from celery import shared_task
from django.core.mail import EmailMultiAlternatives

from portal import outbox


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def send_rendered_email(subject: str, body: str, to: list[str], html: str | None = None) -> None:
    """Send a message rendered by the caller; SMTP hiccups are retried with backoff."""
    message = EmailMultiAlternatives(subject=subject, body=body, to=to)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


@shared_task
def deliver_outbox_message(message_id: int) -> bool:
    """Deliver one outbox row. Safe to run twice: the claim lets only one run send it. No Celery
    retries here: the row itself carries the attempts and the backoff."""
    return outbox.deliver(message_id)


@shared_task
def drain_outbox() -> int:
    """Deliver every due outbox row (the safety net for tasks the broker lost); run by beat."""
    return outbox.drain()
