"""Merchant lifecycle and API keys: every write of the merchants app.

Statuses move only along ``MERCHANT_TRANSITIONS``; any other move is a 409 naming the current
status. Activation opens the merchant's ledger accounts in the same transaction. Closing
revokes every key at once. Keys: created with their secret returned once; revoked
immediately; rotated with an overlap window during which the old key still works.
"""

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from moneyed import Money

from accounts.services import merchant_accounts_open
from merchants import keys
from merchants.models import MAX_BASIS_POINTS, ApiKey, FeePlan, Merchant, MerchantLimit
from paysys.api.auth import ApiCaller
from paysys.audit.services import audit_record
from paysys.errors import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from paysys.money import currency_is_accepted, money_to_minor

MERCHANT_TRANSITIONS: dict[str, set[str]] = {
    Merchant.Status.PENDING: {Merchant.Status.ACTIVE, Merchant.Status.CLOSED},
    Merchant.Status.ACTIVE: {Merchant.Status.SUSPENDED, Merchant.Status.CLOSED},
    Merchant.Status.SUSPENDED: {Merchant.Status.ACTIVE, Merchant.Status.CLOSED},
    Merchant.Status.CLOSED: set(),
}
# `last_used_at` is written at most this often per key: a hint for operators, not an audit trail.
LAST_USED_RESOLUTION = timedelta(minutes=1)
DEFAULT_ROTATION_OVERLAP = timedelta(hours=24)
MAX_ROTATION_OVERLAP = timedelta(days=7)


class MerchantStateError(ConflictError):
    default_code = "merchant_unexpected_state"


def merchant_lock(*, merchant_id: str) -> Merchant:
    """Lock one merchant row for a status change (callers hold a transaction)."""
    try:
        return Merchant.objects.select_for_update(of=("self",)).get(public_id=merchant_id)
    except Merchant.DoesNotExist:
        raise NotFoundError(f"No such merchant: '{merchant_id}'", param="merchant") from None


def _move(merchant: Merchant, new_status: str, *, reason: str = "") -> None:
    """Check and apply a status change, with its audit row (the caller saves the merchant)."""
    previous = merchant.status
    if new_status not in MERCHANT_TRANSITIONS[previous]:
        raise MerchantStateError(
            f"The merchant is {previous}; it cannot become {new_status}.", param="status"
        )
    merchant.status = new_status
    audit_record(
        event_type=f"merchant.{new_status}",
        object_type="merchant",
        object_id=merchant.public_id,
        previous_state=previous,
        new_state=new_status,
        merchant_id=merchant.public_id,
        reason_code=reason[:64],
    )


def _key_audit(key: ApiKey, event: str, *, previous: str = "", new: str = "") -> None:
    # The prefix identifies the key; the secret never reaches the audit log.
    audit_record(
        event_type=f"api_key.{event}",
        object_type="api_key",
        object_id=key.prefix,
        previous_state=previous,
        new_state=new,
        merchant_id=key.merchant.public_id,
        metadata={"scope": key.scope, "mode": key.mode},
    )


def _check_currency(currency: str) -> str:
    """An upper-case ISO 4217 code new money may be in (``paysys.money.currency_is_accepted``)."""
    if not isinstance(currency, str) or not currency_is_accepted(currency):
        raise InvalidRequestError(
            f"Unsupported currency: {currency!r} (an upper-case ISO 4217 code such as 'EUR').",
            code="invalid_currency",
            param="currency",
        )
    return currency


# The fee and limit amounts, as the messages name them.
_AMOUNT_NAMES = {
    "fixed": "fixed fee",
    "dispute_fee": "dispute fee",
    "max_payment": "maximum payment",
    "daily_volume": "daily volume",
}


