"""Django admin for superusers (AdminSuperuserOnlyMiddleware answers 404 to everyone else).

Until the portal has its own pages for them, operators use admin for the foundation models only:
accounts (with user permissions, e.g. members.reveal_personal_data), rule values and the outbox here;
role grants and the security log in orgs/admin.py. Domain models (orgs, members, ...) are not registered: their
writes go through actions, which admin would bypass.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from core.models import AuditEntry, OutboxMessage, Rule, User

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
    inlines: list = []  # orgs/admin.py adds the role grants


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


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """Tasks waiting for (or delivered to) the broker, read-only: what a broker outage left behind."""

    list_display = ["created_at", "task", "attempts", "available_at", "sent_at", "last_error"]
    list_filter = ["task"]
    date_hierarchy = "created_at"
    fields = ["task", "kwargs", "created_at", "available_at", "attempts", "last_error", "sent_at"]
    readonly_fields = fields


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log, read-only (district staff read it on the portal's own page)."""

    list_display = ["created_at", "actor_label", "action", "object_repr", "address"]
    list_filter = ["action"]
    date_hierarchy = "created_at"
    search_fields = ["object_repr", "actor_label", "action"]
    fields = ["created_at", "actor", "actor_label", "address", "action", "object_type", "object_id", "object_repr", "org_path", "changes"]
    readonly_fields = fields
