"""Access applications, their documents, agreements, submitted versions, and the reviews that
the committees carry out."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from datasets.models import DataAccessCommittee, Dataset


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    UNDER_REVIEW = "under_review", "Under review"
    RETURNED = "returned", "Returned to the applicant"
    DECIDED = "decided", "Decided"
    WITHDRAWN = "withdrawn", "Withdrawn"
    CLOSED = "closed", "Closed"


class Application(models.Model):
    """A researcher's request for access to one or more datasets, possibly of several DACs.

    While a draft (or returned), fields hold whatever was typed, valid or not, so that nothing
    is ever lost; submission validates everything and freezes a numbered version."""

    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="applications")
    status = models.CharField(max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.DRAFT)
    title = models.CharField(max_length=300, blank=True)
    lay_summary = models.TextField(blank=True)
    abstract = models.TextField(blank=True)
    purpose = models.JSONField(default=dict, blank=True, help_text="Research purpose in the API's shape.")
    requested_months = models.PositiveSmallIntegerField(null=True, blank=True)
    justifications = models.JSONField(default=dict, blank=True, help_text="accession -> why a denied dataset fits")
    datasets = models.ManyToManyField(Dataset, through="ApplicationDataset", related_name="applications")
    version = models.PositiveIntegerField(default=0, help_text="Number of submitted versions.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["applicant", "status"])]

    def __str__(self) -> str:
        return f"Application {self.pk}: {self.title or '(untitled)'}"

    @property
    def editable(self) -> bool:
        return self.status in (ApplicationStatus.DRAFT, ApplicationStatus.RETURNED)


class ApplicationDataset(models.Model):
    """A dataset requested by an application; `match` is the matcher's answer at submission."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="requested")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    review = models.ForeignKey("Review", null=True, blank=True, on_delete=models.SET_NULL, related_name="items")
    match = models.JSONField(default=dict, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset__accession"]
        constraints = [models.UniqueConstraint(fields=["application", "dataset"], name="dataset_once_per_application")]

    def __str__(self) -> str:
        return f"{self.dataset} in application {self.application_id}"


class Collaborator(models.Model):
    """Someone the applicant invites by e-mail; linked to an account when they accept."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="collaborators")
    email = models.EmailField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="collaborations"
    )
    invited_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(fields=["application", "email"], name="collaborator_once")]

    def __str__(self) -> str:
        return self.email


class AgreementAcceptance(models.Model):
    """A person accepted one dataset's data access agreement (a given version) for an application."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="acceptances")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    agreement_version = models.CharField(max_length=32)
    accepted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["application", "dataset", "user", "agreement_version"], name="accept_once_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} accepted {self.dataset} agreement v{self.agreement_version}"


class Document(models.Model):
    class Kind(models.TextChoices):
        ETHICS_APPROVAL = "ethics_approval", "Ethics approval"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # A random name under PRIVATE_MEDIA_ROOT: never a public URL, never the uploader's name.
    storage_name = models.CharField(max_length=80, unique=True)
    original_name = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    expires_on = models.DateField(null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    replaced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.original_name}"


class ApplicationVersion(models.Model):
    """A frozen copy of the application as submitted; returned applications add versions."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    submitted_at = models.DateTimeField(auto_now_add=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["application", "number"]
        constraints = [models.UniqueConstraint(fields=["application", "number"], name="one_version_number")]

    def __str__(self) -> str:
        return f"Application {self.application_id} version {self.number}"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RETURNED = "returned", "Returned to the applicant"
    DECIDED = "decided", "Decided"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Review(models.Model):
    """One DAC's review of the datasets it governs in one application."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="reviews")
    dac = models.ForeignKey(DataAccessCommittee, on_delete=models.PROTECT, related_name="reviews")
    status = models.CharField(max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    opened_at = models.DateTimeField(help_text="When the current round of review started.")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["opened_at"]
        constraints = [models.UniqueConstraint(fields=["application", "dac"], name="one_review_per_dac")]
        indexes = [models.Index(fields=["dac", "status", "opened_at"])]

    def __str__(self) -> str:
        return f"Review of application {self.application_id} by {self.dac}"
