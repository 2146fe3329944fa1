"""Service requests (诉求) from gig workers, their categories and timelines; service points (驿站 and
党群服务中心) and the 15-minute service circle (nearest point per workplace).

Shaped after Open311 GeoReport v2 (a service = category with a responsible body and an expected
resolution time; requests with typed states) and CiviCRM case timelines (every change is an entry).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orgs.scoping import ScopedQuerySet, path_q


# ---------------------------------------------------------------- categories
class ExtraField(models.TextChoices):
    """Extra intake fields a category may require (kept in ServiceRequest.extra under these keys)."""

    EMPLOYER = "employer", _("用工单位或平台")
    AMOUNT_OWED = "amount_owed", _("拖欠金额（元）")
    OWED_SINCE = "owed_since", _("拖欠起始月份")
    CHILD_GRADE = "child_grade", _("子女拟入学年级")
    HOUSING_AREA = "housing_area", _("意向居住片区")
    LOCATION_DETAIL = "location_detail", _("具体路段或地点")


class Routing(models.TextChoices):
    WORKPLACE_FIRST = "workplace_first", _("优先交覆盖所在单位的党支部，无则交类别责任组织")
    CATEGORY_ORG = "category_org", _("始终交类别责任组织")


class ServiceCategory(models.Model):
    """A kind of request (Open311 'service'): guidance, required extra fields, routing and SLA."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    guidance = models.TextField(_("办理指引"), help_text=_("在提交页展示给提出人"))
    required_fields = models.JSONField(_("必填补充项"), default=list, blank=True, help_text=_("ExtraField 代码列表"))
    routing = models.CharField(_("分派方式"), max_length=20, choices=Routing.choices, default=Routing.WORKPLACE_FIRST)
    default_org = models.ForeignKey(
        "orgs.Organization", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("责任党组织/部门"),
    )
    sla_hours = models.PositiveIntegerField(_("办理时限（小时）"), validators=[MinValueValidator(1)])
    position = models.PositiveSmallIntegerField(_("排序"), default=0)
    enabled = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("诉求类别")
        verbose_name_plural = _("诉求类别")
        ordering = ["position", "id"]
        constraints = [models.CheckConstraint(condition=Q(sla_hours__gte=1), name="category_sla_positive")]

    def __str__(self) -> str:
        return self.name


class ReplyTemplate(models.Model):
    """A reply staff can start from; placeholders {code} {category} {org} are filled in."""

    category = models.ForeignKey(
        ServiceCategory, on_delete=models.CASCADE, null=True, blank=True, related_name="reply_templates",
        verbose_name=_("类别"), help_text=_("留空为通用模板"),
    )
    title = models.CharField(_("标题"), max_length=60)
    body = models.TextField(_("内容"))
    position = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("回复模板")
        verbose_name_plural = _("回复模板")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


# ---------------------------------------------------------------- requests
class RequestStatus(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    ACCEPTED = "accepted", _("已受理")
    IN_PROGRESS = "in_progress", _("办理中")
    RESOLVED = "resolved", _("已办结待确认")
    CLOSED = "closed", _("已关闭")
    REOPENED = "reopened", _("已重新打开")
    REJECTED = "rejected", _("不予受理")


#: States in which the request is still someone's work (SLA runs, overdue applies).
OPEN_STATUSES = (RequestStatus.SUBMITTED, RequestStatus.ACCEPTED, RequestStatus.IN_PROGRESS, RequestStatus.REOPENED)

#: The state machine: status -> statuses reachable from it (the actions check this table).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    RequestStatus.SUBMITTED: (RequestStatus.ACCEPTED, RequestStatus.REJECTED),
    RequestStatus.ACCEPTED: (RequestStatus.IN_PROGRESS, RequestStatus.RESOLVED, RequestStatus.REJECTED),
    RequestStatus.IN_PROGRESS: (RequestStatus.RESOLVED, RequestStatus.REJECTED),
    RequestStatus.REOPENED: (RequestStatus.IN_PROGRESS, RequestStatus.RESOLVED),
    RequestStatus.RESOLVED: (RequestStatus.CLOSED, RequestStatus.REOPENED),
    RequestStatus.CLOSED: (),
    RequestStatus.REJECTED: (),
}


