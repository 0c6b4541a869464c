"""Operations endpoints, outside the merchant API: no authentication, no DRF, no database
on ``/healthz``. ``/metrics`` is served by django-prometheus (see ``paysys/urls.py``). Plus the
database-free DRF view that ``bench/api.py`` measures as its floor."""

import logging

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from paysys.metrics import readiness_failure_record
from paysys.ops.checks import dependencies_check

logger = logging.getLogger(__name__)

SERVICE_UNAVAILABLE = 503


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Deliberately checks nothing else, so a database outage
    makes the orchestrator stop routing traffic (``/readyz``) rather than restart every pod."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: database, Redis and broker reachable; 503 naming what is down."""
    results = dependencies_check()
    down = [result.name for result in results if not result.ready]
    for name in down:
        readiness_failure_record(dependency=name)
    if down:
        logger.warning("not ready", extra={"down": down})
    body = {
        "status": "unavailable" if down else "ok",
        "down": down,
        "checks": {result.name: result.as_dict() for result in results},
    }
    return JsonResponse(body, status=SERVICE_UNAVAILABLE if down else 200)


@extend_schema(exclude=True)
class BenchNoopApi(APIView):
    """The floor of ``bench/api.py``: the whole middleware and DRF stack, no database, no auth.

    Answers only when ``PAYSYS_BENCH`` is on (never in production); otherwise it is a 404 like
    any unknown URL, so it exposes nothing.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def get(self, request: Request) -> Response:
        if not settings.PAYSYS_BENCH:
            raise Http404
        return Response({"object": "bench", "ok": True})
