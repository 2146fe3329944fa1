from decimal import Decimal

from django.db import migrations

# (kind, cycle, min_count, applies_to, description) — DOMAIN.md defaults
COMPLIANCE = [
    ("general_meeting", "quarter", 1, "branch", "支部党员大会一般每季度召开1次（支部工作条例第十一条）"),
    ("committee_meeting", "month", 1, "branch_with_committee", "支部委员会会议一般每月召开1次（第十二条）"),
    ("group_meeting", "month", 1, "party_group", "党小组会一般每月召开1次（第十三条）"),
    ("party_lecture", "quarter", 1, "branch", "党课每季度至少1次（第十六条及本地规定）"),
    ("theme_day", "month", 1, "branch", "每月相对固定1天开展主题党日（第十六条）"),
    ("life_meeting", "year", 1, "branch", "组织生活会一般每年召开1次（第十七条）"),
    ("appraisal", "year", 1, "branch", "民主评议党员一般每年开展1次（第十七条）"),
    ("heart_talk", "year", 1, "branch", "谈心谈话每年至少1次"),
]

RULES = {
    "quorum_percent": ("支部党员大会表决应到会比例", "50", "%", "有表决权的党员到会超过半数，方可召开表决"),
    "activity_file_max_mb": ("活动附件大小上限", "10", "MB", "单个照片或文件的大小上限"),
}


def seed(apps, schema_editor):
    ComplianceRule = apps.get_model("activities", "ComplianceRule")
    for kind, cycle, min_count, applies_to, description in COMPLIANCE:
        ComplianceRule.objects.get_or_create(
            kind=kind, applies_to=applies_to, defaults={"cycle": cycle, "min_count": min_count, "description": description}
        )
    Rule = apps.get_model("portal", "Rule")
    for key, (label, value, unit, description) in RULES.items():
        Rule.objects.get_or_create(key=key, defaults={"label": label, "value": Decimal(value), "unit": unit, "description": description})


def unseed(apps, schema_editor):
    apps.get_model("activities", "ComplianceRule").objects.all().delete()
    apps.get_model("portal", "Rule").objects.filter(key__in=RULES).delete()


class Migration(migrations.Migration):
    dependencies = [("activities", "0001_initial"), ("portal", "0004_transfer_rules")]
    operations = [migrations.RunPython(seed, unseed)]