def _check_amount(amount: Money | None, *, currency: str, param: str, positive: bool = False) -> None:
    """A fee or limit (``None``: none set): money in the row's ``currency``, a whole number of
    its minor units, not negative (a limit: above zero)."""
    if amount is None:
        return
    name = _AMOUNT_NAMES[param]
    if not isinstance(amount, Money) or amount.currency.code != currency:
        raise InvalidRequestError(f"The {name} must be an amount in {currency}.", param=param)
    try:
        money_to_minor(amount)
    except ValueError:
        raise InvalidRequestError(
            f"The {name} must be a whole number of {currency} minor units.", param=param
        ) from None
    if amount.amount < 0 or (positive and amount.amount == 0):
        raise InvalidRequestError(
            f"The {name} must be {'above zero' if positive else 'zero or more'} (or empty).", param=param
        )


def merchant_onboard(
    *,
    name: str,
    email: str,
    default_currency: str = "EUR",
    fee_basis_points: int | None = None,
    fee_fixed: Money | None = None,
    settlement_delay_days: int = 1,
    platform_id: str | None = None,
) -> Merchant:
    """Create a ``pending`` merchant with a fee plan in its default currency (its fixed fee
    ``fee_fixed``, else the platform default for the currency).

    With ``platform_id`` the merchant is connected to that platform merchant, whose payments
    may then split funds to it (``transfer_data``).
    """
    if not name.strip():
        raise InvalidRequestError("A merchant needs a name.", param="name")
    if "@" not in email:
        raise InvalidRequestError("A merchant needs a valid e-mail address.", param="email")
    _check_currency(default_currency)
    _check_amount(fee_fixed, currency=default_currency, param="fixed")
    with transaction.atomic():
        platform = _platform_lock(platform_id) if platform_id else None
        merchant = Merchant.objects.create(
            name=name.strip(),
            email=email.strip(),
            default_currency=default_currency,
            settlement_delay_days=settlement_delay_days,
            platform=platform,
        )
        FeePlan.objects.create(
            merchant=merchant,
            currency=default_currency,
            basis_points=settings.PAYSYS_DEFAULT_FEE_BASIS_POINTS
            if fee_basis_points is None
            else fee_basis_points,
            fixed=fee_fixed,
        )
        audit_record(
            event_type="merchant.onboarded",
            object_type="merchant",
            object_id=merchant.public_id,
            new_state=merchant.status,
            merchant_id=merchant.public_id,
            metadata={"platform": platform.public_id} if platform else {},
        )
    return merchant


def _platform_lock(platform_id: str) -> Merchant:
    """The platform a new merchant connects to: an existing, not closed merchant, not itself connected."""
    try:
        platform = merchant_lock(merchant_id=platform_id)
    except NotFoundError:
        raise NotFoundError(f"No such merchant: '{platform_id}'", param="platform") from None
    if platform.platform_id is not None:
        raise InvalidRequestError(
            "A connected merchant cannot be a platform itself.", code="invalid_platform", param="platform"
        )
    if platform.status == Merchant.Status.CLOSED:
        raise InvalidRequestError(
            "The platform merchant is closed.", code="invalid_platform", param="platform"
        )
    return platform


def merchant_activate(*, merchant_id: str) -> Merchant:
    """pending/suspended → active; opens the ledger accounts of its default currency, in both
    modes (test and live money never share an account)."""
    with transaction.atomic():
        merchant = merchant_lock(merchant_id=merchant_id)
        _move(merchant, Merchant.Status.ACTIVE)
        merchant.activated_at = merchant.activated_at or timezone.now()
        merchant.suspended_at = None
        merchant.status_reason = ""
        merchant.save(update_fields=["status", "activated_at", "suspended_at", "status_reason", "updated"])
        for livemode in (False, True):
            merchant_accounts_open(
                merchant_id=merchant.public_id, currency=merchant.default_currency, livemode=livemode
            )
    return merchant


def merchant_suspend(*, merchant_id: str, reason: str = "") -> Merchant:
    """active → suspended: its keys still identify it, every request gets 403 ``merchant_suspended``."""
    with transaction.atomic():
        merchant = merchant_lock(merchant_id=merchant_id)
        _move(merchant, Merchant.Status.SUSPENDED, reason=reason)
        merchant.suspended_at = timezone.now()
        merchant.status_reason = reason[:200]
        merchant.save(update_fields=["status", "suspended_at", "status_reason", "updated"])
    return merchant


