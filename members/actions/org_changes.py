"""Members' side of org structure changes (orgs sends the signals; members/receivers.py connects them)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record, require_actor
from core.exceptions import DomainError
from members.models import Member, MemberOrgHistory
from orgs.models import Organization


def org_dissolve_check(*, org: Organization) -> None:
    """An org with members or applicants is not dissolved: their relations are transferred first."""
    if Member.objects.filter(org=org).exists():
        raise DomainError(_("该组织仍有党员或申请人，请先办理组织关系转接。"))


@transaction.atomic
def members_move_on_merge(*, actor, source: Organization, target: Organization, happened_on: dt.date | None = None) -> int:
    """Move every member of `source` to `target` (an org merge decided by the level above), each with a
    MemberOrgHistory row, in the merge's transaction. The rows are locked first, so a transfer completing at
    the same moment waits. Returns the number of members moved. `actor` was checked by org_merge.
    One AuditEntry for the whole move ("member.move_on_merge", on the target, with the count)."""
    require_actor(actor)
    ids = list(Member.objects.select_for_update().filter(org=source).order_by("pk").values_list("pk", flat=True))
    if not ids:
        return 0
    now = timezone.now()
    Member.objects.filter(pk__in=ids).update(org=target, updated_at=now)
    MemberOrgHistory.objects.bulk_create(
        [MemberOrgHistory(member_id=pk, from_org=source, to_org=target, happened_at=now) for pk in ids], batch_size=1000,
    )
    audit_record(actor=actor, action="member.move_on_merge", obj=target, changes={
        "note": f"org {source.pk} merged into {target.pk}", "members": len(ids), "org": [source.pk, target.pk],
    })
    return len(ids)

