from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import models, transaction
from django.http import HttpRequest

from datasets.models import DataNode
from portal import audit


@admin.register(DataNode)
class DataNodeAdmin(admin.ModelAdmin):
    """Staff edit data nodes; every change is audited, since the broker flag and the webhook URL
    decide who learns of which permits. The webhook secret is never shown: it is made, and shown
    once, by `manage.py set_node_webhook`. Nodes are not deleted: that would take their API keys'
    history with them."""

    list_display = ["name", "slug", "country", "is_broker", "has_webhook"]
    list_filter = ["is_broker", "country"]
    search_fields = ["slug", "name"]
    fields = [
        "slug",
        "name",
        "country",
        "base_url",
        "contact_email",
        "is_broker",
        "webhook_url",
        "webhook_secret_status",
        "created_at",
    ]
    readonly_fields = ["webhook_secret_status", "created_at"]
    # A URL typed without a scheme means https (Django 6's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="webhook", boolean=True)
    def has_webhook(self, obj: DataNode) -> bool:
        return bool(obj.webhook_url and obj.webhook_secret_set_at)

    @admin.display(description="webhook signing secret")
    def webhook_secret_status(self, obj: DataNode) -> str:
        if obj.webhook_secret_set_at is None:
            return "None: nothing is pushed. Run `manage.py set_node_webhook <slug> <url>` to make one."
        return f"Set {obj.webhook_secret_set_at:%Y-%m-%d %H:%M} UTC (rotate with `manage.py set_node_webhook`)."

    def has_delete_permission(self, request: HttpRequest, obj: DataNode | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: DataNode, form: forms.ModelForm, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if change and not form.changed_data:
                return
            after = {name: _plain(form.cleaned_data.get(name)) for name in form.changed_data}
            before = {name: _plain(form.initial.get(name)) for name in form.changed_data} if change else None
            audit.record(
                action="node.changed" if change else "node.created",
                target=obj,
                actor=request.user,
                before=before,
                after=after,
            )


def _plain(value: object) -> object:
    return value if value is None or isinstance(value, bool) else str(value)
