"""The admin site: its index grouped by an operator's job, not by Django app.

``JOB_OF_APP`` puts each app's models under one job and ``JOB_OF_MODEL`` moves the models whose
job differs from their app's (a transfer is money movement, though the ledger app holds it);
a model of an app named in neither (Django's users and groups, Celery beat) is "System".
A page that is no model's (the ledger's health) is listed under its job by ``page_register``,
for whoever holds the permissions it names.
"""

from dataclasses import dataclass

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse

PAYMENTS_AND_RISK = "Payments and risk"
MERCHANTS = "Merchants"
MONEY_AND_SETTLEMENTS = "Money and settlements"
LEDGER_AND_AUDIT = "Ledger and audit"
SYSTEM = "System"
JOBS = (PAYMENTS_AND_RISK, MERCHANTS, MONEY_AND_SETTLEMENTS, LEDGER_AND_AUDIT, SYSTEM)

JOB_OF_APP = {
    "payments": PAYMENTS_AND_RISK,
    "merchants": MERCHANTS,
    "settlements": MONEY_AND_SETTLEMENTS,
    "accounts": LEDGER_AND_AUDIT,
    "audit": LEDGER_AND_AUDIT,
}
JOB_OF_MODEL = {
    "accounts.transfer": MONEY_AND_SETTLEMENTS,
    "accounts.hold": MONEY_AND_SETTLEMENTS,
    "events.event": PAYMENTS_AND_RISK,
    "events.webhookendpoint": MERCHANTS,
    "events.webhookdelivery": MERCHANTS,
}


def job_of(app_label: str, object_name: str) -> str:
    return JOB_OF_MODEL.get(f"{app_label}.{object_name.lower()}") or JOB_OF_APP.get(app_label, SYSTEM)


@dataclass(frozen=True)
class AdminPage:
    name: str
    url_name: str  # within the site's namespace: "accounts_ledgerverification_health"
    job: str
    permissions: tuple[str, ...]  # all of them, to see the page


class PaysysAdminSite(admin.AdminSite):
    """The base of the site paysys serves (``paysys.operators.site.OperatorAdminSite``)."""

    index_title = "Back office"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[AdminPage] = []

    def page_register(self, page: AdminPage) -> None:
        self._pages.append(page)

    def _page_entry(self, page: AdminPage) -> dict:
        # The shape of a model's entry, as the index's template reads it.
        return {
            "name": page.name,
            "object_name": page.url_name,
            "admin_url": reverse(f"{self.name}:{page.url_name}", current_app=self.name),
            "add_url": None,
            "view_only": True,
            "perms": {"view": True},
        }

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        if app_label is not None:
            return super().get_app_list(request, app_label)
        groups: dict[str, list[dict]] = {job: [] for job in JOBS}
        for app in self._build_app_dict(request).values():
            for model in app["models"]:
                groups[job_of(app["app_label"], model["object_name"])].append(model)
        for page in self._pages:
            if request.user.has_perms(page.permissions):
                groups[page.job].append(self._page_entry(page))
        return [
            {
                "name": job,
                "app_label": job.lower().replace(" ", "_"),
                "app_url": f"#{job.lower().replace(' ', '-')}",
                "has_module_perms": True,
                "models": sorted(models, key=lambda m: m["name"]),
            }
            for job, models in groups.items()
            if models
        ]
