"""Transfers of organizational relation (members/actions/transfers.py, members/selectors/transfers.py)."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, connections, transaction

from core.audit import SYSTEM
from core.exceptions import ConflictError, DomainError
from core.models import Rule
from members.actions.transfers import (
    acting_side,
    add_months,
    transfer_approve,
    transfer_available_steps,
    transfer_complete,
    transfer_receive,
    transfer_request,
    transfer_return,
    transfer_withdraw,
    transfers_expire,
)
from members.models import (
    Member,
    MemberOrgHistory,
    RelationKind,
    Transfer,
    TransferEvent,
    TransferEventKind,
    TransferKind,
    TransferStatus,
)
from members.selectors.transfers import annotate_age, transfer_inbox, transfer_open_list, transfer_outbox
from orgs.models import Role
from tests.factories import MemberFactory, UserFactory, fresh, grant, make_branch, make_root, reload


@pytest.fixture
def people(world):
    """A secretary at each side: br_a (express) sends, br_f (food) receives; the jb secretary is a third branch."""
    send = UserFactory(username="send_sec")
    grant(send, world.br_a, Role.SECRETARY)
    recv = UserFactory(username="recv_sec")
    grant(recv, world.br_f, Role.SECRETARY)
    member = MemberFactory(org=world.br_a, workplace=world.wp_a)
    return {"send": fresh(send), "recv": fresh(recv), "member": member, "third": fresh(world.secretary)}


def request_internal(world, people, **kw):
    kw.setdefault("reason", "工作调动到美团东街站")
    kw.setdefault("dues_paid_until", world.today.replace(day=1))
    return transfer_request(actor=people["send"], member=people["member"], kind=TransferKind.INTERNAL, to_org=world.br_f, **kw)


def kinds(transfer):
    return list(TransferEvent.objects.filter(transfer=transfer).order_by("created_at", "id").values_list("kind", flat=True))


# ================================================================ helpers
def test_add_months_clips_to_month_end():
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2024, 11, 15), 3) == dt.date(2025, 2, 15)
    assert add_months(dt.date(2024, 8, 31), 6) == dt.date(2025, 2, 28)


def test_acting_side_table():
    assert acting_side("internal", "requested") == "sending"
    assert acting_side("internal", "approved") == "receiving"
    assert acting_side("internal", "received") == "receiving"
    assert acting_side("out", "received") == "sending"
    assert acting_side("in", "requested") == "receiving"
    assert acting_side("internal", "completed") is None


# ================================================================ the internal happy path
def test_internal_transfer_full_path_moves_member_once_with_history(world, people):
    member = people["member"]
    t = request_internal(world, people)
    assert t.status == TransferStatus.REQUESTED and t.from_org == world.br_a and t.letter_number == ""
    assert reload(member).org == world.br_a

    t = transfer_approve(actor=people["send"], transfer=t, letter_number="ZJ-2024-001", today=world.today)
    assert t.status == TransferStatus.APPROVED and t.letter_number == "ZJ-2024-001"
    assert t.letter_valid_until == add_months(world.today, 3)
    assert reload(member).org == world.br_a  # the sending org stays responsible until completion

    t = transfer_receive(actor=people["recv"], transfer=t, today=world.today)
    assert t.status == TransferStatus.RECEIVED and reload(member).org == world.br_a
    assert MemberOrgHistory.objects.count() == 0

    t = transfer_complete(actor=people["recv"], transfer=t, reason="已报到", today=world.today)
    assert t.status == TransferStatus.COMPLETED and t.closed_at is not None and t.version == 3
    member = reload(member)
    assert member.org == world.br_f and member.relation_kind == RelationKind.HELD
    history = MemberOrgHistory.objects.get(member=member)
    assert (history.from_org, history.to_org, history.transfer) == (world.br_a, world.br_f, t)
    assert kinds(t) == ["requested", "approved", "received", "completed"]
    events = list(TransferEvent.objects.filter(transfer=t).order_by("id"))
    assert [e.actor for e in events] == [people["send"], people["send"], people["recv"], people["recv"]]
    assert events[0].reason == "工作调动到美团东街站" and events[3].reason == "已报到"

    # nothing can happen twice
    with pytest.raises(ConflictError):
        transfer_complete(actor=people["recv"], transfer=t, today=world.today)
    assert MemberOrgHistory.objects.filter(member=member).count() == 1


def test_cross_province_letter_is_valid_six_months_and_number_generated(world, people):
    t = request_internal(world, people, cross_province=True)
    t = transfer_approve(actor=people["send"], transfer=t, today=dt.date(2024, 3, 10))
    assert t.letter_valid_until == dt.date(2024, 9, 10)
    assert t.letter_number == f"ZJ2024{t.pk:06d}"


def test_letter_validity_follows_the_rule_row(world, people):
    Rule.objects.filter(key="letter_validity_months").update(value=Decimal(2))
    t = transfer_approve(actor=people["send"], transfer=request_internal(world, people), today=dt.date(2024, 1, 5))
    assert t.letter_valid_until == dt.date(2024, 3, 5)


# ================================================================ refusals
def test_wrong_side_cannot_take_the_step(world, people):
    t = request_internal(world, people)
    with pytest.raises(DomainError, match="转出方"):
        transfer_approve(actor=people["recv"], transfer=t)
    t = transfer_approve(actor=people["send"], transfer=t)
    with pytest.raises(DomainError, match="接收方"):
        transfer_receive(actor=people["send"], transfer=t)
    t = transfer_receive(actor=people["recv"], transfer=t)
    with pytest.raises(DomainError, match="接收方"):
        transfer_complete(actor=people["send"], transfer=t)
    assert reload(t).status == TransferStatus.RECEIVED


@pytest.mark.parametrize("who", ["viewer", "instructor", "nobody", "third"])
def test_wrong_role_or_third_branch_cannot_act(world, people, who):
    actor = people["third"] if who == "third" else fresh(getattr(world, who))
    t = request_internal(world, people)
    with pytest.raises(DomainError):
        transfer_approve(actor=actor, transfer=t)
    with pytest.raises(DomainError):
        transfer_return(actor=actor, transfer=t, reason="不同意")
    with pytest.raises(DomainError):
        transfer_withdraw(actor=actor, transfer=t)
    assert reload(t).status == TransferStatus.REQUESTED and kinds(t) == ["requested"]


def test_district_staff_above_both_sides_may_act_as_either(world, people):
    district = fresh(world.district_user)
    t = request_internal(world, people)
    t = transfer_approve(actor=district, transfer=t)
    t = transfer_receive(actor=district, transfer=t)
    t = transfer_complete(actor=district, transfer=t)
    assert reload(people["member"]).org == world.br_f


def test_wrong_state_is_a_conflict(world, people):
    t = request_internal(world, people)
    with pytest.raises(ConflictError, match="已申请"):
        transfer_receive(actor=people["recv"], transfer=t)
    with pytest.raises(ConflictError):
        transfer_complete(actor=people["recv"], transfer=t)
    t = transfer_approve(actor=people["send"], transfer=t)
    with pytest.raises(ConflictError):
        transfer_approve(actor=people["send"], transfer=t)


def test_stale_version_is_a_conflict(world, people):
    t = request_internal(world, people)
    seen = t.version
    transfer_approve(actor=people["send"], transfer=t, expected_version=seen)
    with pytest.raises(ConflictError, match="他人"):
        transfer_return(actor=people["send"], transfer=t, reason="重复提交", expected_version=seen)
    assert kinds(t) == ["requested", "approved"]


def test_return_needs_a_reason_and_either_side_may_return(world, people):
    t = request_internal(world, people)
    with pytest.raises(DomainError, match="原因"):
        transfer_return(actor=people["send"], transfer=t, reason="  ")
    t = transfer_approve(actor=people["send"], transfer=t)
    t = transfer_return(actor=people["recv"], transfer=t, reason="该党员未到本单位工作")
    assert t.status == TransferStatus.RETURNED and t.closed_at is not None
    assert kinds(t)[-1] == "returned"
    assert TransferEvent.objects.get(transfer=t, kind="returned").reason == "该党员未到本单位工作"
    assert reload(people["member"]).org == world.br_a
    # closed: nothing more, and a new request may be made
    with pytest.raises(ConflictError):
        transfer_return(actor=people["send"], transfer=t, reason="再退")
    assert request_internal(world, people).status == TransferStatus.REQUESTED


def test_withdraw_by_requester_only_and_not_after_receipt(world, people):
    t = request_internal(world, people)
    with pytest.raises(DomainError, match="申请人本人"):
        transfer_withdraw(actor=fresh(world.district_user), transfer=t)
    t = transfer_withdraw(actor=people["send"], transfer=t, reason="不调动了")
    assert t.status == TransferStatus.WITHDRAWN and kinds(t) == ["requested", "withdrawn"]

    t2 = request_internal(world, people)
    t2 = transfer_receive(actor=people["recv"], transfer=transfer_approve(actor=people["send"], transfer=t2))
    with pytest.raises(ConflictError):
        transfer_withdraw(actor=people["send"], transfer=t2)


def test_second_open_transfer_is_refused_friendly_and_by_the_database(world, people):
    t = request_internal(world, people)
    with pytest.raises(DomainError, match="正在办理"):
        request_internal(world, people)
    with pytest.raises(IntegrityError), transaction.atomic():
        Transfer.objects.create(member=people["member"], kind="internal", from_org=world.br_a, to_org=world.jb,
                                reason="x", requested_by=people["send"])
    assert Transfer.objects.filter(member=people["member"]).count() == 1
    assert t.is_open


def test_request_validation(world, people):
    member = people["member"]
    send = people["send"]
    base = {"actor": send, "member": member, "reason": "调动", "dues_paid_until": world.today}
    with pytest.raises(DomainError, match="原因") as exc:
        transfer_request(**{**base, "reason": " "}, kind="internal", to_org=world.br_f)
    assert exc.value.field == "reason"
    with pytest.raises(DomainError, match="党费"):
        transfer_request(**{**base, "dues_paid_until": None}, kind="internal", to_org=world.br_f)
    with pytest.raises(DomainError, match="接收党组织"):
        transfer_request(**base, kind="internal", to_org=None)
    with pytest.raises(DomainError, match="当前所在"):
        transfer_request(**base, kind="internal", to_org=world.br_a)
    with pytest.raises(DomainError, match="已撤销"):
        transfer_request(**base, kind="internal", to_org=world.br_dead)
    with pytest.raises(DomainError, match="系统外党组织"):
        transfer_request(**base, kind="out")
    with pytest.raises(DomainError):
        transfer_request(**base, kind="bogus")
    # a member outside the actor's scope, and a role without transfer.add
    other = MemberFactory(org=world.br_f)
    with pytest.raises(DomainError, match="管理范围"):
        transfer_request(**{**base, "member": other}, kind="internal", to_org=world.jb)
    with pytest.raises(DomainError):
        transfer_request(**{**base, "actor": fresh(world.viewer)}, kind="internal", to_org=world.br_f)
    # a mobile member's relation is not here: cannot be sent from here
    mobile = MemberFactory(org=world.br_a, relation_kind=RelationKind.MOBILE, home_org_name="外省某党支部")
    with pytest.raises(DomainError, match="流动党员"):
        transfer_request(**{**base, "member": mobile}, kind="out", external_org_name="外省某党支部")
    assert Transfer.objects.count() == 0 and TransferEvent.objects.count() == 0


# ================================================================ expired letter
def test_expired_letter_blocks_steps_and_expire_closes_it(world, people):
    t = transfer_approve(actor=people["send"], transfer=request_internal(world, people), today=dt.date(2024, 1, 10))
    assert t.letter_valid_until == dt.date(2024, 4, 10)
    with pytest.raises(DomainError, match="过期"):
        transfer_receive(actor=people["recv"], transfer=t, today=dt.date(2024, 4, 11))
    assert transfers_expire(actor=SYSTEM, today=dt.date(2024, 4, 10)) == 0  # valid through its last day
    assert transfers_expire(actor=SYSTEM, today=dt.date(2024, 4, 11)) == 1
    t = reload(t)
    assert t.status == TransferStatus.EXPIRED and t.closed_at is not None
    event = TransferEvent.objects.get(transfer=t, kind=TransferEventKind.EXPIRED)
    assert event.actor is None and "2024-04-10" in event.reason
    assert transfers_expire(actor=SYSTEM, today=dt.date(2024, 4, 12)) == 0  # idempotent
    assert reload(people["member"]).org == world.br_a


# ================================================================ out and in
def test_out_transfer_sending_side_takes_every_step_and_member_record_stays(world, people):
    member = people["member"]
    t = transfer_request(actor=people["send"], member=member, kind=TransferKind.OUT, reason="返乡",
                         external_org_name="某省某县某镇党委", dues_paid_until=world.today, cross_province=True)
    assert t.to_org is None and t.from_org == world.br_a
    assert transfer_available_steps(actor=people["send"], transfer=t) == ["approve", "return", "withdraw"]
    t = transfer_approve(actor=people["send"], transfer=t, letter_number="OUT-1")
    t = transfer_receive(actor=people["send"], transfer=t, reason="对方党委已回执")
    t = transfer_complete(actor=people["send"], transfer=t)
    member = reload(member)
    assert member.org == world.br_a  # nothing deleted; the row stays with the last org that held the relation
    assert member.relation_kind == RelationKind.MOBILE and member.home_org_name == "某省某县某镇党委"
    assert member.letter_number == "OUT-1"
    history = MemberOrgHistory.objects.get(member=member)
    assert (history.from_org, history.to_org, history.external_org_name) == (world.br_a, None, "某省某县某镇党委")


def test_in_transfer_receiving_side_approves_and_member_joins(world, people):
    pocket = MemberFactory(org=world.br_f, relation_kind=RelationKind.POCKET, letter_number="WAI-9")
    with pytest.raises(DomainError, match="介绍信编号"):
        transfer_request(actor=people["recv"], member=pocket, kind=TransferKind.IN, reason="报到",
                         external_org_name="外省某支部", dues_paid_until=world.today)
    with pytest.raises(DomainError, match="系统外"):  # a held member cannot be transferred in
        transfer_request(actor=people["send"], member=people["member"], kind=TransferKind.IN, reason="x",
                         external_org_name="外省某支部", dues_paid_until=world.today, letter_number="L")
    t = transfer_request(actor=people["recv"], member=pocket, kind=TransferKind.IN, reason="持介绍信报到",
                         external_org_name="外省某支部", dues_paid_until=dt.date(2024, 4, 30), letter_number="WAI-9",
                         today=dt.date(2024, 5, 1))
    assert t.from_org is None and t.to_org == world.br_f and t.letter_valid_until == dt.date(2024, 8, 1)
    with pytest.raises(DomainError):
        transfer_approve(actor=people["send"], transfer=t, today=dt.date(2024, 5, 2))
    for step in (transfer_approve, transfer_receive, transfer_complete):
        t = step(actor=people["recv"], transfer=t, today=dt.date(2024, 5, 2))
    pocket = reload(pocket)
    assert pocket.org == world.br_f and pocket.relation_kind == RelationKind.HELD and pocket.letter_number == ""
    history = MemberOrgHistory.objects.get(member=pocket)
    assert history.from_org is None and history.external_org_name == "外省某支部" and history.to_org == world.br_f
    assert kinds(t) == ["requested", "approved", "received", "completed"]


# ================================================================ selectors
def test_inbox_outbox_open_list_and_scope(world, people):
    t = request_internal(world, people)
    assert list(transfer_inbox(user=people["send"])) == [t]
    assert list(transfer_inbox(user=people["recv"])) == []
    assert list(transfer_outbox(user=people["send"])) == [t]
    assert list(transfer_outbox(user=people["recv"])) == []
    # both sides see it in transit; a third branch sees nothing
    assert list(transfer_open_list(user=people["recv"])) == [t]
    assert list(transfer_open_list(user=people["third"])) == []
    assert list(transfer_outbox(user=people["third"])) == []
    assert list(Transfer.objects.restrict(people["third"], "view")) == []
    transfer_approve(actor=people["send"], transfer=t)
    assert list(transfer_inbox(user=people["send"])) == []
    assert list(transfer_inbox(user=people["recv"])) == [t]
    district = fresh(world.district_user)
    assert list(transfer_inbox(user=district)) == [t]
    assert list(transfer_inbox(user=fresh(world.viewer))) == []


def test_ageing_flag_from_rule_row_and_letter(world, people):
    t = request_internal(world, people)
    Transfer.objects.filter(pk=t.pk).update(requested_at=t.requested_at - dt.timedelta(days=31))
    [row] = annotate_age(transfer_open_list(user=people["send"]), today=world.today)
    assert row.age_days == 31 and row.ageing
    Rule.objects.filter(key="transfer_ageing_alert_days").update(value=Decimal(60))
    [row] = annotate_age(transfer_open_list(user=people["send"]), today=world.today)
    assert not row.ageing
    Transfer.objects.filter(pk=t.pk).update(letter_valid_until=world.today + dt.timedelta(days=3))
    [row] = annotate_age(transfer_open_list(user=people["send"]), today=world.today)
    assert row.ageing and row.letter_days_left == 3


# ================================================================ concurrency (PostgreSQL only)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need a shared, server-based test database")
@pytest.mark.django_db(transaction=True)
def test_concurrent_double_approve_applies_once():
    # transactional tests flush the database, rule rows included: make the ones this test needs
    for key, value in (("letter_validity_months", 3), ("letter_validity_cross_province_months", 6)):
        Rule.objects.update_or_create(key=key, defaults={"label": key, "value": Decimal(value), "unit": "月"})
    root = make_root()
    sender = make_branch("甲支部", parent=root)
    receiver = make_branch("乙支部", parent=reload(root))
    users = [UserFactory(), UserFactory()]
    for user in users:
        grant(user, reload(sender), Role.SECRETARY)
    member = MemberFactory(org=reload(sender))
    t = transfer_request(actor=fresh(users[0]), member=member, kind="internal", to_org=reload(receiver),
                         reason="调动", dues_paid_until=dt.date.today())

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def work(user):
        try:
            barrier.wait(timeout=10)
            transfer_approve(actor=fresh(user), transfer=Transfer.objects.get(pk=t.pk), expected_version=0)
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")
        except Exception as exc:  # noqa: BLE001 - report anything else as a failure
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "ok"]
    assert TransferEvent.objects.filter(transfer_id=t.pk, kind=TransferEventKind.APPROVED).count() == 1
    assert Transfer.objects.get(pk=t.pk).version == 1
    assert Member.objects.get(pk=member.pk).org_id == sender.pk


def test_expire_task_is_a_thin_idempotent_adapter(world, people):
    from members.tasks import expire_transfers

    t = transfer_approve(actor=people["send"], transfer=request_internal(world, people), today=dt.date(2024, 1, 10))
    assert expire_transfers.run("2024-04-11") == 1
    assert expire_transfers.run("2024-04-11") == 0
    assert reload(t).status == TransferStatus.EXPIRED
