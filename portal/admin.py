"""Django admin for superusers (AdminSuperuserOnlyMiddleware answers 404 to everyone else).

Until the portal has its own pages for them, operators use admin for the foundation models only:
accounts (with user permissions, e.g. members.reveal_personal_data), role grants, rule values, and a
read-only view of the security log. Domain models (orgs, members, ...) are not registered: their
writes go through actions, which admin would bypass.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from portal.models import OutboxMessage, RoleGrant, Rule, SecurityEvent, User

admin.site.site_header = _("新就业群体党建工作平台 · 系统管理")
admin.site.site_title = _("系统管理")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Logs are read, never written, in admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    extra = 0
    raw_id_fields = ["org"]
    readonly_fields = ["created_at"]


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    """Django's UserAdmin (password hashing, groups, user permissions) plus the portal's display name and grants."""

    fieldsets = (
        *UserAdmin.fieldsets[:1],
        (_("个人信息"), {"fields": ("display_name", "first_name", "last_name", "email")}),
        *UserAdmin.fieldsets[2:],
    )
    list_display = ["username", "display_name", "is_active", "is_superuser", "last_login"]
    list_filter = ["is_active", "is_superuser", "groups"]
    search_fields = ["username", "display_name", "email"]
    inlines = [RoleGrantInline]


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "org", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user", "org"]
    search_fields = ["user__username", "user__display_name", "org__name", "org__code"]
    raw_id_fields = ["user", "org"]
    readonly_fields = ["created_at"]


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    """Rule rows are seeded by migrations and read by key: only the value (and its wording) changes here."""

    list_display = ["key", "label", "value", "unit", "updated_at"]
    search_fields = ["key", "label"]
    fields = ["key", "label", "value", "unit", "description", "updated_at"]
    readonly_fields = ["key", "unit", "updated_at"]

    def has_add_permission(self, request):
        return False  # a row nobody reads does nothing; new rules arrive with the code that reads them

    def has_delete_permission(self, request, obj=None):
        return False  # the code reads every seeded key: deleting one breaks the pages that need it


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    """The security log, read-only (the district staff's own page is /security/)."""

    list_display = ["created_at", "kind", "user", "org", "address"]
    list_filter = ["kind"]
    list_select_related = ["user", "org"]
    date_hierarchy = "created_at"
    fields = ["created_at", "kind", "user", "org", "address", "details"]
    readonly_fields = fields


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """Tasks waiting for (or delivered to) the broker, read-only: what a broker outage left behind."""

    list_display = ["created_at", "task", "attempts", "available_at", "sent_at", "last_error"]
    list_filter = ["task"]
    date_hierarchy = "created_at"
    fields = ["task", "kwargs", "created_at", "available_at", "attempts", "last_error", "sent_at"]
    readonly_fields = fields
