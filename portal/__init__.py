from portal.compat import hide_requests_app_from_drf

hide_requests_app_from_drf()

# The Celery app is loaded with Django so that @shared_task binds to it.
from portal.celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)
