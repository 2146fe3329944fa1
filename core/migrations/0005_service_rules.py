from decimal import Decimal

from django.db import migrations

SEED = {
    "service_reach_km": ("15分钟服务圈半径", "3", "公里", "骑行 15 分钟（约 12 公里/小时）的直线距离；单位到最近服务阵地在此距离内即为覆盖"),
    "intake_per_address_per_hour": ("同一来源每小时提交上限", "5", "件", "公开诉求页按来源地址限流"),
    "intake_per_phone_per_day": ("同一手机号每天提交上限", "3", "件", "公开诉求页按手机号限流"),
    "track_per_address_per_hour": ("同一来源每小时查询上限", "30", "次", "诉求查询页按来源地址限流，防止猜测查询码"),
    "request_auto_close_days": ("办结后自动关闭天数", "7", "天", "办结后提出人在该天数内未确认也未重新打开的，自动关闭"),
}


def seed(apps, schema_editor):
    Rule = apps.get_model("portal", "Rule")
    for key, (label, value, unit, description) in SEED.items():
        Rule.objects.get_or_create(key=key, defaults={"label": label, "value": Decimal(value), "unit": unit, "description": description})


def unseed(apps, schema_editor):
    apps.get_model("portal", "Rule").objects.filter(key__in=SEED).delete()


class Migration(migrations.Migration):
    dependencies = [("portal", "0004_transfer_rules")]
    operations = [migrations.RunPython(seed, unseed)]
