"""Input fields that only accept objects inside the caller's scope (an id outside it reads as "does not exist")."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.INT)
class ScopedRelatedField(serializers.PrimaryKeyRelatedField):
    """`ScopedRelatedField(model=Organization, verb="add")`: the queryset is `restrict(request.user, verb)`."""

    def __init__(self, *, model, verb: str = "view", **kwargs):
        self.scoped_model = model
        self.verb = verb
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return self.scoped_model.objects.restrict(user, self.verb)

    def use_pk_only_optimization(self):
        return False
