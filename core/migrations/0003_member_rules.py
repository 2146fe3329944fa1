from decimal import Decimal

from django.db import migrations

SEED = {
    "applicant_min_age": ("入党申请人最低年龄", "18", "岁", "年满十八岁方可申请入党"),
    "activist_min_months": ("积极分子培养期", "12", "月", "确定为入党积极分子满一年方可列为发展对象"),
    "activist_review_months": ("积极分子考察间隔", "6", "月", "党支部每半年对积极分子进行一次考察"),
    "candidate_training_hours": ("发展对象集中培训学时", "24", "学时", "集中培训时间一般不少于3天（或不少于24学时）"),
    "probation_months": ("预备期", "12", "月", "预备期为一年，自支部大会通过之日起计算"),
    "probation_extension_max_months": ("预备期最长延长", "12", "月", "可延长一次，最长不超过一年"),
    "full_application_lead_days": ("转正申请提前天数", "30", "天", "预备期满前约一个月提出转正申请"),
    "letter_validity_months": ("介绍信有效期", "3", "月", "组织关系介绍信有效期"),
    "letter_validity_cross_province_months": ("跨省介绍信有效期", "6", "月", "跨省转接的介绍信有效期"),
    "lost_contact_flag_months": ("失联提示月数", "6", "月", "失联满6个月提示按规定处理"),
    "no_life_flag_months": ("未参加组织生活提示月数", "6", "月", "连续6个月未参加组织生活提示"),
}


def seed(apps, schema_editor):
    Rule = apps.get_model("portal", "Rule")
    for key, (label, value, unit, description) in SEED.items():
        Rule.objects.get_or_create(key=key, defaults={"label": label, "value": Decimal(value), "unit": unit, "description": description})


def unseed(apps, schema_editor):
    apps.get_model("portal", "Rule").objects.filter(key__in=SEED).delete()


class Migration(migrations.Migration):
    dependencies = [("portal", "0002_seed_rules")]
    operations = [migrations.RunPython(seed, unseed)]
