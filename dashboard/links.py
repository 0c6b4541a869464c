"""Links from the dashboard to the admin's lists, filtered by the parameters those lists accept.

A link is given only where the list exists (its model is registered with the admin) and the
operator may view it; otherwise the figure stands without one.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Model
from django.urls import reverse

from paysys.admin.site import AdminPage


@dataclass(frozen=True)
class Link:
    url: str
    # What the list shows, as its page names it ("Select payment to view").
    names: str


def changelist_link(user, model: type[Model], **params: str) -> Link | None:
    meta = model._meta
    if not admin.site.is_registered(model) or not user.has_perm(f"{meta.app_label}.view_{meta.model_name}"):
        return None
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    return Link(url=f"{url}?{urlencode(params)}" if params else url, names=str(meta.verbose_name))


def page_link(user, page: AdminPage) -> Link | None:
    """A link to one of the admin's pages that is no model's list, for an operator who may see it."""
    if not user.has_perms(page.permissions):
        return None
    return Link(url=reverse(f"admin:{page.url_name}"), names=page.name)
