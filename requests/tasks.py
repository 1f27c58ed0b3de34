"""Periodic tidy-up of the access workflow. Nothing here decides access: expiry is read from the
clock at every check; these jobs only record and notify."""

from celery import shared_task

from requests.services.permits import record_expiries


@shared_task
def record_permit_expiries() -> int:
    """Add `expired` events to the changes feed for permits whose time has run out."""
    return record_expiries()
