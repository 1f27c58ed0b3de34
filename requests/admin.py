"""The access workflow in the admin: shown, searched and filtered, never edited.

Applications, reviews and permits change only through `requests.services`, which check the
workflow's rules and write the audit event in the same transaction. An admin form that saved
these rows directly would be a back door around both, so every workflow model here is read-only
(no add, no change, no delete, no "delete selected"), and what operators may do is offered as an
action that calls the service.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.utils import timezone

from portal.exceptions import PortalError
from requests import services
from requests.models import (
    AgreementAcceptance,
    Application,
    ApplicationDataset,
    ApplicationVersion,
    Collaborator,
    DatasetDecision,
    Document,
    Permit,
    PermitEvent,
    Review,
    ReviewNote,
    Vote,
)
from requests.selectors.permits import STATE_LABELS, permit_state


class WorkflowAdmin(admin.ModelAdmin):
    """View only: the change page shows every field and cannot save."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        # Already hidden without the delete permission; removed outright so that granting it
        # later by mistake still cannot bring bulk deletion back.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class WorkflowInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class RequestedInline(WorkflowInline):
    model = ApplicationDataset
    fields = readonly_fields = ["dataset", "review", "match", "added_at"]


class CollaboratorInline(WorkflowInline):
    model = Collaborator
    fields = readonly_fields = ["email", "user", "invited_at"]


@admin.register(Application)
class ApplicationAdmin(WorkflowAdmin):
    list_display = ["pk", "title", "applicant", "status", "version", "submitted_at", "updated_at"]
    list_filter = ["status"]
    search_fields = ["title", "applicant__email", "applicant__name"]
    list_select_related = ["applicant"]
    inlines = [RequestedInline, CollaboratorInline]


@admin.register(ApplicationDataset)
class ApplicationDatasetAdmin(WorkflowAdmin):
    list_display = ["application", "dataset", "review", "added_at"]
    list_filter = ["dataset__dac"]
    search_fields = ["dataset__accession", "application__title", "application__applicant__email"]
    list_select_related = ["application", "dataset", "review__dac"]


@admin.register(Collaborator)
class CollaboratorAdmin(WorkflowAdmin):
    list_display = ["email", "application", "user", "invited_at"]
    search_fields = ["email", "user__email", "application__title"]
    list_select_related = ["application", "user"]


@admin.register(AgreementAcceptance)
class AgreementAcceptanceAdmin(WorkflowAdmin):
    list_display = ["application", "dataset", "user", "agreement_version", "accepted_at"]
    search_fields = ["user__email", "dataset__accession", "application__title"]
    list_select_related = ["application", "dataset", "user"]


@admin.register(Document)
class DocumentAdmin(WorkflowAdmin):
    """Metadata only: the file itself is served solely by the checked download view."""

    list_display = ["pk", "application", "kind", "original_name", "size", "expires_on", "uploaded_at", "replaced_at"]
    list_filter = ["kind"]
    search_fields = ["original_name", "sha256", "application__title"]
    list_select_related = ["application"]


@admin.register(ApplicationVersion)
class ApplicationVersionAdmin(WorkflowAdmin):
    list_display = ["application", "number", "submitted_at", "submitted_by"]
    search_fields = ["application__title", "submitted_by__email"]
    list_select_related = ["application", "submitted_by"]


@admin.register(Review)
class ReviewAdmin(WorkflowAdmin):
    list_display = ["pk", "application", "dac", "status", "opened_at", "decided_at"]
    list_filter = ["status", "dac"]
    search_fields = ["application__title", "application__applicant__email"]
    list_select_related = ["application", "dac"]


@admin.register(Vote)
class VoteAdmin(WorkflowAdmin):
    list_display = ["review", "member", "choice", "conflict_of_interest", "updated_at"]
    list_filter = ["choice", "conflict_of_interest", "review__dac"]
    search_fields = ["member__email", "member__name"]
    list_select_related = ["review__dac", "member"]


@admin.register(ReviewNote)
class ReviewNoteAdmin(WorkflowAdmin):
    list_display = ["review", "kind", "author", "created_at"]
    list_filter = ["kind", "review__dac"]
    search_fields = ["author__email", "text"]
    list_select_related = ["review__dac", "author"]


