"""The issue's "done when", through the pages: a secretary registers a member, advances stages under the
rules, and moves the member to another branch through a transfer the other secretary receives; district
staff see it all."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from members.models import Member, MemberOrgHistory, Stage, Transfer, TransferStatus
from members.validators import id_check_char
from orgs.models import Role
from tests.factories import UserFactory, WorkplaceFactory, grant, make_branch, make_committee, make_region, make_root

pytestmark = pytest.mark.django_db


def valid_id(birth: dt.date, serial: str = "123") -> str:
    first17 = f"110105{birth:%Y%m%d}{serial}"
    return first17 + id_check_char(first17)


def login_as(client, org, role):
    user = UserFactory()
    grant(user, org, role)
    client.force_login(user)
    return user


def test_register_advance_transfer_receive(client):
    region = make_region("示范区")
    root = make_root("区委两新工委", region=region)
    committee = make_committee("快递行业党委", parent=root)
    wa = WorkplaceFactory(name="甲网点", responsible_org=committee)
    branch_a = make_branch("甲网点党支部", parent=committee, workplaces=[wa])
    branch_b = make_branch("乙网点党支部", parent=committee, workplaces=[WorkplaceFactory(responsible_org=committee)])
    district = UserFactory()
    grant(district, root, Role.DISTRICT)
    secretary_b = UserFactory()
    grant(secretary_b, branch_b, Role.SECRETARY)

    # 1. secretary A registers an applicant
    secretary_a = login_as(client, branch_a, Role.SECRETARY)
    id_number = valid_id(dt.date(1995, 3, 8))
    response = client.post(reverse("members:member_create"), {
        "name": "王小明", "gender": "male", "birth_date": "1995-03-08", "id_number": id_number, "phone": "13812345678",
        "ethnicity": "汉族", "occupation": "courier", "org": branch_a.pk, "workplace": wa.pk, "stage": Stage.APPLICANT,
        "applied_on": "2024-01-10", "relation_kind": "held", "training_hours": "0",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    member = Member.objects.get(name="王小明")
    detail = client.get(reverse("members:member_detail", args=[member.pk])).content.decode()
    assert "110***********" in detail and id_number not in detail and "138****5678" in detail

    # 2. advance: applicant → activist, then a refused early candidate step, then candidate
    assert client.post(reverse("members:member_advance", args=[member.pk]),
                       {"to_stage": Stage.ACTIVIST, "on": "2024-03-01"}).status_code == 302
    refused = client.post(reverse("members:member_advance", args=[member.pk]),
                          {"to_stage": Stage.CANDIDATE, "on": "2024-06-01", "training_hours": "30"})
    assert refused.status_code == 200 and "12个月" in refused.content.decode()
    assert client.post(reverse("members:member_advance", args=[member.pk]),
                       {"to_stage": Stage.CANDIDATE, "on": "2025-03-05", "training_hours": "30"}).status_code == 302
    member.refresh_from_db()
    assert member.stage == Stage.CANDIDATE

    # 3. secretary A requests an internal transfer to branch B and approves it (sending side)
    response = client.post(reverse("members:transfer_request", args=[member.pk]), {
        "kind": "internal", "to_org": branch_b.pk, "dues_paid_until": "2026-10-31", "reason": "换到乙网点工作",
    })
    assert response.status_code == 302
    transfer = Transfer.objects.get(member=member)
    response = client.post(reverse("members:transfer_act", args=[transfer.pk]),
                           {"step": "approve", "version": transfer.version, "reason": ""})
    assert response.status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.APPROVED
    assert client.get(reverse("members:member_detail", args=[member.pk])).status_code == 200

    # 4. secretary B sees it in the inbox, receives and completes it
    client.force_login(secretary_b)
    inbox = client.get(reverse("members:transfer_inbox")).content.decode()
    assert "王小明" in inbox
    for step in ("receive", "complete"):
        transfer.refresh_from_db()
        response = client.post(reverse("members:transfer_act", args=[transfer.pk]),
                               {"step": step, "version": transfer.version, "reason": ""})
        assert response.status_code == 302, step
    member.refresh_from_db()
    assert member.org_id == branch_b.pk
    assert MemberOrgHistory.objects.filter(member=member).count() == 1
    assert client.get(reverse("members:member_detail", args=[member.pk])).status_code == 200

    # 5. secretary A no longer sees the member; district staff see member and transfer
    client.force_login(secretary_a)
    assert client.get(reverse("members:member_detail", args=[member.pk])).status_code == 404
    client.force_login(district)
    assert client.get(reverse("members:member_detail", args=[member.pk])).status_code == 200
    page = client.get(reverse("members:transfer_detail", args=[transfer.pk])).content.decode()
    assert len(re.findall("王小明", page)) >= 1
