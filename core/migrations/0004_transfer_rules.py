from decimal import Decimal

from django.db import migrations

SEED = {
    "transfer_ageing_alert_days": ("转接超时提醒天数", "30", "天", "组织关系转接办理超过该天数仍未办结时重点提示"),
}


def seed(apps, schema_editor):
    Rule = apps.get_model("portal", "Rule")
    for key, (label, value, unit, description) in SEED.items():
        Rule.objects.get_or_create(key=key, defaults={"label": label, "value": Decimal(value), "unit": unit, "description": description})


def unseed(apps, schema_editor):
    apps.get_model("portal", "Rule").objects.filter(key__in=SEED).delete()


class Migration(migrations.Migration):
    dependencies = [("portal", "0003_member_rules")]
    operations = [migrations.RunPython(seed, unseed)]
