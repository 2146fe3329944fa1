"""The members API: the registry and transfers, on the same selectors, FilterSets and actions as the pages.

Personal data leaves only masked (the list page's masks); a full ID number or phone never travels in a URL:
the exact search is `POST /members/lookup/`, and `?pid=` (the page's POSTed search field) is refused on GET."""

from __future__ import annotations

from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api import ScopedViewSet, transition
from core.api.viewsets import CreateMixin, UpdateMixin
from members import actions
from members.api.serializers import (
    MemberAdvanceSerializer,
    MemberCreateSerializer,
    MemberLookupSerializer,
    MemberSerializer,
    MemberUpdateSerializer,
    TransferApproveSerializer,
    TransferCreateSerializer,
    TransferSendBackSerializer,
    TransferSerializer,
    TransferStepSerializer,
)
from members.filtersets import MemberFilterSet, TransferFilterSet, exact_match_q
from members.models import Member, Transfer
from members.selectors import registry as member_selectors
from members.selectors import transfers as transfer_selectors

#: a phone may be shared (family, a station's phone); an ID number matches at most one member
LOOKUP_LIMIT = 50


# Request bodies are declared here: `transition`'s own extend_schema is overwritten by DRF's @action (it resets
# the function's `kwargs`), so the schema would show no body for the steps.
@extend_schema_view(
    list=extend_schema(parameters=[OpenApiParameter("pid", exclude=True)]),
    create=extend_schema(summary="Register a member", request=MemberCreateSerializer),
    partial_update=extend_schema(summary="Edit a member's record", request=MemberUpdateSerializer),
    advance=extend_schema(request=MemberAdvanceSerializer),
)
class MemberViewSet(CreateMixin, UpdateMixin, ScopedViewSet):
    """Members (党员) in the caller's scope, as the member list shows them: the ID number and phone masked only
    (`id_number_masked`, `phone_masked`; revealing stays a page action with its log), stage and its dates,
    relation, org and workplace, roles and flags. Filters are the list page's (`org` includes its subtree).

    POST registers a person (GB 11643 check; an ID number already registered is refused, logged and, past the
    daily limit per user, answered 429 with Retry-After). PATCH edits the record (a `phone` of "" removes it);
    the stage changes only through `advance`, the org only through a transfer. The exact search by ID number or
    phone is `POST lookup/` (the number goes in the body, never in a URL)."""

    model = Member
    serializer_class = MemberSerializer
    create_serializer_class = MemberCreateSerializer
    update_serializer_class = MemberUpdateSerializer
    filterset_class = MemberFilterSet
    ordering_fields = ["id", "name"]

    def scoped(self, user, verb: str):
        return member_selectors.member_list_queryset(user=user, action=verb)

    def prepare(self, queryset):
        if getattr(self, "swagger_fake_view", False):  # the schema generator: no rule rows to read
            return queryset
        return member_selectors.annotate_flags(queryset).prefetch_related("roles")

    def filter_queryset(self, queryset):
        if "pid" in self.request.query_params:  # the page's POSTed search field: never from a URL
            raise ValidationError({"pid": [_("身份证号和手机号不能放在网址中，请用 POST /api/v1/members/lookup/ 精确查找。")]})
        return super().filter_queryset(queryset)

    def create_object(self, data):
        return actions.member_create(actor=self.request.user, **data)

    def update_object(self, obj, data):
        return actions.member_update(actor=self.request.user, member=obj, **data)

    @transition("advance", verb="change", input_serializer=MemberAdvanceSerializer, summary="Advance the member one stage")
    def advance(self, request, obj, **data):
        """Move the member to the next stage (入党申请人 → … → 正式党员), checked against the rule rows."""
        return actions.member_advance(actor=request.user, member=obj, **data)

    @extend_schema(request=MemberLookupSerializer, responses=MemberSerializer(many=True), filters=False,
                   summary="Find members by a complete ID number or phone")
    @action(detail=False, methods=["post"], url_path="lookup", pagination_class=None)
    def lookup(self, request):
        """Exact match on the blind index of `id_number` or `phone` (one of them), among the members in the caller's
        scope, masked. Never cached; a member outside the scope is not found."""
        data = self.input(MemberLookupSerializer)
        rows = self.get_queryset().filter(exact_match_q(data["kind"], data["value"])).order_by("name", "id")[:LOOKUP_LIMIT]
        response = Response(self.get_serializer(rows, many=True).data)
        add_never_cache_headers(response)
        return response


