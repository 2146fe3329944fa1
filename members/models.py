"""The member registry: protected personal data, the joining pipeline, transfers, roster comparison.

Personal data (身份证号, phone) is stored only encrypted (`*_encrypted`, Fernet via core.crypto) with
a keyed blind index (`*_index`) for equality look-ups; no column holds it in plaintext. Reads that show it
go through members.selectors (masked) or members.actions.member_reveal (logged).
Coverage selectors (orgs.selectors) count members from this table.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orgs.scoping import ScopedQuerySet, path_q


class Stage(models.TextChoices):
    APPLICANT = "applicant", _("入党申请人")
    ACTIVIST = "activist", _("入党积极分子")
    CANDIDATE = "candidate", _("发展对象")
    PROBATIONARY = "probationary", _("预备党员")
    FULL = "full", _("正式党员")


PARTY_MEMBER_STAGES = (Stage.PROBATIONARY, Stage.FULL)


class RelationKind(models.TextChoices):
    HELD = "held", _("组织关系在本支部")
    MOBILE = "mobile", _("流动党员（关系在外）")
    POCKET = "pocket", _("口袋党员")
    LOST_CONTACT = "lost_contact", _("失联党员")


# Members whose organizational relation is in the org (they count toward its size).
RELATION_HERE = (RelationKind.HELD, RelationKind.POCKET, RelationKind.LOST_CONTACT)


class Occupation(models.TextChoices):
    COURIER = "courier", _("快递员")
    RIDER = "rider", _("外卖骑手")
    RIDE_HAILING_DRIVER = "ride_hailing_driver", _("网约车司机")
    TRUCK_DRIVER = "truck_driver", _("货车司机")
    STREAMER = "streamer", _("网络主播")
    DOMESTIC_WORKER = "domestic_worker", _("网约家政")
    OTHER = "other", _("其他")


class Gender(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")


class Education(models.TextChoices):
    JUNIOR = "junior", _("初中及以下")
    SENIOR = "senior", _("高中/中专/技校")
    COLLEGE = "college", _("大专")
    BACHELOR = "bachelor", _("本科")
    POSTGRADUATE = "postgraduate", _("研究生")


class MemberRole(models.TextChoices):
    """Roles members take on (作用发挥)."""

    GRID = "grid", _("网格员")
    DEPUTY_BUILDING_HEAD = "deputy_building_head", _("居民楼“副楼长”")
    EMERGENCY_AGENT = "emergency_agent", _("应急需求代办员")
    CIVILITY_MONITOR = "civility_monitor", _("文明创建监督员")
    OPINION_MESSENGER = "opinion_messenger", _("社情民意传递员")
    MODEL_POST = "model_post", _("党员示范岗")
    VANGUARD = "vanguard", _("党员先锋队")


class Member(models.Model):
    scope_resource = "member"

    name = models.CharField(_("姓名"), max_length=50)
    gender = models.CharField(_("性别"), max_length=10, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    id_number_encrypted = models.TextField(_("身份证号（密文）"), blank=True, editable=False)
    id_number_index = models.CharField(_("身份证号索引"), max_length=64, null=True, blank=True, unique=True, editable=False)
    phone_encrypted = models.TextField(_("手机号（密文）"), blank=True, editable=False)
    phone_index = models.CharField(_("手机号索引"), max_length=64, null=True, blank=True, db_index=True, editable=False)
    ethnicity = models.CharField(_("民族"), max_length=20, blank=True, default="汉族")
    education = models.CharField(_("学历"), max_length=20, choices=Education.choices, blank=True)
    occupation = models.CharField(_("职业"), max_length=30, choices=Occupation.choices, default=Occupation.OTHER)
    employer = models.CharField(_("平台/用工单位"), max_length=100, blank=True)
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="members", verbose_name=_("所在党组织"))
    workplace = models.ForeignKey(
        "orgs.Workplace", on_delete=models.SET_NULL, null=True, blank=True, related_name="members", verbose_name=_("工作单位")
    )
    stage = models.CharField(_("发展阶段"), max_length=20, choices=Stage.choices)
    # Stage dates (入党申请 → 积极分子 → 发展对象 → 预备党员 → 正式党员)
    applied_on = models.DateField(_("递交入党申请日期"), null=True, blank=True)
    activist_on = models.DateField(_("确定为积极分子日期"), null=True, blank=True)
    candidate_on = models.DateField(_("列为发展对象日期"), null=True, blank=True)
    training_hours = models.PositiveSmallIntegerField(_("集中培训学时"), default=0)
    admitted_on = models.DateField(_("支部大会接收为预备党员日期"), null=True, blank=True)
    probation_extended_months = models.PositiveSmallIntegerField(_("预备期延长（月）"), default=0)
    full_on = models.DateField(_("转为正式党员日期"), null=True, blank=True)
    # Relation
    relation_kind = models.CharField(_("组织关系"), max_length=20, choices=RelationKind.choices, default=RelationKind.HELD)
    home_org_name = models.CharField(_("流出地党组织"), max_length=100, blank=True)
    mobile_card_number = models.CharField(_("流动党员活动证编号"), max_length=40, blank=True)
    mobile_card_valid_until = models.DateField(_("活动证有效期至"), null=True, blank=True)
    letter_number = models.CharField(_("介绍信编号"), max_length=40, blank=True, help_text=_("口袋党员持有的介绍信"))
    lost_contact_since = models.DateField(_("失联起始日期"), null=True, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("党员")
        verbose_name_plural = _("党员")
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["workplace", "stage"]),
            models.Index(fields=["org", "stage", "relation_kind"]),
        ]
        permissions = [("reveal_personal_data", _("可查看完整身份证号和手机号（须填写事由并留痕）"))]
        constraints = [
            models.CheckConstraint(
                condition=~Q(relation_kind="lost_contact") | Q(lost_contact_since__isnull=False),
                name="member_lost_contact_has_date",
                violation_error_message=_("失联党员须填写失联起始日期。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, *, user, paths, action):
        return path_q("org__path", paths) if paths else None

    @property
    def is_party_member(self) -> bool:
        return self.stage in PARTY_MEMBER_STAGES


class MemberRoleAssignment(models.Model):
    """A role a member takes on (作用发挥); a row per role so lists can filter by it."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="roles", verbose_name=_("党员"))
    role = models.CharField(_("作用发挥"), max_length=30, choices=MemberRole.choices)

    class Meta:
        verbose_name = _("作用发挥")
        verbose_name_plural = _("作用发挥")
        constraints = [models.UniqueConstraint(fields=["member", "role"], name="member_role_unique")]

    def __str__(self) -> str:
        return self.get_role_display()


