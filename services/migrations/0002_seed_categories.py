"""The nine request categories of DOMAIN.md with guidance, required extra fields, SLA and reply
templates. District staff adjust them (responsible org, SLA, texts) in the portal."""

from django.db import migrations

CATEGORIES = [
    # code, name, sla_hours, routing, required fields, guidance
    ("housing", "住房", 120, "workplace_first", ["housing_area"],
     "可咨询保障性租赁住房、小哥公寓床位和租房补贴。请写明目前居住情况和希望居住的片区；工作人员会在 5 个工作日内联系您。"),
    ("medical", "就医", 48, "workplace_first", [],
     "工伤、意外或疾病就医遇到困难可在此反映。紧急情况请直接拨打 120。请写明就医医院、遇到的困难。"),
    ("schooling", "子女入学", 120, "workplace_first", ["child_grade"],
     "随迁子女入学、转学政策咨询。请写明孩子拟入学的年级和目前居住的街道，工作人员会告知所需材料和办理地点。"),
    ("legal_aid", "法律援助", 72, "category_org", [],
     "劳动合同、交通事故、人身损害等法律问题可申请法律援助。请简要写明事情经过；如已有仲裁或诉讼，请一并说明。"),
    ("wage_arrears", "欠薪/劳动权益", 72, "workplace_first", ["employer", "amount_owed", "owed_since"],
     "被拖欠工资、报酬或被违规扣款可在此反映。请写明用工单位或平台名称、拖欠金额和起始月份。也可拨打 12333 劳动保障热线。"),
    ("traffic", "通行/停车/充电", 48, "workplace_first", ["location_detail"],
     "小区、园区、楼宇进门难，停车难，充电难等问题可在此反映。请写明具体路段或地点。"),
    ("counseling", "心理疏导", 24, "category_org", [],
     "工作压力大、情绪低落，可预约心理咨询师一对一疏导，信息严格保密。如有紧急危险，请立即拨打 110 或 120。"),
    ("skills", "技能培训", 168, "workplace_first", [],
     "学历提升、职业技能培训和小哥学院课程报名咨询。请写明想学习的方向和方便的时间。"),
    ("other", "其他", 72, "workplace_first", [],
     "其他需要帮助的事项，请尽量写清楚时间、地点和需要的帮助。"),
]

TEMPLATES = [
    # category code or None, title, body
    (None, "已受理", "您的诉求（查询码 {code}）已由{org}受理，我们会尽快与您联系。"),
    (None, "已办结", "您反映的{category}问题已办理完毕。如对结果满意，请在查询页确认并评分；如仍未解决，可点击“问题未解决”重新打开。"),
    (None, "需补充材料", "为办理您的诉求（查询码 {code}），还需要您补充相关材料，工作人员将电话联系您，请保持电话畅通。"),
    ("housing", "公寓床位", "已为您登记小哥公寓床位意向，入住条件和费用将电话告知。"),
    ("wage_arrears", "转劳动监察", "您反映的欠薪问题已转劳动保障监察部门并协调用工单位，请保留劳动合同、工资条、转账记录等证据。"),
    ("legal_aid", "法律援助受理", "已为您对接法律援助律师，律师将在 3 个工作日内电话联系您。"),
    ("counseling", "预约咨询", "已为您预约心理咨询，咨询师将电话与您确定时间，所有信息严格保密。"),
    ("traffic", "协调通行", "已与相关物业和社区协调通行（停车、充电）问题，请留意现场调整情况。"),
]


def seed(apps, schema_editor):
    Category = apps.get_model("services", "ServiceCategory")
    Template = apps.get_model("services", "ReplyTemplate")
    by_code = {}
    for position, (code, name, sla, routing, fields, guidance) in enumerate(CATEGORIES, start=1):
        by_code[code], _ = Category.objects.get_or_create(
            code=code,
            defaults={"name": name, "sla_hours": sla, "routing": routing, "required_fields": fields,
                      "guidance": guidance, "position": position},
        )
    for position, (code, title, body) in enumerate(TEMPLATES, start=1):
        Template.objects.get_or_create(
            category=by_code.get(code) if code else None, title=title, defaults={"body": body, "position": position},
        )


def unseed(apps, schema_editor):
    apps.get_model("services", "ReplyTemplate").objects.all().delete()
    apps.get_model("services", "ServiceCategory").objects.filter(code__in=[c[0] for c in CATEGORIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("services", "0001_initial"), ("portal", "0005_service_rules")]
    operations = [migrations.RunPython(seed, unseed)]
