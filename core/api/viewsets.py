"""Short viewsets on one base class (NetBox's API is the model): scoping, permissions, filters, pages, errors.

A resource's viewset names its `model` (with `restrict(user, verb)`), an output `serializer_class`, its FilterSet
(shared with the page), the `ordering_fields` it allows, and for writes an input serializer plus a method that calls
the same action as the UI:

    class TransferViewSet(CreateMixin, ScopedViewSet):
        model = Transfer
        serializer_class = TransferSerializer
        create_serializer_class = TransferCreateSerializer
        def create_object(self, data):
            return transfer_request(actor=self.request.user, **data)

        @transition("approve")
        def approve(self, request, obj, **data):
            return transfer_approve(actor=request.user, transfer=obj, **data)

Verbs: list/retrieve "view", create "add", update "change", destroy "delete", a transition its own. The caller needs
`<resource>.<verb>` somewhere (else 403) and the object inside `restrict(user, verb)` (else 404).
"""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.conditional import ConditionalMixin
from core.api.pagination import PortalCursorPagination
from core.api.permissions import RolePermission, TokenReach
from core.api.renderers import CSVRenderer

ACTION_VERBS = {
    "list": "view",
    "retrieve": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
}


class PortalAPIMixin:
    """What every endpoint shares: authentication from settings, the permission chain."""

    permission_classes = [IsAuthenticated, TokenReach, RolePermission]

    def required_perm(self, request) -> str | None:
        return None

    def handle_exception(self, exc):
        """Errors are JSON whatever format was asked for (a CSV or .xlsx client still reads the code and message)."""
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class ScopedViewSet(PortalAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    model = None
    resource: str | None = None  # defaults to model.scope_resource
    pagination_class = PortalCursorPagination
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["id"]
    renderer_classes = [JSONRenderer]

    # -- scope -------------------------------------------------------------------------------------------------
    def get_resource(self) -> str | None:
        return self.resource or getattr(self.model, "scope_resource", None)

    def scope_verb(self) -> str:
        handler = getattr(self, self.action or "", None)
        return getattr(handler, "scope_verb", None) or ACTION_VERBS.get(self.action, "view")

    def required_perm(self, request) -> str | None:
        """`<resource>.<verb>`; a resource of None (the caller's own inbox) needs no role."""
        resource = self.get_resource()
        return f"{resource}.{self.scope_verb()}" if resource else None

    def scoped(self, user, verb: str):
        """The objects `user` may `verb`: `model.objects.restrict()`; a resource scoped another way (users, the
        caller's own notifications, district-wide settings) overrides this with its selector."""
        return self.model.objects.restrict(user, verb)

    def prepare(self, queryset):
        """Hook for select_related/prefetch/annotations on the already-restricted queryset."""
        return queryset

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request user, the model is enough
            return self.model._default_manager.none()
        return self.prepare(self.scoped(self.request.user, self.scope_verb()))

    def filter_queryset(self, queryset):
        """Filters and ordering apply to collections; a detail (and its transitions) is found by id alone, so a
        FilterSet's default (e.g. "open requests only") never hides an object the caller may see."""
        if self.detail:
            return queryset
        return super().filter_queryset(queryset)

    def refetch(self, obj):
        """The object as the output serializer expects it (annotations), read back inside the caller's view scope."""
        if obj is None or not hasattr(obj, "pk"):
            return obj
        return self.prepare(self.scoped(self.request.user, "view")).filter(pk=obj.pk).first() or obj

    def input(self, serializer_class, *, instance=None, partial=False):
        serializer = serializer_class(
            instance=instance, data=self.request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def output(self, obj, *, status_code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.refetch(obj)).data, status=status_code)


ScopedReadOnlyViewSet = ScopedViewSet


class CreateMixin:
    """POST on the collection: `create_serializer_class` validates, `create_object(data)` calls the action."""

    create_serializer_class = None

    def create_object(self, data):
        raise NotImplementedError

    def create(self, request, *args, **kwargs):
        obj = self.create_object(self.input(self.create_serializer_class))
        return self.output(obj, status_code=status.HTTP_201_CREATED)


class UpdateMixin:
    """PATCH on a detail: `update_serializer_class` (partial) validates, `update_object(obj, data)` calls the action."""

    update_serializer_class = None

    def update_object(self, obj, data):
        raise NotImplementedError

    def partial_update(self, request, *args, **kwargs):
        obj = self.get_object()
        result = self.update_object(obj, self.input(self.update_serializer_class, instance=obj, partial=True))
        return self.output(result or obj)


class DestroyMixin:
    """DELETE on a detail: `destroy_object(obj)` calls the action (which may refuse with a DomainError)."""

    def destroy_object(self, obj):
        raise NotImplementedError

    def destroy(self, request, *args, **kwargs):
        self.destroy_object(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


def transition(url_path: str, *, verb: str = "change", input_serializer=None, summary: str | None = None):
    """A state change as `POST <detail>/<url_path>/`: validate the input, call the action, answer the new state.

    The decorated method is `fn(self, request, obj, **validated_data)` and returns the changed object (or None
    for "the same object, re-read"). A transfer that moved on meanwhile raises ConflictError → 409."""

    def decorate(fn):
        def view(self, request, pk=None):
            obj = self.get_object()
            data = self.input(input_serializer) if input_serializer is not None else {}
            result = fn(self, request, obj, **data)
            return self.output(result or obj)

        view.__name__ = fn.__name__
        view.__doc__ = fn.__doc__
        view.__qualname__ = fn.__qualname__
        view.scope_verb = verb
        # extend_schema goes on top of @action (below it, DRF's action would hide it from drf-spectacular)
        view = action(detail=True, methods=["post"], url_path=url_path)(view)
        return extend_schema(request=input_serializer, summary=summary)(view)

    return decorate


class StatsView(PortalAPIMixin, ConditionalMixin, APIView):
    """Grouped figures for the caller's scope: JSON or CSV, ETag/Last-Modified with 304, statistics tokens welcome.

    Subclasses set `serializer_class` (its fields, in order, are the CSV columns) and implement `rows(request)`."""

    stats_endpoint = True
    renderer_classes = [JSONRenderer, CSVRenderer]
    serializer_class = None
    perm = "stats.view"

    def required_perm(self, request) -> str:
        return self.perm

    @property
    def csv_columns(self):
        return list(self.serializer_class().fields) if self.serializer_class else None

    def last_modified(self, request):
        from core.models import AuditEntry  # the latest audited write: every write is audited

        return AuditEntry.objects.order_by("-created_at").values_list("created_at", flat=True).first()

    def rows(self, request):
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        return Response(self.serializer_class(self.rows(request), many=True).data)