class StageEvent(models.Model):
    """History of a member's stages: written by members.actions only."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="stage_events", verbose_name=_("党员"))
    from_stage = models.CharField(_("原阶段"), max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(_("新阶段"), max_length=20, choices=Stage.choices)
    happened_on = models.DateField(_("日期"))
    note = models.TextField(_("说明"), blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("操作人"))
    created_at = models.DateTimeField(_("记录时间"), default=timezone.now)

    class Meta:
        verbose_name = _("发展阶段记录")
        verbose_name_plural = _("发展阶段记录")
        ordering = ["-happened_on", "-id"]

    def __str__(self) -> str:
        return f"{self.member} → {self.get_to_stage_display()}"


class RevealField(models.TextChoices):
    ID_NUMBER = "id_number", _("身份证号")
    PHONE = "phone", _("手机号")


class RevealLog(models.Model):
    """Who saw which member's full personal data, when and why (district staff review it)."""

    scope_resource = "reveal_log"

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("查看人"))
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="reveals", verbose_name=_("党员"))
    field = models.CharField(_("查看内容"), max_length=20, choices=RevealField.choices)
    reason = models.CharField(_("查看事由"), max_length=200)
    created_at = models.DateTimeField(_("查看时间"), default=timezone.now, db_index=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("敏感信息查看记录")
        verbose_name_plural = _("敏感信息查看记录")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor} {self.member} {self.field}"

    @classmethod
    def scope_q(cls, *, user, paths, action):
        return path_q("member__org__path", paths) if paths else None


# ---------------------------------------------------------------- transfers (组织关系转接)
class TransferKind(models.TextChoices):
    INTERNAL = "internal", _("系统内转接")
    OUT = "out", _("转出系统外")
    IN = "in", _("从系统外转入")


class TransferStatus(models.TextChoices):
    REQUESTED = "requested", _("已申请")
    APPROVED = "approved", _("转出方已审批")
    RECEIVED = "received", _("接收方已接收")
    COMPLETED = "completed", _("已完成")
    RETURNED = "returned", _("已退回")
    WITHDRAWN = "withdrawn", _("已撤回")
    EXPIRED = "expired", _("介绍信已过期")


