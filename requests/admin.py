from django.contrib import admin

from requests.models import (
    AgreementAcceptance,
    Application,
    ApplicationDataset,
    ApplicationVersion,
    Collaborator,
    Document,
    Review,
)


class RequestedInline(admin.TabularInline):
    model = ApplicationDataset
    extra = 0
    fields = ["dataset", "review", "match"]
    readonly_fields = ["match"]
    raw_id_fields = ["dataset", "review"]


class CollaboratorInline(admin.TabularInline):
    model = Collaborator
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["pk", "title", "applicant", "status", "version", "submitted_at", "updated_at"]
    list_filter = ["status"]
    search_fields = ["title", "applicant__email", "applicant__name"]
    raw_id_fields = ["applicant"]
    readonly_fields = ["version", "submitted_at", "withdrawn_at", "created_at", "updated_at"]
    inlines = [RequestedInline, CollaboratorInline]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["pk", "application", "dac", "status", "opened_at", "decided_at"]
    list_filter = ["status", "dac"]
    raw_id_fields = ["application"]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    """Metadata only: the file itself is served solely by the checked download view."""

    list_display = ["pk", "application", "kind", "original_name", "size", "expires_on", "uploaded_at", "replaced_at"]
    list_filter = ["kind"]
    readonly_fields = ["storage_name", "sha256", "size", "uploaded_by", "uploaded_at"]
    raw_id_fields = ["application"]


@admin.register(ApplicationVersion)
class ApplicationVersionAdmin(admin.ModelAdmin):
    list_display = ["application", "number", "submitted_at", "submitted_by"]
    readonly_fields = ["application", "number", "snapshot", "submitted_at", "submitted_by"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AgreementAcceptance)
class AgreementAcceptanceAdmin(admin.ModelAdmin):
    list_display = ["application", "dataset", "user", "agreement_version", "accepted_at"]
    raw_id_fields = ["application", "dataset", "user"]
