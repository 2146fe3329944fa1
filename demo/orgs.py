"""The demo district loaded by `manage.py load_demo`.

A fictional district (示范区) with streets and communities, an org tree built through
orgs.actions (so every org has its OrgEvent history), about 150 workplaces with a
realistic coverage mix, members, instructors with assignments, and four demo logins.

Deterministic: fixed seed, fixed codes, fixed dates (never "today"), data created in a
fixed order. Idempotent: an existing demo is recognized by the root org code and left
alone. Everything is written in one transaction, so a failure leaves nothing behind.

Orgs, workplaces and assignments go through actions; regions, instructors, members,
users and role grants are created directly because no action exists for them yet.
Members are bulk-inserted for speed, with their 身份证号 and phone encrypted and blind-indexed exactly
as members.actions.registry does (same helpers, same purposes); the ID numbers are fictional but valid
(GB 11643 checksum, birth date matching), unique and deterministic, and the stage dates obey the
pipeline rule rows. Personal data draws from its own random generator so the rest of the demo
(names, placements, coverage) does not move when it changes.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Count, Q

from core import crypto
from core.audit import SYSTEM
from core.models import User
from core.rules import rule_int
from coverage.selectors.figures import annotate_coverage
from members.actions.registry import ID_PURPOSE, PHONE_PURPOSE
from members.models import Education, Gender, Member, MemberRole, MemberRoleAssignment, Occupation, RelationKind, Stage
from members.selectors.registry import add_months
from members.validators import id_check_char
from orgs.actions import assignment_create, org_create, org_dissolve, org_update, workplace_create
from orgs.models import (
    Assignment,
    AssignmentRole,
    FormationMode,
    Industry,
    Instructor,
    Organization,
    OrgEvent,
    OrgKind,
    OrgStatus,
    Region,
    RegionKind,
    Role,
    RoleGrant,
    Workplace,
    WorkplaceKind,
)
from orgs.selectors import CoverageState

DEMO_ROOT_CODE = "SFQ000"
DEMO_DISTRICT_CODE = "110199000000"
SEED = 20260101
# Committee elections are derived from this fixed date, not from today, so reloads are identical.
COMMITTEE_REFERENCE_DATE = dt.date(2026, 6, 30)
DEMO_URL = "http://127.0.0.1:8000"

CENTER_LAT, CENTER_LON = 39.9, 116.4
KM_PER_DEG_LAT = 111.0
KM_PER_DEG_LON = 111.0 * math.cos(math.radians(CENTER_LAT))


# ---------------------------------------------------------------- regions
@dataclass(frozen=True)
class StreetSpec:
    key: str
    name: str
    x_km: float  # offset of the street's center from the district center (east)
    y_km: float  # (north)
    communities: tuple[tuple[str, str, str], ...]  # (key, name, road)


STREETS: tuple[StreetSpec, ...] = (
    StreetSpec("DH", "东华街道", 0.0, 0.5, (
        ("DH1", "东华门社区", "东华大街"), ("DH2", "银河社区", "银河路"),
        ("DH3", "和平里社区", "和平里街"), ("DH4", "金融街社区", "金融大街"),
    )),
    StreetSpec("XF", "西坊街道", -4.5, 1.0, (
        ("XF1", "西坊北里社区", "西坊路"), ("XF2", "锦绣社区", "锦绣路"), ("XF3", "槐树岭社区", "槐树岭路"),
    )),
    StreetSpec("NH", "南湖街道", 1.5, -4.0, (
        ("NH1", "湖滨社区", "湖滨路"), ("NH2", "南湖东园社区", "南湖大道"),
        ("NH3", "望湖社区", "望湖路"), ("NH4", "南湖新城社区", "新城南路"),
    )),
    StreetSpec("BY", "北苑街道", 0.5, 5.0, (
        ("BY1", "北苑家园社区", "北苑路"), ("BY2", "清河湾社区", "清河路"), ("BY3", "天通社区", "天通路"),
    )),
    StreetSpec("XC", "新城街道", 5.5, 2.0, (
        ("XC1", "新城花园社区", "新城大道"), ("XC2", "科创社区", "科创路"),
    )),
    StreetSpec("ZS", "中山街道", -3.0, -3.5, (
        ("ZS1", "中山路社区", "中山路"), ("ZS2", "文化宫社区", "文化路"), ("ZS3", "丽景社区", "丽景街"),
    )),
)


# ---------------------------------------------------------------- workplaces
P, F, S, SC, BD, B, PK = (
    WorkplaceKind.PLATFORM, WorkplaceKind.FRANCHISE, WorkplaceKind.STATION, WorkplaceKind.SORTING_CENTER,
    WorkplaceKind.BUSINESS_DISTRICT, WorkplaceKind.BUILDING, WorkplaceKind.PARK,
)
EXP, FOOD, RIDE, FRT, LIVE, DOM, MIX = (
    Industry.EXPRESS, Industry.FOOD_DELIVERY, Industry.RIDE_HAILING, Industry.FREIGHT,
    Industry.LIVE_STREAMING, Industry.DOMESTIC, Industry.MIXED,
)

# (key, name, kind, industry, community). Coverage is decided by the branches and
# assignments below; the comments give the intended state (org / wo = work only / u = 空白点).
WORKPLACES: tuple[tuple[str, str, str, str, str], ...] = (
    # 快递
    ("e01", "顺丰速运示范区营业部", S, EXP, "XC1"),
    ("e02", "顺丰速运示范区中转场", SC, EXP, "XC2"),
    ("e03", "京东物流示范区分拣中心", SC, EXP, "XC2"),
    ("e04", "中通快递示范区分公司", F, EXP, "XC1"),
    ("e05", "圆通速递示范区分公司", F, EXP, "BY2"),
    ("e06", "申通快递示范区分公司", F, EXP, "BY3"),
    ("e07", "韵达快递示范区分公司", F, EXP, "ZS1"),
    ("e08", "圆通速递银河网点", S, EXP, "DH2"),
    ("e09", "极兔速递东华门网点", S, EXP, "DH1"),
    ("e10", "极兔速递和平里网点", S, EXP, "DH3"),
    ("e11", "极兔速递北苑网点（原百世快递网点）", S, EXP, "BY1"),
    ("e12", "中国邮政集团示范区分公司", P, EXP, "ZS2"),
    ("e13", "韵达快递银河网点", S, EXP, "DH2"),
    ("e14", "申通快递西坊网点", S, EXP, "XF1"),
    ("e15", "中通快递锦绣网点", S, EXP, "XF2"),
    ("e16", "德邦快递示范区营业部", S, EXP, "XC1"),
    ("e17", "丰网速运湖滨网点", S, EXP, "NH1"),
    ("e18", "京东快递南湖东园营业部", S, EXP, "NH2"),
    ("e19", "顺丰速运南湖营业部", S, EXP, "NH3"),  # wo
    ("e20", "京东快递新城营业部", S, EXP, "XC1"),  # wo
    ("e21", "菜鸟驿站湖滨社区店", S, EXP, "NH1"),  # u (assignment ended)
    ("e22", "菜鸟驿站天通社区店", S, EXP, "BY3"),  # u
    ("e23", "兔喜生活锦绣店", S, EXP, "XF2"),  # u
    ("e24", "中通快递北苑网点", S, EXP, "BY1"),  # wo
    ("e25", "圆通速递中山网点", S, EXP, "ZS1"),  # wo
    ("e26", "申通快递丽景网点", S, EXP, "ZS3"),
    ("e27", "韵达快递槐树岭网点", S, EXP, "XF3"),
    ("e28", "极兔速递新城网点", S, EXP, "XC2"),  # wo
    ("e29", "德邦快递北苑网点", S, EXP, "BY2"),  # u
    ("e30", "顺丰速运东华门营业部", S, EXP, "DH1"),
    ("e31", "京东快递金融街营业部", S, EXP, "DH4"),
    ("e32", "中国邮政东华支局", S, EXP, "DH1"),
    ("e33", "京东快递西坊营业部", S, EXP, "XF1"),
    ("e34", "京东快递锦绣营业部", S, EXP, "XF2"),
    ("e35", "京东快递北苑营业部", S, EXP, "BY1"),
    ("e36", "京东快递中山营业部", S, EXP, "ZS1"),
    ("e37", "顺丰速运西坊营业部", S, EXP, "XF3"),
    ("e38", "顺丰速运北苑营业部", S, EXP, "BY2"),
    ("e39", "顺丰速运文化宫营业部", S, EXP, "ZS2"),
    ("e40", "顺丰速运丽景营业部", S, EXP, "ZS3"),
    # 外卖配送
    ("f01", "美团外卖示范区运营中心", P, FOOD, "DH4"),
    ("f02", "美团外卖东华门站", S, FOOD, "DH1"),
    ("f03", "美团外卖银河站", S, FOOD, "DH2"),
    ("f04", "美团外卖和平里站", S, FOOD, "DH3"),
    ("f05", "美团外卖金融街站", S, FOOD, "DH4"),
    ("f06", "美团外卖东华商圈站", S, FOOD, "DH1"),
    ("f07", "美团外卖西坊北里站", S, FOOD, "XF1"),
    ("f08", "美团外卖锦绣站", S, FOOD, "XF2"),
    ("f09", "美团外卖槐树岭站", S, FOOD, "XF3"),
    ("f10", "美团外卖中山路站", S, FOOD, "ZS1"),
    ("f11", "美团外卖湖滨站", S, FOOD, "NH1"),
    ("f12", "美团外卖南湖东园站", S, FOOD, "NH2"),
    ("f13", "美团外卖望湖站", S, FOOD, "NH3"),
    ("f14", "示范区速达配送服务有限公司（饿了么城市服务商）", F, FOOD, "ZS2"),
    ("f15", "饿了么蜂鸟即配北苑家园站", S, FOOD, "BY1"),
    ("f16", "饿了么蜂鸟即配清河湾站", S, FOOD, "BY2"),
    ("f17", "饿了么蜂鸟即配天通站", S, FOOD, "BY3"),
    ("f18", "达达秒送新城站", S, FOOD, "XC1"),
    ("f19", "顺丰同城科创站", S, FOOD, "XC2"),
    ("f20", "美团外卖丽景站", S, FOOD, "ZS3"),
    ("f21", "饿了么文化宫站", S, FOOD, "ZS2"),
    ("f22", "UU跑腿示范区站", S, FOOD, "ZS1"),
    ("f23", "闪送示范区服务站", S, FOOD, "DH3"),  # wo
    ("f24", "饿了么示范区运营中心", P, FOOD, "ZS2"),  # wo
    ("f25", "美团外卖新城站", S, FOOD, "XC1"),
    ("f26", "美团外卖科创站", S, FOOD, "XC2"),
    ("f27", "饿了么湖滨站", S, FOOD, "NH1"),
    ("f28", "饿了么望湖站", S, FOOD, "NH3"),  # u (assignment ended)
    ("f29", "美团外卖北苑家园站", S, FOOD, "BY1"),  # wo (the instructor login, outside its committee)
    ("f30", "美团外卖清河湾站", S, FOOD, "BY2"),
    ("f31", "美团外卖天通站", S, FOOD, "BY3"),
    ("f32", "饿了么锦绣站", S, FOOD, "XF2"),  # u
    ("f33", "饿了么槐树岭站", S, FOOD, "XF3"),  # wo
    ("f34", "达达秒送东华站", S, FOOD, "DH1"),
    ("f35", "美团众包示范区服务中心", F, FOOD, "ZS1"),  # wo
    ("f36", "示范区蜂鸟骑手服务有限公司", F, FOOD, "BY2"),  # u
    ("f37", "UU跑腿南湖站", S, FOOD, "NH2"),
    ("f38", "闪送北苑服务站", S, FOOD, "BY3"),  # u
    ("f39", "美团外卖文化宫站", S, FOOD, "ZS2"),  # u
    ("f40", "饿了么丽景站", S, FOOD, "ZS3"),  # wo
    # 网约车
    ("r01", "滴滴出行示范区分公司", P, RIDE, "DH4"),
    ("r02", "曹操出行示范区分公司", P, RIDE, "XC2"),
    ("r03", "T3出行示范区运营中心", P, RIDE, "XC2"),
    ("r04", "示范区顺达汽车租赁有限公司", F, RIDE, "BY1"),
    ("r05", "示范区恒通运力服务有限公司", F, RIDE, "BY2"),
    ("r06", "示范区安行汽车服务有限公司", F, RIDE, "XF1"),
    ("r07", "示范区鑫程汽车租赁有限公司", F, RIDE, "ZS1"),
    ("r08", "示范区畅途网约车服务有限公司", F, RIDE, "NH2"),
    ("r09", "滴滴司机之家东华服务站", S, RIDE, "DH2"),
    ("r10", "高德打车示范区聚合服务中心", P, RIDE, "ZS2"),  # wo
    ("r11", "首汽约车示范区分公司", P, RIDE, "XF2"),  # u
    ("r12", "享道出行示范区运营点", S, RIDE, "XC1"),  # u
    ("r13", "如祺出行示范区服务站", S, RIDE, "BY3"),  # wo
    ("r14", "花小猪出行示范区司机服务站", S, RIDE, "NH3"),  # u
    ("r15", "示范区网约车综合服务站", S, RIDE, "XC1"),
    ("r16", "示范区永安汽车租赁有限公司", F, RIDE, "XF3"),  # u
    ("r17", "示范区众和运力服务有限公司", F, RIDE, "ZS3"),  # wo
    ("r18", "阳光出行示范区运营点", S, RIDE, "NH1"),
    # 网络货运
    ("g01", "货拉拉示范区分公司", P, FRT, "XC1"),
    ("g02", "满帮集团示范区服务中心", P, FRT, "XC2"),
    ("g03", "示范区公路港物流园", PK, FRT, "XC2"),
    ("g04", "示范区通达运输车队", F, FRT, "XC1"),
    ("g05", "示范区恒远物流有限公司", F, FRT, "XC2"),
    ("g06", "示范区顺捷货运有限公司", F, FRT, "BY2"),
    ("g07", "快狗打车示范区服务站", S, FRT, "BY1"),
    ("g08", "示范区城配物流有限公司", F, FRT, "BY3"),
    ("g09", "滴滴货运示范区服务站", S, FRT, "XF1"),
    ("g10", "货拉拉新城司机服务站", S, FRT, "XC1"),  # wo
    ("g11", "示范区冷链物流园", PK, FRT, "XC2"),  # u
    ("g12", "示范区干线运输车队服务点", S, FRT, "BY2"),  # wo
    ("g13", "示范区鑫达货运有限公司", F, FRT, "ZS3"),  # u
    ("g14", "示范区安顺物流有限公司", F, FRT, "XF3"),  # u
    ("g15", "示范区快运分拨中心", SC, FRT, "XC2"),  # wo
    ("g16", "示范区同城货运集散点", S, FRT, "NH2"),  # u
    # 网络直播
    ("l01", "抖音直播示范区基地", PK, LIVE, "DH4"),
    ("l02", "示范区星耀文化传媒有限公司", F, LIVE, "DH2"),
    ("l03", "示范区火花互娱科技有限公司", F, LIVE, "DH3"),
    ("l04", "示范区青禾电商传媒有限公司", F, LIVE, "XF1"),
    ("l05", "示范区云帆网络科技有限公司", F, LIVE, "ZS2"),
    ("l06", "快手电商示范区直播基地", PK, LIVE, "XC2"),
    ("l07", "示范区直播电商产业园", PK, LIVE, "NH2"),
    ("l08", "视频号直播示范区服务中心", P, LIVE, "ZS1"),  # wo
    ("l09", "示范区乐播传媒有限公司", F, LIVE, "BY1"),  # u
    ("l10", "示范区星河直播工作室", F, LIVE, "XF2"),  # u
    ("l11", "小红书示范区直播运营中心", P, LIVE, "DH1"),  # wo
    ("l12", "示范区优选带货直播楼", B, LIVE, "DH3"),  # u
    ("l13", "淘宝直播示范区基地", PK, LIVE, "XC1"),  # wo
    ("l14", "示范区数字文创直播园", PK, LIVE, "ZS3"),  # u
    # 商圈、楼宇、园区、网约家政 (responsible: the street's 大工委)
    ("m01", "东华商圈", BD, MIX, "DH1"),
    ("m02", "金融街商圈", BD, MIX, "DH4"),  # wo
    ("m03", "示范区数字大厦", B, MIX, "DH4"),
    ("m04", "东华国际中心", B, MIX, "DH1"),
    ("m05", "银河SOHO", B, MIX, "DH2"),
    ("m06", "和平里文创园", PK, MIX, "DH3"),
    ("m07", "58到家示范区服务站", S, DOM, "DH2"),
    ("m08", "天鹅到家东华服务站", S, DOM, "DH3"),
    ("m09", "华贸中心", B, MIX, "DH1"),
    ("m10", "东华银座商业楼宇", B, MIX, "DH2"),
    ("m11", "南湖万达广场商圈", BD, MIX, "NH2"),
    ("m12", "湖滨步行街商圈", BD, MIX, "NH1"),
    ("m13", "南湖科技大厦", B, MIX, "NH3"),  # wo (the instructor login, outside its committee)
    ("m14", "示范区电商产业园", PK, MIX, "NH4"),
    ("m15", "望湖国际大厦", B, MIX, "NH3"),  # u
    ("m16", "南湖创业大厦", B, MIX, "NH1"),
    ("m17", "阿姨来了南湖服务站", S, DOM, "NH2"),  # wo
    ("m18", "南湖新城产业园", PK, MIX, "NH4"),  # u
    ("m19", "南湖新城商圈", BD, MIX, "NH4"),
    ("m20", "示范区好帮手家政服务有限公司", F, DOM, "DH4"),
    ("m21", "示范区悦家家政服务有限公司", F, DOM, "NH1"),  # u
    ("m22", "示范区云家政平台运营中心", P, DOM, "NH3"),  # wo
)

# gig_worker_count range and trade-union probability by kind
WORKER_RANGE = {P: (150, 400), F: (40, 200), S: (8, 80), SC: (120, 400), BD: (80, 300), B: (20, 120), PK: (60, 400)}
UNION_PROBABILITY = {P: 0.9, F: 0.5, S: 0.3, SC: 0.8, BD: 0.6, B: 0.5, PK: 0.7}


# ---------------------------------------------------------------- organizations
@dataclass(frozen=True)
class CommitteeSpec:
    code: str
    name: str
    kind: str
    industry: str
    established: dt.date
    document_number: str
    street: str = ""  # regional committees sit in their street


COMMITTEES: tuple[CommitteeSpec, ...] = (
    CommitteeSpec("SFQ100", "中共示范区快递行业委员会", OrgKind.INDUSTRY_COMMITTEE, EXP, dt.date(2020, 4, 15), "示两新工〔2020〕3号"),
    CommitteeSpec("SFQ200", "中共示范区外卖配送行业委员会", OrgKind.INDUSTRY_COMMITTEE, FOOD, dt.date(2020, 4, 15), "示两新工〔2020〕4号"),
    CommitteeSpec("SFQ300", "中共示范区网约车行业委员会", OrgKind.INDUSTRY_COMMITTEE, RIDE, dt.date(2020, 9, 10), "示两新工〔2020〕11号"),
    CommitteeSpec("SFQ400", "中共示范区网络货运行业委员会", OrgKind.INDUSTRY_COMMITTEE, FRT, dt.date(2021, 3, 18), "示两新工〔2021〕2号"),
    CommitteeSpec("SFQ500", "中共示范区网络直播行业委员会", OrgKind.INDUSTRY_COMMITTEE, LIVE, dt.date(2022, 5, 20), "示两新工〔2022〕6号"),
    CommitteeSpec("SFQ600", "中共示范区东华街道大工委", OrgKind.REGIONAL_COMMITTEE, MIX, dt.date(2021, 6, 30), "示两新工〔2021〕9号", "DH"),
    CommitteeSpec("SFQ700", "中共示范区南湖街道大工委", OrgKind.REGIONAL_COMMITTEE, MIX, dt.date(2021, 6, 30), "示两新工〔2021〕10号", "NH"),
)
FIRST_GENERATED_DOCUMENT_NUMBER = 12  # the fixed numbers above stay below this
INDUSTRY_COMMITTEE_CODE = {EXP: "SFQ100", FOOD: "SFQ200", RIDE: "SFQ300", FRT: "SFQ400", LIVE: "SFQ500"}
REGIONAL_COMMITTEE_CODE = {"DH": "SFQ600", "NH": "SFQ700"}

GENERAL_BRANCHES: tuple[tuple[str, str, str, dt.date], ...] = (
    # (code, name, parent code, established)
    ("SFQ110", "中共顺丰速运示范区总支部委员会", "SFQ100", dt.date(2021, 3, 20)),
    ("SFQ210", "中共美团外卖示范区总支部委员会", "SFQ200", dt.date(2021, 5, 10)),
)


@dataclass(frozen=True)
class BranchSpec:
    code: str
    name: str
    parent: str  # parent org code
    kind: str
    mode: str
    workplaces: tuple[str, ...]
    # (full, probationary, activist, applicant)
    counts: tuple[int, int, int, int]
    established: dt.date
    gap: dict[str, int] = field(default_factory=dict)  # workplace key → full members placed there (≥3: needs own branch)
    groups: tuple[str, ...] = ()  # Party groups under the branch
    secretary: str = ""  # fixed secretary name (else generated)
    no_committee: bool = False  # a committee is due (≥7 full) but has not been elected: a gap to show
    mobile_share: float = 0.07


BR, JB = OrgKind.BRANCH, OrgKind.JOINT_BRANCH
SINGLE, JOINT, AREA, INDUSTRY = FormationMode.SINGLE, FormationMode.JOINT, FormationMode.AREA, FormationMode.INDUSTRY


def _keys(prefix: str, *numbers: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{n:02d}" for n in numbers)


SECRETARY_BRANCH_CODE = "SFQ212"
DISSOLVED_BRANCH_CODE = "SFQ109"
RENAMED_BRANCH_CODE = "SFQ402"

BRANCHES: tuple[BranchSpec, ...] = (
    # 快递行业党委
    BranchSpec("SFQ111", "顺丰速运示范区营业部党支部", "SFQ110", BR, SINGLE, ("e01",), (10, 1, 2, 1), dt.date(2021, 4, 8)),
    BranchSpec("SFQ112", "顺丰速运示范区中转场党支部", "SFQ110", BR, SINGLE, ("e02",), (8, 1, 1, 1), dt.date(2021, 4, 8)),
    BranchSpec("SFQ113", "顺丰速运示范区网点联合党支部", "SFQ110", JB, JOINT, _keys("e", 37, 38, 39, 40), (6, 1, 1, 0), dt.date(2022, 7, 1)),
    BranchSpec("SFQ101", "京东物流示范区分拣中心党支部", "SFQ100", BR, SINGLE, ("e03",), (54, 3, 2, 2), dt.date(2020, 11, 18),
               groups=("分拣一组党小组", "分拣二组党小组", "干线运输党小组")),
    BranchSpec("SFQ102", "中通快递示范区分公司党支部", "SFQ100", BR, SINGLE, ("e04",), (8, 0, 1, 1), dt.date(2022, 3, 15),
               no_committee=True, mobile_share=0.0),
    BranchSpec("SFQ103", "圆通申通韵达示范区联合党支部", "SFQ100", JB, JOINT, _keys("e", 5, 6, 7, 8), (7, 1, 1, 1), dt.date(2021, 9, 10)),
    BranchSpec("SFQ109", "百世快递示范区北苑网点党支部", "SFQ100", BR, SINGLE, ("e11",), (0, 0, 0, 0), dt.date(2020, 10, 12)),
    BranchSpec("SFQ104", "极兔速递示范区网点联合党支部", "SFQ100", JB, JOINT, _keys("e", 9, 10, 11), (5, 1, 1, 0), dt.date(2023, 7, 20)),
    BranchSpec("SFQ105", "示范区快递行业第一党支部", "SFQ100", BR, INDUSTRY,
               _keys("e", 13, 14, 15, 16, 17, 18, 26, 27, 33, 34, 35, 36), (14, 2, 2, 1), dt.date(2021, 12, 1), gap={"e13": 4}),
    BranchSpec("SFQ106", "中国邮政示范区分公司党支部", "SFQ100", BR, SINGLE, ("e12",), (9, 1, 1, 0), dt.date(2020, 6, 30)),
    # 外卖配送行业党委
    BranchSpec("SFQ211", "美团外卖示范区运营中心党支部", "SFQ210", BR, SINGLE, ("f01",), (11, 1, 2, 1), dt.date(2021, 5, 10)),
    BranchSpec("SFQ212", "美团外卖东华站点联合党支部", "SFQ210", JB, JOINT, _keys("f", 2, 3, 4, 5, 6), (9, 2, 2, 2), dt.date(2021, 6, 18),
               gap={"f03": 3}, groups=("第一党小组", "第二党小组"), secretary="王磊", mobile_share=0.0),
    BranchSpec("SFQ213", "美团外卖西坊站点联合党支部", "SFQ210", JB, JOINT, _keys("f", 7, 8, 9, 10), (6, 1, 1, 1), dt.date(2022, 4, 12)),
    BranchSpec("SFQ214", "美团外卖南湖站点联合党支部", "SFQ210", JB, JOINT, _keys("f", 11, 12, 13), (5, 1, 0, 1), dt.date(2022, 9, 6)),
    BranchSpec("SFQ201", "饿了么示范区城市服务商党支部", "SFQ200", BR, SINGLE, ("f14",), (7, 1, 1, 1), dt.date(2021, 10, 22)),
    BranchSpec("SFQ202", "饿了么蜂鸟即配北苑站点联合党支部", "SFQ200", JB, JOINT, _keys("f", 15, 16, 17), (4, 1, 1, 0), dt.date(2023, 3, 28)),
    BranchSpec("SFQ203", "示范区外卖配送行业党支部", "SFQ200", BR, INDUSTRY, _keys("f", 18, 19, 20, 21, 22, 25, 26, 30, 31),
               (10, 2, 1, 1), dt.date(2022, 11, 8)),
    # 网约车行业党委
    BranchSpec("SFQ301", "滴滴出行示范区党支部", "SFQ300", BR, SINGLE, ("r01",), (18, 2, 2, 1), dt.date(2020, 12, 15),
               groups=("运营服务党小组", "司机党员党小组")),
    BranchSpec("SFQ302", "曹操出行T3出行示范区联合党支部", "SFQ300", JB, JOINT, _keys("r", 2, 3), (4, 1, 0, 1), dt.date(2023, 5, 16)),
    BranchSpec("SFQ303", "示范区网约车行业党支部", "SFQ300", BR, INDUSTRY, _keys("r", 4, 5, 6, 7, 8, 15), (9, 1, 1, 0),
               dt.date(2021, 8, 25), gap={"r04": 3}, mobile_share=0.25),
    # 网络货运行业党委
    BranchSpec("SFQ401", "货拉拉示范区分公司党支部", "SFQ400", BR, SINGLE, ("g01",), (7, 1, 1, 0), dt.date(2021, 7, 1), mobile_share=0.0),
    BranchSpec("SFQ402", "运满满示范区服务中心党支部", "SFQ400", BR, SINGLE, ("g02",), (5, 1, 0, 1), dt.date(2021, 8, 16)),
    BranchSpec("SFQ403", "示范区公路港物流园联合党支部", "SFQ400", JB, AREA, _keys("g", 3, 4, 5, 6), (6, 1, 1, 0), dt.date(2022, 6, 20)),
    BranchSpec("SFQ404", "示范区网络货运行业党支部", "SFQ400", BR, INDUSTRY, _keys("g", 7, 8, 9), (5, 0, 1, 1), dt.date(2023, 4, 11)),
    # 网络直播行业党委
    BranchSpec("SFQ501", "抖音直播示范区基地党支部", "SFQ500", BR, SINGLE, ("l01",), (8, 2, 2, 2), dt.date(2022, 8, 30)),
    BranchSpec("SFQ502", "示范区MCN机构联合党支部", "SFQ500", JB, JOINT, _keys("l", 2, 3, 4, 5), (5, 1, 2, 1), dt.date(2023, 6, 15)),
    BranchSpec("SFQ503", "快手电商示范区直播基地党支部", "SFQ500", BR, SINGLE, ("l06",), (4, 1, 1, 1), dt.date(2024, 4, 18)),
    # 街道大工委
    BranchSpec("SFQ601", "东华商圈区域联建党支部", "SFQ600", BR, AREA,
               ("m01", "m04", "m09", "m10", "e30", "e31", "e32", "f34", "r09"), (5, 1, 1, 1), dt.date(2022, 1, 12)),
    BranchSpec("SFQ602", "示范区数字大厦党支部", "SFQ600", BR, SINGLE, ("m03",), (6, 1, 1, 0), dt.date(2021, 11, 30)),
    BranchSpec("SFQ603", "东华街道新就业群体联合党支部", "SFQ600", JB, AREA, ("m05", "m06", "m07", "m08", "m20"), (6, 1, 1, 1),
               dt.date(2025, 1, 15)),
    BranchSpec("SFQ701", "南湖商圈区域联建党支部", "SFQ700", BR, AREA, ("m11", "m12", "m16", "m19", "f27", "f37", "r18", "l07"),
               (7, 1, 1, 1), dt.date(2022, 5, 26), mobile_share=0.0),
    BranchSpec("SFQ702", "示范区电商产业园党支部", "SFQ700", BR, SINGLE, ("m14",), (5, 1, 1, 0), dt.date(2023, 10, 10)),
)

RENAME = {
    "code": RENAMED_BRANCH_CODE,
    "name": "满帮集团示范区服务中心党支部",
    "happened_on": dt.date(2024, 3, 1),
    "reason": "运满满与货车帮整合为满帮集团，企业更名，党支部随之更名。",
}
DISSOLVE = {
    "code": DISSOLVED_BRANCH_CODE,
    "happened_on": dt.date(2023, 6, 30),
    "reason": "百世快递网点由极兔速递整合，原支部党员组织关系已转入极兔速递示范区网点联合党支部。",
}


# ---------------------------------------------------------------- instructors
@dataclass(frozen=True)
class InstructorSpec:
    name: str
    org: str  # org code
    title: str
    role: str
    workplaces: tuple[tuple[str, dt.date], ...]  # active assignments
    ended: tuple[tuple[str, dt.date, dt.date], ...] = ()  # (workplace key, started, ended)
    orgs: tuple[tuple[str, dt.date], ...] = ()  # assignments to orgs (联系党组织)
    username: str = ""  # demo login linked to this instructor


INSTRUCTOR_ROLE, LIAISON_ROLE = AssignmentRole.INSTRUCTOR, AssignmentRole.LIAISON

INSTRUCTORS: tuple[InstructorSpec, ...] = (
    InstructorSpec(
        "赵建国", "SFQ100", "区快递行业党委专职党建指导员", INSTRUCTOR_ROLE,
        (("e19", dt.date(2024, 3, 1)), ("e20", dt.date(2024, 3, 1)), ("e24", dt.date(2024, 5, 15)),
         ("e25", dt.date(2024, 5, 15)), ("e28", dt.date(2025, 1, 10)),
         # outside the express committee's subtree: the login sees these because they are assigned
         ("f29", dt.date(2025, 2, 20)), ("m13", dt.date(2025, 4, 1))),
        ended=(("e21", dt.date(2023, 9, 1), dt.date(2025, 6, 30)),),
        username="instructor",
    ),
    InstructorSpec(
        "孙丽娟", "SFQ200", "区外卖配送行业党委党建指导员", INSTRUCTOR_ROLE,
        (("f23", dt.date(2024, 6, 1)), ("f24", dt.date(2023, 11, 1)), ("f33", dt.date(2024, 9, 1)),
         ("f35", dt.date(2024, 9, 1)), ("f40", dt.date(2025, 3, 15))),
        orgs=(("SFQ203", dt.date(2023, 1, 5)),),
    ),
    InstructorSpec(
        "周海涛", "SFQ300", "区网约车行业党委党建指导员", INSTRUCTOR_ROLE,
        (("r10", dt.date(2024, 2, 1)), ("r13", dt.date(2024, 7, 1)), ("r17", dt.date(2025, 5, 1))),
        orgs=(("SFQ303", dt.date(2022, 3, 1)),),
    ),
    InstructorSpec(
        "吴秀英", "SFQ400", "区网络货运行业党委党建联络员", LIAISON_ROLE,
        (("g10", dt.date(2024, 4, 1)), ("g12", dt.date(2024, 4, 1)), ("g15", dt.date(2025, 2, 1))),
    ),
    InstructorSpec(
        "郑晓东", "SFQ500", "区网络直播行业党委党建指导员", INSTRUCTOR_ROLE,
        (("l08", dt.date(2024, 8, 1)), ("l11", dt.date(2024, 8, 1)), ("l13", dt.date(2025, 6, 1))),
        orgs=(("SFQ502", dt.date(2023, 7, 1)),),
    ),
    InstructorSpec(
        "钱志强", "SFQ600", "东华街道大工委党建联络员", LIAISON_ROLE,
        (("m02", dt.date(2024, 1, 2)),),
        ended=(("m06", dt.date(2023, 5, 1), dt.date(2024, 12, 31)),),
    ),
    InstructorSpec(
        "冯雪梅", "SFQ700", "南湖街道大工委党建指导员", INSTRUCTOR_ROLE,
        (("m17", dt.date(2024, 10, 8)), ("m22", dt.date(2024, 10, 8))),
        ended=(("f28", dt.date(2024, 4, 1), dt.date(2025, 3, 31)),),
    ),
)


# ---------------------------------------------------------------- users
@dataclass(frozen=True)
class UserSpec:
    username: str
    display_name: str
    role: str
    org: str  # org code of the grant


USERS: tuple[UserSpec, ...] = (
    UserSpec("district", "李文静（区委社会工作部）", Role.DISTRICT, DEMO_ROOT_CODE),
    UserSpec("secretary", "王磊（支部书记）", Role.SECRETARY, SECRETARY_BRANCH_CODE),
    UserSpec("instructor", "赵建国（党建指导员）", Role.INSTRUCTOR, "SFQ100"),
    UserSpec("viewer", "陈晓燕（统计查看）", Role.VIEWER, DEMO_ROOT_CODE),
)
DEMO_USERNAMES = tuple(spec.username for spec in USERS)
# Demo logins that may reveal members' full ID numbers and phones (every reveal is logged).
REVEAL_USERNAMES = ("district",)


def reveal_permission() -> Permission:
    return Permission.objects.get(codename="reveal_personal_data", content_type__app_label="members")


# ---------------------------------------------------------------- names
SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗",
    "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡",
)
GIVEN_NAMES = (
    "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞", "平", "刚", "桂英", "秀兰",
    "建华", "建平", "志强", "海燕", "晓东", "丽华", "文博", "子豪", "宇航", "浩然", "俊杰", "欣怡", "雨轩", "梓涵", "佳豪",
    "振国", "春梅", "红梅", "国庆", "立新", "晓峰", "鹏飞", "海峰", "云飞", "永刚", "德华", "金凤", "玉兰", "少华", "新民",
)

OCCUPATION_BY_INDUSTRY = {
    EXP: Occupation.COURIER,
    FOOD: Occupation.RIDER,
    RIDE: Occupation.RIDE_HAILING_DRIVER,
    FRT: Occupation.TRUCK_DRIVER,
    LIVE: Occupation.STREAMER,
    DOM: Occupation.DOMESTIC_WORKER,
}
# Members at business districts, buildings and parks (综合): riders and couriers who work there.
MIXED_OCCUPATIONS = (Occupation.RIDER, Occupation.COURIER, Occupation.RIDE_HAILING_DRIVER, Occupation.STREAMER)

# Personal data of demo members (all fictional).
PERSONAL_SEED = SEED + 1
# Stage dates are counted back from this fixed day, never from today.
MEMBER_REFERENCE_DATE = dt.date(2026, 1, 15)
# Birthplace area codes (the first 6 characters of an ID number): migrant workers come from many provinces.
BIRTHPLACE_CODES = ("110105", "130102", "130602", "370102", "371302", "410102", "411602", "412702", "340102", "341202",
                    "420102", "430102", "360102", "510104", "500101", "610102", "230102", "220102", "150102", "620102")
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156",
                   "158", "159", "166", "176", "177", "180", "181", "182", "185", "186", "187", "188", "189", "199")
EMPLOYERS = {
    EXP: ("顺丰速运", "中通快递", "圆通速递", "韵达快递", "申通快递", "京东物流", "极兔速递"),
    FOOD: ("美团", "饿了么"),
    RIDE: ("滴滴出行", "曹操出行", "T3出行", "首汽约车"),
    FRT: ("货拉拉", "满帮", "快狗打车"),
    LIVE: ("抖音", "快手", "示范区星光传媒"),
    DOM: ("58到家", "天鹅到家", "示范区家政服务公司"),
}
EDUCATION_WEIGHTS = ((Education.JUNIOR, 20), (Education.SENIOR, 40), (Education.COLLEGE, 25), (Education.BACHELOR, 13),
                     (Education.POSTGRADUATE, 2))
HOME_ORGS = ("河南省周口市川汇区城南街道党工委", "河北省保定市莲池区五四路街道党工委", "山东省菏泽市牡丹区东城街道党工委",
             "安徽省阜阳市颍州区鼓楼街道党工委", "湖北省黄冈市黄州区东湖街道党工委", "四川省南充市顺庆区中城街道党工委")


class DemoDataError(RuntimeError):
    """The demo data contradicts itself (a bug in this module, not a user error)."""


@dataclass
class DemoResult:
    created: bool
    lines: list[str]
    problems: list[str]


def demo_root() -> Organization | None:
    return Organization.objects.filter(code=DEMO_ROOT_CODE).first()


# ---------------------------------------------------------------- builder
class _Builder:
    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        # Names fixed in the specs are never generated for someone else.
        self.used_names: set[str] = {spec.secretary for spec in BRANCHES if spec.secretary} | {spec.name for spec in INSTRUCTORS}
        self.documents = self.plan_document_numbers()
        self.regions: dict[str, Region] = {}
        self.centers: dict[str, tuple[float, float]] = {}  # community key → (x_km, y_km)
        self.roads: dict[str, str] = {}
        self.street_of: dict[str, str] = {}
        self.orgs: dict[str, Organization] = {}
        self.workplaces: dict[str, Workplace] = {}
        self.users: dict[str, User] = {}
        self.actor: User | None = None
        self.password_hash: str | None = None
        self.term_years = rule_int("committee_term_years")
        self.person_rng = random.Random(PERSONAL_SEED)
        self.used_ids: set[str] = set()
        self.used_phones: set[str] = set()
        self.member_roles: dict[str, list[str]] = {}  # ID blind index → roles
        self.serials: Counter[str] = Counter()
        self.pipeline = {key: rule_int(key) for key in ("applicant_min_age", "activist_min_months", "candidate_training_hours",
                                                        "probation_months")}

    # ---- helpers
    def person_name(self) -> str:
        for _ in range(1000):
            name = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN_NAMES)
            if name not in self.used_names:
                self.used_names.add(name)
                return name
        raise DemoDataError("ran out of distinct names")

    @staticmethod
    def plan_document_numbers() -> dict[str, str]:
        """文号 for every dated change, numbered in date order within each year (after the fixed ones)."""
        dated = [(established, code) for code, _name, _parent, established in GENERAL_BRANCHES]
        dated += [(spec.established, spec.code) for spec in BRANCHES]
        dated += [(RENAME["happened_on"], "rename"), (DISSOLVE["happened_on"], "dissolve")]
        numbers: Counter[int] = Counter()
        documents = {}
        for day, key in sorted(dated):
            numbers[day.year] += 1
            documents[key] = f"示两新工〔{day.year}〕{FIRST_GENERATED_DOCUMENT_NUMBER - 1 + numbers[day.year]}号"
        return documents

    def committee_elected_on(self, established: dt.date) -> dt.date:
        elected = established
        while elected.replace(year=elected.year + self.term_years) <= COMMITTEE_REFERENCE_DATE:
            elected = elected.replace(year=elected.year + self.term_years)
        return elected

    # ---- regions
    def build_regions(self) -> None:
        district = Region.objects.add_root(instance=Region(name="示范区", code=DEMO_DISTRICT_CODE, kind=RegionKind.DISTRICT))
        self.regions["district"] = district
        for s_index, street in enumerate(STREETS, start=1):
            street_code = f"110199{s_index:03d}000"
            street_region = Region.objects.add_child(district, instance=Region(name=street.name, code=street_code, kind=RegionKind.STREET))
            self.regions[street.key] = street_region
            for c_index, (key, name, road) in enumerate(street.communities, start=1):
                community = Region.objects.add_child(
                    street_region, instance=Region(name=name, code=f"110199{s_index:03d}{c_index:03d}", kind=RegionKind.COMMUNITY)
                )
                self.regions[key] = community
                self.centers[key] = (street.x_km + self.rng.uniform(-1.2, 1.2), street.y_km + self.rng.uniform(-1.2, 1.2))
                self.roads[key] = road
                self.street_of[key] = street.key

    # ---- users
    def create_user(self, spec: UserSpec) -> User:
        # Reserved .invalid domain: the demo's reminder e-mails land in var/mail and could never reach anyone.
        user = User(username=spec.username, display_name=spec.display_name, email=f"{spec.username}@demo.invalid", is_active=True)
        if self.password_hash is None:
            user.set_password(settings.PORTAL_DEMO_PASSWORD)
            self.password_hash = user.password
        else:
            # Same public demo password for every login: hash it once (each hash costs ~0.8 s).
            user.password = self.password_hash
        user.save()
        self.users[spec.username] = user
        return user

    def grant(self, spec: UserSpec) -> None:
        RoleGrant.objects.create(user=self.users[spec.username], org=self.orgs[spec.org], role=spec.role)
        if spec.username in REVEAL_USERNAMES:
            self.users[spec.username].user_permissions.add(reveal_permission())

    # ---- orgs
    def build_root_and_committees(self) -> None:
        root = org_create(
            actor=SYSTEM, parent=None, kind=OrgKind.DISTRICT_COMMITTEE, name="中共示范区委两新工委", code=DEMO_ROOT_CODE,
            region=self.regions["district"], secretary_name=self.person_name(), established_on=dt.date(2019, 6, 28),
            document_number="示委〔2019〕21号", reason="成立区委两新工委，统筹新就业群体党建工作。",
        )
        self.orgs[root.code] = root
        # The district login is the actor of everything below, as if staff had entered it.
        for spec in USERS:
            if spec.org == DEMO_ROOT_CODE:
                self.create_user(spec)
                self.grant(spec)
        self.actor = self.users["district"]
        for spec in COMMITTEES:
            org = org_create(
                actor=self.actor, parent=self.orgs[DEMO_ROOT_CODE], kind=spec.kind, name=spec.name, code=spec.code,
                industry=spec.industry, region=self.regions[spec.street or "district"], secretary_name=self.person_name(),
                established_on=spec.established, document_number=spec.document_number,
            )
            self.orgs[org.code] = org

    def build_workplaces(self) -> None:
        numbers = self.rng.sample(range(1, 300), len(WORKPLACES))
        for (key, name, kind, industry, community), number in zip(WORKPLACES, numbers, strict=True):
            x0, y0 = self.centers[community]
            x, y = x0 + self.rng.uniform(-0.5, 0.5), y0 + self.rng.uniform(-0.5, 0.5)
            low, high = WORKER_RANGE[kind]
            street_key = self.street_of[community]
            if industry in INDUSTRY_COMMITTEE_CODE:
                responsible = self.orgs[INDUSTRY_COMMITTEE_CODE[industry]]
            else:
                responsible = self.orgs[REGIONAL_COMMITTEE_CODE[street_key]]
            street_name = self.regions[street_key].name
            self.workplaces[key] = workplace_create(
                actor=self.actor,
                name=name,
                kind=kind,
                industry=industry,
                address=f"示范区{street_name}{self.roads[community]}{number}号",
                latitude=Decimal(f"{CENTER_LAT + y / KM_PER_DEG_LAT:.6f}"),
                longitude=Decimal(f"{CENTER_LON + x / KM_PER_DEG_LON:.6f}"),
                region=self.regions[community],
                responsible_org=responsible,
                gig_worker_count=self.rng.randint(low, high),
                has_trade_union=self.rng.random() < UNION_PROBABILITY[kind],
            )

    def build_general_branches(self) -> None:
        for code, name, parent, established in GENERAL_BRANCHES:
            org = org_create(
                actor=self.actor, parent=self.orgs[parent], kind=OrgKind.GENERAL_BRANCH, name=name, code=code,
                industry=self.orgs[parent].industry, region=self.regions["district"], secretary_name=self.person_name(),
                established_on=established, document_number=self.documents[code],
                has_committee=True, committee_elected_on=self.committee_elected_on(established),
            )
            self.orgs[code] = org

    def plan_members(self, spec: BranchSpec) -> list[Member]:
        """Member rows for a branch (unsaved; org set later), placed at the workplaces it covers."""
        full, probationary, activist, applicant = spec.counts
        stages = [Stage.FULL] * full + [Stage.PROBATIONARY] * probationary + [Stage.ACTIVIST] * activist + [Stage.APPLICANT] * applicant
        keys = list(spec.workplaces)
        # Full members: the gap workplaces get their fixed share; the others at most 2 each,
        # so that only the intended workplaces reach the "≥3 full members, no own branch" gap.
        full_places: list[str] = []
        if len(keys) == 1:
            full_places = keys * full
        else:
            for key, n in spec.gap.items():
                full_places += [key] * n
            others = [key for key in keys if key not in spec.gap]
            slots = [key for _ in range(2) for key in others]
            needed = full - len(full_places)
            if needed > len(slots):
                raise DemoDataError(f"{spec.name}: {full} full members do not fit its workplaces")
            full_places += slots[:needed]
        members = []
        for index, stage in enumerate(stages):
            key = full_places[index] if stage == Stage.FULL else self.rng.choice(keys)
            workplace = self.workplaces[key]
            relation = RelationKind.HELD
            if stage in (Stage.FULL, Stage.PROBATIONARY):
                roll = self.rng.random()
                if roll < spec.mobile_share:
                    relation = RelationKind.MOBILE
                elif spec.mobile_share and roll < spec.mobile_share + 0.04:
                    relation = RelationKind.POCKET
                elif spec.mobile_share and roll < spec.mobile_share + 0.07:
                    relation = RelationKind.LOST_CONTACT
            occupation = OCCUPATION_BY_INDUSTRY.get(workplace.industry) or self.rng.choice(MIXED_OCCUPATIONS)
            if self.rng.random() < 0.12:  # station managers, dispatchers, office staff
                occupation = Occupation.OTHER
            lost_since = dt.date(2026, 1, 15) - dt.timedelta(days=self.rng.randint(0, 300)) if relation == RelationKind.LOST_CONTACT else None
            member = Member(name=self.person_name(), workplace=workplace, stage=stage, relation_kind=relation,
                            occupation=occupation, lost_contact_since=lost_since)
            self.add_personal_data(member)
            members.append(member)
        return members

    # ---- members' personal data and pipeline dates
    def stage_dates(self, stage: str) -> dict:
        """Dates for a member at `stage`, counted back from MEMBER_REFERENCE_DATE, obeying the pipeline rules."""
        rng, ref = self.person_rng, MEMBER_REFERENCE_DATE
        dates: dict = {}
        if stage == Stage.APPLICANT:
            dates["applied_on"] = ref - dt.timedelta(days=rng.randint(10, 300))
            return dates
        if stage == Stage.ACTIVIST:
            activist = ref - dt.timedelta(days=rng.randint(20, 700))
        else:
            if stage == Stage.FULL:
                full = ref - dt.timedelta(days=rng.randint(30, 3650))
                admitted = add_months(full, -self.pipeline["probation_months"]) - dt.timedelta(days=rng.randint(0, 20))
                dates["full_on"] = full
            elif stage == Stage.PROBATIONARY:
                admitted = ref - dt.timedelta(days=rng.randint(10, 330))
            else:  # candidate
                admitted = None
            candidate = (admitted or ref) - dt.timedelta(days=rng.randint(30, 200))
            if admitted is not None:
                dates["admitted_on"] = admitted
                dates["training_hours"] = rng.choice((24, 24, 28, 32, 40)) + max(0, self.pipeline["candidate_training_hours"] - 24)
            dates["candidate_on"] = candidate
            activist = add_months(candidate, -self.pipeline["activist_min_months"]) - dt.timedelta(days=rng.randint(0, 300))
        dates["activist_on"] = activist
        dates["applied_on"] = activist - dt.timedelta(days=rng.randint(30, 365))
        return dates

    def id_number(self, born: dt.date, male: bool) -> str:
        for _ in range(1000):
            serial = self.person_rng.randrange(1, 999)
            if serial % 2 != int(male):
                serial = serial + 1 if serial < 998 else serial - 1
            first17 = f"{self.person_rng.choice(BIRTHPLACE_CODES)}{born:%Y%m%d}{serial:03d}"
            number = first17 + id_check_char(first17)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number
        raise DemoDataError("ran out of distinct ID numbers")

    def phone(self) -> str:
        for _ in range(1000):
            number = self.person_rng.choice(MOBILE_PREFIXES) + f"{self.person_rng.randrange(10**8):08d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number
        raise DemoDataError("ran out of distinct phone numbers")

    def add_personal_data(self, member: Member) -> None:
        rng = self.person_rng
        for field_name, value in self.stage_dates(member.stage).items():
            setattr(member, field_name, value)
        # Age at application between the minimum age and 40.
        min_age = self.pipeline["applicant_min_age"]
        applied = member.applied_on
        born = applied.replace(year=applied.year - rng.randint(min_age + 1, 40)) - dt.timedelta(days=rng.randint(0, 360))
        male = rng.random() < 0.8
        member.gender = Gender.MALE if male else Gender.FEMALE
        member.birth_date = born
        member.education = rng.choices([e for e, _w in EDUCATION_WEIGHTS], weights=[w for _e, w in EDUCATION_WEIGHTS])[0]
        industry = member.workplace.industry if member.workplace else MIX
        member.employer = rng.choice(EMPLOYERS.get(industry) or [name for names in EMPLOYERS.values() for name in names])
        number, phone = self.id_number(born, male), self.phone()
        member.id_number_encrypted = crypto.encrypt(number)
        member.id_number_index = crypto.blind_index(number, purpose=ID_PURPOSE)
        member.phone_encrypted = crypto.encrypt(phone)
        member.phone_index = crypto.blind_index(phone, purpose=PHONE_PURPOSE)
        if member.relation_kind == RelationKind.MOBILE:
            self.serials["card"] += 1
            member.home_org_name = rng.choice(HOME_ORGS)
            member.mobile_card_number = f"LD{MEMBER_REFERENCE_DATE.year - 1}{self.serials['card']:04d}"
            member.mobile_card_valid_until = MEMBER_REFERENCE_DATE + dt.timedelta(days=rng.randint(-60, 700))
        elif member.relation_kind == RelationKind.POCKET:
            self.serials["letter"] += 1
            member.letter_number = f"组介字〔{MEMBER_REFERENCE_DATE.year - 1}〕{self.serials['letter']:03d}号"
        if member.stage in (Stage.FULL, Stage.PROBATIONARY) and rng.random() < 0.3:
            self.member_roles[member.id_number_index] = rng.sample(MemberRole.values, rng.randint(1, 2))

    def save_members(self, members: list[Member]) -> None:
        Member.objects.bulk_create(members, batch_size=500)
        pk_by_index = dict(
            Member.objects.filter(id_number_index__in=list(self.member_roles)).values_list("id_number_index", "pk")
        )
        MemberRoleAssignment.objects.bulk_create(
            [MemberRoleAssignment(member_id=pk_by_index[index], role=role)
             for index, roles in self.member_roles.items() for role in roles],
            batch_size=500,
        )

    def build_branches(self) -> list[Member]:
        threshold = rule_int("committee_min_full_members")
        all_members: list[Member] = []
        for spec in BRANCHES:
            members = self.plan_members(spec)
            full_here = sum(1 for m in members if m.stage == Stage.FULL and m.relation_kind != RelationKind.MOBILE)
            has_committee = full_here >= threshold and not spec.no_committee
            if spec.no_committee and full_here < threshold:
                raise DemoDataError(f"{spec.name}: meant to lack a required committee but has only {full_here} full members")
            workplaces = [self.workplaces[key] for key in spec.workplaces]
            parent = self.orgs[spec.parent]
            org = org_create(
                actor=self.actor, parent=parent, kind=spec.kind, name=spec.name, code=spec.code, formation_mode=spec.mode,
                industry=parent.industry if parent.kind != OrgKind.REGIONAL_COMMITTEE else MIX,
                region=workplaces[0].region, secretary_name=spec.secretary or self.person_name(),
                established_on=spec.established, document_number=self.documents[spec.code],
                has_committee=has_committee,
                committee_elected_on=self.committee_elected_on(spec.established) if has_committee else None,
                workplaces=workplaces,
            )
            self.orgs[spec.code] = org
            for index, group_name in enumerate(spec.groups, start=1):
                group = org_create(
                    actor=self.actor, parent=org, kind=OrgKind.PARTY_GROUP, name=f"{spec.name}{group_name}",
                    code=f"{spec.code}-{index}", industry=org.industry, region=org.region,
                    secretary_name=self.person_name(), established_on=spec.established,
                )
                self.orgs[group.code] = group
            for member in members:
                member.org = org
            all_members += members
        return all_members

    def record_history(self) -> None:
        org_update(
            actor=self.actor, org=self.orgs[RENAME["code"]], name=RENAME["name"], happened_on=RENAME["happened_on"],
            document_number=self.documents["rename"], reason=RENAME["reason"],
        )
        org_dissolve(
            actor=self.actor, org=self.orgs[DISSOLVE["code"]], happened_on=DISSOLVE["happened_on"],
            document_number=self.documents["dissolve"], reason=DISSOLVE["reason"],
        )

    # ---- instructors and remaining users
    def build_instructors(self) -> None:
        for spec in INSTRUCTORS:
            user = None
            if spec.username:
                user_spec = next(u for u in USERS if u.username == spec.username)
                user = self.create_user(user_spec)
            instructor = Instructor.objects.create(name=spec.name, user=user, org=self.orgs[spec.org], title=spec.title)
            for key, started in spec.workplaces:
                assignment_create(actor=self.actor, instructor=instructor, role=spec.role, started_on=started, workplace=self.workplaces[key])
            for key, started, ended in spec.ended:
                assignment_create(
                    actor=self.actor, instructor=instructor, role=spec.role, started_on=started, ended_on=ended,
                    workplace=self.workplaces[key],
                )
            for code, started in spec.orgs:
                assignment_create(actor=self.actor, instructor=instructor, role=spec.role, started_on=started, org=self.orgs[code])

    def build_users(self) -> None:
        for spec in USERS:
            if spec.username not in self.users:
                self.create_user(spec)
            if spec.org != DEMO_ROOT_CODE:
                self.grant(spec)

    def build(self) -> None:
        self.build_regions()
        self.build_root_and_committees()
        self.build_workplaces()
        self.build_general_branches()
        members = self.build_branches()
        self.save_members(members)
        self.record_history()
        self.build_instructors()
        self.build_users()
        from demo.activities import load_demo_activities  # activities depend on orgs, not the other way round
        load_demo_activities(None)
        from demo.service_requests import load_demo_services

        load_demo_services()


def _preflight() -> None:
    """Refuse to mix the demo into a database that already holds other data of the same kind."""
    other_root = Organization.objects.filter(depth=1).exclude(code=DEMO_ROOT_CODE).first()
    if other_root is not None:
        raise DemoDataError(f"组织树已有根组织“{other_root.name}”（{other_root.code}），演示数据只能载入空的组织树。")
    taken = sorted(User.objects.filter(username__in=DEMO_USERNAMES).values_list("username", flat=True))
    if taken:
        raise DemoDataError(f"用户名已被占用：{', '.join(taken)}。演示账号只能由 load_demo 创建。")
    if Region.objects.filter(code__startswith="110199").exists():
        raise DemoDataError("区划代码 110199 开头的区域已存在，但没有演示组织树；请使用空数据库。")


def load_demo() -> DemoResult:
    """Load the demo district unless it is already there; return a summary either way."""
    if demo_root() is not None:
        return DemoResult(created=False, lines=demo_summary(), problems=demo_problems())
    with transaction.atomic():
        _preflight()
        _Builder().build()
        extra = _demo_reminders_and_report()
    return DemoResult(created=True, lines=demo_summary() + extra, problems=demo_problems())


def _demo_reminders_and_report() -> list[str]:
    """Today's reminder sweep, run now so the demo inboxes are not empty until beat's 07:30 run (the daily
    sweep later that day adds nothing: it is idempotent), and an on-demand coverage snapshot, taken by the
    Celery worker once `make run` starts it (its notice then appears in the district account's inbox)."""
    from coverage.actions.snapshots import snapshot_request
    from notifications.actions.reminders import reminders_sweep
    from notifications.models import Notification

    reminders_sweep()
    district = User.objects.get(username="district")
    snapshot_request(actor=district, org=demo_root())
    return [
        f"今日提醒：{Notification.objects.filter(kind='reminder').count()} 条站内通知（邮件写入 var/mail）",
        "覆盖报表：已申请本月快照，后台任务生成后通知 district 账号",
    ]


# ---------------------------------------------------------------- summary and verification
def demo_summary() -> list[str]:
    root = demo_root()
    if root is None:
        return ["没有演示数据。"]
    orgs = Organization.objects.filter(path__startswith=root.path).aggregate(
        total=Count("pk"),
        committees=Count("pk", filter=Q(kind__in=[OrgKind.INDUSTRY_COMMITTEE, OrgKind.REGIONAL_COMMITTEE])),
        general=Count("pk", filter=Q(kind=OrgKind.GENERAL_BRANCH)),
        branches=Count("pk", filter=Q(kind__in=[OrgKind.BRANCH, OrgKind.JOINT_BRANCH], status=OrgStatus.ACTIVE)),
        dissolved=Count("pk", filter=Q(status=OrgStatus.DISSOLVED)),
        groups=Count("pk", filter=Q(kind=OrgKind.PARTY_GROUP)),
    )
    workplaces = Workplace.objects.filter(responsible_org__path__startswith=root.path)
    states = Counter(annotate_coverage(workplaces.filter(is_active=True)).values_list("coverage_state", flat=True))
    members = Counter(Member.objects.filter(org__path__startswith=root.path).values_list("stage", flat=True))
    stage_labels = dict(Stage.choices)
    assignments = Assignment.objects.filter(instructor__org__path__startswith=root.path)
    regions = Counter(Region.objects.filter(code__startswith="110199").values_list("kind", flat=True))
    return [
        f"区域：{sum(regions.values())} 个（街道 {regions[RegionKind.STREET]}，社区 {regions[RegionKind.COMMUNITY]}）",
        f"党组织：{orgs['total']} 个（行业/区域党委 {orgs['committees']}，党总支 {orgs['general']}，"
        f"党支部 {orgs['branches']}，党小组 {orgs['groups']}，已撤销 {orgs['dissolved']}）",
        f"覆盖单位：{workplaces.count()} 个（组织覆盖 {states[CoverageState.ORG]}，仅工作覆盖 {states[CoverageState.WORK_ONLY]}，"
        f"空白点 {states[CoverageState.NONE]}）",
        f"党员及入党申请人：{sum(members.values())} 人（"
        + "，".join(f"{stage_labels[stage]} {members[stage]}" for stage in Stage.values if members[stage])
        + "）",
        f"党建指导员/联络员：{Instructor.objects.filter(org__path__startswith=root.path).count()} 人，"
        f"选派记录 {assignments.count()} 条（已结束 {assignments.filter(ended_on__isnull=False).count()}）",
        f"组织变更记录：{OrgEvent.objects.filter(org__path__startswith=root.path).count()} 条",
        *_services_summary(root),
    ]


def _services_summary(root) -> list[str]:
    from demo.service_requests import demo_services_summary  # services depend on orgs, not the other way round

    return demo_services_summary(root)


def demo_problems() -> list[str]:
    """Differences between the database and the demo's logins (reported, never repaired)."""
    problems = []
    users = {user.username: user for user in User.objects.filter(username__in=DEMO_USERNAMES)}
    for spec in USERS:
        user = users.get(spec.username)
        if user is None:
            problems.append(f"缺少演示账号 {spec.username}")
            continue
        if not RoleGrant.objects.filter(user=user, org__code=spec.org, role=spec.role).exists():
            problems.append(f"演示账号 {spec.username} 缺少授权：{Role(spec.role).label} @ {spec.org}")
    return problems


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, display name, what the login shows) for the closing message."""
    names = dict(Organization.objects.filter(code__in=[spec.org for spec in USERS]).values_list("code", "name"))
    return [(spec.username, spec.display_name, f"{Role(spec.role).label} @ {names.get(spec.org, spec.org)}") for spec in USERS]