@extend_schema_view(
    create=extend_schema(summary="Request a transfer", request=TransferCreateSerializer),
    approve=extend_schema(request=TransferApproveSerializer),
    receive=extend_schema(request=TransferStepSerializer),
    complete=extend_schema(request=TransferStepSerializer),
    send_back=extend_schema(request=TransferSendBackSerializer),
    withdraw=extend_schema(request=TransferStepSerializer),
)
class TransferViewSet(CreateMixin, ScopedViewSet):
    """Transfers of organizational relation (组织关系转接), seen by both sides as on the transfer pages, each with its
    timeline (`events`) and the steps the caller may take now (`steps`). Filters: status, kind, is_open, member,
    from_org, to_org, org (either side, subtree), box (inbox/outbox/open, the page lists), request dates.

    POST opens a transfer for a member in the caller's scope; the receiving org may be any active org in the
    district. The steps are POST actions, each the page's action: approve (sending side; issues the letter),
    receive and complete (receiving side; completion moves the member's org, once), send-back (either side,
    reason required), withdraw (the requester). Pass the `version` you saw: a transfer that moved on meanwhile
    answers 409, as does a step the transfer's status no longer allows."""

    model = Transfer
    serializer_class = TransferSerializer
    create_serializer_class = TransferCreateSerializer
    filterset_class = TransferFilterSet
    ordering_fields = ["id", "requested_at"]

    def scoped(self, user, verb: str):
        return transfer_selectors.transfer_base_queryset(user=user, action=verb)

    def prepare(self, queryset):
        return queryset.prefetch_related("events__actor")  # the timeline (TransferEvent orders by time)

    def create_object(self, data):
        return actions.transfer_request(actor=self.request.user, **data)

    @staticmethod
    def _step(data: dict) -> dict:
        return {"expected_version": data.pop("version", None), **data}

    @transition("approve", input_serializer=TransferApproveSerializer, summary="Approve (sending side)")
    def approve(self, request, obj, **data):
        """The sending side approves and issues the letter (for `in`: the receiving side accepts the outside letter)."""
        return actions.transfer_approve(actor=request.user, transfer=obj, **self._step(data))

    @transition("receive", input_serializer=TransferStepSerializer, summary="Receive (receiving side)")
    def receive(self, request, obj, **data):
        """The receiving side accepts the letter (for `out`: the sending side records the outside org's receipt)."""
        return actions.transfer_receive(actor=request.user, transfer=obj, **self._step(data))

    @transition("complete", input_serializer=TransferStepSerializer, summary="Complete: the member's org changes")
    def complete(self, request, obj, **data):
        """Close the transfer and move the member's relation (the one place a transfer changes the member's org)."""
        return actions.transfer_complete(actor=request.user, transfer=obj, **self._step(data))

    @transition("send-back", input_serializer=TransferSendBackSerializer, summary="Send back (either side)")
    def send_back(self, request, obj, **data):
        """Either side sends the transfer back (退回) with a reason."""
        return actions.transfer_return(actor=request.user, transfer=obj, **self._step(data))

    @transition("withdraw", input_serializer=TransferStepSerializer, summary="Withdraw (the requester)")
    def withdraw(self, request, obj, **data):
        """The requester takes the request back, before the receiving side has received it."""
        return actions.transfer_withdraw(actor=request.user, transfer=obj, **self._step(data))
