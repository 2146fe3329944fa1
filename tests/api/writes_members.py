"""Writes of the members API for the generic cases (tests/api/test_every_endpoint.py)."""

from __future__ import annotations

import itertools

from django.utils import timezone

from tests.api.harness import Write
from tests.factories import MemberFactory
from tests.members import make_id

_serial = itertools.count(101)


def _member(home) -> dict:
    return {"name": "接口登记党员", "id_number": make_id(seq=next(_serial)), "phone": "13800138000",
            "org": home.branch.pk, "stage": "full", "occupation": "rider"}


def _member_away(home, away) -> dict:
    return {**_member(home), "org": away.branch.pk}


def _transfer(home) -> dict:
    member = MemberFactory(org=home.branch)
    return {"member": member.pk, "kind": "internal", "to_org": home.branch_2.pk,
            "dues_paid_until": timezone.localdate().isoformat(), "reason": "工作调动"}


def _transfer_away(home, away) -> dict:
    return {**_transfer(home), "member": MemberFactory(org=away.branch).pk}


WRITES = {
    "api-member": Write(create=_member, create_away=_member_away,
                        update=lambda home, obj: {"name": "改名党员", "occupation": "courier"}),
    "api-transfer": Write(create=_transfer, create_away=_transfer_away),
}
