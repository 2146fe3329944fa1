"""`manage.py issue_api_token USERNAME --issuer STAFF --name N --scope stats|full --days D`: issue a token from the shell.

The same action as the /api-tokens/ page (the issuer must be district staff whose scope covers every grant of
USERNAME; audited); prints the token alone on stdout (for scripts: `TOKEN=$(manage.py issue_api_token ...)`).
The token is not stored anywhere: only its digest and prefix are kept."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.exceptions import DomainError
from core.models import ApiToken
from orgs.actions.tokens import api_token_issue


class Command(BaseCommand):
    help = "为持有角色的账号签发 API 令牌（与“API 令牌”页面相同的规则，记入操作日志）；标准输出只打印令牌本身。"

    def add_arguments(self, parser):
        parser.add_argument("username", help="令牌所属账号的用户名")
        parser.add_argument("--issuer", help="签发人（区委组织部工作人员）的用户名；默认与所属账号相同")
        parser.add_argument("--name", required=True, help="令牌名称，如“市级驾驶舱”")
        parser.add_argument("--scope", choices=ApiToken.Scope.values, default=ApiToken.Scope.STATS)
        parser.add_argument("--days", type=int, default=30, help="有效天数（1–365）")

    def handle(self, *args, **options):
        users = get_user_model().objects
        try:
            user = users.get(username=options["username"], is_active=True)
            issuer = users.get(username=options["issuer"] or options["username"], is_active=True)
        except get_user_model().DoesNotExist as exc:
            raise CommandError("没有这个启用的账号。") from exc
        expires_on = timezone.localdate() + dt.timedelta(days=options["days"])
        try:
            token, plaintext = api_token_issue(actor=issuer, user=user, name=options["name"], scope=options["scope"],
                                               expires_on=expires_on)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stderr.write(f"令牌 {token.token_key}… 已签发给 {user.username}（{token.get_scope_display()}，有效至 {expires_on}）")
        self.stdout.write(plaintext)
