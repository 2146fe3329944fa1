"""Foundation models: the user account, rule rows, the worker heartbeat, the transactional outbox, the audit log
and the REST clients' API tokens.

The app's module is `core`; its label stays `portal` (apps.py) so that these tables and their migration
history are the ones created before step 7 (no table was renamed)."""

from collections.abc import Callable
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from knox.models import AbstractAuthToken, AuthTokenManager


class User(AbstractUser):
    """Portal account. Access comes from RoleGrant rows, never from Django groups."""

    display_name = models.CharField(_("显示名称"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


class Rule(models.Model):
    """A rule whose value local practice changes (DOMAIN.md: *rule row*)."""

    key = models.SlugField(_("规则键"), max_length=60, unique=True)
    label = models.CharField(_("名称"), max_length=100)
    value = models.DecimalField(_("取值"), max_digits=12, decimal_places=2)
    unit = models.CharField(_("单位"), max_length=20, blank=True)
    description = models.TextField(_("说明"), blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("规则")
        verbose_name_plural = _("规则")
        ordering = ["key"]
        constraints = [models.CheckConstraint(condition=models.Q(value__gte=Decimal("0")), name="rule_value_non_negative")]

    def __str__(self) -> str:
        return f"{self.label} = {self.value}{self.unit}"


class WorkerHeartbeat(models.Model):
    """Last time a Celery worker ran the heartbeat task (shown on the health page)."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    seen_at = models.DateTimeField(_("最近心跳"))
    count = models.PositiveBigIntegerField(_("次数"), default=0)

    class Meta:
        verbose_name = _("后台任务心跳")
        verbose_name_plural = _("后台任务心跳")

    def __str__(self) -> str:
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


# ---------------------------------------------------------------- transactional outbox (tasks to send to Celery)
class OutboxMessage(models.Model):
    """A Celery task to send, written in the same transaction as the rows it is about, so that a broker
    outage loses nothing: delivered right after commit and, failing that, by the sweep (portal.outbox_deliver)
    with backoff. Delivery is at-least-once; the tasks behind are idempotent. kwargs hold ids only."""

    task = models.CharField(_("任务"), max_length=200)
    kwargs = models.JSONField(_("参数"), default=dict, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    available_at = models.DateTimeField(_("可发送时间"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    last_error = models.TextField(_("最近错误"), blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("待发送任务")
        verbose_name_plural = _("待发送任务")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["available_at"], condition=models.Q(sent_at__isnull=True), name="portal_outbox_due"),
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"


# ---------------------------------------------------------------- the audit log (one for every write)
class AuditEntry(models.Model):
    """One write made through an action: who, when, from which address, on which object, what changed.

    Written by `core.audit.audit_record` inside the action's transaction (no write without its row, no row
    without its write). Personal data is masked in `changes` (encrypted columns and blind indexes never appear;
    fields an action marks as personal show a mask). `org_path` is the treebeard path of the org the object
    belongs to (a string, so the foundation needs no foreign key to orgs): the audit page filters a subtree
    with one prefix scan. Nobody edits or deletes rows through the portal (read-only admin, no action)."""

    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey("portal.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("操作人"))
    actor_label = models.CharField(_("操作人名称"), max_length=150, blank=True)  # kept if the account is deleted; "system" for tasks
    address = models.CharField(_("来源地址"), max_length=64, blank=True)
    action = models.CharField(_("操作"), max_length=60, db_index=True)  # "<resource>.<verb>", e.g. "org.update"
    object_type = models.CharField(_("对象类型"), max_length=60)  # app_label.model
    object_id = models.CharField(_("对象编号"), max_length=40, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    org_path = models.CharField(_("所属组织路径"), max_length=255, blank=True, db_index=True)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)  # {field: [before, after]} or {"note": ...}
    # the prefix (ApiToken.token_key) of the API token the request was authenticated with; "" for pages and tasks
    token_key = models.CharField(_("API 令牌"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("操作日志")
        verbose_name_plural = _("操作日志")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object"),
                   models.Index(fields=["actor", "-created_at"], name="audit_actor_recent")]

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr} @ {self.created_at:%Y-%m-%d %H:%M}"


# ---------------------------------------------------------------- API tokens of REST clients (django-rest-knox)
#: How tokens are scoped for `ApiToken.objects.restrict(user, action)`: installed by the layer that knows grants
#: (orgs.selectors.tokens, when orgs loads), since core cannot import orgs. Until then nobody but superusers sees a
#: token: an unconfigured scope never means "allowed" (the same rule as core.access).
TokenScope = Callable[[object, str], "models.Q | None"]
_token_scope: dict[str, TokenScope] = {}


def install_token_scope(scope: TokenScope) -> None:
    """`scope(user, action)` returns a Q over ApiToken rows the user may `api_token.<action>`, or None for none."""
    _token_scope["scope"] = scope


class ApiTokenQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view"):
        """The tokens `user` may `api_token.<action>`: those of accounts inside the user's subtrees (the rule of
        orgs.selectors.tokens); superusers see every token, anonymous and inactive users none."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        scope = _token_scope.get("scope")
        q = scope(user, action) if scope is not None else None
        return self.none() if q is None else self.filter(q)


class ApiTokenManager(AuthTokenManager.from_queryset(ApiTokenQuerySet)):
    """knox's manager (its `create(user, expiry)` hashes a new token) with `restrict()`. Tokens are issued only by
    orgs.actions.tokens.api_token_issue, which requires an expiry."""


class ApiToken(AbstractAuthToken):
    """A REST client's token (django-rest-knox's model: only the SHA-512 `digest` of the token and its first 15
    characters `token_key` are stored; the token itself is shown once when issued). A token acts as its `user`
    (so it sees exactly that user's scope); a statistics-only token reaches only /api/v1/stats/.

    Tokens are never deleted by use: an expired or revoked token stays listed as such (knox would delete
    expired tokens on the next request; core.api.auth.ApiTokenAuthentication does not)."""

    class Scope(models.TextChoices):
        FULL = "full", _("全部接口，按用户权限范围")
        STATS = "stats", _("仅统计接口")

    class State(models.TextChoices):
        ACTIVE = "active", _("有效")
        EXPIRED = "expired", _("已过期")
        REVOKED = "revoked", pgettext_lazy("a revoked token", "已撤销")

    name = models.CharField(_("名称"), max_length=100)
    scope = models.CharField(_("范围"), max_length=10, choices=Scope.choices, default=Scope.FULL)
    issued_by = models.ForeignKey("portal.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                  verbose_name=_("签发人"))
    #: where the token's audit rows are filed (the treebeard path of the user's highest grant when issued)
    org_path = models.CharField(_("所属组织路径"), max_length=255, blank=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey("portal.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("撤销人"))
    last_used_at = models.DateTimeField(_("最近使用时间"), null=True, blank=True)
    last_used_address = models.CharField(_("最近使用地址"), max_length=64, blank=True)

    objects = ApiTokenManager()
    scope_resource = "api_token"  # permissions "api_token.view/add/change" (orgs.permissions)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")
        ordering = ["-created"]
        constraints = [
            # the prefix names a token on the pages, in URLs and in the audit log
            models.UniqueConstraint(fields=["token_key"], name="portal_apitoken_key_unique"),
            models.CheckConstraint(condition=models.Q(expiry__isnull=False), name="portal_apitoken_expires"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_key}…)"

    @property
    def is_stats_only(self) -> bool:
        return self.scope == self.Scope.STATS

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return self.State.REVOKED
        if self.expiry is not None and self.expiry <= timezone.now():
            return self.State.EXPIRED
        return self.State.ACTIVE

    def get_state_display(self) -> str:
        return str(self.State(self.state).label)

    @property
    def is_active_now(self) -> bool:
        """Neither revoked nor expired (whether its user may still sign in is checked on every request)."""
        return self.state == self.State.ACTIVE
