"""The refund page of a payment in the admin: an amount and a reason, through ``refund_create``.

Open to operators holding ``payments.refund_payment``. The amount is in major units and must be
a whole number of the currency's minor units; the reason chosen is the refund's, the note given
reaches every audit row the refund writes (with the operator). A refund the payment does not
allow (more than is left, a disputed payment) is refused with the service's message.
"""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from moneyed import Money

from payments.models import Payment, Refund
from payments.services import refund_create
from paysys.admin.actions import ActionReasonForm, operator_scope
from paysys.errors import PaysysError
from paysys.money import money_display, money_to_minor

REFUND_PERMISSION = "payments.refund_payment"
REFUND_TEMPLATE = "admin/payments/payment/refund.html"


class RefundForm(ActionReasonForm):
    amount = forms.DecimalField(min_value=Decimal("0.001"), max_digits=19, decimal_places=3)
    refund_reason = forms.ChoiceField(label="Refund reason", choices=Refund.Reason.choices)
    field_order = ["amount", "refund_reason", "reason"]

    def __init__(self, *args, currency: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.fields["amount"].help_text = f"In {currency}, major units."

    def clean_amount(self) -> Money:
        money = Money(self.cleaned_data["amount"], self.currency)
        try:
            money_to_minor(money)
        except ValueError:
            raise forms.ValidationError(f"{self.currency} has no such minor unit.") from None
        return money


def payment_refund_view(modeladmin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    if not request.user.has_perm(REFUND_PERMISSION):
        raise PermissionDenied("Refunding needs the refund permission.")
    payment: Payment | None = modeladmin.get_object(request, object_id)
    if payment is None:
        raise Http404("No such payment.")
    change_url = reverse("admin:payments_payment_change", args=[payment.pk])
    form = RefundForm(request.POST if request.method == "POST" else None, currency=payment.currency)
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        try:
            with operator_scope(request, reason):
                refund = refund_create(
                    payment=payment,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["refund_reason"],
                )
        except PaysysError as exc:
            form.add_error(None, exc.message)
        else:
            modeladmin.message_user(
                request,
                f"Refund {refund.public_id} of {money_display(refund.amount, refund.currency)}: {refund.status}.",
                level=messages.SUCCESS,
            )
            return HttpResponseRedirect(change_url)
    refundable = payment.amount_captured - payment.amount_refunded
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"Refund {payment.public_id}",
        "opts": modeladmin.model._meta,
        "payment": payment,
        "refundable": money_display(refundable, payment.currency),
        "form": form,
        "change_url": change_url,
    }
    return TemplateResponse(request, REFUND_TEMPLATE, context)
