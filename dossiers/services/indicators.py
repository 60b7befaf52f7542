"""Keeps the daily indicator summary in step with each change, in the same transaction."""

from datetime import datetime

from django.db import connection
from django.utils import timezone

from portal import clock

from ..models import DailySummary, Dossier, Payment


def summary_add(*, dossier: Dossier, at: datetime, **counts: int) -> None:
    """Add `counts` to the summary row of the dossier's agency, procedure, channel and local day."""
    counts = {k: v for k, v in counts.items() if v}
    if not counts:
        return
    unknown = set(counts) - set(DailySummary.COUNTERS)
    if unknown:
        raise ValueError(f"unknown counters: {sorted(unknown)}")
    table = connection.ops.quote_name(DailySummary._meta.db_table)
    cols = list(counts)
    quoted = [connection.ops.quote_name(c) for c in cols]
    # One upsert: insert the day's row or add to it; the same SQL on SQLite and PostgreSQL.
    sql = (
        f"INSERT INTO {table} (agency_id, procedure_id, channel, day, "  # nosec B608  # quoted model names only; values are parameters
        + ", ".join(quoted)
        + ", "
        + ", ".join(
            connection.ops.quote_name(c) for c in DailySummary.COUNTERS if c not in counts
        )
        + ") VALUES (%s, %s, %s, %s"
        + ", %s" * len(DailySummary.COUNTERS)  # nosec B608  # placeholders only
        + ") ON CONFLICT (agency_id, procedure_id, channel, day) DO UPDATE SET "
        + ", ".join(f"{q} = {table}.{q} + excluded.{q}" for q in quoted)
    )
    rest = [0] * (len(DailySummary.COUNTERS) - len(cols))
    params = [
        dossier.handling_agency_id, dossier.procedure_id, dossier.channel,
        timezone.localtime(at).date(), *[counts[c] for c in cols], *rest,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


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
