"""The shared kernel's tables: the hash-chained audit log and the outbox of side effects."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    """One append-only event; written only by portal.audit.record, never updated or deleted
    (a database trigger refuses both, see migration 0002)."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # PROTECT: deleting a user who acted would orphan the evidence of what they did.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Kept as written, so the log still says who acted after the user's e-mail changes.
    actor_label = models.CharField(max_length=255)
    action = models.CharField(max_length=100)
    target_type = models.CharField(max_length=100)
    target_id = models.CharField(max_length=255)
    data = models.JSONField(default=dict, blank=True)
    # Unique as well as `hash`: two events naming the same predecessor would be a fork, so the
    # database refuses one even if the advisory lock in portal.audit were ever bypassed.
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        indexes = [models.Index(fields=["target_type", "target_id", "created_at"], name="auditevent_target_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id} by {self.actor_label}"


class OutboxMessage(models.Model):
    """A message that must reach the outside world, written in the transaction that caused it
    and delivered after commit by portal.outbox (with the drain as a safety net)."""

    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook"

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    payload = models.JSONField(default=dict)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    # A worker holds the message until this time; an expired claim means the worker died.
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class SigningKey(models.Model):
    """A key that signs GA4GH visas. The private half is stored encrypted (AES-GCM under
    SIGNING_KEY_SECRET); the public half is served in the JWKS while visas it signed can live."""

    class Algorithm(models.TextChoices):
        ES256 = "ES256", "ECDSA P-256 with SHA-256"
        RS256 = "RS256", "RSA 3072 with SHA-256"

    kid = models.CharField(max_length=64, unique=True)
    alg = models.CharField(max_length=8, choices=Algorithm.choices)
    public_jwk = models.JSONField()
    private_key_encrypted = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True, help_text="When a newer key took over signing.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.alg} key {self.kid}"
