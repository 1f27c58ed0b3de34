"""Access applications, their documents, agreements, submitted versions, and the reviews that
the committees carry out."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from datasets.models import DataAccessCommittee, Dataset
from portal.workflow import StatusGuarded, StatusGuardedQuerySet


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    UNDER_REVIEW = "under_review", "Under review"
    RETURNED = "returned", "Returned to the applicant"
    DECIDED = "decided", "Decided"
    WITHDRAWN = "withdrawn", "Withdrawn"
    CLOSED = "closed", "Closed"


class Application(StatusGuarded):
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

    # The workflow (states, moves) is requests.services.application_workflow.
    INITIAL_STATES = frozenset({ApplicationStatus.DRAFT})
    objects = StatusGuardedQuerySet.as_manager()

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


class Review(StatusGuarded):
    """One DAC's review of the datasets it governs in one application."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="reviews")
    dac = models.ForeignKey(DataAccessCommittee, on_delete=models.PROTECT, related_name="reviews")
    status = models.CharField(max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    opened_at = models.DateTimeField(help_text="When the current round of review started.")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    # The workflow (states, moves) is requests.services.reviews.
    INITIAL_STATES = frozenset({ReviewStatus.PENDING})
    objects = StatusGuardedQuerySet.as_manager()

    class Meta:
        ordering = ["opened_at"]
        constraints = [models.UniqueConstraint(fields=["application", "dac"], name="one_review_per_dac")]
        indexes = [models.Index(fields=["dac", "status", "opened_at"])]

    def __str__(self) -> str:
        return f"Review of application {self.application_id} by {self.dac}"


class VoteChoice(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    ABSTAIN = "abstain", "Abstain"


class Vote(models.Model):
    """A committee member's vote on a review. A declared conflict of interest has no choice and
    takes the member out of the vote and the quorum. Members may change their vote until the
    decision."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="votes")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    choice = models.CharField(max_length=8, choices=VoteChoice.choices, blank=True)
    comment = models.TextField(blank=True)
    conflict_of_interest = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["review", "member"], name="one_vote_per_member"),
            models.CheckConstraint(
                condition=Q(conflict_of_interest=True, choice="") | Q(conflict_of_interest=False) & ~Q(choice=""),
                name="vote_has_choice_unless_conflicted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} on review {self.review_id}: {self.choice or 'conflict of interest'}"


class ReviewNote(models.Model):
    """A line of the committee's discussion (the committee only) or a message to the applicant."""

    class Kind(models.TextChoices):
        DISCUSSION = "discussion", "Committee discussion"
        TO_APPLICANT = "to_applicant", "Message to the applicant"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.author} on review {self.review_id}"


class Outcome(models.TextChoices):
    APPROVE = "approve", "Approved"
    REJECT = "reject", "Rejected"


class DatasetDecision(models.Model):
    """The chair's decision for one dataset of a review (or the system's, under a DAC policy)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="decisions")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    months = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    conditions = models.JSONField(default=list, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    automatic_policy = models.CharField(max_length=200, blank=True, help_text="Set when a DAC policy decided.")
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["dataset__accession"]
        constraints = [models.UniqueConstraint(fields=["review", "dataset"], name="one_decision_per_dataset")]

    def __str__(self) -> str:
        return f"{self.dataset.accession}: {self.get_outcome_display()}"


class PermitStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked"
    REPLACED = "replaced", "Replaced by a later permit"


def live_permit_condition(now, via: str = "") -> Q:
    """The one definition of a live permit, as a condition (on Permit, or through `via`, e.g.
    "permit__"): active, started, not expired, and held by an active account. Expiry is read
    from the clock at every read (a deactivated account keeps its permits on record but holds
    no live access)."""
    return Q(
        **{
            f"{via}status": PermitStatus.ACTIVE,
            f"{via}starts_at__lte": now,
            f"{via}expires_at__gt": now,
            f"{via}grantee__is_active": True,
        }
    )


class PermitQuerySet(StatusGuardedQuerySet):
    def live(self, now=None) -> PermitQuerySet:
        """Live permits (`live_permit_condition`)."""
        from django.utils import timezone

        return self.filter(live_permit_condition(now or timezone.now()))


class Permit(StatusGuarded):
    """Access to one dataset for one person, from an approval, until expires_at."""

    grantee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="permits")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="permits")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="permits")
    decision = models.ForeignKey(DatasetDecision, on_delete=models.PROTECT, related_name="permits")
    starts_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    conditions = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=PermitStatus.choices, default=PermitStatus.ACTIVE)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # The workflow (states, moves) is requests.services.permits.
    INITIAL_STATES = frozenset({PermitStatus.ACTIVE})
    objects = PermitQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One active permit per person and dataset; a new approval replaces the old one.
            models.UniqueConstraint(
                fields=["grantee", "dataset"],
                condition=Q(status="active"),
                name="one_active_permit_per_grantee_dataset",
            ),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("starts_at")), name="permit_ends_after_start"),
        ]
        indexes = [models.Index(fields=["dataset", "status", "expires_at"])]

    def __str__(self) -> str:
        return f"Permit {self.pk}: {self.grantee} on {self.dataset.accession}"

    def is_live(self, now=None) -> bool:
        """`live_permit_condition` for a row in memory (reads the grantee, usually selected)."""
        from django.utils import timezone

        now = now or timezone.now()
        return self.status == PermitStatus.ACTIVE and self.starts_at <= now < self.expires_at and self.grantee.is_active


class PermitEvent(models.Model):
    """The changes feed nodes poll (`/api/v1/permits/changes`) and webhooks carry: one row per
    permit event, in id order, so the id is the cursor."""

    class Kind(models.TextChoices):
        ISSUED = "issued", "Issued"
        EXTENDED = "extended", "Extended"
        REPLACED = "replaced", "Replaced by a later permit"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    id = models.BigAutoField(primary_key=True)
    permit = models.ForeignKey(Permit, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            # A permit expires once; the job that records expiries may run again safely.
            models.UniqueConstraint(fields=["permit"], condition=Q(kind="expired"), name="one_expiry_event_per_permit")
        ]

    def __str__(self) -> str:
        return f"{self.kind} permit {self.permit_id}"
