"""The operators' roles: one group each, with the permissions listed here by codename.

Every role sees everything an operator may look at: the view permission of every model of
``VIEWED_APPS``. On top of that a role holds the permissions of its jobs (``ROLE_PERMISSIONS``);
``admin`` holds every permission there is. The groups are written by data migrations of this app
that call ``roles_sync``: a change to a list here is a new migration
``paysys/operators/migrations/NNNN_<why>.py`` calling ``roles_sync`` again (it sets each group's
permissions to exactly what is listed, so a removal takes effect too).
"""

SUPPORT = "support"
RISK = "risk"
FINANCE = "finance"
ADMIN = "admin"
ROLES = (SUPPORT, RISK, FINANCE, ADMIN)

# The apps whose models every role may view (the admin shows their models).
VIEWED_APPS = ("accounts", "merchants", "payments", "settlements", "audit", "events")

# Maker-checker ledger adjustments (accounts.adjustments): finance holds both; that a proposer
# never approves or rejects their own adjustment is the service's rule (and a constraint), not a
# permission.
ADJUSTMENT_PERMISSIONS: tuple[str, ...] = ("accounts.propose_adjustment", "accounts.approve_adjustment")

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    # Read only everywhere: answers questions, changes nothing.
    SUPPORT: (),
    # The review queue, disputes, the blocklist, freezing accounts, suspending a merchant.
    RISK: (
        "payments.review_payment",
        "payments.cancel_payment",
        "payments.dispute_payment",
        "payments.close_dispute",
        "payments.add_blocklistentry",
        "payments.change_blocklistentry",
        "accounts.freeze_ledgeraccount",
        "merchants.suspend_merchant",
    ),
    # Refunds, settlements, payouts, overdrafts and adjustments.
    FINANCE: (
        "payments.refund_payment",
        "settlements.run_settlement",
        "settlements.hold_payout",
        "settlements.resolve_settlementbreak",
        "accounts.set_overdraft",
        *ADJUSTMENT_PERMISSIONS,
    ),
    # Everything, including operators' accounts and groups, and the merchants' jobs: onboarding,
    # status, fees and limits, API keys, webhook endpoints (re-enable one, resend a delivery).
    ADMIN: (),
}


def _permissions_of(Permission, codenames: tuple[str, ...]) -> list:
    found = []
    for name in codenames:
        app_label, codename = name.split(".")
        try:
            found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        except Permission.DoesNotExist:
            raise LookupError(f"permission {name!r} of a role does not exist") from None
    return found


def roles_sync(apps) -> None:
    """Create each role's group and set its permissions to exactly what this module lists.

    ``apps`` is a migration's app registry (or ``django.apps.apps``). Permissions are created
    first: Django makes them only after all migrations ran, too late for a data migration.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # A migration's app configs have no models module, which create_permissions asks for.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    viewed = list(
        Permission.objects.filter(content_type__app_label__in=VIEWED_APPS, codename__startswith="view_")
    )
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        if role == ADMIN:
            group.permissions.set(Permission.objects.all())
        else:
            group.permissions.set(viewed + _permissions_of(Permission, ROLE_PERMISSIONS[role]))
