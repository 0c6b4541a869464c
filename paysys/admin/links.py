"""Every money object links to its records: its audit rows, its history and its ledger entries.

``RecordsLinksMixin`` adds a ``records`` column; an admin names the entries' changelist filter
for an object in ``ledger_entries_params`` (``None``: the object posts no entries itself).
The links are to filtered changelists (``?object=pay_...`` on the audit log, ``?payment=`` or
``?account=`` on entries), each an index lookup.
"""

from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

AUDIT_CHANGELIST = "admin:audit_auditevent_changelist"
ENTRY_CHANGELIST = "admin:accounts_entry_changelist"


def audit_url(object_id: str) -> str:
    return f"{reverse(AUDIT_CHANGELIST)}?{urlencode({'object': object_id})}"


def entries_url(params: dict[str, str]) -> str:
    return f"{reverse(ENTRY_CHANGELIST)}?{urlencode(params)}"


class RecordsLinksMixin:
    def ledger_entries_params(self, obj) -> dict[str, str] | None:
        return None

    @admin.display(description="records")
    def records(self, obj) -> str:
        opts = obj._meta
        links = [("audit log", audit_url(obj.public_id))]
        if hasattr(obj, "history"):
            links.append(
                ("history", reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk]))
            )
        params = self.ledger_entries_params(obj)
        if params:
            links.append(("ledger entries", entries_url(params)))
        return format_html_join(" · ", '<a href="{1}">{0}</a>', links) or format_html("")
