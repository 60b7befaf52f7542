"""Reads of the dossier domain, each scoped to what the user may see."""

import base64
import binascii
import hmac
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from portal import clock
from portal.roles import Role

from .exceptions import DossierNotFound, InvalidFormData, LookupNotFound, PaymentRequired
from .models import DailySummary, Document, Dossier, DossierTransition, Procedure, Result


def procedure_list(*, sector: str | None = None, search: str | None = None) -> QuerySet:
    qs = Procedure.objects.filter(is_active=True).select_related("agency")
    if sector:
        qs = qs.filter(sector=sector)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(national_code__icontains=search))
    return qs.prefetch_related("components", "steps")


def dossier_list_for(*, user) -> QuerySet:
    """Dossiers the user may see: applicants their own, staff their agency's."""
    qs = Dossier.objects.select_related(
        "procedure", "handling_agency", "reception_agency", "assignee", "current_step",
        "applicant",
    )
    if user.has_role(*Role.STAFF):
        if not user.has_role(*Role.OFFICERS, Role.MANAGER):
            return qs.none()  # administrators configure the portal; they do not read dossiers
        if user.has_role(Role.MANAGER) and not user.agency_code:
            return qs.exclude(state=Dossier.State.DRAFT)  # a provincial manager sees all
        return qs.exclude(state=Dossier.State.DRAFT).filter(
            Q(handling_agency__code=user.agency_code) | Q(reception_agency__code=user.agency_code)
        )
    return qs.filter(applicant=user)


def dossier_get_for(*, user, dossier_id: int) -> Dossier:
    """One dossier the user may see, or DossierNotFound (another applicant's is a 404)."""
    dossier = dossier_list_for(user=user).filter(pk=dossier_id).first()
    if dossier is None:
        raise DossierNotFound()
    return dossier


def dossier_documents(*, dossier: Dossier, all_versions: bool = False) -> QuerySet:
    qs = Document.objects.filter(dossier=dossier).select_related("component")
    return qs if all_versions else qs.filter(is_current=True)


def document_get_for(*, user, document_id: int) -> Document:
    document = Document.objects.select_related("dossier", "component").filter(pk=document_id).first()
    if document is None or not dossier_list_for(user=user).filter(pk=document.dossier_id).exists():
        raise DossierNotFound()
    return document


def dossier_result(*, dossier: Dossier, user=None) -> Result | None:
    """The dossier's result; its applicant gets it only once a fee due before the result is
    paid (a refusal notice is never held back)."""
    result = Result.objects.filter(dossier=dossier).first()
    if (result is not None and user is not None and dossier.applicant_id == user.pk
            and result.kind != Result.Kind.REFUSAL and dossier.result_fee_outstanding):
        raise PaymentRequired(
            _("Phải nộp phí, lệ phí trước khi nhận kết quả."),
            extra={"amount": dossier.procedure.fee_vnd},
        )
    return result


def dossier_history(*, dossier: Dossier) -> QuerySet:
    return DossierTransition.objects.filter(dossier=dossier).order_by("id")


def dossier_lookup(*, code: str, secret: str) -> Dossier:
    """Public status by code and lookup secret; a wrong pair says nothing about the code."""
    dossier = Dossier.objects.select_related("procedure").filter(code=code).first()
    expected = dossier.lookup_secret if dossier else "x" * 12
    if not hmac.compare_digest(expected.encode(), (secret or "").encode()) or dossier is None:
        raise LookupNotFound()
    return dossier


# --- the officers' queue -------------------------------------------------------------

QUEUE_FILTERS = ("state", "step", "procedure", "assignee", "due", "page_size", "cursor")


def _encode_cursor(key: datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{key.isoformat()}|{pk}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        stamp, pk = raw.rsplit("|", 1)
        key = parse_datetime(stamp)
        if key is None or timezone.is_naive(key):
            raise ValueError
        return key, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidFormData(
            "Con trỏ phân trang không hợp lệ.", extra={"errors": [{"field": "cursor"}]}
        ) from exc


@dataclass(frozen=True)
class QueuePage:
    items: list
    next_cursor: str | None


def dossier_queue(
    *, user, state: str | None = None, step: str | None = None, procedure: int | None = None,
    assignee: str | None = None, due: str | None = None, cursor: str | None = None,
    page_size: int = 25, now: datetime | None = None,
) -> QueuePage:
    """Open dossiers of the officer's agency, soonest due first, one keyset page at a time."""
    now = now or clock.now()
    qs = dossier_list_for(user=user).filter(
        state__in=[s for s in Dossier.OPEN_STATES if s != Dossier.State.DRAFT]
    )
    if state:
        if state not in Dossier.State.values:
            raise InvalidFormData(extra={"errors": [{"field": "state", "message": "unknown"}]})
        qs = qs.filter(state=state)
    if step:
        qs = qs.filter(current_step__code=step)
    if procedure:
        qs = qs.filter(procedure_id=procedure)
    if assignee == "me":
        qs = qs.filter(assignee=user)
    elif assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif assignee:
        if not str(assignee).isdigit():
            raise InvalidFormData(extra={"errors": [{"field": "assignee", "message": "invalid"}]})
        qs = qs.filter(assignee_id=int(assignee))
    if due == "overdue":
        qs = qs.overdue(now=now)
    elif due == "soon":
        qs = qs.due_soon(now=now)
    elif due:
        raise InvalidFormData(extra={"errors": [{"field": "due", "message": "overdue|soon"}]})
    qs = qs.annotate(queue_key=Coalesce("due_at", "submitted_at"))
    if cursor:
        key, pk = _decode_cursor(cursor)
        qs = qs.filter(Q(queue_key__gt=key) | Q(queue_key=key, pk__gt=pk))
    page_size = max(1, min(int(page_size), 100))
    items = list(qs.order_by("queue_key", "pk")[: page_size + 1])
    next_cursor = None
    if len(items) > page_size:
        items = items[:page_size]
        last = items[-1]
        next_cursor = _encode_cursor(last.queue_key, last.pk)
    return QueuePage(items=items, next_cursor=next_cursor)


# --- indicators ----------------------------------------------------------------------


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _scope_summary(user, agency: str | None) -> tuple[QuerySet, QuerySet]:
    summary = DailySummary.objects.all()
    open_qs = Dossier.objects.in_progress()
    unrestricted = user.has_role(Role.ADMIN) or not user.agency_code
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
