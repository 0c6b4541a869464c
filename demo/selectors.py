"""What the demo merchant's history holds, counted by status (the summary seed_demo prints)."""

from django.db.models import Count

from payments.models import Dispute, Payment, Refund
from paysys.events.models import WebhookDelivery, WebhookEndpoint
from settlements.models import Payout, Settlement


def demo_history_counts(*, merchant_id: str) -> dict[str, dict[str, int]]:
    """{object kind: {status: count}} of the merchant's payments, refunds, disputes, settlements,
    payouts and webhook deliveries."""
    endpoints = WebhookEndpoint.objects.filter(merchant_id=merchant_id)
    querysets = {
        "payments": Payment.objects.filter(merchant__public_id=merchant_id),
        "refunds": Refund.objects.filter(merchant__public_id=merchant_id),
        "disputes": Dispute.objects.filter(merchant__public_id=merchant_id),
        "settlements": Settlement.objects.filter(merchant__public_id=merchant_id),
        "payouts": Payout.objects.filter(merchant__public_id=merchant_id),
        "webhook deliveries": WebhookDelivery.objects.filter(endpoint__in=endpoints),
    }
    return {
        kind: dict(qs.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
        for kind, qs in querysets.items()
    }


def demo_history_summary(*, merchant_id: str) -> list[str]:
    return [
        f"{kind}: " + (", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none")
        for kind, counts in demo_history_counts(merchant_id=merchant_id).items()
    ]
