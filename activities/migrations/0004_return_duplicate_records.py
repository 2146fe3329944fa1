"""Before the uniqueness rule (0005) holds: records logged twice (same org or Party group, kind and start
time, not returned) keep the first one; each later copy is returned for correction with a reason, so the
secretary sees it and nothing is deleted. A separate migration so that, on PostgreSQL, these writes are
committed before 0005 alters the table."""

from django.db import migrations
from django.db.models import Count, Min

REASON = "系统检查：与记录 #%(pk)d 重复（同一党组织或党小组、类型、开始时间），请核对后修改，或确为重复登记的请忽略。"


def return_duplicates(apps, schema_editor):
    Activity = apps.get_model("activities", "Activity")
    ActivityEvent = apps.get_model("activities", "ActivityEvent")
    live = Activity.objects.exclude(status="returned")
    groups = [
        (live.filter(party_group__isnull=True), ("org_id", "kind", "starts_at")),
        (live.filter(party_group__isnull=False), ("party_group_id", "kind", "starts_at")),
    ]
    for qs, keys in groups:
        for row in qs.order_by().values(*keys).annotate(n=Count("pk"), first=Min("pk")).filter(n__gt=1):
            copies = qs.filter(**{k: row[k] for k in keys}).exclude(pk=row["first"])
            ids = list(copies.values_list("pk", flat=True))
            Activity.objects.filter(pk__in=ids).update(status="returned")
            ActivityEvent.objects.bulk_create(
                [ActivityEvent(activity_id=pk, kind="returned", actor=None, reason=REASON % {"pk": row["first"]}) for pk in ids]
            )


class Migration(migrations.Migration):

    dependencies = [
        ("activities", "0003_activity_submission_token"),
    ]

    operations = [
        migrations.RunPython(return_duplicates, migrations.RunPython.noop),
    ]
