"""Configuration checks of the portal itself, run by `manage.py check` (and `migrate`, which runs
the database checks: a deployment's first command refuses a secret that cannot open the keys)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.db import DatabaseError


@checks.register(checks.Tags.security, deploy=True)
def signing_key_secret_set(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if settings.SIGNING_KEY_SECRET:
        return []
    return [
        checks.Warning(
            "SIGNING_KEY_SECRET is not set: the visa signing keys are sealed with a key derived from "
            "SECRET_KEY, so changing SECRET_KEY would make them unreadable.",
            hint="Set SIGNING_KEY_SECRET to a long random value and keep it with the database's backups.",
            id="portal.W001",
        )
    ]


@checks.register(checks.Tags.database)
def signing_keys_readable(app_configs, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """The newest signing key opens with this server's secret (nothing to check before the first)."""
    if not databases:
        return []
    from portal.models import SigningKey
    from portal.signing import SecretsUnreadable, _decrypt

    try:
        key = SigningKey.objects.order_by("-created_at").first()
    except DatabaseError:
        return []  # not migrated yet: there is no key to open
    if key is None:
        return []
    try:
        _decrypt(key.private_key_encrypted, key.kid)
    except SecretsUnreadable as error:
        return [checks.Critical(error.message, id="portal.E001")]
    return []
