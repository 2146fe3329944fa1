"""Cross-cutting models: the user, role grants on the org tree, and rule rows."""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """Portal account. Access comes from RoleGrant rows, never from Django groups."""

    display_name = models.CharField(_("显示名称"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


class Role(models.TextChoices):
    DISTRICT = "district", _("区委组织部工作人员")
    SECRETARY = "secretary", _("支部书记")
    INSTRUCTOR = "instructor", _("党建指导员")
    VIEWER = "viewer", _("统计查看")


class RoleGrant(models.Model):
    """A role held at an org node; it covers the node's whole subtree."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants", verbose_name=_("用户"))
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, related_name="grants", verbose_name=_("党组织"))
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(_("授予时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        constraints = [models.UniqueConstraint(fields=["user", "org", "role"], name="rolegrant_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} @ {self.org}"


class Rule(models.Model):
    """A rule whose value local practice changes (DOMAIN.md: *rule row*)."""

    key = models.SlugField(_("规则键"), max_length=60, unique=True)
    label = models.CharField(_("名称"), max_length=100)
    value = models.DecimalField(_("取值"), max_digits=12, decimal_places=2)
    unit = models.CharField(_("单位"), max_length=20, blank=True)
    description = models.TextField(_("说明"), blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("规则")
        verbose_name_plural = _("规则")
        ordering = ["key"]
        constraints = [models.CheckConstraint(condition=models.Q(value__gte=Decimal("0")), name="rule_value_non_negative")]

    def __str__(self) -> str:
        return f"{self.label} = {self.value}{self.unit}"


class WorkerHeartbeat(models.Model):
    """Last time a Celery worker ran the heartbeat task (shown on the health page)."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    seen_at = models.DateTimeField(_("最近心跳"))
    count = models.PositiveBigIntegerField(_("次数"), default=0)

    class Meta:
        verbose_name = _("后台任务心跳")
        verbose_name_plural = _("后台任务心跳")

    def __str__(self) -> str:
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"
