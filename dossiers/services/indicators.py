"""Keeps the daily indicator summary and its monthly rollup in step with each change, in the
same transaction."""

from collections.abc import Iterable
from datetime import date, datetime

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from portal import clock

from ..models import DailySummary, Dossier, MonthlySummary, Payment
from ..models.indicators import month_after, month_of_day

COUNTERS = DailySummary.COUNTERS


def _upsert_sql(model, period: str, cols: list[str]) -> str:
    """Insert the period's row or add to it; the same SQL on SQLite and PostgreSQL."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    quoted = [quote(c) for c in cols]
    return (
        f"INSERT INTO {table} (agency_id, procedure_id, channel, {quote(period)}, "  # nosec B608  # quoted model names only; values are parameters
        + ", ".join(quoted)
        + ", "
        + ", ".join(quote(c) for c in COUNTERS if c not in cols)
        + ") VALUES (%s, %s, %s, %s"
        + ", %s" * len(COUNTERS)  # nosec B608  # placeholders only
        + f") ON CONFLICT (agency_id, procedure_id, channel, {quote(period)}) DO UPDATE SET "  # nosec B608  # quoted model names only
        + ", ".join(f"{q} = {table}.{q} + excluded.{q}" for q in quoted)
    )


def summary_add(*, dossier: Dossier, at: datetime, **counts: int) -> None:
    """Add `counts` to the summary rows of the dossier's agency, procedure, channel and local
    day, and of that day's month."""
    counts = {k: v for k, v in counts.items() if v}
    if not counts:
        return
    unknown = set(counts) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown counters: {sorted(unknown)}")
    cols = list(counts)
    day = timezone.localtime(at).date()
    values = [*[counts[c] for c in cols], *[0] * (len(COUNTERS) - len(cols))]
    key = [dossier.handling_agency_id, dossier.procedure_id, dossier.channel]
    # Both rows or neither: the rollup must always be the sum of its days. Inside the
    # service's transaction this opens nothing of its own.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(_upsert_sql(DailySummary, "day", cols), [*key, day, *values])
        cursor.execute(_upsert_sql(MonthlySummary, "month", cols),
                       [*key, day.replace(day=1), *values])


def summary_count_paid_online(*, dossier: Dossier) -> bool:
    """Count the dossier in `paid_online` on its reception day, once: the first call that finds
    it received with its fee settled online counts it; every other call counts nothing."""
    if dossier.received_at is None:
        return False
    # The mark on the payment row is the once: a conditional update, whatever the order of
    # acceptance and payment and however often either is told.
    marked = Payment.objects.filter(
        dossier_id=dossier.pk, settles_fee=True, status=Payment.Status.PAID,
        channel=Payment.Channel.ONLINE, online_counted_at__isnull=True,
    ).update(online_counted_at=clock.now())
    if marked:
        summary_add(dossier=dossier, at=dossier.received_at, paid_online=1)
    return bool(marked)


@transaction.atomic
def summary_monthly_rebuild(*, months: Iterable[date] | None = None) -> int:
    """Recompute the monthly rollup from the daily summary: every month, or only `months`
    (each given by any of its days). Returns the number of monthly rows written."""
    firsts = None if months is None else sorted({m.replace(day=1) for m in months})
    if connection.vendor == "postgresql":
        # Changes wait until the rollup is rebuilt: one that added to a day before this read
        # the days adds to the month after it, never in between. (SQLite has one writer.)
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {connection.ops.quote_name(MonthlySummary._meta.db_table)}"
                           " IN EXCLUSIVE MODE")
    stale = MonthlySummary.objects.all()
    daily = DailySummary.objects.all()
    if firsts is not None:
        stale = stale.filter(month__in=firsts)
        days = Q(pk__in=[])
        for first in firsts:
            days |= Q(day__gte=first, day__lt=month_after(first))
        daily = daily.filter(days)
    stale.delete()
    rows = (
        daily.values("agency_id", "procedure_id", "channel",
                     month=month_of_day())
        .annotate(**{c: Sum(c) for c in COUNTERS})
        .order_by()
    )
    written = MonthlySummary.objects.bulk_create(
        (MonthlySummary(**row) for row in rows.iterator(chunk_size=2000)), batch_size=2000
    )
    return len(written)
