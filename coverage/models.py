"""Coverage snapshots and their rows (figures of an org subtree at one moment, kept for trends).

Moved here from the foundation app in step 7; the tables keep their names (db_table)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orgs.scoping import ScopedQuerySet, path_q


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
        db_table = "portal_coveragesnapshot"  # created before step 7 under the foundation app
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
        db_table = "portal_snapshotrow"  # created before step 7 under the foundation app
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