OPEN_TRANSFER_STATUSES = (TransferStatus.REQUESTED, TransferStatus.APPROVED, TransferStatus.RECEIVED)


class Transfer(models.Model):
    """A transfer of a member's organizational relation; state changes only through members.actions."""

    scope_resource = "transfer"

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="transfers", verbose_name=_("党员"))
    kind = models.CharField(_("转接类型"), max_length=20, choices=TransferKind.choices)
    from_org = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="transfers_out", verbose_name=_("转出党组织")
    )
    to_org = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="transfers_in", verbose_name=_("接收党组织")
    )
    external_org_name = models.CharField(_("系统外党组织"), max_length=100, blank=True)
    cross_province = models.BooleanField(_("跨省转接"), default=False)
    letter_number = models.CharField(_("介绍信编号"), max_length=40, blank=True)
    letter_valid_until = models.DateField(_("介绍信有效期至"), null=True, blank=True)
    dues_paid_until = models.DateField(_("党费交至"), null=True, blank=True)
    reason = models.TextField(_("转接原因"))
    status = models.CharField(_("状态"), max_length=20, choices=TransferStatus.choices, default=TransferStatus.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("申请人"))
    requested_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    version = models.PositiveIntegerField(default=0, editable=False)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("组织关系转接")
        verbose_name_plural = _("组织关系转接")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"], condition=Q(status__in=["requested", "approved", "received"]), name="transfer_one_open_per_member",
                violation_error_message=_("该党员已有一笔正在办理的组织关系转接。"),
            ),
            models.CheckConstraint(
                condition=(Q(kind="internal", from_org__isnull=False, to_org__isnull=False)
                           | Q(kind="out", from_org__isnull=False, to_org__isnull=True)
                           | Q(kind="in", from_org__isnull=True, to_org__isnull=False)),
                name="transfer_sides_match_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.get_kind_display()} {self.get_status_display()}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TRANSFER_STATUSES

    @classmethod
    def scope_q(cls, *, user, paths, action):
        """Both sides see a transfer: the sending org's subtree and the receiving org's subtree."""
        return (path_q("from_org__path", paths) | path_q("to_org__path", paths)) if paths else None


class TransferEventKind(models.TextChoices):
    REQUESTED = "requested", _("申请")
    APPROVED = "approved", _("转出方审批")
    RECEIVED = "received", _("接收方接收")
    COMPLETED = "completed", _("办结")
    RETURNED = "returned", _("退回")
    WITHDRAWN = "withdrawn", _("撤回")
    EXPIRED = "expired", _("过期")


class TransferEvent(models.Model):
    """The transfer's timeline: every step with actor, time and reason."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="events", verbose_name=_("转接"))
    kind = models.CharField(_("步骤"), max_length=20, choices=TransferEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("操作人"))
    reason = models.TextField(_("说明"), blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("转接记录")
        verbose_name_plural = _("转接记录")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.transfer_id} {self.kind}"


class MemberOrgHistory(models.Model):
    """Each change of a member's org (at a transfer's completion, exactly once)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="org_history", verbose_name=_("党员"))
    from_org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("原党组织"))
    to_org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("新党组织"))
    external_org_name = models.CharField(_("系统外党组织"), max_length=100, blank=True)
    transfer = models.OneToOneField(Transfer, on_delete=models.PROTECT, null=True, blank=True, related_name="history", verbose_name=_("转接"))
    happened_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("组织关系变动")
        verbose_name_plural = _("组织关系变动")
        ordering = ["-happened_at", "-id"]

    def __str__(self) -> str:
        return f"{self.member}: {self.from_org} → {self.to_org or self.external_org_name}"


