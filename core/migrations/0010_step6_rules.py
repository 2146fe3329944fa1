from decimal import Decimal

from django.db import migrations

SEED = {
    "date_min_year": ("日期最早年份", "1900", "年", "所有日期字段（表单、导入、接口）不得早于该年 1 月 1 日"),
    "date_future_margin_years": ("日期最多超前年数", "2", "年", "日期不得晚于今天加该年数（介绍信有效期等未来日期也在此内）"),
    "roster_uploads_per_user_per_day": ("花名册比对每人每天上传上限", "10", "次", "超过即拒绝并记入安全事件，防止逐个身份证号探测是否党员"),
    "duplicate_refusals_per_user_per_day": ("重复登记提示每人每天上限", "10", "次", "登记党员时“已登记”的答复每人每天的次数上限；每次答复记入安全事件"),
    "upload_retention_days": ("未完成上传保留天数", "3", "天", "未确认的党员导入、失败或未完成的花名册比对，超过该天数即删除其加密文件与结果"),
    "login_failure_limit": ("登录失败锁定次数", "5", "次", "同一账号或同一来源地址连续登录失败达到该次数即锁定"),
    "login_lockout_minutes": ("登录锁定时长", "15", "分钟", "锁定后该时长内不能登录，期满自动解除"),
    "activity_files_total_mb": ("每条活动记录附件总大小上限", "50", "MB", "一条活动记录所有照片和附件合计不得超过该大小"),
    "reminder_subject_max_chars": ("提醒标题长度上限", "200", "字", "提醒模板渲染后的标题超过即视为模板错误"),
    "reminder_body_max_chars": ("提醒正文长度上限", "4000", "字", "提醒模板渲染后的正文超过即视为模板错误"),
    "worker_heartbeat_stale_seconds": ("后台任务心跳超时", "300", "秒", "健康检查：后台任务最近心跳超过该秒数即报告异常"),
}


def seed(apps, schema_editor):
    Rule = apps.get_model("portal", "Rule")
    for key, (label, value, unit, description) in SEED.items():
        Rule.objects.get_or_create(key=key, defaults={"label": label, "value": Decimal(value), "unit": unit, "description": description})


def unseed(apps, schema_editor):
    apps.get_model("portal", "Rule").objects.filter(key__in=SEED).delete()


class Migration(migrations.Migration):
    dependencies = [("portal", "0009_security_events")]
    operations = [migrations.RunPython(seed, unseed)]
