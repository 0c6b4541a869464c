"""Tenancy: whose objects a request may see — one merchant, in one mode (test or live).

Every merchant-owned object belongs to one merchant and one mode, both stored. An API key
(``sk_test_…`` / ``sk_live_…``) authenticates as a ``Tenant``; merchant API selectors take that
tenant and narrow their queryset with ``Tenant.scope``, the one place where the merchant and
mode filter is applied. A model owned by a merchant declares ``TENANT_FIELDS``: the field naming
its merchant (a foreign key, matched by primary key, or the ``mer_…`` public id as a string)
and the path to its stored ``livemode`` (its own column, or its account's). A model without the
declaration cannot be scoped: ``scope`` fails loudly rather than returning another tenant's rows.

Another merchant's object and the same merchant's object in the other mode are therefore both
missing to the caller: the same ``NotFoundError`` as an unknown id.
"""

from dataclasses import dataclass
from functools import reduce
from typing import TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Tenant:
    merchant_pk: int | None  # None where only the public id is known (the ledger's own callers)
    merchant_id: str  # public id, ``mer_…``
    livemode: bool

    def scope(self, queryset: QuerySet[M]) -> QuerySet[M]:
        """``queryset`` narrowed to this merchant's objects of this mode."""
        merchant_path, mode_path = queryset.model.TENANT_FIELDS
        *relations, name = merchant_path.split("__")
        model = queryset.model
        for relation in relations:
            model = model._meta.get_field(relation).related_model
        field = model._meta.get_field(name)
        merchant = self.merchant_pk if field.is_relation else self.merchant_id
        if merchant is None:
            raise ValueError(f"{queryset.model.__name__} is owned by merchant pk: the tenant needs one.")
        lookup = "__".join([*relations, field.attname])
        return queryset.filter(**{lookup: merchant, mode_path: self.livemode})


def livemode_of(obj: Model) -> bool:
    """The stored mode of a merchant-owned object (its own column, or its account's)."""
    _merchant_path, mode_path = type(obj).TENANT_FIELDS
    return bool(reduce(getattr, mode_path.split("__"), obj))
