"""`manage.py load_demo`: load the demo district (orgs/demo.py); a second run changes nothing."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DomainError
from demo.orgs import DEMO_URL, DemoDataError, demo_logins, load_demo
from demo.snapshots import ensure_demo_snapshots


class Command(BaseCommand):
    help = "载入演示数据（示范区）：区域、组织树、覆盖单位、党员、指导员和四个演示账号。重复运行不会改变数据。"

    def handle(self, *args, **options):
        started = time.monotonic()
        try:
            result = load_demo()
        except (DemoDataError, DomainError) as exc:  # DomainError: e.g. a concurrent run created the root first
            raise CommandError(str(exc)) from exc
        snapshots = ensure_demo_snapshots()
        elapsed = time.monotonic() - started
        if result.created:
            self.stdout.write(self.style.SUCCESS(f"演示数据已载入（{elapsed:.1f} 秒）："))
        else:
            self.stdout.write(self.style.WARNING("演示数据已存在（按根组织代码识别），未做任何修改。当前数据："))
        for line in result.lines:
            self.stdout.write(f"  {line}")
        self.stdout.write(f"  月度覆盖快照（趋势）：{snapshots} 个")
        for problem in result.problems:
            self.stderr.write(self.style.ERROR(f"  注意：{problem}"))
        self.stdout.write("")
        self.stdout.write(f"打开 {DEMO_URL} ，用以下账号登录（密码均为 {settings.PORTAL_DEMO_PASSWORD}）：")
        for username, display_name, scope in demo_logins():
            self.stdout.write(f"  {username:<11} {display_name} · {scope}")
