"""Foundation models: the user account, rule rows, the worker heartbeat and the transactional outbox.

The app's module is `core`; its label stays `portal` (apps.py) so that these tables and their migration
history are the ones created before step 7 (no table was renamed)."""

from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """Portal account. Access comes from RoleGrant rows, never from Django groups."""

    display_name = models.CharField(_("显示名称"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


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


# ---------------------------------------------------------------- transactional outbox (tasks to send to Celery)
class OutboxMessage(models.Model):
    """A Celery task to send, written in the same transaction as the rows it is about, so that a broker
    outage loses nothing: delivered right after commit and, failing that, by the sweep (portal.outbox_deliver)
    with backoff. Delivery is at-least-once; the tasks behind are idempotent. kwargs hold ids only."""

    task = models.CharField(_("任务"), max_length=200)
    kwargs = models.JSONField(_("参数"), default=dict, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    available_at = models.DateTimeField(_("可发送时间"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    last_error = models.TextField(_("最近错误"), blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("待发送任务")
        verbose_name_plural = _("待发送任务")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["available_at"], condition=models.Q(sent_at__isnull=True), name="portal_outbox_due"),
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"


# ---------------------------------------------------------------- the audit log (one for every write)
class AuditEntry(models.Model):
    """One write made through an action: who, when, from which address, on which object, what changed.

    Written by `core.audit.audit_record` inside the action's transaction (no write without its row, no row
    without its write). Personal data is masked in `changes` (encrypted columns and blind indexes never appear;
    fields an action marks as personal show a mask). `org_path` is the treebeard path of the org the object
    belongs to (a string, so the foundation needs no foreign key to orgs): the audit page filters a subtree
    with one prefix scan. Nobody edits or deletes rows through the portal (read-only admin, no action)."""

    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey("portal.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("操作人"))
    actor_label = models.CharField(_("操作人名称"), max_length=150, blank=True)  # kept if the account is deleted; "system" for tasks
    address = models.CharField(_("来源地址"), max_length=64, blank=True)
    action = models.CharField(_("操作"), max_length=60, db_index=True)  # "<resource>.<verb>", e.g. "org.update"
    object_type = models.CharField(_("对象类型"), max_length=60)  # app_label.model
    object_id = models.CharField(_("对象编号"), max_length=40, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    org_path = models.CharField(_("所属组织路径"), max_length=255, blank=True, db_index=True)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)  # {field: [before, after]} or {"note": ...}

    class Meta:
        verbose_name = _("操作日志")
        verbose_name_plural = _("操作日志")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object"),
                   models.Index(fields=["actor", "-created_at"], name="audit_actor_recent")]

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr} @ {self.created_at:%Y-%m-%d %H:%M}"
