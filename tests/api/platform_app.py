"""A tiny API on the platform alone, for testing paysys/api and paysys/idempotency without a
domain app: a test key resolver, and views that write ``auth.Group`` rows as their business."""

import threading

from django.contrib.auth.models import Group
from django.db import transaction
from django.urls import path
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from paysys.api.auth import ApiCaller
from paysys.api.fields import MetadataField, StrictIntegerField
from paysys.api.pagination import StartingAfterPagination
from paysys.api.views import PaysysApiView
from paysys.errors import AuthenticationError, ConflictError, PermissionDeniedError
from paysys.idempotency.services import idempotency_checkpoint, idempotency_resume_point

WRITE_KEY = "sk_test_" + "w" * 40
READ_KEY = "sk_test_" + "r" * 40
OTHER_KEY = "sk_test_" + "o" * 40
SUSPENDED_KEY = "sk_test_" + "s" * 40


def groups():
    """The groups these views made: every group but the operators' roles (a data migration's)."""
    from paysys.operators.roles import ROLES

    return Group.objects.exclude(name__in=ROLES)


# Set by tests that need a request to stop half-way (in flight) until they release it.
gate = {"entered": threading.Event(), "release": threading.Event(), "enabled": False}


def authenticate(*, secret: str) -> ApiCaller:
    if secret == SUSPENDED_KEY:
        raise PermissionDeniedError("This merchant account is suspended.", code="merchant_suspended")
    callers = {
        WRITE_KEY: ("mer_a", True),
        READ_KEY: ("mer_a", False),
        OTHER_KEY: ("mer_b", True),
    }
    if secret not in callers:
        raise AuthenticationError("Invalid API key provided.")
    merchant_id, can_write = callers[secret]
    return ApiCaller(
        merchant_pk=1,
        merchant_id=merchant_id,
        api_key_pk=hash(secret) % 1000,
        key_prefix=secret[:16],
        can_write=can_write,
        livemode=False,
    )


class GroupInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    amount = StrictIntegerField(required=False)
    metadata = MetadataField()
    # crash_first: raise in a first attempt only; a resumed one goes on.
    fail = serializers.ChoiceField(choices=["none", "crash", "crash_first", "conflict"], default="none")
    # Commit the group as an idempotency checkpoint before going on (as a service does before
    # calling the processor); a retry of the key resumes with that group.
    checkpoint = serializers.BooleanField(default=False)


class GroupOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class GroupPagination(StartingAfterPagination):
    id_field = "name"


class GroupCreateApi(PaysysApiView, ListAPIView):
    serializer_class = GroupOutput
    pagination_class = GroupPagination

    def get_queryset(self):
        return Group.objects.filter(name__startswith=f"{self.caller.merchant_id}:")

    def post(self, request):
        data = self.parse(GroupInput)
        resumed = idempotency_resume_point()
        if resumed:
            group = Group.objects.get(pk=int(resumed.removeprefix("group:")))
        else:
            with transaction.atomic(durable=True):  # as a domain service would
                group = Group.objects.create(name=f"{self.caller.merchant_id}:{data['name']}")
        if data["checkpoint"]:
            idempotency_checkpoint(recovery_point=f"group:{group.pk}")
        if gate["enabled"]:
            gate["entered"].set()
            gate["release"].wait(timeout=20)
        if data["fail"] == "crash" or (data["fail"] == "crash_first" and not resumed):
            raise RuntimeError("boom")
        if data["fail"] == "conflict":
            raise ConflictError("Not now.", code="not_now")
        response = Response(self.get_serializer(group).data, status=201)
        if resumed:
            response["Resumed-From"] = resumed
        return response


class BareApi(APIView):
    """A view that names no authentication or permission: DRF's defaults decide."""

    def get(self, request):
        return Response({"object": "bare", "merchant": request.user.merchant_id})

    def post(self, request):
        return Response({"object": "bare"})


urlpatterns = [
    path("v1/groups", GroupCreateApi.as_view()),
    path("v1/bare", BareApi.as_view()),
]
