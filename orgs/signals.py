"""Signals orgs sends so that the apps above it react without orgs importing them (receivers run in the
sender's transaction; a receiver may refuse by raising a DomainError, which rolls the action back)."""

from django.dispatch import Signal

# Before an org is dissolved (tree locked, checks of orgs itself passed). kwargs: org, actor.
# A receiver raises DomainError to refuse (members: the org still has members).
org_dissolving = Signal()

# While an org is merged into another (after sub-orgs moved, before `source` is dissolved). kwargs: source,
# target, actor, happened_on. A receiver moves what it owns and returns how many rows it moved
# (members: each member with a MemberOrgHistory row).
org_merging = Signal()

# After a workplace was created or changed (coordinates, active flag...). kwargs: workplace_id.
# services refreshes the 15-minute circle for it after commit.
workplace_changed = Signal()
