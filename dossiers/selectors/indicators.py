"""The service indicators and the overdue list, from the daily summary, its monthly rollup
and open dossiers."""

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
from django.db.models import (
    CharField,
    Count,
    Exists,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal import clock
from portal.models import User

from ..exceptions import DossierNotFound, InvalidFormData
from ..models import (
    Agency,
    DailySummary,
    Document,
    Dossier,
    DossierTransition,
    MonthlySummary,
    Payment,
    Procedure,
    ProcessStep,
)
from ..models.indicators import month_after, month_of_day

# What each figure is called where people read it (dashboards, CSV and XLSX headers).
FIGURE_LABELS = {
    "received": _("Đã tiếp nhận"),
    "completed": _("Đã giải quyết"),
    "early": _("Trước hạn"),
    "on_time": _("Đúng hạn"),
    "late": _("Trễ hạn"),
    "in_time": _("Trước hạn và đúng hạn"),
    "on_time_rate": _("Tỷ lệ đúng hạn (%)"),
    "in_progress": _("Đang giải quyết"),
    "within_time": _("Trong hạn"),
    "overdue": _("Đang quá hạn"),
    "paused": _("Tạm dừng, chờ bổ sung"),
    "withdrawn": _("Rút hồ sơ"),
    "refused": _("Từ chối giải quyết"),
    "rejected": _("Từ chối tiếp nhận"),
    "fee_bearing": _("Có phí, lệ phí"),
    "paid_online": _("Thanh toán trực tuyến"),
    "online_payment_rate": _("Tỷ lệ thanh toán trực tuyến (%)"),
    "digitized": _("Số hóa hồ sơ"),
    "digitization_rate": _("Tỷ lệ số hóa hồ sơ (%)"),
    "results_electronic": _("Kết quả điện tử"),
    "electronic_result_rate": _("Tỷ lệ kết quả điện tử (%)"),
    "rated": _("Lượt đánh giá"),
    "rating_sum": _("Tổng điểm đánh giá"),
    "satisfied": _("Hài lòng"),
    "average_rating": _("Điểm đánh giá trung bình"),
    "satisfied_rate": _("Tỷ lệ hài lòng (%)"),
}
COUNTERS = DailySummary.COUNTERS
# The rates of a figures dict: fractions from 0 to 1 (None when nothing to divide by).
RATES = (
    "on_time_rate", "online_payment_rate", "digitization_rate", "electronic_result_rate",
    "satisfied_rate",
)

# --- indicators ----------------------------------------------------------------------


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time()))


def _scope_code(user, agency: str | None) -> str | None:
    """The agency whose figures are read (None: every agency), or DossierNotFound."""
    unrestricted = not user.agency_code  # a provincial manager
    if agency and not unrestricted and agency != user.agency_code:
        raise DossierNotFound("Không có quyền xem số liệu của cơ quan này.")
    return (agency if unrestricted else user.agency_code) or None


def scope_agency_code(*, user, agency: str | None = None) -> str | None:
    """The agency whose figures and lists `user` reads with this filter (None: every agency);
    DossierNotFound for an agency outside the user's scope."""
    return _scope_code(user, agency)


def _scope(user, agency: str | None) -> tuple[Q, QuerySet]:
    """The filter of the summary rows (daily or monthly) and the open dossiers, scoped to the
    user."""
    open_qs = Dossier.objects.in_progress()
    code = _scope_code(user, agency)
    if not code:
        return Q(), open_qs
    # On the agency's id, not a join on its code: the indexes on (agency, day or month) and
    # `dossier_in_progress_idx` then serve the filter.
    agency_id = Subquery(Agency.objects.filter(code=code).values("pk")[:1])
    return Q(agency_id=agency_id), open_qs.filter(handling_agency_id=agency_id)


def period_split(
    date_from: date | None, date_to: date | None
) -> tuple[tuple[date | None, date | None] | None, list[tuple[date | None, date | None]]]:
    """The whole months of a period, as (first month, month after the last) with None for no
    bound, or None when the period holds no whole month; and the days left at either end, as
    inclusive (first, last) ranges. Together they are the period, each day in exactly one."""
    first = date_from
    if date_from is not None and date_from.day != 1:
        first = month_after(date_from)
    end = date_to
    if date_to is not None:
        end = date_to.replace(day=1)
        if (date_to + timedelta(days=1)).day == 1:  # the period ends with its month
            end = month_after(date_to)
    if first is not None and end is not None and first >= end:
        return None, [(date_from, date_to)]
    days = []
    if date_from is not None and date_from < first:
        days.append((date_from, first - timedelta(days=1)))
    if date_to is not None and end <= date_to:
        days.append((end, date_to))
    return (first, end), days


