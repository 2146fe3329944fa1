"""The inbox (Notification) and the reminders that fill it: rules, runs and the send log.

Moved here from the foundation app in step 7; the tables keep their names (db_table)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orgs.models import Role


# ---------------------------------------------------------------- reminder rules and the send log
class ReminderKind(models.TextChoices):
    MEETING_DUE = "meeting_due", _("组织生活未达标（周期将结束）")
    TRANSFER_WAITING = "transfer_waiting", _("组织关系转接久未办结")
    LETTER_LAPSING = "letter_lapsing", _("介绍信即将过期")
    PROBATION_ENDING = "probation_ending", _("预备期即将届满")
    ACTIVIST_REVIEW_DUE = "activist_review_due", _("积极分子考察到期")
    TERM_ENDING = "term_ending", _("支部委员会任期即将届满")
    REQUEST_DUE_SOON = "request_due_soon", _("诉求即将到期")
    REQUEST_OVERDUE = "request_overdue", _("诉求已超期")
    MOBILE_CARD_EXPIRING = "mobile_card_expiring", _("流动党员活动证即将到期")


class OffsetUnit(models.TextChoices):
    DAY = "day", _("天")
    MONTH = "month", _("月")


class Direction(models.TextChoices):
    BEFORE = "before", _("之前")
    AFTER = "after", _("之后")


class Channel(models.TextChoices):
    IN_APP = "in_app", _("站内通知")
    EMAIL = "email", _("电子邮件")


RECIPIENT_ROLES = (Role.SECRETARY, Role.INSTRUCTOR, Role.DISTRICT)

# Which side of the reference date a kind's reminders fall on (the rules form shows it, does not edit it).
# Reference dates: meeting_due the end of the unmet cycle; transfer_waiting the request date; letter_lapsing
# the letter's last valid day; probation_ending the probation's end; activist_review_due the next half-yearly
# review date; term_ending the committee term's end; request_due_soon / request_overdue the local due date;
# mobile_card_expiring the card's last valid day.
KIND_DIRECTION = {
    ReminderKind.MEETING_DUE: Direction.BEFORE,
    ReminderKind.TRANSFER_WAITING: Direction.AFTER,
    ReminderKind.LETTER_LAPSING: Direction.BEFORE,
    ReminderKind.PROBATION_ENDING: Direction.BEFORE,
    ReminderKind.ACTIVIST_REVIEW_DUE: Direction.BEFORE,
    ReminderKind.TERM_ENDING: Direction.BEFORE,
    ReminderKind.REQUEST_DUE_SOON: Direction.BEFORE,
    ReminderKind.REQUEST_OVERDUE: Direction.AFTER,
    ReminderKind.MOBILE_CARD_EXPIRING: Direction.BEFORE,
}


class ReminderRule(models.Model):
    """A scheduled reminder (DOMAIN.md "Reminders and reports"; CiviCRM's scheduled reminders).

    A send falls due `offset` days/months before or after an object's reference date (the kind says which
    date), then every `repeat_every_days` up to `repeat_limit` more times while the condition holds. Sends
    whose due date is before `effective_from` are never made: a new rule does not mail the past.
    """

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("提醒类型"), max_length=30, choices=ReminderKind.choices)
    offset = models.PositiveIntegerField(_("提前/延后量"), default=0)
    offset_unit = models.CharField(_("时间单位"), max_length=10, choices=OffsetUnit.choices, default=OffsetUnit.DAY)
    direction = models.CharField(_("方向"), max_length=10, choices=Direction.choices, default=Direction.BEFORE)
    repeat_every_days = models.PositiveIntegerField(_("重复间隔（天）"), default=0, help_text=_("0 表示不重复"))
    repeat_limit = models.PositiveSmallIntegerField(_("最多重复次数"), default=0)
    recipients = models.JSONField(_("接收角色"), default=list)
    channels = models.JSONField(_("发送渠道"), default=list)
    subject_template = models.CharField(_("标题模板"), max_length=200)
    body_template = models.TextField(_("正文模板"))
    enabled = models.BooleanField(_("启用"), default=True)
    effective_from = models.DateField(_("生效日期"), help_text=_("早于此日期应发的提醒一律不发"))
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("更新人")
    )

    class Meta:
        db_table = "portal_reminderrule"  # created before step 7 under the foundation app
        verbose_name = _("提醒规则")
        verbose_name_plural = _("提醒规则")
        ordering = ["kind", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(repeat_every_days__gt=0) | models.Q(repeat_limit=0), name="reminderrule_repeat_needs_interval"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    RUNNING = "running", _("运行中")
    OK = "ok", _("成功")
    FAILED = "failed", _("失败")


class ReminderRun(models.Model):
    """One sweep of one rule on one day: what it found and sent (the rules page shows the latest)."""

    rule = models.ForeignKey(ReminderRule, on_delete=models.CASCADE, related_name="runs", verbose_name=_("提醒规则"))
    day = models.DateField(_("日期"))
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    candidates = models.PositiveIntegerField(_("符合条件"), default=0)
    sent = models.PositiveIntegerField(_("新发送"), default=0)
    emailed = models.PositiveIntegerField(_("邮件发送"), default=0)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        db_table = "portal_reminderrun"  # created before step 7 under the foundation app
        verbose_name = _("提醒运行记录")
        verbose_name_plural = _("提醒运行记录")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["rule", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.rule} @ {self.day}"


class SendStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")
    SKIPPED = "skipped", _("无邮箱，未发")


class ReminderSend(models.Model):
    """The send log: one row per (rule, object, reference date, repetition, recipient, channel), unique in the
    database. A sweep claims rows with INSERT ... ON CONFLICT DO NOTHING and delivers only the rows it
    inserted, so a retry, a second worker or a second beat never sends twice."""

    rule = models.ForeignKey(ReminderRule, on_delete=models.PROTECT, related_name="sends", verbose_name=_("提醒规则"))
    object_id = models.PositiveBigIntegerField(_("对象编号"))
    object_label = models.CharField(_("对象"), max_length=200, blank=True)
    reference_date = models.DateField(_("参考日期"))
    repetition = models.PositiveSmallIntegerField(_("第几次"), default=0)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("接收人"))
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    run = models.ForeignKey(ReminderRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="sends", verbose_name=_("运行"))
    status = models.CharField(_("状态"), max_length=10, choices=SendStatus.choices, default=SendStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    error = models.CharField(_("错误"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("记录时间"), default=timezone.now)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    class Meta:
        db_table = "portal_remindersend"  # created before step 7 under the foundation app
        verbose_name = _("提醒发送记录")
        verbose_name_plural = _("提醒发送记录")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "object_id", "reference_date", "repetition", "recipient", "channel"], name="remindersend_once"
            ),
        ]
        indexes = [models.Index(fields=["rule", "channel", "status"])]

    def __str__(self) -> str:
        return f"{self.rule} · {self.object_label} · {self.reference_date} #{self.repetition}"


# ---------------------------------------------------------------- notifications (in-app inbox)
class NotificationKind(models.TextChoices):
    REMINDER = "reminder", _("提醒")
    REPORT = "report", _("报表")
    SYSTEM = "system", _("系统")


class Notification(models.Model):
    """One message in a user's inbox. Written by notifications.actions.inbox only."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("接收人"))
    kind = models.CharField(_("类别"), max_length=20, choices=NotificationKind.choices, default=NotificationKind.SYSTEM)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    # The send-log row a reminder came from (written in the same INSERT as the notification: no UPDATE).
    reminder_send = models.OneToOneField(
        "notifications.ReminderSend", on_delete=models.SET_NULL, null=True, blank=True, related_name="notification", verbose_name=_("提醒发送记录")
    )

    class Meta:
        db_table = "portal_notification"  # created before step 7 under the foundation app
        verbose_name = _("站内通知")
        verbose_name_plural = _("站内通知")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"]), models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return self.title
