"""Settlement and payout endpoints of the merchant API: reads only, scoped to the key's merchant
and mode (another tenant's settlement or payout is a 404 like an unknown id).

``GET /v1/settlements/{id}/lines`` answers JSON (a paginated list) or, with ``Accept: text/csv``,
every line as CSV (``settlements.export``, the bytes ``manage.py export_settlement`` writes).
"""

import django_filters
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer

from paysys.api.filters import CurrencyFilter, ListFilterSet
from paysys.api.pagination import StartingAfterPagination
from paysys.api.schema import responses
from paysys.api.views import PaysysApiView
from settlements.export import CSV_MEDIA_TYPE, settlement_csv_rows
from settlements.models import LineType, Payout, Settlement
from settlements.selectors import (
    payout_get,
    payout_list,
    settlement_get,
    settlement_line_list,
    settlement_list,
)
from settlements.serializers import PayoutOutput, SettlementLineOutput, SettlementOutput, line_pk

TAG = "Settlements"


class SettlementFilterSet(ListFilterSet):
    status = django_filters.ChoiceFilter(field_name="status", choices=Settlement.Status.choices)
    currency = CurrencyFilter(field_name="currency")


class SettlementLineFilterSet(ListFilterSet):
    type = django_filters.ChoiceFilter(field_name="type", choices=LineType.choices)


class PayoutFilterSet(ListFilterSet):
    status = django_filters.ChoiceFilter(field_name="status", choices=Payout.Status.choices)
    currency = CurrencyFilter(field_name="currency")
    settlement = django_filters.CharFilter(field_name="settlement__public_id")


class CsvRenderer(BaseRenderer):
    """Lets ``Accept: text/csv`` through content negotiation; the view streams the CSV itself."""

    media_type = CSV_MEDIA_TYPE
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="settlements_list",
        summary="List settlements, newest first",
        responses=responses({200: SettlementOutput(many=True)}),
    )
)
class SettlementListApi(PaysysApiView, ListAPIView):
    serializer_class = SettlementOutput
    filterset_class = SettlementFilterSet

    def get_queryset(self):
        return settlement_list(tenant=self.caller.tenant)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="settlements_retrieve",
        summary="Retrieve a settlement",
        responses=responses({200: SettlementOutput}),
    )
)
class SettlementDetailApi(PaysysApiView, RetrieveAPIView):
    serializer_class = SettlementOutput

    def get_object(self):
        return settlement_get(tenant=self.caller.tenant, settlement_id=self.kwargs["settlement_id"])


class SettlementLinePagination(StartingAfterPagination):
    """``starting_after`` is a line id (``sl_…``), derived from its row."""

    id_field = "pk"

    def decode_id(self, public_id: str) -> int:
        return line_pk(public_id)


class SettlementLineListApi(PaysysApiView, ListAPIView):
    renderer_classes = [JSONRenderer, CsvRenderer]
    serializer_class = SettlementLineOutput
    filterset_class = SettlementLineFilterSet
    pagination_class = SettlementLinePagination

    def get_queryset(self):
        settlement = settlement_get(tenant=self.caller.tenant, settlement_id=self.kwargs["settlement_id"])
        return settlement_line_list(settlement=settlement)

    @extend_schema(
        tags=[TAG],
        operation_id="settlements_lines_list",
        summary="List a settlement's lines (each payment, refund, dispute, fee and reserve movement)",
        description="With `Accept: text/csv`, every line as CSV (not paginated), oldest first.",
        responses={
            # Errors are the API's JSON error whatever the client accepts (finalize_response).
            **{
                (status, JSONRenderer.media_type): response
                for status, response in responses({200: SettlementLineOutput(many=True)}).items()
            },
            (200, CSV_MEDIA_TYPE): OpenApiResponse(OpenApiTypes.STR, description="The lines as CSV."),
        },
    )
    def get(self, request, settlement_id: str):
        if not isinstance(request.accepted_renderer, CsvRenderer):
            return self.list(request)
        settlement = settlement_get(tenant=self.caller.tenant, settlement_id=settlement_id)
        response = StreamingHttpResponse(settlement_csv_rows(settlement), content_type=CSV_MEDIA_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{settlement.public_id}.csv"'
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        # An error is the API's JSON error whatever the client accepts.
        if response.status_code >= 400 and isinstance(
            getattr(request, "accepted_renderer", None), CsvRenderer
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="payouts_list",
        summary="List payouts, newest first",
        responses=responses({200: PayoutOutput(many=True)}),
    )
)
class PayoutListApi(PaysysApiView, ListAPIView):
    serializer_class = PayoutOutput
    filterset_class = PayoutFilterSet

    def get_queryset(self):
        return payout_list(tenant=self.caller.tenant)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="payouts_retrieve",
        summary="Retrieve a payout",
        responses=responses({200: PayoutOutput}),
    )
)
class PayoutDetailApi(PaysysApiView, RetrieveAPIView):
    serializer_class = PayoutOutput

    def get_object(self):
        return payout_get(tenant=self.caller.tenant, payout_id=self.kwargs["payout_id"])
