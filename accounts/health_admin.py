"""The ledger's health in the admin: the last ``verify_ledger`` and ``verify_audit`` results, each
with a button to run it now.

The page (``<admin>/accounts/ledgerverification/health/``, listed on the index under "Ledger and
audit") is for every operator who may view both results. Running a check is a POST (CSRF-checked
by the admin) allowed to whoever holds its permission (``accounts.run_ledgerverification``,
``audit.run_auditverification``); anyone else is refused with a 403, whatever they post. A run
calls the service the nightly task calls (``ledger_verify(store=True)``, ``audit_verify()``) in
the request, under the operator's actor scope: the result is stored as the nightly one is, its
audit row (``ledger.verified``, ``audit.verified``) names the operator, and the page shows it as
soon as it comes back.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from accounts.models import LedgerVerification
from accounts.services import ledger_verify
from paysys.admin.actions import operator_scope
from paysys.admin.site import LEDGER_AND_AUDIT, AdminPage
from paysys.audit.models import AuditVerification
from paysys.audit.services import audit_verify

HEALTH_TEMPLATE = "admin/accounts/ledger_health.html"
HEALTH_URL_NAME = "accounts_ledgerverification_health"
VIEW_PERMISSIONS = ("accounts.view_ledgerverification", "audit.view_auditverification")
HEALTH_PAGE = AdminPage(
    name="Ledger health", url_name=HEALTH_URL_NAME, job=LEDGER_AND_AUDIT, permissions=VIEW_PERMISSIONS
)


def _ledger_run() -> tuple[bool, str]:
    result = ledger_verify(store=True)
    return result.ok, f"{len(result.failures)} failing rows"


def _audit_run() -> tuple[bool, str]:
    report = audit_verify()
    return report.ok, f"{len(report.problems)} problems in {report.rows} rows"


@dataclass(frozen=True)
class Check:
    name: str
    command: str
    permission: str
    model: type[Model]
    run: Callable[[], tuple[bool, str]]


CHECKS = {
    "ledger": Check(
        "Ledger", "verify_ledger", "accounts.run_ledgerverification", LedgerVerification, _ledger_run
    ),
    "audit": Check("Audit log", "verify_audit", "audit.run_auditverification", AuditVerification, _audit_run),
}


class LedgerHealthAdminMixin:
    """Adds the health page and its two run URLs to the ledger verifications' admin."""

    def get_urls(self) -> list:
        site = self.admin_site
        return [
            path("health/", site.admin_view(self.health_view), name=HEALTH_URL_NAME),
            path(
                "health/run/<str:check>/",
                site.admin_view(require_POST(self.health_run_view)),
                name="accounts_ledgerverification_health_run",
            ),
            *super().get_urls(),
        ]

    def health_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perms(VIEW_PERMISSIONS):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Ledger health",
            "opts": self.model._meta,
            "checks": [
                {
                    "key": key,
                    "check": check,
                    "last": check.model.objects.order_by("-id").first(),
                    "can_run": request.user.has_perm(check.permission),
                }
                for key, check in CHECKS.items()
            ],
        }
        return TemplateResponse(request, HEALTH_TEMPLATE, context)

    def health_run_view(self, request: HttpRequest, check: str) -> HttpResponse:
        found = CHECKS.get(check)
        if found is None:
            raise Http404
        if not request.user.has_perm(found.permission):
            raise PermissionDenied(f"Running the {found.name.lower()} verification needs {found.permission}.")
        with operator_scope(request):
            ok, detail = found.run()
        if ok:
            self.message_user(request, f"{found.name} verification: OK.", messages.SUCCESS)
        else:
            self.message_user(request, f"{found.name} verification FAILED: {detail}.", messages.ERROR)
        return HttpResponseRedirect(reverse(f"{self.admin_site.name}:{HEALTH_URL_NAME}"))