def merchant_close(*, merchant_id: str, reason: str = "") -> Merchant:
    """→ closed, for good; every key of the merchant is revoked in the same transaction."""
    with transaction.atomic():
        merchant = merchant_lock(merchant_id=merchant_id)
        _move(merchant, Merchant.Status.CLOSED, reason=reason)
        now = timezone.now()
        merchant.closed_at = now
        merchant.status_reason = reason[:200]
        merchant.save(update_fields=["status", "closed_at", "status_reason", "updated"])
        for key in ApiKey.objects.filter(merchant=merchant, revoked_at__isnull=True).order_by("pk"):
            key.revoked_at = now
            key.save(update_fields=["revoked_at"])
            _key_audit(key, "revoked", previous="active", new="revoked")
    return merchant


MERCHANT_UPDATABLE_FIELDS = frozenset(
    {
        "name",
        "email",
        "settlement_delay_days",
        "reserve_percent",
        "reserve_period_days",
        "payout_schedule",
        "metadata",
    }
)


MERCHANT_TERMS_FIELDS = frozenset(
    {"settlement_delay_days", "reserve_percent", "reserve_period_days", "payout_schedule"}
)


def merchant_update(*, merchant_id: str, changes: dict) -> Merchant:
    """Change the merchant's profile and terms (not its status: that has its own services)."""
    unknown = set(changes) - MERCHANT_UPDATABLE_FIELDS
    if unknown:
        raise InvalidRequestError(
            f"These fields cannot be changed here: {sorted(unknown)}.", param=min(unknown)
        )
    with transaction.atomic():
        merchant = merchant_lock(merchant_id=merchant_id)
        for field, value in changes.items():
            setattr(merchant, field, value)
        merchant.full_clean(exclude=["status"])
        merchant.save(update_fields=[*sorted(changes), "updated"])
        audit_record(
            event_type="merchant.updated",
            object_type="merchant",
            object_id=merchant.public_id,
            merchant_id=merchant.public_id,
            # The terms' new values (not the name or e-mail: the history keeps those).
            metadata={
                "fields": ",".join(sorted(changes)),
                **{field: str(changes[field]) for field in sorted(MERCHANT_TERMS_FIELDS & set(changes))},
            },
        )
    return merchant


def merchant_fee_plan_set(
    *,
    merchant_id: str,
    currency: str,
    basis_points: int,
    fixed: Money | None = None,
    dispute_fee: Money | None = None,
) -> FeePlan:
    """Set the merchant's fees in ``currency``: ``basis_points`` of the amount plus ``fixed`` per
    payment, and ``dispute_fee`` per dispute (``None``: the platform's default for the currency)."""
    _check_currency(currency)
    if not 0 <= basis_points <= MAX_BASIS_POINTS:
        raise InvalidRequestError("Fees are 0-10,000 basis points.", param="basis_points")
    _check_amount(fixed, currency=currency, param="fixed")
    _check_amount(dispute_fee, currency=currency, param="dispute_fee")
    with transaction.atomic():
        merchant = merchant_lock(merchant_id=merchant_id)
        plan, _created = FeePlan.objects.update_or_create(
            merchant=merchant,
            currency=currency,
            defaults={"basis_points": basis_points, "fixed": fixed, "dispute_fee": dispute_fee},
        )
        audit_record(
            event_type="merchant.fee_plan_set",
            object_type="merchant",
            object_id=merchant.public_id,
            merchant_id=merchant.public_id,
            currency=currency,
            metadata={
                "basis_points": str(basis_points),
                "fixed": _audit_amount(fixed),
                "dispute_fee": _audit_amount(dispute_fee),
            },
        )
    return plan


