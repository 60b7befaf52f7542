"""Keeps the daily indicator summary in step with each change, in the same transaction."""

from datetime import datetime

from django.db import connection
from django.utils import timezone

from ..models import DailySummary, Dossier


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
        f"INSERT INTO {table} (agency_id, procedure_id, channel, day, "
        + ", ".join(quoted)
        + ", "
        + ", ".join(
            connection.ops.quote_name(c) for c in DailySummary.COUNTERS if c not in counts
        )
        + ") VALUES (%s, %s, %s, %s"
        + ", %s" * len(DailySummary.COUNTERS)
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
