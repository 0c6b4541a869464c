"""The evidence page of a dispute in the admin: the evidence text, whether to submit it for
review now, and a reason, through ``dispute_evidence_submit``.

Open to operators holding ``payments.close_dispute`` (the risk team handles a dispute from its
evidence to its outcome). Evidence can be recorded while the dispute needs a response; submitting
it moves the dispute to ``under_review``, after which it is closed won or lost with the
changelist's actions. The reason reaches the audit row with the operator.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from payments.models import Dispute
from payments.services import dispute_evidence_submit
from paysys.admin.actions import ActionReasonForm, operator_scope
from paysys.errors import PaysysError

DISPUTE_PERMISSION = "payments.close_dispute"
EVIDENCE_TEMPLATE = "admin/payments/dispute/evidence.html"


class DisputeEvidenceForm(ActionReasonForm):
    evidence = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80}),
        help_text="What answers the chargeback: receipts, delivery proof, the customer's messages.",
    )
    submit_for_review = forms.BooleanField(
        required=False, help_text="Send it to the network now; the evidence cannot change afterwards."
    )
    field_order = ["evidence", "submit_for_review", "reason"]


def dispute_evidence_view(modeladmin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    if not request.user.has_perm(DISPUTE_PERMISSION):
        raise PermissionDenied("Recording evidence needs the dispute permission.")
    dispute: Dispute | None = modeladmin.get_object(request, object_id)
    if dispute is None:
        raise Http404("No such dispute.")
    change_url = reverse("admin:payments_dispute_change", args=[dispute.pk])
    initial = {"evidence": dispute.evidence_text}
    form = DisputeEvidenceForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_valid():
        try:
            with operator_scope(request, form.cleaned_data["reason"]):
                dispute = dispute_evidence_submit(
                    dispute=dispute,
                    text=form.cleaned_data["evidence"],
                    submit=form.cleaned_data["submit_for_review"],
                )
        except PaysysError as exc:
            form.add_error(None, exc.message)
        else:
            done = "submitted for review" if dispute.status == Dispute.DisputeStatus.UNDER_REVIEW else "saved"
            modeladmin.message_user(request, f"Evidence for {dispute.public_id} {done}.", messages.SUCCESS)
            return HttpResponseRedirect(change_url)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"Evidence for {dispute.public_id}",
        "opts": modeladmin.model._meta,
        "dispute": dispute,
        "form": form,
        "change_url": change_url,
    }
    return TemplateResponse(request, EVIDENCE_TEMPLATE, context)