def merchant_limits_set(
    *, merchant_id: str, currency: str, max_payment: Money | None, daily_volume: Money | None
) -> MerchantLimit:
    """Set the merchant's risk limits in ``currency`` (``None``: no limit)."""
    _check_currency(currency)
    _check_amount(max_payment, currency=currency, param="max_payment", positive=True)
    _check_amount(daily_volume, currency=currency, param="daily_volume", positive=True)
    with transaction.atomic():
        merchant = merchant_lock(merchant_id=merchant_id)
        limits, _created = MerchantLimit.objects.update_or_create(
            merchant=merchant,
            currency=currency,
            defaults={"max_payment": max_payment, "daily_volume": daily_volume},
        )
        audit_record(
            event_type="merchant.limits_set",
            object_type="merchant",
            object_id=merchant.public_id,
            merchant_id=merchant.public_id,
            currency=currency,
            metadata={
                "max_payment": _audit_amount(max_payment),
                "daily_volume": _audit_amount(daily_volume),
            },
        )
    return limits


def _audit_amount(amount: Money | None) -> str | None:
    return None if amount is None else str(amount.amount)


def _api_key_insert(
    *, merchant: Merchant, scope: str, mode: str, name: str, rotated_from: ApiKey | None = None
):
    secret = keys.secret_new(mode)
    key = ApiKey.objects.create(
        merchant=merchant,
        prefix=keys.secret_prefix(secret),
        secret_hash=keys.secret_hash(secret),
        scope=scope,
        mode=mode,
        name=name,
        rotated_from=rotated_from,
    )
    _key_audit(key, "created", new="active")
    return key, secret


def api_key_create(
    *, merchant_id: str, scope: str = ApiKey.Scope.WRITE, mode: str = ApiKey.Mode.TEST, name: str = ""
) -> tuple[ApiKey, str]:
    """A new key for the merchant. Returns the row and the secret: the only time it exists."""
    if scope not in ApiKey.Scope.values:
        raise InvalidRequestError(f"Unknown scope {scope!r}.", param="scope")
    if mode not in ApiKey.Mode.values:
        raise InvalidRequestError(f"Unknown mode {mode!r}.", param="mode")
    with transaction.atomic():
        merchant = merchant_lock(merchant_id=merchant_id)
        if merchant.status == Merchant.Status.CLOSED:
            raise MerchantStateError("The merchant is closed; it cannot get new keys.")
        return _api_key_insert(merchant=merchant, scope=scope, mode=mode, name=name)


def api_key_revoke(*, prefix: str) -> ApiKey:
    """Revoke a key now. Revoking a revoked key changes nothing."""
    with transaction.atomic():
        try:
            key = ApiKey.objects.select_for_update(of=("self",)).select_related("merchant").get(prefix=prefix)
        except ApiKey.DoesNotExist:
            raise NotFoundError(f"No such API key: '{prefix}'", param="prefix") from None
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            _key_audit(key, "revoked", previous="active", new="revoked")
    return key


def api_key_rotate(*, prefix: str, overlap: timedelta = DEFAULT_ROTATION_OVERLAP) -> tuple[ApiKey, str]:
    """Replace a key: a new one with the same scope and mode; the old one expires after ``overlap``."""
    if overlap < timedelta(0) or overlap > MAX_ROTATION_OVERLAP:
        raise InvalidRequestError("The overlap must be between 0 and 7 days.", param="overlap")
    with transaction.atomic():
        try:
            old = ApiKey.objects.select_for_update(of=("self",)).select_related("merchant").get(prefix=prefix)
        except ApiKey.DoesNotExist:
            raise NotFoundError(f"No such API key: '{prefix}'", param="prefix") from None
        now = timezone.now()
        if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= now):
            raise ConflictError(
                "This key is revoked or expired; create a new one instead.", code="api_key_inactive"
            )
        if hasattr(old, "rotated_to"):
            raise ConflictError("This key has already been rotated.", code="api_key_already_rotated")
        new, secret = _api_key_insert(
            merchant=old.merchant, scope=old.scope, mode=old.mode, name=old.name, rotated_from=old
        )
        old.expires_at = now + overlap
        old.save(update_fields=["expires_at"])
        _key_audit(old, "rotated", previous="active", new="expiring")
    return new, secret


