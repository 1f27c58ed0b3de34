"""The catalogue: DUO and MONDO terms, committees, data nodes and their API keys, datasets and
their versioned data-use profiles."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django_countries.fields import CountryField

from accounts.models import ApiKey
from datasets import duo

# A node's key starts with gapn_ (a person's token with gapp_, see accounts.models), so that
# scanners and people can tell the two apart and from other secrets.
NODE_KEY_PREFIX = "gapn_"


class DataUseTerm(models.Model):
    """A term of the bundled DUO release, live or deprecated."""

    class Kind(models.TextChoices):
        PERMISSION = "permission", "Data use permission"
        MODIFIER = "modifier", "Data use modifier"
        OTHER = "other", "Other"

    id = models.CharField(primary_key=True, max_length=16)
    shorthand = models.CharField(max_length=16, blank=True)
    label = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    parents = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    deprecated = models.BooleanField(default=False)
    release = models.CharField(max_length=16, default=duo.DUO_VERSION)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.shorthand or self.id} ({self.label})"


class DiseaseTerm(models.Model):
    """A MONDO disease with its parents and the precomputed closure of all its ancestors."""

    id = models.CharField(primary_key=True, max_length=16)
    label = models.CharField(max_length=255)
    parents = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    ancestors = ArrayField(models.CharField(max_length=16), default=list, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [GinIndex(fields=["ancestors"], name="disease_ancestors_gin")]

    def __str__(self) -> str:
        return f"{self.label} ({self.id})"


class DataNodeQuerySet(models.QuerySet):
    def seeing(self, dataset_id: int) -> DataNodeQuerySet:
        """Nodes that see the permits of this dataset: those hosting it, and every broker (the
        converse of requests.node_api.hosted_by). A subquery, so a node appears once."""
        hosting = Dataset.nodes.through.objects.filter(dataset_id=dataset_id).values("datanode_id")
        return self.filter(models.Q(is_broker=True) | models.Q(pk__in=hosting))

    def with_webhook(self) -> DataNodeQuerySet:
        """Nodes whose webhook has a URL and a signing secret (both are needed to push)."""
        return self.filter(webhook_secret_set_at__isnull=False).exclude(webhook_url="")


class DataNode(models.Model):
    """A federated node that hosts datasets and verifies permits before serving data."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    country = CountryField()
    base_url = models.URLField(max_length=300)
    contact_email = models.EmailField()
    webhook_url = models.URLField(
        max_length=300,
        blank=True,
        help_text="Where permit events are pushed. Nothing is pushed until `manage.py set_node_webhook` has "
        "given the node a signing secret.",
    )
    # The secret that signs webhooks, sealed with portal.signing.seal: the portal must read it
    # back to sign, so it cannot be hashed like an API key. The plaintext is shown once.
    webhook_secret_sealed = models.BinaryField(blank=True, default=b"", editable=False)
    webhook_secret_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_broker = models.BooleanField(
        default=False, help_text="A broker (e.g. LS Login) sees the permits of every dataset, not only hosted ones."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DataNodeQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def seal_webhook_secret(self, secret: str) -> None:
        """Store `secret` sealed (not saved yet); an empty one removes the secret."""
        from portal import signing  # imported late: it loads portal.models

        self.webhook_secret_sealed = signing.seal(secret.encode(), self._webhook_context()) if secret else b""
        self.webhook_secret_set_at = timezone.now() if secret else None

    def webhook_secret(self) -> str:
        """The webhook signing secret in clear, to sign a delivery; "" when none is set."""
        from portal import signing

        if not self.webhook_secret_sealed:
            return ""
        return signing.unseal(self.webhook_secret_sealed, self._webhook_context()).decode()

    def _webhook_context(self) -> str:
        if self.pk is None:
            raise ValueError("A node's webhook secret is bound to its id: save the node first.")
        return f"datasets.datanode:{self.pk}:webhook"


class NodeApiKey(ApiKey):
    """A data node's key for the node API: `Authorization: Api-Key <key>`. It sees what its node
    may see: the permits of the datasets the node hosts, or all of them for a broker node."""

    KEY_PREFIX = NODE_KEY_PREFIX

    node = models.ForeignKey(DataNode, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, help_text="What the key is for, e.g. “beacon production”.")

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "node API key"


class DataAccessCommittee(models.Model):
    """A data-access committee and its review policy. Members hold guardian object permissions
    on this row according to their role (datasets.permissions.ROLE_PERMISSIONS)."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    contact_email = models.EmailField()
    quorum = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1)], help_text="Votes needed before the chair may decide."
    )
    default_permit_months = models.PositiveSmallIntegerField(default=12, validators=[MinValueValidator(1)])
    max_permit_months = models.PositiveSmallIntegerField(
        default=36, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    auto_approve = models.BooleanField(
        default=False,
        help_text="Approve without a vote when the dataset is GRU or HMB without modifiers and the matcher "
        "approves a purpose that has no free text.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "data access committee"
        permissions = [
            ("view_committee_work", "See the committee's reviews, votes and discussion"),
            ("vote", "Vote on the committee's reviews"),
            ("decide", "Decide the committee's reviews"),
            ("manage_datasets", "Manage the committee's datasets and their data use"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(default_permit_months__lte=models.F("max_permit_months")),
                name="dac_default_within_max",
            )
        ]

    def __str__(self) -> str:
        return self.name


class DacMembership(models.Model):
    class Role(models.TextChoices):
        CHAIR = "chair", "Chair"
        MEMBER = "member", "Member"
        SECRETARY = "secretary", "Secretary"

    dac = models.ForeignKey(DataAccessCommittee, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dac_memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dac", "role", "user__name"]
        constraints = [models.UniqueConstraint(fields=["dac", "user"], name="one_membership_per_dac")]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.dac})"


class DataType(models.TextChoices):
    WGS = "wgs", "Whole genome sequencing"
    WES = "wes", "Whole exome sequencing"
    GENOTYPING = "genotyping", "Genotyping array"
    RNA_SEQ = "rna_seq", "RNA sequencing"
    METHYLATION = "methylation", "DNA methylation"
    PHENOTYPE = "phenotype", "Phenotype and clinical data"
    IMAGING = "imaging", "Imaging"


class DatasetQuerySet(models.QuerySet):
    def published(self) -> DatasetQuerySet:
        return self.filter(status=Dataset.Status.PUBLISHED)

    def with_profile(self) -> DatasetQuerySet:
        return self.select_related("dac", "current_profile__permission").prefetch_related(
            "nodes", "current_profile__diseases"
        )


# What a resource id may look like: printable ASCII without blanks (an archive accession, a DOI, a URL).
RESOURCE_ID_VALIDATOR = RegexValidator(
    r"^[!-~]+$", "A resource identifier is printable ASCII without spaces (e.g. EGAD00001000001)."
)


class Dataset(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    accession = models.CharField(max_length=16, unique=True, editable=False)
    title = models.CharField(max_length=300)
    description = models.TextField()
    dac = models.ForeignKey(DataAccessCommittee, on_delete=models.PROTECT, related_name="datasets")
    nodes = models.ManyToManyField(DataNode, related_name="datasets", blank=True)
    participants = models.PositiveIntegerField(default=0)
    data_types = ArrayField(models.CharField(max_length=16, choices=DataType.choices), default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    agreement_version = models.CharField(
        "data access agreement version", max_length=32, default="1.0", help_text="Applicants accept this version."
    )
    agreement_text = models.TextField("data access agreement", blank=True)
    resource_id = models.CharField(
        "resource identifier",
        max_length=255,
        blank=True,
        validators=[RESOURCE_ID_VALIDATOR],
        help_text="The identifier the hosting data nodes use for this dataset (e.g. an archive accession): "
        "the value of its visas. Empty: the dataset's URL on this portal.",
    )
    current_profile = models.OneToOneField(
        "DataUseProfile", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DatasetQuerySet.as_manager()

    class Meta:
        ordering = ["accession"]
        indexes = [models.Index(fields=["status", "dac"])]
        constraints = [
            models.UniqueConstraint(
                fields=["resource_id"], condition=~models.Q(resource_id=""), name="one_dataset_per_resource_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.accession} {self.title}"

    @property
    def resource(self) -> str:
        """What the hosting nodes know the dataset by, the `value` of its visas: its resource id, else
        its URL on this portal without the trailing slash."""
        return self.resource_id or f"{settings.PORTAL_BASE_URL}/datasets/{self.accession}"

    @property
    def data_type_labels(self) -> list[str]:
        return [DataType(t).label for t in self.data_types if t in DataType.values]


class DataUseProfile(models.Model):
    """One version of a dataset's data-use profile. Rows are never changed: an edit adds a new
    version and moves Dataset.current_profile to it, so history is kept with who and when."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="profile_versions")
    version = models.PositiveIntegerField()
    permission = models.ForeignKey(DataUseTerm, on_delete=models.PROTECT, related_name="+")
    diseases = models.ManyToManyField(DiseaseTerm, related_name="profiles", blank=True)
    modifiers = models.JSONField(default=list, blank=True, help_text="Modifiers in the API's shape.")
    free_text = models.TextField(blank=True)
    duo_version = models.CharField(max_length=16, default=duo.DUO_VERSION)
    change_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["dataset", "-version"]
        constraints = [models.UniqueConstraint(fields=["dataset", "version"], name="one_profile_per_version")]

    def __str__(self) -> str:
        return f"{self.dataset.accession} data use v{self.version}"

    def as_data_use(self) -> duo.DataUse:
        """The typed profile; the row was validated when it was written."""
        return duo.parse_data_use(
            {
                "duo_version": self.duo_version,
                "permission": self.permission_id,
                "diseases": sorted(d.id for d in self.diseases.all()),
                "modifiers": self.modifiers,
                "free_text": self.free_text,
            },
            known_diseases=lambda ids: ids,
        )
