from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from accounts import services
from accounts.models import Institution, NodeApiKey, PersonalToken, User


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "organisation_type", "ror_id"]
    list_filter = ["organisation_type", "country"]
    search_fields = ["name", "ror_id"]


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")
        field_classes: dict = {}


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes: dict = {}


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    ordering = ["email"]
    list_display = ["email", "name", "institution", "email_verified_at", "is_staff", "is_active"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "name", "orcid"]
    readonly_fields = ["sub", "date_joined", "last_login"]
    autocomplete_fields = ["institution"]
    fieldsets = [
        (None, {"fields": ["email", "password", "sub"]}),
        ("Profile", {"fields": ["name", "institution", "country", "orcid", "email_verified_at"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "name", "usable_password", "password1", "password2"]})
    ]


@admin.register(PersonalToken)
class PersonalTokenAdmin(admin.ModelAdmin):
    """Staff can see and revoke tokens. Tokens are created only by their owner or by the
    create_user_token command, where the key can be shown once; the hash is never shown."""

    list_display = ["user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), ("expires_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "name", "prefix"]
    list_select_related = ["user"]
    fields = ["user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke_selected"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_selected(self, request, queryset) -> None:
        for token in queryset:
            services.personal_token_revoke(token=token, actor=request.user)
        self.message_user(request, f"{queryset.count()} token(s) revoked.", messages.SUCCESS)


class NodeKeyCreationForm(forms.ModelForm):
    days = forms.IntegerField(
        required=False, min_value=1, max_value=services.TOKEN_MAX_DAYS, help_text="Empty: valid until revoked."
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
            "list_url": reverse("admin:accounts_nodeapikey_changelist"),
        }
        response = HttpResponse(KEY_CREATED_PAGE.render(context, request))
        add_never_cache_headers(response)
        return response

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset) -> None:
        for key in queryset:
            services.node_key_revoke(key=key, actor=request.user)
        self.message_user(request, f"{queryset.count()} key(s) revoked; their nodes are refused from now on.")
