"""Members' reactions to orgs' signals (connected in MembersConfig.ready)."""

from django.dispatch import receiver

from members.actions.org_changes import members_move_on_merge, org_dissolve_check
from orgs.signals import org_dissolving, org_merging


@receiver(org_dissolving, dispatch_uid="members-org-dissolving")
def refuse_dissolving_an_org_with_members(sender, *, org, actor, **kwargs):
    org_dissolve_check(org=org)


@receiver(org_merging, dispatch_uid="members-org-merging")
def move_members_on_merge(sender, *, source, target, actor, happened_on=None, **kwargs) -> int:
    return members_move_on_merge(actor=actor, source=source, target=target, happened_on=happened_on)
