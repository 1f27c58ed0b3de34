from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from portal import outbox
from portal.models import AuditEvent, OutboxMessage


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """View only: the log is evidence, and the database refuses edits anyway."""

    list_display = ["id", "created_at", "action", "target_type", "target_id", "actor_label"]
    list_filter = ["action", "target_type"]
    search_fields = ["target_id", "actor_label"]
    ordering = ["-id"]
    # The log only grows: skip the second COUNT(*) over the whole table on every page.
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False


class DeliveryFilter(admin.SimpleListFilter):
    title = "delivery"
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return [("sent", "Sent"), ("unsent", "Unsent"), ("gave_up", "Gave up")]

    def queryset(self, request, queryset):
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        if self.value() == "unsent":
            return queryset.filter(sent_at__isnull=True)
        if self.value() == "gave_up":
            return queryset.filter(outbox.gave_up())
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """View only, plus "retry now". Editing would race the workers that update these rows, and
    deleting an unsent row loses the message."""

    list_display = ["id", "kind", "created_at", "attempts", "sent_at", "next_attempt_at", "last_error_short"]
    list_filter = [DeliveryFilter, "kind"]
    ordering = ["-id"]
    actions = ["retry_now"]
    # The e-mail context may hold one-time links, so the detail page shows who and what, not it.
    fields = ["kind", "template", "recipients", "created_at", "attempts", "last_error", "next_attempt_at"]
    readonly_fields = fields

    @admin.display(description="last error")
    def last_error_short(self, obj: OutboxMessage) -> str:
        return obj.last_error[:80] + ("…" if len(obj.last_error) > 80 else "")

    @admin.display(description="template")
    def template(self, obj: OutboxMessage) -> str:
        return obj.payload.get("template", "")

    @admin.display(description="recipients")
    def recipients(self, obj: OutboxMessage) -> str:
        return ", ".join(obj.payload.get("to", []))

    @admin.action(description="Retry now (one more attempt for messages that gave up)", permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        count = outbox.retry_now(queryset)
        self.message_user(request, f"{count} unsent message(s) queued for delivery.", messages.SUCCESS)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("portal.change_outboxmessage")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return False