@cache
def _authenticate_sql() -> tuple[str, list[str]]:
    """The key and its merchant in one statement, written out: the ORM would compile the same
    join on every request. Returns the SQL and the merchant's field names, in column order."""
    fields = Merchant._meta.concrete_fields
    columns = ", ".join(f'm."{field.column}"' for field in fields)
    sql = (
        f"SELECT {columns}, k.id, k.prefix, k.scope, k.mode, k.expires_at, k.last_used_at "  # noqa: S608
        f'FROM "{ApiKey._meta.db_table}" k JOIN "{Merchant._meta.db_table}" m ON m.id = k.merchant_id '
        "WHERE k.secret_hash = %s AND k.revoked_at IS NULL"
    )
    return sql, [field.attname for field in fields]


def api_key_authenticate(*, secret: str) -> ApiCaller:
    """Resolve a secret to its caller (``settings.PAYSYS_API_KEY_AUTHENTICATOR``).

    One indexed query per request; ``last_used_at`` is refreshed by a conditional UPDATE at most
    once a minute per key, so a busy key does not turn every read into a write.
    """
    if not keys.secret_looks_valid(secret):
        raise AuthenticationError("Invalid API key provided.")
    sql, merchant_fields = _authenticate_sql()
    connection = transaction.get_connection()
    with connection.cursor() as cursor:
        cursor.execute(sql, [keys.secret_hash(secret)])
        row = cursor.fetchone()
    now = timezone.now()
    if row is None:
        raise AuthenticationError("Invalid API key provided.")
    key_pk, prefix, scope, mode, expires_at, last_used_at = row[len(merchant_fields) :]
    if expires_at is not None and expires_at <= now:
        raise AuthenticationError("Invalid API key provided.")
    merchant = Merchant.from_db(connection.alias, merchant_fields, row[: len(merchant_fields)])
    if merchant.status == Merchant.Status.SUSPENDED:
        raise PermissionDeniedError("This merchant account is suspended.", code="merchant_suspended")
    if merchant.status != Merchant.Status.ACTIVE:
        raise PermissionDeniedError(f"This merchant account is {merchant.status}.", code="merchant_inactive")
    if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
        # A conditional UPDATE (no history row): concurrent requests write it once between them.
        ApiKey.objects.filter(pk=key_pk).exclude(last_used_at__gt=now - LAST_USED_RESOLUTION).update(
            last_used_at=now
        )
    return ApiCaller(
        merchant_pk=merchant.pk,
        merchant_id=merchant.public_id,
        api_key_pk=key_pk,
        key_prefix=prefix,
        can_write=scope == ApiKey.Scope.WRITE,
        livemode=mode == ApiKey.Mode.LIVE,
        merchant=merchant,
    )


DEMO_MERCHANT_EMAIL = "demo@paysys.test"
DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_PASSWORD = "paysys-demo"  # noqa: S105 - a development-only, printed credential


@dataclass(frozen=True)
class DemoSeed:
    merchant: Merchant
    merchant_created: bool
    secret: str


def demo_seed() -> DemoSeed:
    """The demo merchant (active) and the admin superuser, created once; a fresh test key each run."""
    user_model = get_user_model()
    if not user_model.objects.filter(username=DEMO_ADMIN_USERNAME).exists():
        user_model.objects.create_superuser(DEMO_ADMIN_USERNAME, "admin@paysys.test", DEMO_ADMIN_PASSWORD)
    merchant = Merchant.objects.filter(email=DEMO_MERCHANT_EMAIL).order_by("pk").first()
    created = merchant is None
    if created:
        merchant = merchant_onboard(name="Demo Shop", email=DEMO_MERCHANT_EMAIL, default_currency="EUR")
    if merchant.status == Merchant.Status.PENDING:
        merchant = merchant_activate(merchant_id=merchant.public_id)
    _key, secret = api_key_create(merchant_id=merchant.public_id, name="demo")
    return DemoSeed(merchant=merchant, merchant_created=created, secret=secret)
