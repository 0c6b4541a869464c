"""One posting function: ``ledger_post`` (accounts/sql/ledger_post.sql) holds every posting rule,
and ``ledger_transfer_create`` (accounts/sql/ledger_transfer_create.sql) posts through it;
the view ``ledger_account_balances`` (accounts/sql/ledger_balances.sql) is what ``ledger_verify``
compares.

The functions' SQL lives in those files, each a set of ``CREATE OR REPLACE FUNCTION``
statements; ``accounts.sql.sql_file_apply`` runs a file as it is in the checkout. A later change
to a function edits its file (the diff a reviewer reads) and adds a migration that applies the
file again (docs/decisions.md, "The ledger's SQL in files").

The helpers the transfer function used before (``ledger_shard_add``, ``ledger_sharded_posted``,
``ledger_overdraft_funding_check``) are dropped: their rules are ``ledger_post``'s. Going back
drops the new function and restores migrations 0005, 0008 and 0009's functions.
"""

import importlib

from django.db import migrations

from accounts.sql import sql_file_apply

DROP_OLD_HELPERS = """
DROP FUNCTION ledger_overdraft_funding_check(accounts_ledgeraccount, accounts_ledgeraccount);
DROP FUNCTION ledger_sharded_posted(accounts_ledgeraccount);
DROP FUNCTION ledger_shard_add(accounts_ledgeraccount, numeric);
"""

DROP_NEW = """
DROP VIEW ledger_account_balances;
DROP FUNCTION ledger_transfer_create(text, bigint, text, bigint, text, numeric, text, text[],
    timestamptz, jsonb, jsonb, integer, text, jsonb, integer, integer, text, text[], jsonb);
DROP FUNCTION ledger_transfer_account(text, boolean, bigint, text, text, text, text[]);
DROP FUNCTION ledger_post(jsonb, timestamptz, bigint[], numeric[], text[], numeric[],
    jsonb, integer, integer, text, text[]);
DROP FUNCTION ledger_status_check(text, text);
"""


def _forward(apps, schema_editor):
    sql_file_apply(schema_editor, "ledger_post.sql")
    sql_file_apply(schema_editor, "ledger_transfer_create.sql")
    sql_file_apply(schema_editor, "ledger_balances.sql")
    schema_editor.execute(DROP_OLD_HELPERS, params=None)


def _reverse(apps, schema_editor):
    schema_editor.execute(DROP_NEW, params=None)
    for name in ("0005_transfer_function", "0008_transfer_mode", "0009_overdraft_funding"):
        previous = importlib.import_module(f"accounts.migrations.{name}")
        schema_editor.execute(previous.FORWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_overdraft_funding"),
    ]

    operations = [
        migrations.RunPython(_forward, _reverse, elidable=False),
    ]
