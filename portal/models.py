"""Cross-cutting models: the user, role grants on the org tree, and rule rows."""

from decimal import Decimal

from django.conf import settings
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


# ---------------------------------------------------------------- notifications (in-app inbox)
class NotificationKind(models.TextChoices):
    REMINDER = "reminder", _("提醒")
    REPORT = "report", _("报表")
    SYSTEM = "system", _("系统")


class Notification(models.Model):
    """One message in a user's inbox. Written by portal.actions.notifications only."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("接收人"))
    kind = models.CharField(_("类别"), max_length=20, choices=NotificationKind.choices, default=NotificationKind.SYSTEM)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    # The send-log row a reminder came from (written in the same INSERT as the notification: no UPDATE).
    reminder_send = models.OneToOneField(
        "portal.ReminderSend", on_delete=models.SET_NULL, null=True, blank=True, related_name="notification", verbose_name=_("提醒发送记录")
    )

    class Meta:
        verbose_name = _("站内通知")
        verbose_name_plural = _("站内通知")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"]), models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return self.title


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


# ---------------------------------------------------------------- coverage snapshots and reports
# Imported here, not at the top: portal.scoping -> portal.permissions needs Role (defined above).
from portal.scoping import ScopedQuerySet, path_q  # noqa: E402


class SnapshotKind(models.TextChoices):
    MONTHLY = "monthly", _("月度")
    ON_DEMAND = "on_demand", _("临时")


class SnapshotStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("生成中")
    READY = "ready", _("已完成")
    FAILED = "failed", _("失败")


class CoverageSnapshot(models.Model):
    """Coverage, member, compliance and service figures of one org subtree at one moment, kept for trends.
    Monthly ones are taken by beat for every top org (unique per org and month); district staff take more
    on demand. The .xlsx report is built from the stored rows and kept in the row (web and worker may run
    on different hosts: no shared file system is assumed)."""

    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="snapshots", verbose_name=_("党组织"))
    kind = models.CharField(_("类别"), max_length=10, choices=SnapshotKind.choices)
    period_start = models.DateField(_("所属期间起"))
    period_end = models.DateField(_("所属期间止"))
    status = models.CharField(_("状态"), max_length=10, choices=SnapshotStatus.choices, default=SnapshotStatus.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("申请人")
    )
    requested_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    taken_at = models.DateTimeField(_("统计时点"), null=True, blank=True)
    report = models.BinaryField(_("报表文件"), null=True, blank=True, editable=False)
    report_built_at = models.DateTimeField(_("报表生成时间"), null=True, blank=True)
    error = models.TextField(_("错误"), blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_resource = "snapshot"

    class Meta:
        verbose_name = _("覆盖情况快照")
        verbose_name_plural = _("覆盖情况快照")
        ordering = ["-period_start", "-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "period_start"], condition=models.Q(kind="monthly"), name="snapshot_monthly_once"
            ),
            models.CheckConstraint(condition=models.Q(period_end__gte=models.F("period_start")), name="snapshot_period_order"),
        ]

    def __str__(self) -> str:
        return f"{self.org} {self.period_start:%Y-%m} {self.get_kind_display()}"

    @classmethod
    def scope_q(cls, *, user, paths, action):
        return path_q("org__path", paths) if paths else None


class SnapshotDimension(models.TextChoices):
    TOTAL = "total", _("合计")
    ORG = "org", _("党组织")
    REGION = "region", _("街道")
    INDUSTRY = "industry", _("行业")


class SnapshotRow(models.Model):
    """One line of a snapshot: the figures of the whole subtree, one org below it, one street or one industry."""

    snapshot = models.ForeignKey(CoverageSnapshot, on_delete=models.CASCADE, related_name="rows", verbose_name=_("快照"))
    dimension = models.CharField(_("维度"), max_length=10, choices=SnapshotDimension.choices)
    key = models.CharField(_("键"), max_length=60)
    label = models.CharField(_("名称"), max_length=100)
    position = models.PositiveIntegerField(_("顺序"), default=0)
    # coverage (orgs.selectors.CoverageFigures)
    workplaces = models.PositiveIntegerField(_("应覆盖单位"), default=0)
    org_covered = models.PositiveIntegerField(_("组织覆盖"), default=0)
    work_covered = models.PositiveIntegerField(_("工作覆盖"), default=0)
    uncovered = models.PositiveIntegerField(_("空白点"), default=0)
    gig_workers = models.PositiveIntegerField(_("新就业群体人数"), default=0)
    gig_workers_org_covered = models.PositiveIntegerField(_("组织覆盖人数"), default=0)
    gig_workers_work_covered = models.PositiveIntegerField(_("工作覆盖人数"), default=0)
    needs_own_branch = models.PositiveIntegerField(_("应单独建支部"), default=0)
    within_reach = models.PositiveIntegerField(_("15分钟服务圈内单位"), default=0)
    gig_workers_within_reach = models.PositiveIntegerField(_("15分钟服务圈内人数"), default=0)
    # members
    members_full = models.PositiveIntegerField(_("正式党员"), default=0)
    members_probationary = models.PositiveIntegerField(_("预备党员"), default=0)
    members_mobile = models.PositiveIntegerField(_("流动党员"), default=0)
    # organizational life (compliance for the period)
    branches = models.PositiveIntegerField(_("支部数"), default=0)
    branches_behind = models.PositiveIntegerField(_("未达标支部"), default=0)
    compliance_expected = models.PositiveIntegerField(_("应开展次数"), default=0)
    compliance_met = models.PositiveIntegerField(_("已达标次数"), default=0)
    # service requests
    requests_received = models.PositiveIntegerField(_("本期受理诉求"), default=0)
    requests_open = models.PositiveIntegerField(_("未办结诉求"), default=0)
    requests_overdue = models.PositiveIntegerField(_("超期诉求"), default=0)
    requests_closed = models.PositiveIntegerField(_("本期办结诉求"), default=0)
    satisfaction_sum = models.PositiveIntegerField(_("满意度合计"), default=0)
    satisfaction_count = models.PositiveIntegerField(_("评价数"), default=0)

    class Meta:
        verbose_name = _("快照数据行")
        verbose_name_plural = _("快照数据行")
        ordering = ["snapshot", "dimension", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["snapshot", "dimension", "key"], name="snapshotrow_unique")]

    def __str__(self) -> str:
        return f"{self.snapshot} · {self.label}"

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    @property
    def org_rate(self) -> float | None:
        return self._rate(self.org_covered, self.workplaces)

    @property
    def work_rate(self) -> float | None:
        return self._rate(self.work_covered, self.workplaces)

    @property
    def reach_rate(self) -> float | None:
        return self._rate(self.within_reach, self.workplaces)

    @property
    def gig_reach_rate(self) -> float | None:
        return self._rate(self.gig_workers_within_reach, self.gig_workers)

    @property
    def compliance_rate(self) -> float | None:
        return self._rate(self.compliance_met, self.compliance_expected)

    @property
    def satisfaction_avg(self) -> float | None:
        return round(self.satisfaction_sum / self.satisfaction_count, 2) if self.satisfaction_count else None


# ---------------------------------------------------------------- security events (rate limits and their log)
class SecurityEventKind(models.TextChoices):
    ROSTER_UPLOAD = "roster_upload", _("花名册比对上传")
    DUPLICATE_REFUSED = "duplicate_refused", _("重复登记被拒")
    RATE_LIMITED = "rate_limited", _("操作频率超限")


class SecurityEvent(models.Model):
    """Who did a sensitive, rate-limited thing, and when. Counted for per-user limits (the rows are the
    limit's window) and listed for district staff. Never holds an ID number or phone."""

    kind = models.CharField(_("类别"), max_length=30, choices=SecurityEventKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("用户"))
    org = models.ForeignKey("orgs.Organization", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("党组织"))
    address = models.CharField(_("来源地址"), max_length=64, blank=True)
    details = models.JSONField(_("说明"), default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("安全事件")
        verbose_name_plural = _("安全事件")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"


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
