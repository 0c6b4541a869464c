"""Test and live money apart.

Every ledger account belongs to one mode (``livemode``); entries, holds and transfers have
their account's. The platform's chart of accounts and each merchant's pending, available and
reserve accounts exist once per mode, so the unique constraint gains the mode. Accounts that
exist already are test accounts: only the simulator has moved money so far.

``accounts_entry_one_mode`` (PostgreSQL): after each INSERT statement on entries, a journal
transaction whose entries touch accounts of both modes is refused (SQLSTATE ``PT412``, turned
into ``LivemodeMismatchError`` by ``accounts.services``). Every path that writes entries (the
Python posting and ``ledger_transfer_create``) inserts a transaction's entries in one
statement, so the check reads the statement's new rows only (``verify_ledger`` checks the whole
table).
"""

from django.db import migrations, models

FORWARD = """
CREATE FUNCTION accounts_entry_check_one_mode() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM inserted n JOIN accounts_ledgeraccount a ON a.id = n.account_id
         GROUP BY n.transaction_id HAVING count(DISTINCT a.livemode) > 1
    ) THEN
        RAISE EXCEPTION 'A posting cannot move money between test and live accounts.'
            USING ERRCODE = 'PT412', HINT = 'account';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER accounts_entry_one_mode
    AFTER INSERT ON accounts_entry
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_entry_check_one_mode();
"""

REVERSE = """
DROP TRIGGER IF EXISTS accounts_entry_one_mode ON accounts_entry;
DROP FUNCTION IF EXISTS accounts_entry_check_one_mode();
"""



class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_truncate_refused"),
    ]

    operations = [
        migrations.AddField(
            model_name="ledgeraccount",
            name="livemode",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddField(
            model_name="historicalledgeraccount",
            name="livemode",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RemoveConstraint(
            model_name="ledgeraccount", name="accounts_ledgeraccount_unique_kind_per_owner"
        ),
        migrations.AddConstraint(
            model_name="ledgeraccount",
            constraint=models.UniqueConstraint(
                condition=models.Q(("owner_type", "customer"), _negated=True),
                fields=("merchant_id", "livemode", "kind", "currency"),
                name="accounts_ledgeraccount_unique_kind_per_owner",
            ),
        ),
        migrations.RunSQL([FORWARD], [REVERSE], elidable=False),
    ]
