"""The operators' dashboard: ``/admin/dashboard/``, the first page after log-in, for every role.

The admin site's ``admin_view`` guards it (``dashboard/urls.py``): staff with a verified second
factor. It writes nothing. A bounded number of statements whatever the data size: the span's
figures (``dashboard.selectors``) and one per counter (``dashboard.counters``).
"""

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from dashboard.counters import counters_get
from dashboard.forms import PRESETS_DAYS, SpanForm
from dashboard.page import currency_charts, overall_charts
from dashboard.selectors import figures_get
from dashboard.services import today

TEMPLATE = "dashboard/dashboard.html"
BAD_REQUEST = 400


def _presets(mode: str) -> list[tuple[int, str]]:
    last = today()
    return [
        (days, urlencode({"start": last - timedelta(days=days - 1), "end": last, "mode": mode}))
        for days in PRESETS_DAYS
    ]


def dashboard_view(request: HttpRequest) -> HttpResponse:
    form = SpanForm(request.GET.dict())
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "form": form,
        "presets": _presets(request.GET.get("mode", "")),
        "index_url": reverse("admin:index"),
    }
    if not form.is_valid():
        return TemplateResponse(request, TEMPLATE, context, status=BAD_REQUEST)
    first, last = form.span
    figures = figures_get(first=first, last=last, livemode=form.livemode)
    context.update(
        first=first,
        last=last,
        mode=form.cleaned_data["mode"],
        counters=counters_get(request.user),
        overall=overall_charts(figures, request.user),
        currencies=[
            (currency, currency_charts(figures, currency, request.user)) for currency in figures.currencies
        ],
    )
    return TemplateResponse(request, TEMPLATE, context)
