"""The service indicators and the overdue list, from the daily summary and open dossiers."""

from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from portal import clock

from ..exceptions import DossierNotFound, InvalidFormData
from ..models import DailySummary, Dossier

# --- indicators ----------------------------------------------------------------------


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _scope_summary(user, agency: str | None) -> tuple[QuerySet, QuerySet]:
    summary = DailySummary.objects.all()
    open_qs = Dossier.objects.in_progress()
    unrestricted = not user.agency_code  # a provincial manager
    code = agency if unrestricted else user.agency_code
    if agency and not unrestricted and agency != user.agency_code:
        raise DossierNotFound("Không có quyền xem số liệu của cơ quan này.")
    if code:
        summary = summary.filter(agency__code=code)
        open_qs = open_qs.filter(handling_agency__code=code)
    return summary, open_qs


GROUPS = {
    "agency": ("agency__code", "handling_agency__code"),
    "procedure": ("procedure_id", "procedure_id"),
    "channel": ("channel", "channel"),
    "month": (None, None),
}


def indicators(
    *, user, agency: str | None = None, procedure: int | None = None,
    date_from: date | None = None, date_to: date | None = None, group_by: str | None = None,
    now: datetime | None = None,
) -> dict:
    """The service indicators of DESIGN §5, from the daily summary and the open dossiers."""
    now = now or clock.now()
    summary, open_qs = _scope_summary(user, agency)
    if procedure:
        summary = summary.filter(procedure_id=procedure)
        open_qs = open_qs.filter(procedure_id=procedure)
    if date_from:
        summary = summary.filter(day__gte=date_from)
    if date_to:
        summary = summary.filter(day__lte=date_to)
        end = timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time()))
        open_qs = open_qs.filter(received_at__lt=end)
    sums = {c: Sum(c) for c in DailySummary.COUNTERS}
    totals = summary.aggregate(**sums)
    result = _figures({k: v or 0 for k, v in totals.items()})
    result.update(_open_figures(open_qs, now))
    if group_by:
        if group_by not in GROUPS:
            raise InvalidFormData(extra={"errors": [{"field": "group_by", "message": "unknown"}]})
        result["groups"] = _grouped(summary, open_qs, group_by, now, sums)
    return result


def _figures(t: dict) -> dict:
    completed = t["completed"]
    return {
        **t,
        "on_time_rate": _rate(t["early"] + t["on_time"], completed),
        "online_payment_rate": _rate(t["paid_online"], t["fee_bearing"]),
        "digitization_rate": _rate(t["digitized"], t["received"]),
        "electronic_result_rate": _rate(t["results_electronic"], completed),
        "average_rating": round(t["rating_sum"] / t["rated"], 2) if t["rated"] else None,
        "satisfied_rate": _rate(t["satisfied"], t["rated"]),
    }


def _open_figures(open_qs: QuerySet, now: datetime) -> dict:
    figures = open_qs.aggregate(
        in_progress=Count("pk"),
        paused=Count("pk", filter=Q(paused_at__isnull=False)),
        overdue=Count("pk", filter=Q(paused_at__isnull=True, due_at__lt=now)),
    )
    # Three buckets of the national index: within time, overdue, paused (clock stopped).
    figures["within_time"] = figures["in_progress"] - figures["overdue"] - figures["paused"]
    return figures


def _grouped(summary, open_qs, group_by, now, sums) -> list[dict]:
    from django.db.models.functions import TruncMonth

    if group_by == "month":
        rows = summary.annotate(g=TruncMonth("day")).values("g").annotate(**sums).order_by("g")
        return [
            {"key": r["g"].strftime("%Y-%m"), **_figures({c: r[c] or 0 for c in DailySummary.COUNTERS})}
            for r in rows
        ]
    summary_key, open_key = GROUPS[group_by]
    rows = summary.values(key=F(summary_key)).annotate(**sums).order_by("key")
    open_rows = {
        r["key"]: r
        for r in open_qs.values(key=F(open_key)).annotate(
            in_progress=Count("pk"),
            paused=Count("pk", filter=Q(paused_at__isnull=False)),
            overdue=Count("pk", filter=Q(paused_at__isnull=True, due_at__lt=now)),
        )
    }
    out = []
    for r in rows:
        extra = open_rows.pop(r["key"], {"in_progress": 0, "paused": 0, "overdue": 0})
        out.append({
            "key": r["key"],
            **_figures({c: r[c] or 0 for c in DailySummary.COUNTERS}),
            "in_progress": extra["in_progress"], "paused": extra["paused"],
            "overdue": extra["overdue"],
            "within_time": extra["in_progress"] - extra["overdue"] - extra["paused"],
        })
    # Groups with open dossiers but nothing received or completed in the period.
    zero = {c: 0 for c in DailySummary.COUNTERS}
    for key, extra in sorted(open_rows.items(), key=lambda kv: str(kv[0])):
        out.append({
            "key": key, **_figures(zero),
            "in_progress": extra["in_progress"], "paused": extra["paused"],
            "overdue": extra["overdue"],
            "within_time": extra["in_progress"] - extra["overdue"] - extra["paused"],
        })
    return out


def overdue_list(*, user, agency: str | None = None, now: datetime | None = None) -> QuerySet:
    """Overdue open dossiers with assignee and step, most overdue first."""
    now = now or clock.now()
    _, open_qs = _scope_summary(user, agency)
    return (
        open_qs.overdue(now=now)
        .select_related("procedure", "assignee", "current_step", "handling_agency")
        .order_by("due_at", "pk")
    )
