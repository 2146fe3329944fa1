from decimal import Decimal

from django.db import migrations

SEED = {
    "own_branch_min_full_members": ("单独组建党支部所需正式党员数", "3", "人", "正式党员3人以上的单位应单独建立党支部（党章第三十条）"),
    "branch_max_members": ("党支部党员人数上限", "50", "人", "党员人数一般不超过50人"),
    "committee_min_full_members": ("设立支部委员会的正式党员数", "7", "人", "正式党员7人以上的党支部设立支部委员会"),
    "joint_branch_max_units": ("联合党支部覆盖单位上限", "5", "个", "联合党支部覆盖单位一般不超过5个"),
    "committee_term_years": ("支部委员会任期", "3", "年", "党支部委员会每届任期3年（村、社区5年）"),
}


def seed(apps, schema_editor):
    Rule = apps.get_model("portal", "Rule")
    for key, (label, value, unit, description) in SEED.items():
        Rule.objects.get_or_create(key=key, defaults={"label": label, "value": Decimal(value), "unit": unit, "description": description})


def unseed(apps, schema_editor):
    apps.get_model("portal", "Rule").objects.filter(key__in=SEED).delete()


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
