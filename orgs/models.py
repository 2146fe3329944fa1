"""Organization tree, regions, workplaces to be covered, instructor assignments."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet

from orgs.permissions import Role
from orgs.scoping import ScopedQuerySet, path_q


class Industry(models.TextChoices):
    EXPRESS = "express", _("快递")
    FOOD_DELIVERY = "food_delivery", _("外卖配送")
    RIDE_HAILING = "ride_hailing", _("网约车")
    FREIGHT = "freight", _("网络货运")
    LIVE_STREAMING = "live_streaming", _("网络直播")
    DOMESTIC = "domestic", _("网约家政")
    MIXED = "mixed", _("综合")


# ---------------------------------------------------------------- regions
class RegionKind(models.TextChoices):
    DISTRICT = "district", _("区")
    STREET = "street", _("街道")
    COMMUNITY = "community", _("社区")


class Region(MP_Node):
    """District → street → community (a treebeard tree; a region's area is its path prefix)."""

    steplen = 3
    name = models.CharField(_("名称"), max_length=60)
    code = models.CharField(_("区划代码"), max_length=20, unique=True)
    kind = models.CharField(_("层级"), max_length=20, choices=RegionKind.choices)

    class Meta:
        verbose_name = _("区域")
        verbose_name_plural = _("区域")

    def __str__(self) -> str:
        return self.name


# ---------------------------------------------------------------- organizations
class OrgKind(models.TextChoices):
    DISTRICT_COMMITTEE = "district_committee", _("区委（两新工委）")
    INDUSTRY_COMMITTEE = "industry_committee", _("行业党委")
    REGIONAL_COMMITTEE = "regional_committee", _("区域党委")
    GENERAL_BRANCH = "general_branch", _("党总支")
    BRANCH = "branch", _("党支部")
    JOINT_BRANCH = "joint_branch", _("联合党支部")
    PARTY_GROUP = "party_group", _("党小组")


BRANCH_KINDS = (OrgKind.BRANCH, OrgKind.JOINT_BRANCH)
COMMITTEE_KINDS = (OrgKind.DISTRICT_COMMITTEE, OrgKind.INDUSTRY_COMMITTEE, OrgKind.REGIONAL_COMMITTEE)
# Which kinds may sit under which (a Party group only under a branch).
ALLOWED_CHILD_KINDS: dict[str, tuple[str, ...]] = {
    OrgKind.DISTRICT_COMMITTEE: (
        OrgKind.INDUSTRY_COMMITTEE, OrgKind.REGIONAL_COMMITTEE, OrgKind.GENERAL_BRANCH, OrgKind.BRANCH, OrgKind.JOINT_BRANCH,
    ),
    OrgKind.INDUSTRY_COMMITTEE: (
        OrgKind.REGIONAL_COMMITTEE, OrgKind.GENERAL_BRANCH, OrgKind.BRANCH, OrgKind.JOINT_BRANCH,
    ),
    OrgKind.REGIONAL_COMMITTEE: (OrgKind.GENERAL_BRANCH, OrgKind.BRANCH, OrgKind.JOINT_BRANCH),
    OrgKind.GENERAL_BRANCH: (OrgKind.BRANCH, OrgKind.JOINT_BRANCH),
    OrgKind.BRANCH: (OrgKind.PARTY_GROUP,),
    OrgKind.JOINT_BRANCH: (OrgKind.PARTY_GROUP,),
    OrgKind.PARTY_GROUP: (),
}


class FormationMode(models.TextChoices):
    SINGLE = "single", _("单独组建")
    JOINT = "joint", _("联合组建")
    AREA = "area", _("区域联建")
    INDUSTRY = "industry", _("行业统建")


class OrgStatus(models.TextChoices):
    ACTIVE = "active", _("正常")
    DISSOLVED = "dissolved", _("已撤销")


class OrganizationQuerySet(MP_NodeQuerySet, ScopedQuerySet):
    def active(self):
        return self.filter(status=OrgStatus.ACTIVE)


class OrganizationManager(MP_NodeManager):
    """treebeard's manager (tree API) returning our scoped queryset, ordered by path."""

    def get_queryset(self):
        return OrganizationQuerySet(self.model, using=self._db).order_by("path")

    def restrict(self, user, action: str = "view"):
        return self.get_queryset().restrict(user, action)

    def active(self):
        return self.get_queryset().active()


class Organization(MP_Node):
    """A Party organization; a grant or a figure for a node covers its subtree (path prefix)."""

    steplen = 4
    scope_resource = "org"

    kind = models.CharField(_("组织类别"), max_length=30, choices=OrgKind.choices)
    name = models.CharField(_("组织名称"), max_length=100)
    code = models.CharField(_("组织代码"), max_length=30, unique=True)
    formation_mode = models.CharField(_("组建方式"), max_length=20, choices=FormationMode.choices, blank=True)
    industry = models.CharField(_("行业"), max_length=30, choices=Industry.choices, blank=True)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, null=True, blank=True, related_name="orgs", verbose_name=_("所在区域"))
    workplaces = models.ManyToManyField("Workplace", blank=True, related_name="covering_orgs", verbose_name=_("覆盖单位"))
    secretary_name = models.CharField(_("书记"), max_length=50, blank=True)
    established_on = models.DateField(_("成立日期"), null=True, blank=True)
    document_number = models.CharField(_("批复文号"), max_length=60, blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=OrgStatus.choices, default=OrgStatus.ACTIVE)
    dissolved_on = models.DateField(_("撤销日期"), null=True, blank=True)
    has_committee = models.BooleanField(_("设支部委员会"), default=False)
    committee_elected_on = models.DateField(_("本届委员会选举日期"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = OrganizationManager()

    class Meta:
        verbose_name = _("党组织")
        verbose_name_plural = _("党组织")
        indexes = [models.Index(fields=["kind", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="active", dissolved_on__isnull=True) | Q(status="dissolved", dissolved_on__isnull=False),
                name="org_dissolved_on_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_branch(self) -> bool:
        return self.kind in BRANCH_KINDS

    @property
    def is_active(self) -> bool:
        return self.status == OrgStatus.ACTIVE

    def clean(self):
        if self.kind in BRANCH_KINDS and not self.formation_mode:
            raise ValidationError({"formation_mode": _("党支部须填写组建方式。")})
        if self.kind == OrgKind.JOINT_BRANCH and self.formation_mode == FormationMode.SINGLE:
            raise ValidationError({"formation_mode": _("联合党支部的组建方式不能是“单独组建”。")})

    @classmethod
    def scope_q(cls, *, user, paths, action):
        return path_q("path", paths) if paths else None


class OrgEventKind(models.TextChoices):
    ESTABLISHED = "established", _("成立")
    RENAMED = "renamed", _("更名")
    MOVED = "moved", _("调整隶属关系")
    MERGED = "merged", _("合并")
    DISSOLVED = "dissolved", _("撤销")
    UPDATED = "updated", _("信息变更")
    COVERAGE = "coverage", _("覆盖单位调整")


class OrgEvent(models.Model):
    """History of an org: written only by orgs.actions, never edited."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="events", verbose_name=_("党组织"))
    kind = models.CharField(_("变更类型"), max_length=20, choices=OrgEventKind.choices)
    happened_on = models.DateField(_("日期"))
    document_number = models.CharField(_("文号"), max_length=60, blank=True)
    reason = models.TextField(_("原因"), blank=True)
    details = models.JSONField(_("变更内容"), default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("操作人"))
    created_at = models.DateTimeField(_("记录时间"), default=timezone.now)

    class Meta:
        verbose_name = _("组织变更记录")
        verbose_name_plural = _("组织变更记录")
        ordering = ["-happened_on", "-id"]

    def __str__(self) -> str:
        return f"{self.org} {self.get_kind_display()} {self.happened_on}"


# ---------------------------------------------------------------- workplaces
class WorkplaceKind(models.TextChoices):
    PLATFORM = "platform", _("平台企业")
    FRANCHISE = "franchise", _("加盟合作企业")
    STATION = "station", _("配送站点/快递网点")
    SORTING_CENTER = "sorting_center", _("分拣中心")
    BUSINESS_DISTRICT = "business_district", _("商圈")
    BUILDING = "building", _("楼宇")
    PARK = "park", _("园区")


class WorkplaceQuerySet(ScopedQuerySet):
    pass


class Workplace(models.Model):
    """A place to be covered (两个覆盖). Its responsible org is the committee that must cover it."""

    scope_resource = "workplace"

    name = models.CharField(_("单位名称"), max_length=100)
    kind = models.CharField(_("单位类型"), max_length=30, choices=WorkplaceKind.choices)
    industry = models.CharField(_("行业"), max_length=30, choices=Industry.choices)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    latitude = models.DecimalField(
        _("纬度"), max_digits=9, decimal_places=6, null=True, blank=True,
        validators=[MinValueValidator(-90, _("纬度应在 -90 到 90 之间。")), MaxValueValidator(90, _("纬度应在 -90 到 90 之间。"))],
    )
    longitude = models.DecimalField(
        _("经度"), max_digits=9, decimal_places=6, null=True, blank=True,
        validators=[MinValueValidator(-180, _("经度应在 -180 到 180 之间。")), MaxValueValidator(180, _("经度应在 -180 到 180 之间。"))],
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="workplaces", verbose_name=_("所在区域"))
    responsible_org = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="responsible_workplaces", verbose_name=_("属地/行业主管党组织"),
        help_text=_("负责推动该单位实现两个覆盖的党组织"),
    )
    gig_worker_count = models.PositiveIntegerField(_("新就业群体从业人数"), default=0)
    has_trade_union = models.BooleanField(_("已建工会"), default=False)
    is_active = models.BooleanField(_("在营"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = WorkplaceQuerySet.as_manager()

    class Meta:
        verbose_name = _("覆盖单位")
        verbose_name_plural = _("覆盖单位")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["industry", "kind"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__gte=-90, latitude__lte=90) | Q(latitude__isnull=True), name="workplace_latitude_range",
                violation_error_message=_("纬度应在 -90 到 90 之间。"),
            ),
            models.CheckConstraint(
                condition=Q(longitude__gte=-180, longitude__lte=180) | Q(longitude__isnull=True), name="workplace_longitude_range",
                violation_error_message=_("经度应在 -180 到 180 之间。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def in_subtrees_q(cls, paths: list[str]) -> Q:
        """Workplaces belonging to the subtrees at `paths`: responsible there, or covered by an active org there.

        The same predicate serves scoping, the org-subtree filter and coverage aggregation,
        so an org page's figures equal the workplace list filtered to that subtree.
        """
        if not paths:
            return Q(pk__in=[])
        covered_there = Organization.workplaces.through.objects.filter(
            workplace_id=OuterRef("pk"), organization__status=OrgStatus.ACTIVE
        ).filter(path_q("organization__path", paths))
        return path_q("responsible_org__path", paths) | Q(Exists(covered_there))

    @classmethod
    def scope_q(cls, *, user, paths, action):
        q = cls.in_subtrees_q(paths) if paths else None
        if action == "view":
            today = timezone.localdate()
            assigned = Assignment.objects.filter(
                workplace_id=OuterRef("pk"), instructor__user_id=user.pk, started_on__lte=today
            ).filter(Q(ended_on__isnull=True) | Q(ended_on__gte=today))
            q = Q(Exists(assigned)) if q is None else q | Q(Exists(assigned))
        return q


class WorkplaceEventKind(models.TextChoices):
    UPDATED = "updated", _("信息变更")
    HEADCOUNT = "headcount", _("从业人数调整")


class WorkplaceEvent(models.Model):
    """History of a workplace: written only by orgs.actions, never edited. `details` maps each changed
    field to [old, new]; `source` says where a change came from (a form, a roster comparison)."""

    workplace = models.ForeignKey(Workplace, on_delete=models.CASCADE, related_name="events", verbose_name=_("单位"))
    kind = models.CharField(_("变更类型"), max_length=20, choices=WorkplaceEventKind.choices)
    details = models.JSONField(_("变更内容"), default=dict, blank=True)
    source = models.CharField(_("来源"), max_length=200, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("操作人"))
    created_at = models.DateTimeField(_("记录时间"), default=timezone.now)

    class Meta:
        verbose_name = _("单位变更记录")
        verbose_name_plural = _("单位变更记录")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.workplace} {self.get_kind_display()} {self.created_at:%Y-%m-%d}"


# ---------------------------------------------------------------- instructors
class Instructor(models.Model):
    """A Party-building instructor or liaison; may have a portal account."""

    scope_resource = "assignment"

    name = models.CharField(_("姓名"), max_length=50)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="instructor", verbose_name=_("账号"))
    org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="instructors", verbose_name=_("所属党组织"))
    title = models.CharField(_("单位职务"), max_length=100, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("党建指导员/联络员")
        verbose_name_plural = _("党建指导员/联络员")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, *, user, paths, action):
        q = path_q("org__path", paths) if paths else None
        if action != "view":
            return q
        own = Q(user_id=user.pk)  # an instructor always sees their own record, and only sees it
        return own if q is None else q | own


class AssignmentRole(models.TextChoices):
    INSTRUCTOR = "instructor", _("党建指导员")
    LIAISON = "liaison", _("党建联络员")


class Assignment(models.Model):
    """An instructor or liaison assigned to a workplace or an org for a period."""

    scope_resource = "assignment"

    instructor = models.ForeignKey(Instructor, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("指导员/联络员"))
    role = models.CharField(_("身份"), max_length=20, choices=AssignmentRole.choices, default=AssignmentRole.INSTRUCTOR)
    workplace = models.ForeignKey(Workplace, on_delete=models.CASCADE, null=True, blank=True, related_name="assignments", verbose_name=_("联系单位"))
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="assignments", verbose_name=_("联系党组织"))
    started_on = models.DateField(_("开始日期"))
    ended_on = models.DateField(_("结束日期"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("指导员选派")
        verbose_name_plural = _("指导员选派")
        ordering = ["-started_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(workplace__isnull=False, org__isnull=True) | Q(workplace__isnull=True, org__isnull=False),
                name="assignment_exactly_one_target",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="assignment_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instructor} → {self.workplace or self.org}"

    def clean(self):
        if (self.workplace_id is None) == (self.org_id is None):
            raise ValidationError(_("请选择联系单位或联系党组织中的一项。"))
        if self.ended_on and self.started_on and self.ended_on < self.started_on:
            raise ValidationError({"ended_on": _("结束日期不能早于开始日期。")})

    @classmethod
    def scope_q(cls, *, user, paths, action):
        q = (
            path_q("instructor__org__path", paths) | path_q("org__path", paths) | path_q("workplace__responsible_org__path", paths)
            if paths else None
        )
        if action != "view":
            return q
        own = Q(instructor__user_id=user.pk)  # an instructor sees (never edits) their own assignments
        return own if q is None else q | own


# ---------------------------------------------------------------- role grants (moved here in step 7, same table)
class RoleGrant(models.Model):
    """A role held at an org node; it covers the node's whole subtree."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants", verbose_name=_("用户"))
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, related_name="grants", verbose_name=_("党组织"))
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(_("授予时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        db_table = "portal_rolegrant"  # created before step 7 under the foundation app
        constraints = [models.UniqueConstraint(fields=["user", "org", "role"], name="rolegrant_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} @ {self.org}"


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
        db_table = "portal_securityevent"  # created before step 7 under the foundation app
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"
