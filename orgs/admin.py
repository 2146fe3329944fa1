"""Django admin (superusers only) for role grants and the security log; grants also show on the user's page."""

from django.contrib import admin

from core.admin import PortalUserAdmin, ReadOnlyAdmin
from orgs.models import RoleGrant, SecurityEvent


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    extra = 0
    raw_id_fields = ["org"]
    readonly_fields = ["created_at"]


PortalUserAdmin.inlines = [*PortalUserAdmin.inlines, RoleGrantInline]


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "org", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user", "org"]
    search_fields = ["user__username", "user__display_name", "org__name", "org__code"]
    raw_id_fields = ["user", "org"]
    readonly_fields = ["created_at"]


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    """The security log, read-only (the district staff's own page is /security/)."""

    list_display = ["created_at", "kind", "user", "org", "address"]
    list_filter = ["kind"]
    list_select_related = ["user", "org"]
    date_hierarchy = "created_at"
    fields = ["created_at", "kind", "user", "org", "address", "details"]
    readonly_fields = fields
