from contextvars import ContextVar

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm

from accounts import services
from accounts.forms import ReplacesPassword
from accounts.models import FederatedIdentity, Institution, PersonalToken, User
from accounts.services import PasswordChange

# The staff member behind the admin's password form in this request: Django builds that form
# with the user alone, and the tokens it revokes are audited with who did it.
_password_actor: ContextVar[User | None] = ContextVar("password_actor", default=None)


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


class StaffPasswordForm(ReplacesPassword, AdminPasswordChangeForm):
    """Staff set someone's password, or turn password sign-in off: their API tokens are revoked."""

    reason = PasswordChange.SET_BY_STAFF

    def password_actor(self) -> User | None:
        return _password_actor.get()


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes: dict = {}


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    change_password_form = StaffPasswordForm
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

    def user_change_password(self, request, id, form_url=""):
        bound = _password_actor.set(request.user)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _password_actor.reset(bound)


@admin.register(PersonalToken)
class PersonalTokenAdmin(admin.ModelAdmin):
    """Staff can see and revoke tokens. Tokens are created only by their owner or by the
    create_user_token command, where the key can be shown once; the hash is never shown."""

    list_display = ["user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
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


@admin.register(FederatedIdentity)
class FederatedIdentityAdmin(admin.ModelAdmin):
    """A read-only listing: identities are linked by the provider's sign-in and unlinked through
    accounts.services, which audit each change; the admin writes none."""

    list_display = ["user", "issuer", "subject", "linked_at"]
    list_filter = ["issuer"]
    search_fields = ["user__email", "user__name", "subject"]
    list_select_related = ["user"]
    fields = ["user", "issuer", "subject", "linked_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
