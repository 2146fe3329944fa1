"""Seed one or more reminder rules for every kind (district staff edit them on the rules page).

Templates are Django template language over the plain context that portal.reminders builds for each kind
(documented there): always org, object, date (the reference date), days, repetition, url; plus details for
meeting_due. effective_from is the day the migration runs: a new rule never mails the past.
"""

from django.db import migrations
from django.utils import timezone

BOTH = ["in_app", "email"]
D = "{{ date|date:'Y年n月j日' }}"

SEED = [
    # name, kind, offset, unit, direction, repeat_every_days, repeat_limit, recipients, subject, body
    ("三会一课周期末提醒", "meeting_due", 7, "day", "before", 4, 1, ["secretary"],
     "{{ org }}：组织生活还差 {{ missing_count }} 项，" + D + "前完成",
     "{{ org }} 本周期尚未达标（距周期结束还有 {{ days }} 天）：\n{{ details }}\n请按时组织开展并及时录入。"),
    ("组织关系转接超过30天未办结", "transfer_waiting", 30, "day", "after", 7, 3, ["secretary", "district"],
     "{{ object }} 的组织关系转接已等待 {{ days }} 天",
     "{{ object }} 的组织关系转接（{{ from_org }} → {{ to_org }}）于 " + D + " 提出，已等待 {{ days }} 天，"
     "当前状态：{{ status }}。请尽快办理。"),
    ("介绍信7天内到期", "letter_lapsing", 7, "day", "before", 0, 0, ["secretary"],
     "{{ object }} 的组织关系介绍信将于 " + D + " 到期",
     "{{ object }} 的介绍信（{{ from_org }} → {{ to_org }}）将于 " + D + " 到期，还有 {{ days }} 天。"
     "请督促其按时报到，逾期需重新开具。"),
    ("预备期满前30天提醒", "probation_ending", 30, "day", "before", 0, 0, ["secretary"],
     "{{ object }} 的预备期将于 " + D + " 届满",
     "{{ org }} 预备党员 {{ object }} 的预备期将于 " + D + " 届满（还有 {{ days }} 天）。"
     "请提醒其提交转正申请，并按程序召开支部大会讨论。"),
    ("积极分子半年考察提醒", "activist_review_due", 7, "day", "before", 0, 0, ["secretary"],
     "{{ object }} 的积极分子考察将于 " + D + " 到期",
     "{{ org }} 入党积极分子 {{ object }} 应于 " + D + " 前完成本次半年考察（还有 {{ days }} 天）。"),
    ("支委会任期届满前6个月提醒", "term_ending", 6, "month", "before", 0, 0, ["secretary", "district"],
     "{{ org }} 支部委员会任期将于 " + D + " 届满",
     "{{ org }} 本届委员会于 {{ elected_on|date:'Y年n月j日' }} 选举产生，任期将于 " + D + " 届满。请提前谋划换届工作。"),
    ("支委会任期届满前1个月提醒", "term_ending", 1, "month", "before", 0, 0, ["secretary", "district"],
     "{{ org }} 支部委员会任期将于 " + D + " 届满，请按时换届",
     "{{ org }} 本届委员会任期将于 " + D + " 届满（还有 {{ days }} 天）。请按时召开党员大会进行换届选举。"),
    ("诉求即将到期提醒", "request_due_soon", 1, "day", "before", 0, 0, ["secretary"],
     "诉求 {{ object }} 将于 {{ due_at }} 到期",
     "{{ org }} 承办的{{ category }}诉求 {{ object }} 将于 {{ due_at }} 到期，当前状态：{{ status }}。"),
    ("诉求超期提醒", "request_overdue", 0, "day", "after", 1, 2, ["secretary"],
     "诉求 {{ object }} 已超期",
     "{{ org }} 承办的{{ category }}诉求 {{ object }} 已于 {{ due_at }} 到期仍未办结，当前状态：{{ status }}。"
     "超期诉求将逐级上报督办。"),
    ("流动党员活动证到期前30天提醒", "mobile_card_expiring", 30, "day", "before", 0, 0, ["secretary"],
     "{{ object }} 的流动党员活动证将于 " + D + " 到期",
     "{{ org }} 流动党员 {{ object }} 的活动证将于 " + D + " 到期（还有 {{ days }} 天），请提醒其及时换领。"),
]


def seed(apps, schema_editor):
    ReminderRule = apps.get_model("portal", "ReminderRule")
    today = timezone.localdate()
    for name, kind, offset, unit, direction, every, limit, recipients, subject, body in SEED:
        ReminderRule.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind, "offset": offset, "offset_unit": unit, "direction": direction,
                "repeat_every_days": every, "repeat_limit": limit, "recipients": recipients, "channels": BOTH,
                "subject_template": subject, "body_template": body, "enabled": True, "effective_from": today,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("portal", "ReminderRule").objects.filter(name__in=[row[0] for row in SEED]).delete()


class Migration(migrations.Migration):
    dependencies = [("portal", "0006_reminders_notifications_snapshots")]
    operations = [migrations.RunPython(seed, unseed)]