# ---------------------------------------------------------------- import and roster comparison
class UploadStatus(models.TextChoices):
    PENDING = "pending", _("等待处理")
    RUNNING = "running", _("处理中")
    PREVIEWED = "previewed", _("已预览")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class MemberImport(models.Model):
    """An uploaded member workbook between preview and confirm. The file is kept encrypted and
    deleted (emptied) at confirmation; row errors carry no personal data."""

    scope_resource = "member_import"

    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, related_name="+", verbose_name=_("导入到党组织"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("上传人"))
    file_encrypted = models.TextField(_("文件（密文）"), blank=True, editable=False)
    filename = models.CharField(_("文件名"), max_length=200)
    status = models.CharField(_("状态"), max_length=20, choices=UploadStatus.choices, default=UploadStatus.PENDING)
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    valid_rows = models.PositiveIntegerField(_("有效行数"), default=0)
    errors = models.JSONField(_("错误"), default=list, blank=True)
    created_count = models.PositiveIntegerField(_("导入人数"), default=0)
    created_at = models.DateTimeField(_("上传时间"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("党员导入")
        verbose_name_plural = _("党员导入")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.filename

    @classmethod
    def scope_q(cls, *, user, paths, action):
        return path_q("org__path", paths) if paths else None


class RosterComparison(models.Model):
    """A platform roster compared with the registry (数据比对). The raw roster is never stored:
    the upload is held encrypted only until the task has read it; only matches and counts remain."""

    scope_resource = "roster"

    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, related_name="+", verbose_name=_("比对范围"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("上传人"))
    platform = models.CharField(_("平台"), max_length=100, blank=True)
    filename = models.CharField(_("文件名"), max_length=200)
    upload_encrypted = models.TextField(_("待处理文件（密文）"), blank=True, editable=False)
    status = models.CharField(_("状态"), max_length=20, choices=UploadStatus.choices, default=UploadStatus.PENDING)
    progress = models.PositiveSmallIntegerField(_("进度（%）"), default=0)
    total_rows = models.PositiveIntegerField(_("名单人数"), default=0)
    matched = models.PositiveIntegerField(_("匹配到的党员"), default=0)
    relation_elsewhere = models.PositiveIntegerField(_("关系在别处"), default=0)
    relation_nowhere = models.PositiveIntegerField(_("关系无着落"), default=0)
    not_on_roster = models.PositiveIntegerField(_("登记在册但不在名单"), default=0)
    unknown_workplaces = models.JSONField(_("未知单位"), default=list, blank=True)
    bad_rows = models.PositiveIntegerField(_("无效行"), default=0)
    error = models.TextField(_("错误信息"), blank=True)
    created_at = models.DateTimeField(_("上传时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    # The uploader's member.view grant paths when the comparison ran ([""] = everything): findings and
    # counts cover only members inside them, and only viewers who see all of them see the counts.
    # None (comparisons from before this rule) is treated as the whole district.
    scope_paths = models.JSONField(_("比对时的查看范围"), null=True, blank=True, editable=False)
    headcounts_applied_at = models.DateTimeField(_("从业人数确认时间"), null=True, blank=True)
    headcounts_applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("从业人数确认人"),
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("名单比对")
        verbose_name_plural = _("名单比对")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.filename

    @classmethod
    def scope_q(cls, *, user, paths, action):
        return path_q("org__path", paths) if paths else None


class FindingKind(models.TextChoices):
    RELATION_ELSEWHERE = "elsewhere", _("在此工作但组织关系在别处")
    RELATION_NOWHERE = "nowhere", _("在此工作但组织关系无着落（口袋/失联/流动候选）")
    NOT_ON_ROSTER = "not_on_roster", _("登记在该单位但不在名单上")


class RosterFinding(models.Model):
    """One registry member found (or missed) by a comparison; no roster data is copied."""

    comparison = models.ForeignKey(RosterComparison, on_delete=models.CASCADE, related_name="findings", verbose_name=_("比对"))
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", verbose_name=_("党员"))
    workplace = models.ForeignKey("orgs.Workplace", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("名单中的单位"))
    kind = models.CharField(_("类型"), max_length=20, choices=FindingKind.choices)

    class Meta:
        verbose_name = _("比对结果")
        verbose_name_plural = _("比对结果")
        ordering = ["kind", "id"]

    def __str__(self) -> str:
        return f"{self.member} {self.kind}"


class RosterHeadcount(models.Model):
    """A headcount the roster proposes for a known station (roster rows naming it). Nothing changes on the
    workplace until a user allowed to change it confirms (members.actions.roster_headcounts_apply)."""

    comparison = models.ForeignKey(RosterComparison, on_delete=models.CASCADE, related_name="headcounts", verbose_name=_("比对"))
    workplace = models.ForeignKey("orgs.Workplace", on_delete=models.CASCADE, related_name="+", verbose_name=_("单位"))
    current = models.PositiveIntegerField(_("比对时的从业人数"))
    proposed = models.PositiveIntegerField(_("名单人数"))

    class Meta:
        verbose_name = _("名单从业人数")
        verbose_name_plural = _("名单从业人数")
        ordering = ["workplace__name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["comparison", "workplace"], name="roster_headcount_one_per_workplace"),
        ]

    def __str__(self) -> str:
        return f"{self.workplace_id}: {self.current} → {self.proposed}"
