"""exemption_create: district staff only, dates validated."""

from __future__ import annotations

import datetime as dt

import pytest

from activities.actions.exemptions import exemption_create
from activities.models import ComplianceRule, Exemption
from core.exceptions import DomainError

D = dt.date


def test_district_creates_rule_specific_exemption(world):
    rule = ComplianceRule.objects.get(kind="theme_day")
    e = exemption_create(actor=world.district_user, org=world.br_a, rule=rule, starts_on=D(2026, 1, 1),
                         ends_on=D(2026, 1, 31), reason=" 春节返乡 ")
    assert (e.rule, e.reason, e.approved_by) == (rule, "春节返乡", world.district_user)


@pytest.mark.parametrize("who", ["secretary", "instructor", "viewer", "nobody"])
def test_only_district_may_exempt(world, who):
    with pytest.raises(DomainError):
        exemption_create(actor=getattr(world, who), org=world.jb, rule=None, starts_on=D(2026, 1, 1),
                         ends_on=D(2026, 3, 31), reason="x")
    assert not Exemption.objects.exists()


@pytest.mark.parametrize("starts, ends, reason", [
    (D(2026, 3, 1), D(2026, 2, 1), "x"),  # ends before it starts
    (D(2026, 1, 1), D(2029, 1, 1), "x"),  # longer than two years
    (D(2026, 1, 1), D(2026, 1, 2), "  "),  # no reason
])
def test_dates_and_reason_are_validated(world, starts, ends, reason):
    with pytest.raises(DomainError):
        exemption_create(actor=world.district_user, org=world.jb, rule=None, starts_on=starts, ends_on=ends, reason=reason)


def test_dissolved_org_cannot_be_exempted(world):
    with pytest.raises(DomainError):
        exemption_create(actor=world.district_user, org=world.br_dead, rule=None, starts_on=D(2026, 1, 1),
                         ends_on=D(2026, 1, 2), reason="x")
