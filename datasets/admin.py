from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from accounts.services import TOKEN_MAX_DAYS
from datasets import services
from datasets.models import DataNode, Dataset, NodeApiKey
from portal import audit
from portal.exceptions import InvalidInput


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


class DatasetResourceForm(forms.ModelForm):
    class Meta:
        model = Dataset
        fields = ["resource_id"]

    def clean_resource_id(self) -> str:
        try:
            return services.dataset_resource_id_check(
                dataset=self.instance, resource_id=self.cleaned_data.get("resource_id", "")
            )
        except InvalidInput as error:
            raise forms.ValidationError(error.extra["fields"]["resource_id"]) from None


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    """Staff set a dataset's resource identifier: what its hosting nodes call it (e.g. an archive
    accession), the `value` of its visas. Everything else about a dataset is read here, not edited:
    it has its own pages and services (the data-use profile is versioned)."""

    form = DatasetResourceForm
    list_display = ["accession", "title", "dac", "status", "resource_id"]
    list_filter = ["status", "dac"]
    search_fields = ["accession", "title", "resource_id"]
    list_select_related = ["dac"]
    fields = ["accession", "title", "dac", "status", "resource_id", "visa_value"]
    readonly_fields = ["accession", "title", "dac", "status", "visa_value"]

    @admin.display(description="value of its visas")
    def visa_value(self, obj: Dataset) -> str:
        return obj.resource

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Dataset | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Dataset, form: forms.ModelForm, change: bool) -> None:
        services.dataset_resource_id_set(dataset=obj, resource_id=obj.resource_id, actor=request.user)


def _plain(value: object) -> object:
    return value if value is None or isinstance(value, bool) else str(value)


class NodeKeyCreationForm(forms.ModelForm):
    days = forms.IntegerField(
        required=False, min_value=1, max_value=TOKEN_MAX_DAYS, help_text="Empty: valid until revoked."
    )

    class Meta:
        model = NodeApiKey
        fields = ["node", "name"]


# Rendered from the POST that created the key, never parked in a message: messages travel in a
# cookie (or the session) in clear until the next page, and the key must exist only on this page.
KEY_CREATED_PAGE = engines["django"].from_string(
    """{% extends "admin/base_site.html" %}
{% block content %}
<p>New API key “{{ key.name }}” for the data node <strong>{{ key.node }}</strong>
({% if key.expires_at %}expires {{ key.expires_at|date:"Y-m-d H:i" }} UTC{% else %}valid until revoked{% endif %}).</p>
<p>Copy it now and send it to the node's operators over a safe channel: it is shown only once,
the portal stores only its hash.</p>
<p><code id="node-key">{{ secret }}</code></p>
<p><a href="{{ list_url }}">Back to the node API keys</a></p>
{% endblock %}"""
)


@admin.register(NodeApiKey)
class NodeApiKeyAdmin(admin.ModelAdmin):
    """Staff create, see and revoke data nodes' keys. A new key is shown once, on the page that
    answers its creation; the hash is never shown. Keys are revoked, not deleted, so that the
    list keeps the history of who could read what."""

    list_display = ["node", "name", "display_prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), ("expires_at", admin.EmptyFieldListFilter), "node"]
    search_fields = ["node__slug", "node__name", "name", "prefix"]
    list_select_related = ["node"]
    shown_fields = ["node", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    actions = ["revoke_selected"]

    def get_fields(self, request: HttpRequest, obj: NodeApiKey | None = None) -> list[str]:
        return ["node", "name", "days"] if obj is None else self.shown_fields

    def get_readonly_fields(self, request: HttpRequest, obj: NodeApiKey | None = None) -> list[str]:
        return [] if obj is None else self.shown_fields

    def get_form(self, request: HttpRequest, obj: NodeApiKey | None = None, change: bool = False, **kwargs):
        if obj is None:
            kwargs["form"] = NodeKeyCreationForm
        return super().get_form(request, obj, change=change, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: NodeApiKey | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: NodeApiKey, form: forms.ModelForm, change: bool) -> None:
        if change:
            return  # every field is read-only: there is nothing to save
        row, secret = services.node_key_create(
            node=obj.node, name=obj.name, days=form.cleaned_data["days"], actor=request.user
        )
        obj.pk = row.pk
        obj.refresh_from_db()
        obj.new_secret = secret  # for response_add; never saved, gone with the request

    def response_add(self, request: HttpRequest, obj: NodeApiKey, post_url_continue: str | None = None):
        context = {
            **self.admin_site.each_context(request),
            "title": "New node API key",
            "key": obj,
            "secret": obj.new_secret,
            "list_url": reverse("admin:datasets_nodeapikey_changelist"),
        }
        response = HttpResponse(KEY_CREATED_PAGE.render(context, request))
        add_never_cache_headers(response)
        return response

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset) -> None:
        for key in queryset:
            services.node_key_revoke(key=key, actor=request.user)
        self.message_user(request, f"{queryset.count()} key(s) revoked; their nodes are refused from now on.")