class Priority(models.TextChoices):
    LOW = "low", _("一般")
    NORMAL = "normal", _("普通")
    HIGH = "high", _("紧急")
    URGENT = "urgent", _("特急")


class MemberAnswer(models.TextChoices):
    YES = "yes", _("是党员")
    NO = "no", _("不是党员")
    UNKNOWN = "unknown", _("不愿说明")


class ServiceRequestQuerySet(ScopedQuerySet):
    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, now=None):
        return self.open().filter(due_at__lt=now or timezone.now())


class ServiceRequest(models.Model):
    """One request from a gig worker. The requester's phone is personal data: encrypted, with a blind
    index for the per-phone abuse limit. The tracking page opens with the tracking code plus the 查询密码
    given at submission (only its keyed hash is kept); rows from before it existed have no hash and open
    with the complete phone number instead (services/credentials.py)."""

    scope_resource = "service_request"

    tracking_code = models.CharField(_("查询码"), max_length=16, unique=True, editable=False)
    category = models.ForeignKey(ServiceCategory, on_delete=models.PROTECT, related_name="requests", verbose_name=_("类别"))
    description = models.TextField(_("诉求内容"))
    extra = models.JSONField(_("补充信息"), default=dict, blank=True)
    requester_name = models.CharField(_("提出人"), max_length=50)
    requester_phone_encrypted = models.TextField(_("联系电话（密文）"), editable=False)
    requester_phone_index = models.CharField(_("联系电话索引"), max_length=64, db_index=True, editable=False)
    access_secret_hash = models.CharField(_("查询密码（哈希）"), max_length=64, blank=True, default="", editable=False)
    member_answer = models.CharField(_("是否党员"), max_length=10, choices=MemberAnswer.choices, default=MemberAnswer.UNKNOWN)
    workplace = models.ForeignKey(
        "orgs.Workplace", on_delete=models.SET_NULL, null=True, blank=True, related_name="service_requests",
        verbose_name=_("所在单位"),
    )
    place = models.CharField(_("地点"), max_length=200, blank=True)
    latitude = models.DecimalField(
        _("纬度"), max_digits=9, decimal_places=6, null=True, blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("经度"), max_digits=9, decimal_places=6, null=True, blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    region = models.ForeignKey("orgs.Region", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("所在街道/社区"))
    responsible_org = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, related_name="service_requests", verbose_name=_("承办党组织"),
    )
    escalated_to = models.ForeignKey(
        "orgs.Organization", on_delete=models.SET_NULL, null=True, blank=True, related_name="escalated_requests",
        verbose_name=_("已升级至"),
    )
    escalation_level = models.PositiveSmallIntegerField(_("升级次数"), default=0)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_requests",
        verbose_name=_("经办人"),
    )
    priority = models.CharField(_("优先级"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("状态"), max_length=20, choices=RequestStatus.choices, default=RequestStatus.SUBMITTED)
    submitted_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    due_at = models.DateTimeField(_("办理期限"))
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("重新打开次数"), default=0)
    satisfaction = models.PositiveSmallIntegerField(
        _("满意度"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    satisfaction_comment = models.TextField(_("评价"), blank=True)
    reject_reason = models.TextField(_("不予受理理由"), blank=True)
    redirect_to = models.CharField(_("建议办理渠道"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ServiceRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("服务诉求")
        verbose_name_plural = _("服务诉求")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["responsible_org", "status"]),
            models.Index(fields=["submitted_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="request_satisfaction_1_5", violation_error_message=_("满意度须为 1 到 5 分。"),
            ),
            models.CheckConstraint(
                condition=~Q(status="closed") | Q(closed_at__isnull=False),
                name="request_closed_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(reject_reason=""), name="request_rejected_has_reason",
                violation_error_message=_("不予受理须说明理由。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_code} {self.category}"

    @classmethod
    def scope_q(cls, *, user, paths, action):
        return path_q("responsible_org__path", paths) if paths else None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, now=None) -> bool:
        return self.is_open and self.due_at < (now or timezone.now())

    @property
    def display_code(self) -> str:
        code = self.tracking_code
        return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


class EntryKind(models.TextChoices):
    SUBMITTED = "submitted", _("提交诉求")
    ACCEPTED = "accepted", _("受理")
    STARTED = "started", _("开始办理")
    RESOLVED = "resolved", _("办结")
    CLOSED = "closed", _("确认关闭")
    AUTO_CLOSED = "auto_closed", _("逾期未确认自动关闭")
    REOPENED = "reopened", _("重新打开")
    REJECTED = "rejected", _("不予受理")
    REROUTED = "rerouted", _("改派")
    ASSIGNED = "assigned", _("指定经办人")
    PRIORITY = "priority", _("调整优先级")
    ESCALATED = "escalated", _("逾期升级")
    NOTE = "note", _("内部备注")
    REPLY = "reply", _("回复")
    REVEALED = "revealed", _("查看联系电话")


class TimelineEntry(models.Model):
    """One change, note or reply on a request. `public` entries are what the requester sees."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="timeline", verbose_name=_("诉求"))
    kind = models.CharField(_("类型"), max_length=20, choices=EntryKind.choices)
    public = models.BooleanField(_("对提出人可见"), default=False)
    body = models.TextField(_("内容"), blank=True)
    from_status = models.CharField(_("原状态"), max_length=20, choices=RequestStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=20, choices=RequestStatus.choices, blank=True)
    from_org = models.ForeignKey("orgs.Organization", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("原承办组织"))
    to_org = models.ForeignKey("orgs.Organization", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("新承办组织"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("操作人"), help_text=_("为空表示提出人本人或系统"),
    )
    by_requester = models.BooleanField(_("提出人操作"), default=False)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["request", "created_at"])]

    def __str__(self) -> str:
        return f"{self.request_id} {self.kind}"


class PublicHitKind(models.TextChoices):
    INTAKE_ADDRESS = "intake_address", _("按来源地址提交")
    INTAKE_PHONE = "intake_phone", _("按手机号提交")
    TRACK_ADDRESS = "track_address", _("按来源地址查询")


class PublicHit(models.Model):
    """One counted use of a public page, keyed by a keyed hash (never the raw address or phone).

    Abuse limits count these rows in a window, so they hold across gunicorn workers and hosts
    without a shared cache. Old rows are purged by a periodic task."""

    kind = models.CharField(_("类型"), max_length=20, choices=PublicHitKind.choices)
    key = models.CharField(_("键（哈希）"), max_length=64)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("公开页面访问计数")
        verbose_name_plural = _("公开页面访问计数")
        indexes = [models.Index(fields=["kind", "key", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.created_at:%Y-%m-%d %H:%M}"


class RequesterRevealLog(models.Model):
    """A staff member saw a requester's full phone number (like members.RevealLog)."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("查看人"))
    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="reveals", verbose_name=_("诉求"))
    reason = models.CharField(_("查看事由"), max_length=200)
    created_at = models.DateTimeField(_("查看时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("提出人电话查看记录")
        verbose_name_plural = _("提出人电话查看记录")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor} {self.request_id} {self.created_at:%Y-%m-%d %H:%M}"


# ---------------------------------------------------------------- service points
class PointKind(models.TextChoices):
    PARTY_CENTER = "party_center", _("党群服务中心")
    STATION = "station", _("小哥驿站/暖心驿站")
    ACADEMY = "academy", _("小哥学院")
    APARTMENT = "apartment", _("小哥公寓")


class PointStatus(models.TextChoices):
    OPEN = "open", _("开放")
    PAUSED = "paused", _("暂停开放")
    CLOSED = "closed", _("已撤销")


#: Amenity boolean fields, in display order (DOMAIN.md: rest, water, charging, microwave, toilet, medicine box).
AMENITIES = ("has_rest", "has_water", "has_charging", "has_microwave", "has_toilet", "has_medicine_box", "has_wifi")


class ServicePoint(models.Model):
    """A place gig workers can use: a service centre, a rest station, a college or an apartment."""

    scope_resource = "service_point"

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=PointKind.choices)
    address = models.CharField(_("地址"), max_length=200)
    latitude = models.DecimalField(
        _("纬度"), max_digits=9, decimal_places=6,
        validators=[MinValueValidator(-90, _("纬度应在 -90 到 90 之间。")), MaxValueValidator(90, _("纬度应在 -90 到 90 之间。"))],
    )
    longitude = models.DecimalField(
        _("经度"), max_digits=9, decimal_places=6,
        validators=[MinValueValidator(-180, _("经度应在 -180 到 180 之间。")), MaxValueValidator(180, _("经度应在 -180 到 180 之间。"))],
    )
    region = models.ForeignKey("orgs.Region", on_delete=models.PROTECT, related_name="service_points", verbose_name=_("所在区域"))
    operator_org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="service_points", verbose_name=_("运营党组织"))
    opening_hours = models.CharField(_("开放时间"), max_length=100, help_text=_("例如：每天 08:00–22:00"))
    phone = models.CharField(_("服务电话"), max_length=30, blank=True, help_text=_("对外公布的座机或服务电话"))
    has_rest = models.BooleanField(_("歇脚休息"), default=True)
    has_water = models.BooleanField(_("饮水"), default=True)
    has_charging = models.BooleanField(_("充电"), default=False)
    has_microwave = models.BooleanField(_("微波炉热饭"), default=False)
    has_toilet = models.BooleanField(_("如厕"), default=False)
    has_medicine_box = models.BooleanField(_("应急药箱"), default=False)
    has_wifi = models.BooleanField(_("无线网络"), default=False)
    other_amenities = models.CharField(_("其他服务"), max_length=200, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=PointStatus.choices, default=PointStatus.OPEN)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("服务阵地")
        verbose_name_plural = _("服务阵地")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["status", "latitude", "longitude"])]
        constraints = [
            models.CheckConstraint(condition=Q(latitude__gte=-90, latitude__lte=90), name="point_latitude_range",
                                   violation_error_message=_("纬度应在 -90 到 90 之间。")),
            models.CheckConstraint(condition=Q(longitude__gte=-180, longitude__lte=180), name="point_longitude_range",
                                   violation_error_message=_("经度应在 -180 到 180 之间。")),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, *, user, paths, action):
        return path_q("operator_org__path", paths) if paths else None

    @property
    def amenity_labels(self) -> list[str]:
        return [str(self._meta.get_field(name).verbose_name) for name in AMENITIES if getattr(self, name)]


class WorkplaceReach(models.Model):
    """The 15-minute circle, materialized: a workplace's nearest open service point and the
    straight-line distance to it. Recomputed when points or workplace coordinates change (and
    nightly); whether it is within reach compares `distance_m` with the rule row at read time,
    so editing the rule needs no recomputation."""

    workplace = models.OneToOneField("orgs.Workplace", on_delete=models.CASCADE, primary_key=True, related_name="reach", verbose_name=_("单位"))
    nearest_point = models.ForeignKey(ServicePoint, on_delete=models.CASCADE, related_name="+", verbose_name=_("最近服务阵地"))
    distance_m = models.PositiveIntegerField(_("直线距离（米）"), db_index=True)
    computed_at = models.DateTimeField(_("计算时间"), default=timezone.now)

    class Meta:
        verbose_name = _("15分钟服务圈")
        verbose_name_plural = _("15分钟服务圈")

    def __str__(self) -> str:
        return f"{self.workplace_id} → {self.nearest_point_id} {self.distance_m} m"
