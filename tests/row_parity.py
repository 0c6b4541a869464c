"""Comparing rows that SQL wrote with the rows the models' own ``save()`` writes for the same
request, field by field over ``_meta.concrete_fields`` (tests/accounts/test_sql_row_parity.py).

``KIND_ONLY`` names the fields whose values differ between two writes of one request by
construction (primary keys, random public ids, the audit hash chain); with every timestamp
(a ``DateTimeField``) they compare by type and nullness. Every other field compares by value,
with the ids of the rows a test made replaced by names it gives them (``names``: a public id,
or ``(model, pk)`` for a foreign key), so a value that embeds one (a reference, an event
payload) compares too.
"""

import json
import re

from django.db import models

KIND_ONLY = frozenset(
    {
        "id",
        "history_id",
        "public_id",
        "event_id",
        "chain",
        "seq",
        "prev_hash",
        "hash",
    }
)
# A public id (``<prefix>_`` and 24 base-62 characters, paysys.ids) the test did not name.
UNNAMED_ID = re.compile(r"\b[a-z]{2,5}_[0-9A-Za-z]{24}\b")


def row_fields(instance: models.Model, names: dict) -> dict[str, object]:
    """Every concrete field of ``instance``'s stored row, comparable with another write's."""
    stored = type(instance)._base_manager.get(pk=instance.pk)
    row = {}
    for field in type(stored)._meta.concrete_fields:
        value = getattr(stored, field.attname)
        if field.attname in KIND_ONLY or isinstance(field, models.DateTimeField):
            row[field.attname] = ("kind", type(value).__name__, value is None)
            continue
        if field.is_relation:
            value = names.get((field.related_model, value), value)
        # JSON compares as data (jsonb keeps no key order).
        text = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else repr(value)
        for public_id, name in names.items():
            if isinstance(public_id, str):
                text = text.replace(public_id, name)
        assert not UNNAMED_ID.search(text), f"{field.attname}: an id the test did not name: {text}"
        row[field.attname] = text
    assert set(row) == {f.attname for f in type(stored)._meta.concrete_fields}
    return row


def row_differences(one: dict, other: dict) -> dict[str, tuple[object, object]]:
    return {name: (one[name], other[name]) for name in one if one[name] != other[name]}
