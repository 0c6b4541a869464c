"""Settlement and payout endpoints of the merchant API: reads only, scoped to the key's merchant
and mode (another tenant's settlement or payout is a 404 like an unknown id).

``GET /v1/settlements/{id}/lines`` answers JSON (a paginated list) or, with ``Accept: text/csv``,
every line as CSV (``settlements.export``, the bytes ``manage.py export_settlement`` writes).
"""

import django_filters
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer

from paysys.api.filters import CurrencyFilter, ListFilterSet, filter_parameters
from paysys.api.schema import LIST_PARAMETERS, list_of, responses
from paysys.api.views import PaysysApiView
from settlements.api.serializers import PayoutOutput, SettlementLineOutput, SettlementOutput
from settlements.export import CSV_MEDIA_TYPE, settlement_csv_rows
from settlements.models import LineType, Payout, Settlement
from settlements.objects import line_pk
from settlements.selectors import (
    payout_get,
    payout_list,
    settlement_get,
    settlement_line_list,
    settlement_list,
)

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


class SettlementListApi(PaysysApiView):
    @extend_schema(
        tags=[TAG],
        operation_id="settlements_list",
        summary="List settlements, newest first",
        parameters=LIST_PARAMETERS + filter_parameters(SettlementFilterSet),
        responses=responses({200: list_of(SettlementOutput, "SettlementList")}),
    )
    def get(self, request):
        return self.paginated(
            settlement_list(tenant=self.caller.tenant), SettlementOutput, filterset_class=SettlementFilterSet
        )


class SettlementDetailApi(PaysysApiView):
    @extend_schema(
        tags=[TAG],
        operation_id="settlements_retrieve",
        summary="Retrieve a settlement",
        responses=responses({200: SettlementOutput}),
    )
    def get(self, request, settlement_id: str):
        return self.object_response(
            settlement_get(tenant=self.caller.tenant, settlement_id=settlement_id), SettlementOutput
        )


class SettlementLineListApi(PaysysApiView):
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        tags=[TAG],
        operation_id="settlements_lines_list",
        summary="List a settlement's lines (each payment, refund, dispute, fee and reserve movement)",
        description="With `Accept: text/csv`, every line as CSV (not paginated), oldest first.",
        parameters=LIST_PARAMETERS + filter_parameters(SettlementLineFilterSet),
        responses={
            # Errors are the API's JSON error whatever the client accepts (finalize_response).
            **{
                (status, JSONRenderer.media_type): response
                for status, response in responses(
                    {200: list_of(SettlementLineOutput, "SettlementLineList")}
                ).items()
            },
            (200, CSV_MEDIA_TYPE): OpenApiResponse(OpenApiTypes.STR, description="The lines as CSV."),
        },
    )
    def get(self, request, settlement_id: str):
        settlement = settlement_get(tenant=self.caller.tenant, settlement_id=settlement_id)
        if isinstance(request.accepted_renderer, CsvRenderer):
            response = StreamingHttpResponse(settlement_csv_rows(settlement), content_type=CSV_MEDIA_TYPE)
            response["Content-Disposition"] = f'attachment; filename="{settlement.public_id}.csv"'
            return response
        return self.paginated(
            settlement_line_list(settlement=settlement),
            SettlementLineOutput,
            filterset_class=SettlementLineFilterSet,
            id_field="pk",
            decode_id=line_pk,
        )

    def finalize_response(self, request, response, *args, **kwargs):
        # An error is the API's JSON error whatever the client accepts.
        if response.status_code >= 400 and isinstance(
            getattr(request, "accepted_renderer", None), CsvRenderer
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


class PayoutListApi(PaysysApiView):
    @extend_schema(
        tags=[TAG],
        operation_id="payouts_list",
        summary="List payouts, newest first",
        parameters=LIST_PARAMETERS + filter_parameters(PayoutFilterSet),
        responses=responses({200: list_of(PayoutOutput, "PayoutList")}),
    )
    def get(self, request):
        return self.paginated(
            payout_list(tenant=self.caller.tenant), PayoutOutput, filterset_class=PayoutFilterSet
        )


class PayoutDetailApi(PaysysApiView):
    @extend_schema(
        tags=[TAG],
        operation_id="payouts_retrieve",
        summary="Retrieve a payout",
        responses=responses({200: PayoutOutput}),
    )
    def get(self, request, payout_id: str):
        return self.object_response(payout_get(tenant=self.caller.tenant, payout_id=payout_id), PayoutOutput)
