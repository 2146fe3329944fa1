"""The member registry.

Step 1 keeps only what coverage needs (org, workplace, stage, relation kind);
step 2 adds protected personal data, the joining pipeline and transfers.
Coverage selectors count members from this table.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.scoping import ScopedQuerySet, path_q


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


class Member(models.Model):
    scope_resource = "member"

    name = models.CharField(_("姓名"), max_length=50)
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="members", verbose_name=_("所在党组织"))
    workplace = models.ForeignKey(
        "orgs.Workplace", on_delete=models.SET_NULL, null=True, blank=True, related_name="members", verbose_name=_("工作单位")
    )
    stage = models.CharField(_("发展阶段"), max_length=20, choices=Stage.choices)
    relation_kind = models.CharField(_("组织关系"), max_length=20, choices=RelationKind.choices, default=RelationKind.HELD)
    occupation = models.CharField(_("职业"), max_length=30, choices=Occupation.choices, default=Occupation.OTHER)
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

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, *, user, paths, action):
        return path_q("org__path", paths) if paths else None


__all__ = ["Member", "Stage", "RelationKind", "Occupation", "PARTY_MEMBER_STAGES", "RELATION_HERE"]
