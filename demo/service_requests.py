"""Service points and service requests for the demo district (called by demo.orgs's loader).

Deterministic content (fixed seed, workplaces in name order); idempotent (nothing happens when the demo
district already has service points). Points sit at street centres and in communities so that most
workplaces are inside the 15-minute circle and the 新城街道 ones are not (its station is paused).

Requests: finished ones (closed with a satisfaction score, rejected) are dated September–November 2026;
the ones still in someone's queue are dated relative to the moment the demo is loaded, so their SLA
clocks are meaningful (a few are already overdue and escalate). Every request is routed by the same
rule as public intake (services.actions.intake.route_request), several of them to the demo secretary's
branch (SFQ212), and each carries the timeline its state implies. Phones are fictional, encrypted and
blind-indexed like intake does.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from core import crypto
from services import credentials
from services.actions.intake import CODE_ALPHABET, CODE_LENGTH
from services.models import (
    EntryKind,
    MemberAnswer,
    PointKind,
    PointStatus,
    Priority,
    RequestStatus,
    ServiceCategory,
    ServicePoint,
    ServiceRequest,
    TimelineEntry,
)

TZ = ZoneInfo("Asia/Shanghai")
SEED = 20261201

# (name, kind, street key, x km, y km, operator org code, hours, amenities, status)
POINTS = (
    ("示范区党群服务中心", PointKind.PARTY_CENTER, "DH", 0.0, 0.4, "SFQ000", "每天 08:30–21:00",
     ("has_rest", "has_water", "has_charging", "has_microwave", "has_toilet", "has_medicine_box", "has_wifi"), PointStatus.OPEN),
    ("东华街道党群服务中心", PointKind.PARTY_CENTER, "DH", 0.8, 1.1, "SFQ600", "工作日 09:00–18:00",
     ("has_rest", "has_water", "has_toilet", "has_wifi"), PointStatus.OPEN),
    ("南湖街道党群服务中心", PointKind.PARTY_CENTER, "NH", 1.5, -4.0, "SFQ700", "工作日 09:00–18:00",
     ("has_rest", "has_water", "has_toilet", "has_medicine_box"), PointStatus.OPEN),
    ("银河小哥驿站", PointKind.STATION, "DH", -0.9, 1.3, "SFQ200", "每天 07:00–23:00",
     ("has_rest", "has_water", "has_charging", "has_microwave"), PointStatus.OPEN),
    ("西坊暖心驿站", PointKind.STATION, "XF", -4.4, 1.2, "SFQ000", "每天 08:00–22:00",
     ("has_rest", "has_water", "has_charging", "has_toilet"), PointStatus.OPEN),
    ("北苑小哥驿站", PointKind.STATION, "BY", 0.6, 4.8, "SFQ100", "每天 07:30–22:30",
     ("has_rest", "has_water", "has_charging", "has_microwave", "has_medicine_box"), PointStatus.OPEN),
    ("中山路暖心驿站", PointKind.STATION, "ZS", -3.1, -3.4, "SFQ000", "每天 08:00–21:00",
     ("has_rest", "has_water", "has_microwave", "has_toilet"), PointStatus.OPEN),
    ("示范区小哥学院", PointKind.ACADEMY, "DH", 1.2, -0.3, "SFQ000", "周一至周六 09:00–21:00",
     ("has_rest", "has_water", "has_wifi"), PointStatus.OPEN),
    ("南湖小哥公寓", PointKind.APARTMENT, "NH", 2.3, -4.6, "SFQ700", "24 小时",
     ("has_rest", "has_water", "has_charging", "has_toilet", "has_microwave"), PointStatus.OPEN),
    ("新城科创园驿站", PointKind.STATION, "XC", 5.6, 2.1, "SFQ000", "装修暂停开放",
     ("has_rest", "has_water"), PointStatus.PAUSED),
)

DESCRIPTIONS = {
    "housing": ("想申请小哥公寓床位，目前和三个同事合租，离站点太远。", "租房合同到期，想了解保障性租赁住房怎么申请。"),
    "medical": ("送餐途中摔伤，去医院看病不知道能不能走工伤。", "孩子发烧，外地医保在这边怎么报销？"),
    "schooling": ("孩子明年上小学，随迁子女入学需要准备哪些材料？", "想给孩子转学到站点附近的初中。"),
    "legal_aid": ("和加盟商签的合同有问题，被要求交押金，想咨询律师。", "送件时发生交通事故，对方要求高额赔偿。"),
    "wage_arrears": ("加盟站点拖欠两个月工资，站长联系不上。", "离职后押金和最后一个月工资一直没有结算。"),
    "traffic": ("小区门禁不让电动车进，每单都要走很远。", "站点附近没有充电桩，晚上电瓶车充不了电。"),
    "counseling": ("最近差评多被罚款，压力很大睡不好。", "跑单时间太长，和家人关系紧张，想找人聊聊。"),
    "skills": ("想参加电工培训考证，有没有补贴？", "想报名小哥学院的学历提升课程。"),
    "other": ("站点附近的公共厕所晚上锁门，希望延长开放时间。", "想参加志愿服务活动，怎么报名？"),
}
EXTRA = {
    "housing": {"housing_area": "南湖街道"},
    "schooling": {"child_grade": "小学一年级"},
    "wage_arrears": {"employer": "示范区某加盟配送公司", "amount_owed": "12600", "owed_since": "2026-08"},
    "traffic": {"location_detail": "银河路与东华大街路口小区北门"},
}
NAMES = ("张师傅", "李师傅", "王骑手", "赵女士", "刘师傅", "陈先生", "杨师傅", "黄女士", "周师傅", "吴先生", "徐师傅", "孙女士")
CLOSED_COMMENTS = ("办得很快，谢谢！", "工作人员很耐心。", "问题解决了。", "基本满意，希望以后更快一些。", "")
REPLIES = {
    "housing": "已为您登记小哥公寓床位意向，入住条件和费用已电话告知。",
    "medical": "已联系站点和保险公司，工伤认定材料清单已发给您。",
    "schooling": "所需材料：户口本、居住证、劳动合同或平台出具的从业证明，已电话告知办理地点。",
    "legal_aid": "已为您对接法律援助律师，律师已电话联系。",
    "wage_arrears": "已协调用工单位，拖欠工资已于本周结清。",
    "traffic": "已与物业协调，外卖和快递电动车可从北门登记进入。",
    "counseling": "已为您预约心理咨询师，首次咨询已完成。",
    "skills": "已为您报名电工培训班，培训补贴按规定申领。",
    "other": "已与社区协调，公共厕所开放时间延长至 23 点。",
}

# Finished requests (fixed dates): (category, day offset from 2026-09-01, status, satisfaction)
FINISHED = (
    ("wage_arrears", 3, RequestStatus.CLOSED, 5), ("housing", 8, RequestStatus.CLOSED, 4),
    ("traffic", 12, RequestStatus.CLOSED, 5), ("medical", 17, RequestStatus.CLOSED, 5),
    ("legal_aid", 21, RequestStatus.CLOSED, 4), ("counseling", 26, RequestStatus.CLOSED, 5),
    ("skills", 30, RequestStatus.CLOSED, 3), ("schooling", 35, RequestStatus.CLOSED, 4),
    ("other", 40, RequestStatus.CLOSED, 5), ("traffic", 46, RequestStatus.CLOSED, 4),
    ("wage_arrears", 52, RequestStatus.CLOSED, 5), ("housing", 57, RequestStatus.CLOSED, 3),
    ("medical", 63, RequestStatus.CLOSED, 5), ("skills", 69, RequestStatus.CLOSED, 4),
    ("other", 15, RequestStatus.REJECTED, None), ("legal_aid", 44, RequestStatus.REJECTED, None),
)
# Requests in someone's queue (hours before the load): (category, hours ago, status, priority)
LIVE = (
    ("traffic", 2, RequestStatus.SUBMITTED, Priority.NORMAL), ("wage_arrears", 5, RequestStatus.SUBMITTED, Priority.HIGH),
    ("counseling", 9, RequestStatus.SUBMITTED, Priority.HIGH), ("skills", 20, RequestStatus.SUBMITTED, Priority.LOW),
    ("medical", 60, RequestStatus.SUBMITTED, Priority.NORMAL),  # overdue (48 h SLA)
    ("housing", 30, RequestStatus.ACCEPTED, Priority.NORMAL), ("schooling", 50, RequestStatus.IN_PROGRESS, Priority.NORMAL),
    ("traffic", 80, RequestStatus.IN_PROGRESS, Priority.NORMAL),  # overdue
    ("wage_arrears", 100, RequestStatus.IN_PROGRESS, Priority.URGENT),  # overdue
    ("other", 26, RequestStatus.ACCEPTED, Priority.NORMAL),
    ("legal_aid", 70, RequestStatus.RESOLVED, Priority.NORMAL), ("housing", 90, RequestStatus.RESOLVED, Priority.NORMAL),
    ("medical", 40, RequestStatus.RESOLVED, Priority.NORMAL),
    ("traffic", 120, RequestStatus.REOPENED, Priority.HIGH),
)
SECRETARY_SHARE = 4  # every 4th request comes from a workplace of the demo secretary's branch


def _point_coordinates(x_km: float, y_km: float) -> tuple[Decimal, Decimal]:
    from demo.orgs import CENTER_LAT, CENTER_LON, KM_PER_DEG_LAT, KM_PER_DEG_LON

    return (Decimal(f"{CENTER_LAT + y_km / KM_PER_DEG_LAT:.6f}"), Decimal(f"{CENTER_LON + x_km / KM_PER_DEG_LON:.6f}"))


def _code(rng: random.Random, taken: set[str]) -> str:
    # Drawn from the seeded generator for a reproducible demo; real intake draws with `secrets`.
    while True:
        code = "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in taken:
            taken.add(code)
            return code


def load_demo_services() -> tuple[int, int]:
    """Create the demo's service points and requests; return (points, requests) created."""
    from demo.orgs import DEMO_ROOT_CODE, SECRETARY_BRANCH_CODE
    from orgs.models import Organization, Region, RegionKind, Workplace
    from services.actions.intake import route_request
    from services.actions.points import reach_refresh

    root = Organization.objects.filter(code=DEMO_ROOT_CODE).first()
    if root is None or ServicePoint.objects.filter(operator_org__path__startswith=root.path).exists():
        return (0, 0)
    rng = random.Random(SEED)
    orgs = {o.code: o for o in Organization.objects.filter(path__startswith=root.path)}
    streets = {r.code[6:9]: r for r in Region.objects.filter(code__startswith="110199", kind=RegionKind.STREET)}
    street_codes = {"DH": "001", "XF": "002", "NH": "003", "BY": "004", "XC": "005", "ZS": "006"}
    communities: dict[str, list[Region]] = {}
    for community in Region.objects.filter(code__startswith="110199", kind=RegionKind.COMMUNITY).order_by("code"):
        communities.setdefault(community.code[6:9], []).append(community)

    points = []
    for name, kind, street, x, y, operator, hours, amenities, status in POINTS:
        lat, lon = _point_coordinates(x, y)
        code = street_codes[street]
        point = ServicePoint(
            name=name, kind=kind, address=f"示范区{streets[code].name}{name.removeprefix('示范区')}", latitude=lat, longitude=lon,
            region=communities.get(code, [streets[code]])[0], operator_org=orgs[operator], opening_hours=hours,
            phone=f"010-6{rng.randint(1000000, 9999999)}", status=status,
            **{field: field in amenities for field in ("has_rest", "has_water", "has_charging", "has_microwave",
                                                        "has_toilet", "has_medicine_box", "has_wifi")},
        )
        point.full_clean()
        points.append(point)
    ServicePoint.objects.bulk_create(points)
    reach_refresh()

    workplaces = list(Workplace.objects.filter(responsible_org__path__startswith=root.path, is_active=True).order_by("name", "pk"))
    secretary_org = orgs.get(SECRETARY_BRANCH_CODE)
    secretary_workplaces = [w for w in workplaces if secretary_org and w.covering_orgs.filter(pk=secretary_org.pk).exists()]
    categories = {c.code: c for c in ServiceCategory.objects.all()}
    taken = set(ServiceRequest.objects.values_list("tracking_code", flat=True))
    now = timezone.now()
    specs = []
    for category, day, status, score in FINISHED:
        submitted = dt.datetime(2026, 9, 1, 9, 0, tzinfo=TZ) + dt.timedelta(days=day, hours=rng.randint(0, 10), minutes=rng.randint(0, 59))
        specs.append((category, submitted, status, score, Priority.NORMAL))
    for category, hours, status, priority in LIVE:
        specs.append((category, now - dt.timedelta(hours=hours, minutes=rng.randint(0, 50)), status, None, priority))

    created = 0
    for number, (category_code, submitted, status, score, priority) in enumerate(specs):
        category = categories[category_code]
        if secretary_workplaces and number % SECRETARY_SHARE == 0:
            workplace = secretary_workplaces[(number // SECRETARY_SHARE) % len(secretary_workplaces)]
        else:
            workplace = rng.choice(workplaces)
        org = route_request(category=category, workplace=workplace, region=workplace.region)
        phone = f"139{rng.randint(10000000, 99999999)}"
        tracking_code = _code(rng, taken)
        request = ServiceRequest(
            # A 查询密码 like every request made since it exists, drawn with `secrets` (not the seeded rng, which
            # anyone reading this file could replay) and thrown away: demo requests are not for public look-up.
            tracking_code=tracking_code, access_secret_hash=credentials.secret_hash(code=tracking_code, secret=credentials.new_secret()),
            category=category, description=rng.choice(DESCRIPTIONS[category_code]),
            extra=EXTRA.get(category_code, {}), requester_name=rng.choice(NAMES),
            requester_phone_encrypted=crypto.encrypt(phone), requester_phone_index=crypto.blind_index(phone, purpose="requester_phone"),
            member_answer=rng.choice((MemberAnswer.YES, MemberAnswer.NO, MemberAnswer.NO, MemberAnswer.UNKNOWN)),
            workplace=workplace, region=workplace.region, latitude=workplace.latitude, longitude=workplace.longitude,
            responsible_org=org, priority=priority, status=status, submitted_at=submitted,
            due_at=submitted + dt.timedelta(hours=category.sla_hours),
        )
        entries = [TimelineEntry(kind=EntryKind.SUBMITTED, public=True, by_requester=True, to_status=RequestStatus.SUBMITTED,
                                 body=f"诉求已提交，由{org.name}承办", created_at=submitted)]
        at = submitted
        path = {
            RequestStatus.SUBMITTED: [],
            RequestStatus.ACCEPTED: [RequestStatus.ACCEPTED],
            RequestStatus.IN_PROGRESS: [RequestStatus.ACCEPTED, RequestStatus.IN_PROGRESS],
            RequestStatus.RESOLVED: [RequestStatus.ACCEPTED, RequestStatus.IN_PROGRESS, RequestStatus.RESOLVED],
            RequestStatus.CLOSED: [RequestStatus.ACCEPTED, RequestStatus.IN_PROGRESS, RequestStatus.RESOLVED, RequestStatus.CLOSED],
            RequestStatus.REOPENED: [RequestStatus.ACCEPTED, RequestStatus.IN_PROGRESS, RequestStatus.RESOLVED, RequestStatus.REOPENED],
            RequestStatus.REJECTED: [RequestStatus.REJECTED],
        }[status]
        previous = RequestStatus.SUBMITTED
        for step in path:
            at = at + dt.timedelta(hours=rng.randint(1, 5) if step != RequestStatus.CLOSED else rng.randint(6, 30))
            if status not in (RequestStatus.CLOSED, RequestStatus.REJECTED):
                at = min(at, now - dt.timedelta(minutes=5))
            kind, public, body, by_requester = {
                RequestStatus.ACCEPTED: (EntryKind.ACCEPTED, True, f"已受理，承办单位：{org.name}", False),
                RequestStatus.IN_PROGRESS: (EntryKind.STARTED, True, "", False),
                RequestStatus.RESOLVED: (EntryKind.RESOLVED, True, REPLIES[category_code], False),
                RequestStatus.CLOSED: (EntryKind.CLOSED, True, rng.choice(CLOSED_COMMENTS), True),
                RequestStatus.REOPENED: (EntryKind.REOPENED, True, "充电桩装了但一直没通电，问题还没解决。", True),
                RequestStatus.REJECTED: (EntryKind.REJECTED, True, "不属于本平台受理范围。建议拨打 12345 政务服务便民热线。", False),
            }[step]
            entries.append(TimelineEntry(kind=kind, public=public, body=body, by_requester=by_requester,
                                         from_status=previous, to_status=step, created_at=at))
            previous = step
            if step == RequestStatus.ACCEPTED:
                request.accepted_at = at
                entries.append(TimelineEntry(kind=EntryKind.NOTE, public=False, body="已电话联系提出人，核实情况属实。",
                                             created_at=at + dt.timedelta(minutes=20)))
            elif step == RequestStatus.RESOLVED:
                request.resolved_at = at
            elif step == RequestStatus.CLOSED:
                request.closed_at, request.satisfaction = at, score
                request.satisfaction_comment = entries[-1].body
            elif step == RequestStatus.REOPENED:
                request.reopen_count, request.due_at = 1, at + dt.timedelta(hours=category.sla_hours)
            elif step == RequestStatus.REJECTED:
                request.reject_reason = "不属于本平台受理范围。"
                request.redirect_to = "12345 政务服务便民热线"
        request.full_clean(exclude=["tracking_code", "requester_phone_encrypted", "requester_phone_index"])
        request.save()
        for entry in entries:
            entry.request = request
        TimelineEntry.objects.bulk_create(entries)
        created += 1
    from core.audit import SYSTEM, audit_record
    from services.actions.handling import requests_escalate_overdue

    # One summary row for the bulk load (SYSTEM), not one per point or request; the rows are inserted
    # directly, so it is written here rather than by the actions.
    audit_record(actor=SYSTEM, action="service_request.demo_load", org=root, object_type=ServiceRequest._meta.label_lower,
                 changes={"note": "demo", "count": created, "service_points": len(points)})
    requests_escalate_overdue(now=now)
    return (len(points), created)


def demo_services_summary(root) -> list[str]:
    """Lines for load_demo's closing summary."""
    from django.db.models import Count, Q

    from services.models import OPEN_STATUSES

    points = ServicePoint.objects.filter(operator_org__path__startswith=root.path).aggregate(
        total=Count("pk"), open=Count("pk", filter=Q(status=PointStatus.OPEN)),
    )
    now = timezone.now()
    requests = ServiceRequest.objects.filter(responsible_org__path__startswith=root.path).aggregate(
        total=Count("pk"), open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        overdue=Count("pk", filter=Q(status__in=OPEN_STATUSES, due_at__lt=now)),
        closed=Count("pk", filter=Q(status=RequestStatus.CLOSED)),
    )
    return [
        f"服务阵地：{points['total']} 个（开放 {points['open']}）",
        f"服务诉求：{requests['total']} 件（办理中 {requests['open']}，其中逾期 {requests['overdue']}；已关闭 {requests['closed']}）",
    ]