@admin.register(DatasetDecision)
class DatasetDecisionAdmin(WorkflowAdmin):
    list_display = ["review", "dataset", "outcome", "months", "decided_by", "automatic_policy", "decided_at"]
    list_filter = ["outcome", "review__dac"]
    search_fields = ["dataset__accession", "review__application__title"]
    list_select_related = ["review__dac", "dataset", "decided_by"]


class RevokeSelectedForm(forms.Form):
    reason = forms.CharField(
        label="Reason for the revocation",
        # Room for the operator note the action appends (the service keeps 5000 characters).
        max_length=4500,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        error_messages={"required": "Give the reason for the revocation."},
        help_text="Each grantee reads this reason on their permits page.",
    )


# The intermediate page of "Revoke selected permits": revocation cannot be undone, so the
# operator sees what will be revoked and must give the reason before anything happens.
REVOKE_CONFIRMATION_PAGE = engines["django"].from_string(
    """{% extends "admin/base_site.html" %}
{% block content %}
<p>Revoke {{ permits|length }} permit{{ permits|length|pluralize }}? This cannot be undone.
Online permit checks refuse the grantee at once; visas already issued stay valid until they
expire. Permits that are no longer active are left as they are and reported.</p>
<ul>
{% for permit in permits %}<li>{{ permit }}: {{ permit.get_status_display }},
expires {{ permit.expires_at|date:"Y-m-d H:i" }} UTC</li>{% endfor %}
</ul>
<form method="post">{% csrf_token %}
{{ form.as_div }}
{% for permit in permits %}<input type="hidden" name="{{ checkbox_name }}" value="{{ permit.pk }}">{% endfor %}
<input type="hidden" name="action" value="revoke_selected">
<input type="hidden" name="confirm" value="yes">
<input type="submit" value="Revoke {{ permits|length }} permit{{ permits|length|pluralize }}">
<a href="" class="button cancel-link">No, take me back</a>
</form>
{% endblock %}"""
)


@admin.register(Permit)
class PermitAdmin(WorkflowAdmin):
    list_display = ["pk", "grantee", "dataset", "state", "starts_at", "expires_at", "revoked_at"]
    list_filter = ["status", "dataset__dac"]
    search_fields = ["grantee__email", "grantee__name", "dataset__accession"]
    list_select_related = ["grantee", "dataset"]
    actions = ["revoke_selected"]

    @admin.display(description="status", ordering="status")
    def state(self, permit: Permit) -> str:
        # The words every page uses: an active permit past its expiry reads "Expired".
        return STATE_LABELS[permit_state(permit, timezone.now())]

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("requests.change_permit")

    @admin.action(description="Revoke selected permits", permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[Permit]) -> HttpResponse | None:
        form = RevokeSelectedForm(request.POST if "confirm" in request.POST else None)
        if not form.is_valid():
            return self._revoke_confirmation(request, queryset, form)
        self._revoke(request, queryset, form.cleaned_data["reason"])
        return None

    def _revoke_confirmation(self, request: HttpRequest, queryset: QuerySet[Permit], form) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "Revoke permits",
            "opts": self.model._meta,
            "permits": list(queryset.select_related("grantee", "dataset")),
            "form": form,
            "checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return HttpResponse(REVOKE_CONFIRMATION_PAGE.render(context, request))

    def _revoke(self, request: HttpRequest, queryset: QuerySet[Permit], reason: str) -> None:
        # The operator acts as the portal's staff, not as a committee's chair: the service
        # records them as the one who revoked, in the permit and in the audit event.
        revoked, failures = 0, []
        for permit in queryset.select_related("grantee", "dataset"):
            try:
                services.permit_revoke(permit=permit, actor=request.user, reason=reason, as_operator=True)
            except PortalError as error:
                failures.append(f"{permit}: {error.message}")
            else:
                revoked += 1
        if revoked:
            self.message_user(request, f"{revoked} permit{'s' if revoked != 1 else ''} revoked.", messages.SUCCESS)
        if failures:
            self.message_user(request, "Not revoked: " + "; ".join(failures), messages.ERROR)


@admin.register(PermitEvent)
class PermitEventAdmin(WorkflowAdmin):
    list_display = ["id", "permit", "kind", "at", "expires_at"]
    list_filter = ["kind"]
    search_fields = ["permit__grantee__email", "permit__dataset__accession"]
    list_select_related = ["permit__grantee", "permit__dataset"]
    ordering = ["-id"]
    # The feed only grows: skip the second COUNT(*) over the whole table on every page.
    show_full_result_count = False