def _summary_parts(rows: Q, date_from: date | None, date_to: date | None) -> list[QuerySet]:
    """The summary rows of a period: the monthly rollup for its whole months, the daily
    summary for the days left at either end: a year reads each agency, procedure and
    channel's row once a month, not once a day."""
    months, days = period_split(date_from, date_to)
    parts = []
    if months is not None:
        first, end = months
        monthly = MonthlySummary.objects.filter(rows)
        if first is not None:
            monthly = monthly.filter(month__gte=first)
        if end is not None:
            monthly = monthly.filter(month__lt=end)
        parts.append(monthly)
    for first_day, last_day in days:
        daily = DailySummary.objects.filter(rows)
        if first_day is not None:
            daily = daily.filter(day__gte=first_day)
        if last_day is not None:
            daily = daily.filter(day__lte=last_day)
        parts.append(daily)
    return parts


MONTH = "month"  # a key of `_summed`: the month of the summary row


def _key(model, path: str):
    if path != MONTH:
        return F(path)
    if model is MonthlySummary:
        return F("month")
    return month_of_day()


def _month_name(value) -> str:
    """YYYY-MM of a month's first day as the database gives it (a date, or its ISO text)."""
    return str(value)[:7]


def _summed(parts: Sequence[QuerySet], keys: Sequence[str] = (),
            order: Sequence[int] = ()) -> list[tuple[tuple, dict]]:
    """The counters of the summary rows `parts` select (daily or monthly), added up per
    `keys` (paths from a summary row, or MONTH) and sorted by the keys at `order`: one query,
    whatever the number of parts. Each result is (the keys' values, the counters)."""
    selects = [
        qs.values(*COUNTERS, **{f"k{i}": _key(qs.model, path) for i, path in enumerate(keys)})
        for qs in parts
    ]
    union = selects[0].union(*selects[1:], all=True) if len(selects) > 1 else selects[0]
    inner, params = union.query.sql_with_params()
    quote = connection.ops.quote_name
    names = [quote(f"k{i}") for i in range(len(keys))]
    sql = (
        "SELECT " + "".join(f"{n}, " for n in names)  # nosec B608  # aliases and counter names only
        + ", ".join(f"SUM({quote(c)})" for c in COUNTERS)
        + f" FROM ({inner}) {quote('parts')}"
        + (" GROUP BY " + ", ".join(names) if names else "")
        + (" ORDER BY " + ", ".join(names[i] for i in order) if order else "")
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    width = len(keys)
    return [(row[:width], {c: v or 0 for c, v in zip(COUNTERS, row[width:], strict=True)})
            for row in rows]


def _filtered(
    user, agency: str | None, procedure: int | None, channels: Sequence[str] | None,
    date_from: date | None, date_to: date | None,
) -> tuple[list[QuerySet], QuerySet]:
    """The summary rows (see `_summary_parts`) and the open dossiers one filter selects, scoped
    to the user."""
    rows, open_qs = _scope(user, agency)
    if procedure:
        rows &= Q(procedure_id=procedure)
        open_qs = open_qs.filter(procedure_id=procedure)
    if channels:
        rows &= Q(channel__in=list(channels))
        open_qs = open_qs.filter(channel__in=list(channels))
    if date_to:
        open_qs = open_qs.filter(received_at__lt=_day_start(date_to + timedelta(days=1)))
    return _summary_parts(rows, date_from, date_to), open_qs


# What each grouping adds up by: a path from a summary row, a path from an open dossier. The
# agencies are grouped by id, named by their codes afterwards (`_agency_codes`): a join to the
# agency table on every row read cost a sixth of the year's figures by agency.
GROUPS = {
    "agency": ("agency_id", "handling_agency_id"),
    "procedure": ("procedure_id", "procedure_id"),
    "channel": ("channel", "channel"),
    "month": (None, None),
}


def indicators(
    *, user, agency: str | None = None, procedure: int | None = None,
    channels: Sequence[str] | None = None, date_from: date | None = None,
    date_to: date | None = None, group_by: str | None = None, now: datetime | None = None,
) -> dict:
    """The service indicators of DESIGN §5, from the daily summary and the open dossiers.
    `channels` keeps only dossiers that came in by one of those channels."""
    now = now or clock.now()
    if group_by and group_by not in GROUPS:
        raise InvalidFormData(extra={"errors": [{"field": "group_by", "message": "unknown"}]})
    parts, open_qs = _filtered(user, agency, procedure, channels, date_from, date_to)
    if not group_by:
        [(_keys, totals)] = _summed(parts)
        result = _figures(totals)
        result.update(_open_figures(open_qs, now))
        return result
    groups = _grouped(parts, open_qs, group_by, now)
    # Every summary row (and every open dossier, but by month) is in exactly one group: the
    # totals are the groups' sums, without reading the rows again.
    result = _figures({c: sum(g[c] for g in groups) for c in COUNTERS})
    if group_by == "month":
        result.update(_open_figures(open_qs, now))
    else:
        result.update({f: sum(g[f] for g in groups)
                       for f in ("in_progress", "paused", "overdue", "within_time")})
    result["groups"] = groups
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
    # Counted on columns of `dossier_in_progress_idx`: the index alone answers.
    figures = open_qs.aggregate(
        in_progress=Count("*"),
        paused=Count("handling_agency", filter=Q(paused_at__isnull=False)),
        overdue=Count("handling_agency", filter=Q(paused_at__isnull=True, due_at__lt=now)),
    )
    # Three buckets of the national index: within time, overdue, paused (clock stopped).
    figures["within_time"] = figures["in_progress"] - figures["overdue"] - figures["paused"]
    return figures


def _agency_codes(rows: list[tuple[tuple, dict]], open_rows: dict) -> tuple[list, dict]:
    """The rows of a grouping by agency id keyed by the agencies' codes instead, in their
    order."""
    codes = dict(Agency.objects.order_by().values_list("pk", "code"))
    rows = sorted((((codes[key],), counts) for (key,), counts in rows), key=lambda r: r[0])
    return rows, {codes[key]: extra for key, extra in open_rows.items()}


def _grouped(parts, open_qs, group_by, now) -> list[dict]:
    if group_by == "month":
        return [{"key": _month_name(month), **_figures(counts)}
                for (month,), counts in _summed(parts, [MONTH], [0])]
    summary_key, open_key = GROUPS[group_by]
    rows = _summed(parts, [summary_key], [0])
    open_rows = {
        r["key"]: r
        for r in open_qs.values(key=F(open_key)).annotate(
            in_progress=Count("*"),
            paused=Count("handling_agency", filter=Q(paused_at__isnull=False)),
            overdue=Count("handling_agency", filter=Q(paused_at__isnull=True, due_at__lt=now)),
        )
    }
    if group_by == "agency":
        rows, open_rows = _agency_codes(rows, open_rows)
    out = []
    for (key,), counts in rows:
        extra = open_rows.pop(key, {"in_progress": 0, "paused": 0, "overdue": 0})
        out.append({
            "key": key,
            **_figures(counts),
            "in_progress": extra["in_progress"], "paused": extra["paused"],
            "overdue": extra["overdue"],
            "within_time": extra["in_progress"] - extra["overdue"] - extra["paused"],
        })
    # Groups with open dossiers but nothing received or completed in the period.
    zero = {c: 0 for c in COUNTERS}
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
    _, open_qs = _scope(user, agency)
    return (
        open_qs.overdue(now=now)
        .select_related("procedure", "assignee", "current_step", "handling_agency")
        .order_by("due_at", "pk")
    )


# The columns of one overdue row: the dossier's own, which `dossier_overdue_idx` holds (an
# index-only scan on PostgreSQL, no join); `overdue_names` gives the names behind the ids. The
# two instants come as text: parsed with `datetime.fromisoformat`, they cost a fraction of the
# driver's conversion of each value to an aware datetime.
OVERDUE_COLUMNS = (
    "code", "procedure_id", "handling_agency_id", "state", "received_text", "due_text",
    "assignee_id", "current_step_id",
)


def overdue_rows(*, user, agency: str | None = None, now: datetime | None = None) -> QuerySet:
    """The overdue list as tuples of OVERDUE_COLUMNS, most overdue first: one query for any
    number of rows. The user's scope is checked at once (DossierNotFound for another
    agency's list), the rows are read when the result is iterated."""
    return (
        overdue_list(user=user, agency=agency, now=now).select_related(None)
        .annotate(received_text=Cast("received_at", CharField()),
                  due_text=Cast("due_at", CharField()))
        .values_list(*OVERDUE_COLUMNS)
    )


def overdue_instant(text: str) -> datetime:
    """An instant of `overdue_rows` as an aware datetime: PostgreSQL writes the offset,
    SQLite stores UTC without one."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class _Names(dict):
    """Names by id, read at once; an id that read did not see (its dossier changed before the
    rows were read) is read on its own, so the list never stops on it."""

    def __init__(self, read: Callable[[object], dict], ids: QuerySet) -> None:
        super().__init__(read(ids))
        self._read = read

    def __missing__(self, key):
        value = self[key] = self._read([key])[key]
        return value


def _procedure_names(ids) -> dict:
    return dict(Procedure.objects.filter(pk__in=ids).order_by().values_list("pk", "name"))


def _step_names(ids) -> dict:
    return dict(ProcessStep.objects.filter(pk__in=ids).order_by().values_list("pk", "name"))


def _display_names(ids) -> dict:
    users = User.objects.filter(pk__in=ids).order_by().only(
        "full_name", "first_name", "last_name", "username"
    )
    return {user.pk: user.display_name for user in users}


def overdue_names(*, rows: QuerySet) -> dict[str, dict]:
    """The names behind the ids of `overdue_rows`, by id: the procedures and steps the rows
    name, their assignees' display names and every agency's name, in four queries whatever
    the number of rows."""
    return {
        "procedures": _Names(_procedure_names, rows.values("procedure_id")),
        "agencies": dict(Agency.objects.order_by().values_list("pk", "name")),
        "steps": _Names(_step_names, rows.values("current_step_id")),
        "assignees": _Names(_display_names, rows.values("assignee_id")),
    }


# --- the dossiers behind a figure ----------------------------------------------------

# Channels the dashboards put together: the two portals file dossiers the same way.
PORTAL_CHANNELS = (Dossier.Channel.NATIONAL_PORTAL, Dossier.Channel.PROVINCIAL_PORTAL)
OPEN_FIGURES = ("in_progress", "within_time", "overdue", "paused")


def _rejected_at() -> Subquery:
    return Subquery(
        DossierTransition.objects.filter(dossier=OuterRef("pk"), name="refuse_at_reception")
        .order_by("-at").values("at")[:1]
    )


# Each counter of the daily summary as a filter on dossiers: the instant whose Vietnam day
# puts a dossier in the period (the `at` the workflow passes to `summary_add`) and what the
# dossier must be. Kept next to the services that add to the summary: received at acceptance
# (with its fee and digitized papers), completed and its outcome at the result or the refusal,
# withdrawn after reception, a rating on the completion day, a fee paid online once.
DOSSIER_FIGURES = {
    "received": ("received_at", Q()),
    "completed": ("completed_at", ~Q(outcome="")),
    "early": ("completed_at", Q(outcome=Dossier.Outcome.EARLY)),
    "on_time": ("completed_at", Q(outcome=Dossier.Outcome.ON_TIME)),
    "in_time": ("completed_at", Q(outcome__in=[Dossier.Outcome.EARLY, Dossier.Outcome.ON_TIME])),
    "late": ("completed_at", Q(outcome=Dossier.Outcome.LATE)),
    "refused": ("completed_at", Q(state=Dossier.State.REFUSED)),
    "rejected": ("rejected_at", Q(state=Dossier.State.REJECTED)),
    "withdrawn": ("withdrawn_at", Q(received_at__isnull=False)),
    "fee_bearing": ("received_at", Q(procedure__fee_vnd__gt=0)),
    "paid_online": ("received_at", Q(Exists(Payment.objects.filter(
        dossier=OuterRef("pk"), settles_fee=True, online_counted_at__isnull=False)))),
    "digitized": ("received_at", Q(Exists(Document.objects.filter(
        dossier=OuterRef("pk"), digitized=True)))),
    "results_electronic": ("completed_at", Q(result__electronic=True)),
    "rated": ("completed_at", Q(rating__isnull=False)),
}
FIGURES = (*DOSSIER_FIGURES, *OPEN_FIGURES)


def indicator_dossiers(
    *, user, figure: str, agency: str | None = None, procedure: int | None = None,
    channels: Sequence[str] | None = None, date_from: date | None = None,
    date_to: date | None = None, step: str | None = None, now: datetime | None = None,
) -> QuerySet:
    """The dossiers one figure of `indicators` counts, under the same filter and scope: their
    number is the figure. `step` (a step's name) narrows the open figures to that step."""
    if figure not in FIGURES:
        raise InvalidFormData(extra={"errors": [{"field": "figure", "message": "unknown"}]})
    now = now or clock.now()
    _, open_qs = _filtered(user, agency, procedure, channels, date_from, date_to)
    if figure in OPEN_FIGURES:
        qs = open_qs
        overdue = Q(paused_at__isnull=True, due_at__lt=now)
        if figure == "overdue":
            qs = qs.filter(overdue)
        elif figure == "paused":
            qs = qs.filter(paused_at__isnull=False)
        elif figure == "within_time":
            qs = qs.filter(paused_at__isnull=True).exclude(overdue)
        if step is not None:
            qs = qs.filter(current_step__name=step) if step else qs.filter(current_step=None)
        ordering = ("due_at", "pk")
    else:
        # The scope of the summary rows, on any dossier, the period on the figure's own day.
        qs = _scoped_dossiers(user, agency, procedure, channels)
        field, condition = DOSSIER_FIGURES[figure]
        if field == "rejected_at":
            qs = qs.annotate(rejected_at=_rejected_at())
        qs = qs.filter(condition, **{f"{field}__isnull": False})
        if date_from:
            qs = qs.filter(**{f"{field}__gte": _day_start(date_from)})
        if date_to:
            qs = qs.filter(**{f"{field}__lt": _day_start(date_to + timedelta(days=1))})
        ordering = (f"-{field}", "-pk")
    return qs.select_related(
        "procedure", "handling_agency", "current_step", "assignee"
    ).order_by(*ordering)


def _scoped_dossiers(
    user, agency: str | None, procedure: int | None, channels: Sequence[str] | None
) -> QuerySet:
    """Every dossier (any state) of the agencies, procedure and channels the figures count."""
    qs = Dossier.objects.exclude(state=Dossier.State.DRAFT)
    code = _scope_code(user, agency)
    if code:
        qs = qs.filter(handling_agency__code=code)
    if procedure:
        qs = qs.filter(procedure_id=procedure)
    if channels:
        qs = qs.filter(channel__in=list(channels))
    return qs


def indicator_rows(
    *, user, agency: str | None = None, procedure: int | None = None,
    channels: Sequence[str] | None = None, date_from: date | None = None,
    date_to: date | None = None,
) -> list[dict]:
    """The summary's figures per month x agency x procedure, by name, for exports."""
    parts, _open = _filtered(user, agency, procedure, channels, date_from, date_to)
    rows = _summed(
        parts, [MONTH, "agency__code", "agency__name", "procedure_id", "procedure__name"],
        order=[0, 2, 4, 3],
    )
    return [
        {
            "month": _month_name(month), "agency_code": agency_code, "agency": agency_name,
            "procedure_id": procedure_id, "procedure": procedure_name, **_figures(counts),
        }
        for (month, agency_code, agency_name, procedure_id, procedure_name), counts in rows
    ]


def overdue_by_step(
    *, user, agency: str | None = None, procedure: int | None = None,
    channels: Sequence[str] | None = None, date_to: date | None = None,
    now: datetime | None = None,
) -> list[dict]:
    """How many open dossiers are overdue now at each step (by the step's name), most first;
    `step` is "" for dossiers between steps."""
    now = now or clock.now()
    _parts, open_qs = _filtered(user, agency, procedure, channels, None, date_to)
    rows = (
        open_qs.overdue(now=now).values(step=F("current_step__name"))
        .annotate(count=Count("pk")).order_by("-count", "step")
    )
    return [{"step": r["step"] or "", "count": r["count"]} for r in rows]


def indicator_scope(*, user) -> tuple[QuerySet, QuerySet]:
    """The agencies whose figures the user may read, and those agencies' procedures."""
    agencies = Agency.objects.order_by("name")
    if user.agency_code:
        agencies = agencies.filter(code=user.agency_code)
    procedures = Procedure.objects.filter(agency__in=agencies).order_by("name", "pk")
    return agencies, procedures


def indicator_first_day(*, user) -> date | None:
    """The first day with figures the user may read (where a period picker starts)."""
    rows, _open = _scope(user, None)
    return DailySummary.objects.filter(rows).aggregate(first=Min("day"))["first"]


def group_names(*, group_by: str, keys: Sequence) -> dict:
    """What people call the keys of a grouping: agencies and procedures by name, channels by
    their label; months are their own name."""
    if group_by == "agency":
        return dict(Agency.objects.filter(code__in=list(keys)).values_list("code", "name"))
    if group_by == "procedure":
        return dict(Procedure.objects.filter(pk__in=list(keys)).values_list("pk", "name"))
    if group_by == "channel":
        return {k: str(v) for k, v in Dossier.Channel.choices}
    return {}
