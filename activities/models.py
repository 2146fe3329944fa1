"""Organizational life (三会一课, 主题党日, 组织生活会, 民主评议 and other work): records with attendance,
minutes and files; compliance rules and exemptions as rows."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orgs.scoping import ScopedQuerySet, path_q


class ActivityKind(models.TextChoices):
    GENERAL_MEETING = "general_meeting", _("支部党员大会")
    COMMITTEE_MEETING = "committee_meeting", _("支部委员会")
    GROUP_MEETING = "group_meeting", _("党小组会")
    PARTY_LECTURE = "party_lecture", _("党课")
    THEME_DAY = "theme_day", _("主题党日")
    LIFE_MEETING = "life_meeting", _("组织生活会")
    APPRAISAL = "appraisal", _("民主评议党员")
    INSTRUCTOR_VISIT = "instructor_visit", _("指导员走访")
    VOLUNTEER = "volunteer", _("志愿服务")
    HEART_TALK = "heart_talk", _("谈心谈话")
    OTHER = "other", _("其他")


class ActivityStatus(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    RETURNED = "returned", _("退回修改")
    RESUBMITTED = "resubmitted", _("已重新提交")


class Activity(models.Model):
    """One meeting or piece of work of an org (and Party group where the kind needs one)."""

    scope_resource = "activity"

    kind = models.CharField(_("类型"), max_length=30, choices=ActivityKind.choices)
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="activities", verbose_name=_("党组织"))
    party_group = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="group_activities",
        verbose_name=_("党小组"),
    )
    starts_at = models.DateTimeField(_("开始时间"), db_index=True)
    ends_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    place = models.CharField(_("地点"), max_length=200, blank=True)
    online = models.BooleanField(_("线上开展"), default=False)
    topic = models.CharField(_("议题/主题"), max_length=200)
    host = models.CharField(_("主持人"), max_length=50, blank=True)
    recorder = models.CharField(_("记录人"), max_length=50, blank=True)
    lecturer = models.CharField(_("授课人"), max_length=50, blank=True)
    minutes = models.TextField(_("会议记录"), blank=True)
    decisions = models.TextField(_("决议事项"), blank=True)
    makes_decision = models.BooleanField(_("有表决事项"), default=False)
    voting_expected = models.PositiveIntegerField(_("应到有表决权党员"), default=0)
    voting_present = models.PositiveIntegerField(_("实到有表决权党员"), default=0)
    quorum_met = models.BooleanField(_("达到法定人数"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=ActivityStatus.choices, default=ActivityStatus.SUBMITTED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("登记人"))
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    # The one-time token of the "log a meeting" form that created the record: a second post of the same
    # form (double tap, retry) finds this row instead of creating another (unique, so also under a race).
    submission_token = models.CharField(_("提交令牌"), max_length=64, null=True, blank=True, unique=True, editable=False)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("组织生活记录")
        verbose_name_plural = _("组织生活记录")
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["org", "kind", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gte=models.F("starts_at")), name="activity_end_after_start",
                violation_error_message=_("结束时间不能早于开始时间。"),
            ),
            # One record per meeting: the same org (or Party group) cannot log the same kind at the same
            # start time twice, unless the earlier record was returned for correction.
            models.UniqueConstraint(
                fields=["org", "kind", "starts_at"], condition=Q(party_group__isnull=True) & ~Q(status="returned"),
                name="activity_unique_org_kind_start",
                violation_error_message=_("该党组织在同一开始时间已有一条同类型的记录。"),
            ),
            models.UniqueConstraint(
                fields=["party_group", "kind", "starts_at"], condition=Q(party_group__isnull=False) & ~Q(status="returned"),
                name="activity_unique_group_kind_start",
                violation_error_message=_("该党小组在同一开始时间已有一条同类型的记录。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.topic}"

    @classmethod
    def scope_q(cls, *, user, paths, action):
        return path_q("org__path", paths) if paths else None


class AttendanceStatus(models.TextChoices):
    PRESENT = "present", _("出席")
    ABSENT = "absent", _("缺席")
    LEAVE = "leave", _("请假")


class Attendance(models.Model):
    """A member expected at an activity; mobile members attend but do not count as voting."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="attendance", verbose_name=_("活动"))
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="attendance", verbose_name=_("党员"))
    status = models.CharField(_("出席情况"), max_length=10, choices=AttendanceStatus.choices, default=AttendanceStatus.PRESENT)
    leave_reason = models.CharField(_("请假事由"), max_length=200, blank=True)
    voting = models.BooleanField(_("有表决权"), default=True)

    class Meta:
        verbose_name = _("出席记录")
        verbose_name_plural = _("出席记录")
        constraints = [
            models.UniqueConstraint(fields=["activity", "member"], name="attendance_unique"),
            models.CheckConstraint(
                condition=~Q(status="leave") | ~Q(leave_reason=""), name="attendance_leave_has_reason",
                violation_error_message=_("请假须填写事由。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.get_status_display()}"


class ActivityFile(models.Model):
    """A photo or document of an activity, stored outside the public static path (MEDIA_ROOT) and
    served only by a scope-checked view."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="files", verbose_name=_("活动"))
    file = models.FileField(_("文件"), upload_to="activities/%Y/%m/")
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("类型"), max_length=100)
    size = models.PositiveIntegerField(_("大小（字节）"))
    is_photo = models.BooleanField(_("照片"), default=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("上传人"))
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    class Meta:
        verbose_name = _("活动附件")
        verbose_name_plural = _("活动附件")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class ActivityEventKind(models.TextChoices):
    SUBMITTED = "submitted", _("提交")
    RETURNED = "returned", _("退回修改")
    RESUBMITTED = "resubmitted", _("修改后重新提交")
    EDITED = "edited", _("修改")


class ActivityEvent(models.Model):
    """History of a record: submitted, returned for correction (with reason), resubmitted."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="events", verbose_name=_("活动"))
    kind = models.CharField(_("操作"), max_length=20, choices=ActivityEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("操作人"))
    reason = models.TextField(_("说明"), blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("记录变更")
        verbose_name_plural = _("记录变更")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.activity_id} {self.kind}"


class Cycle(models.TextChoices):
    MONTH = "month", _("每月")
    QUARTER = "quarter", _("每季度")
    YEAR = "year", _("每年")


class AppliesTo(models.TextChoices):
    BRANCH = "branch", _("党支部（含联合党支部）")
    BRANCH_WITH_COMMITTEE = "branch_with_committee", _("设支部委员会的党支部")
    PARTY_GROUP = "party_group", _("每个党小组")


class ComplianceRule(models.Model):
    """How often a kind of activity is due (rule row, seeded with DOMAIN defaults)."""

    kind = models.CharField(_("活动类型"), max_length=30, choices=ActivityKind.choices)
    cycle = models.CharField(_("周期"), max_length=10, choices=Cycle.choices)
    min_count = models.PositiveSmallIntegerField(_("最少次数"), default=1)
    applies_to = models.CharField(_("适用对象"), max_length=30, choices=AppliesTo.choices, default=AppliesTo.BRANCH)
    enabled = models.BooleanField(_("启用"), default=True)
    description = models.CharField(_("依据"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("组织生活规则")
        verbose_name_plural = _("组织生活规则")
        ordering = ["kind"]
        constraints = [models.UniqueConstraint(fields=["kind", "applies_to"], name="compliance_rule_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.get_cycle_display()} ≥{self.min_count}"


class Exemption(models.Model):
    """An explicit exemption of an org from a rule for a date range, with reason and approver."""

    scope_resource = "exemption"

    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, related_name="exemptions", verbose_name=_("党组织"))
    rule = models.ForeignKey(ComplianceRule, on_delete=models.CASCADE, null=True, blank=True, related_name="exemptions",
                             verbose_name=_("规则（空为全部）"))
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    reason = models.CharField(_("原因"), max_length=200)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("批准人"))
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("组织生活豁免")
        verbose_name_plural = _("组织生活豁免")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="exemption_end_after_start",
                                   violation_error_message=_("结束日期不能早于开始日期。")),
        ]

    def __str__(self) -> str:
        return f"{self.org} {self.starts_on}–{self.ends_on}"

    @classmethod
    def scope_q(cls, *, user, paths, action):
        return path_q("org__path", paths) if paths else None
