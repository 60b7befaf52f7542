"""The Decision 766 scorecard (DESIGN §5): six groups on 100 points, and the dossiers behind
every number it is computed from.

Every count is the size of one set, built by one function here: the score reads its size and
the list endpoint pages through the same set, so a figure and its list always agree.

A past period is rebuilt from what the dossier's history says about it, never from how the
dossier stands today: received and completed instants and the outcome are written once (at
acceptance, at the result or refusal); the due time in force at the period's end is the last
one the transition log recorded before it (acceptance, pause and resume rows carry it); a pause
at the end is a clock interval open at that instant; the state and step at the end are those of
the last log row before it. What happens after the period does not move its figures, except a
portal delivery still outstanding at its end (see `transparency`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integrations.base import NATIONAL
from portal import clock

from ..exceptions import InvalidFormData, ScorecardForbidden
from ..models import (
    ClockInterval,
    Document,
    Dossier,
    DossierTransition,
    OutboundMessage,
    Payment,
    Procedure,
    Rating,
    Result,
)
from ..sla import VN_TZ

# The six groups of Decision 766/QĐ-TTg and their points, in the order the index lists them.
GROUP_MAX = {
    "transparency": 18, "progress": 20, "online": 12, "payment": 10, "satisfaction": 18,
    "digitization": 22,
}
# The points of each group our data can award (DESIGN §5): the rest of a group's criteria
# (publishing the catalog, phone and desk surveys, ...) are scored by the portal only.
COMPUTED_MAX = {
    "transparency": 6, "progress": 20, "online": 12, "payment": 10, "satisfaction": 6,
    "digitization": 12,
}
GROUP_LABELS = {
    "transparency": _("Công khai, minh bạch"),
    "progress": _("Tiến độ giải quyết"),
    "online": _("Dịch vụ công trực tuyến"),
    "payment": _("Thanh toán trực tuyến"),
    "satisfaction": _("Mức độ hài lòng"),
    "digitization": _("Số hóa hồ sơ"),
}
COUNT_LABELS = {
    "applicable": _("Hồ sơ phải đồng bộ trong kỳ"),
    "synced_on_time": _("Đồng bộ đúng hạn"),
    "synced_late": _("Đồng bộ chậm"),
    "not_synced": _("Chưa đồng bộ"),
    "status_differs": _("Trạng thái trên Cổng khác"),
    "all": _("Hồ sơ phải giải quyết trong kỳ"),
    "early": _("Giải quyết trước hạn"),
    "on_time": _("Giải quyết đúng hạn"),
    "late": _("Giải quyết quá hạn"),
    "in_progress_within_time": _("Đang giải quyết trong hạn"),
    "in_progress_overdue": _("Đang giải quyết quá hạn"),
    "in_progress_paused": _("Đang tạm dừng"),
    "full_online_procedure_dossiers": _("Hồ sơ của thủ tục toàn trình"),
    "full_online": _("Nộp trực tuyến toàn trình"),
    "fee_dossiers": _("Hồ sơ có phí, lệ phí"),
    "paid_online": _("Thanh toán trực tuyến"),
    "fee_procedures": _("Thủ tục có phí, lệ phí"),
    "procedures_paid_online": _("Thủ tục có thanh toán trực tuyến"),
    "procedures_payable_online": _("Thủ tục cho phép thanh toán trực tuyến"),
    "A": _("Tỷ lệ hồ sơ thanh toán trực tuyến"),
    "B": _("Tỷ lệ thủ tục phát sinh thanh toán trực tuyến"),
    "C": _("Tỷ lệ thủ tục cho phép thanh toán trực tuyến"),
    "handled": _("Hồ sơ đã giải quyết"),
    "unsatisfied": _("Đánh giá không hài lòng"),
    "overdue": _("Giải quyết quá hạn (không tính trùng)"),
    "results": _("Kết quả đã ban hành"),
    "results_signed": _("Kết quả điện tử có ký số"),
    "paper_dossiers": _("Hồ sơ nộp trực tiếp, bưu chính"),
    "digitized": _("Hồ sơ được số hóa thành phần"),
    "received": _("Hồ sơ đã tiếp nhận"),
    "reusing": _("Hồ sơ tái sử dụng dữ liệu số"),
}
ONLINE_CHANNELS = (
    Dossier.Channel.ONLINE, Dossier.Channel.NATIONAL_PORTAL, Dossier.Channel.PROVINCIAL_PORTAL,
)
PAPER_CHANNELS = (Dossier.Channel.COUNTER, Dossier.Channel.POST)
SATISFIED_SCORE = 3  # a rating of 3 to 5 is satisfied (Rating.satisfied)
REUSE_FULL_AT = Decimal("0.8")
SATISFACTION_FULL_AT = Decimal("0.9")
# Ratios: computed from other counts, they list nothing of their own.
RATIOS = ("A", "B", "C")


@dataclass(frozen=True)
class Scope:
    """Whose figures, of what, over which days (Vietnam days, both included)."""

    agency: str | None  # None: every agency (a provincial manager)
    procedure: int | None
    date_from: date
    date_to: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.date_from, time(), tzinfo=VN_TZ)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.date_to + timedelta(days=1), time(), tzinfo=VN_TZ)


def scorecard_scope(
    *, user, agency: str | None = None, procedure: int | None = None,
    date_from: date | None = None, date_to: date | None = None, now: datetime | None = None,
) -> Scope:
    """The scope a user asked for, checked: managers and leaders read their own agency,
    a manager without an agency (provincial) reads any or all. The period defaults to the
    current month up to today."""
    today = timezone.localtime(now or clock.now(), VN_TZ).date()
    date_to = date_to or today
    date_from = date_from or date_to.replace(day=1)
    if date_from > date_to:
        raise InvalidFormData(extra={"errors": [
            {"field": "date_to", "message": str(_("Ngày kết thúc phải từ ngày bắt đầu trở đi."))}
        ]})
    if user.agency_code:
        if agency and agency != user.agency_code:
            raise ScorecardForbidden()
        agency = user.agency_code
    return Scope(agency=agency or None, procedure=procedure, date_from=date_from,
                 date_to=date_to)


# --- the sets ------------------------------------------------------------------------


def _dossiers(scope: Scope) -> QuerySet:
    qs = Dossier.objects.exclude(state=Dossier.State.DRAFT)
    if scope.agency:
        qs = qs.filter(handling_agency__code=scope.agency)
    if scope.procedure:
        qs = qs.filter(procedure_id=scope.procedure)
    return qs


def _procedures(scope: Scope) -> QuerySet:
    qs = Procedure.objects.filter(is_active=True)
    if scope.agency:
        qs = qs.filter(agency__code=scope.agency)
    if scope.procedure:
        qs = qs.filter(pk=scope.procedure)
    return qs


def _in(field: str, scope: Scope) -> Q:
    return Q(**{f"{field}__gte": scope.start, f"{field}__lt": scope.end})


def _received(scope: Scope) -> QuerySet:
    return _dossiers(scope).filter(_in("received_at", scope))


def _completed(scope: Scope) -> QuerySet:
    return _dossiers(scope).filter(_in("completed_at", scope)).exclude(outcome="")


def _open_at_end(scope: Scope) -> QuerySet:
    """Received before the end, neither completed, withdrawn nor handed back by then (a
    dossier returned unanswered ends without a decision, like a withdrawn one)."""
    end = scope.end
    return _dossiers(scope).filter(received_at__lt=end).filter(
        Q(completed_at__isnull=True) | Q(completed_at__gte=end),
        Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gte=end),
        Q(returned_at__isnull=True) | Q(returned_at__gte=end),
    )


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _open_buckets(scope: Scope) -> dict[str, list[int]]:
    """The dossiers open at the end, by where they stood then: within time, overdue, and
    (a part of those two) paused. The due time in force is the last the log recorded before
    the end; a paused dossier is overdue if its due time had passed when the pause began."""
    end = scope.end
    open_qs = _open_at_end(scope)
    current = dict(open_qs.values_list("pk", "due_at"))
    recorded: dict[int, datetime] = {}
    rows = (DossierTransition.objects.filter(dossier__in=open_qs, at__lt=end,
                                             details__has_key="due_at")
            .order_by("dossier_id", "at", "id").values_list("dossier_id", "details"))
    for dossier_id, details in rows:
        due = _parse(details.get("due_at"))
        if due is not None:
            recorded[dossier_id] = due
    paused = dict(
        ClockInterval.objects.filter(dossier__in=open_qs, started_at__lt=end)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=end))
        .values_list("dossier_id", "started_at")
    )
    buckets: dict[str, list[int]] = {"within": [], "overdue": [], "paused": []}
    for pk, due_now in current.items():
        # A dossier the log knows nothing of (data loaded without the workflow) keeps its
        # stored due time.
        due = recorded.get(pk, due_now)
        reference = paused.get(pk, end)
        buckets["overdue" if due is not None and due < reference else "within"].append(pk)
        if pk in paused:
            buckets["paused"].append(pk)
    return buckets


def _ids(scope: Scope, bucket: str) -> QuerySet:
    return Dossier.objects.filter(pk__in=_open_buckets(scope)[bucket])


def _national_messages(scope: Scope) -> QuerySet:
    """The reception and progress messages for the national portal dated in the period, of the
    dossier at hand (an OuterRef): those written at or after its reception."""
    return OutboundMessage.objects.filter(
        system=NATIONAL, dossier=OuterRef("pk"), created_at__gte=scope.start,
        created_at__lt=scope.end, dossier__received_at__lte=F("created_at"),
    )


def sync_delay() -> timedelta:
    """How long after a change the national portal must have it (setting, in minutes)."""
    return timedelta(minutes=getattr(settings, "SCORECARD_SYNC_DELAY_MINUTES", 24 * 60))


def _sync_applicable(scope: Scope) -> QuerySet:
    return _dossiers(scope).filter(Exists(_national_messages(scope)))


def _unsent(scope: Scope) -> Q:
    return Q(Exists(_national_messages(scope).filter(sent_at__isnull=True)))


def _sent_late(scope: Scope) -> Q:
    return Q(Exists(_national_messages(scope).filter(
        sent_at__gt=F("created_at") + sync_delay())))


def _status_differs(scope: Scope) -> QuerySet:
    """Dossiers to sync whose status on the national portal at the end (the last message it
    had by then) was not theirs at the end, or which it did not hold at all."""
    end = scope.end
    applicable = _sync_applicable(scope)
    state_at_end = _state_at_end(end)
    portal_state = Subquery(
        OutboundMessage.objects.filter(system=NATIONAL, dossier=OuterRef("pk"), sent_at__lt=end)
        .order_by("-created_at", "-id").values("payload__state")[:1]
    )
    differs = [
        pk for pk, ours, theirs in applicable.annotate(
            ours=state_at_end, theirs=portal_state).values_list("pk", "ours", "theirs")
        if theirs != ours
    ]
    return Dossier.objects.filter(pk__in=differs)


def _state_at_end(end: datetime) -> Subquery:
    return Subquery(
        DossierTransition.objects.filter(dossier=OuterRef("pk"), at__lt=end)
        .order_by("-at", "-id").values("to_state")[:1]
    )


def _step_at_end(end: datetime) -> Subquery:
    return Subquery(
        DossierTransition.objects.filter(dossier=OuterRef("pk"), at__lt=end)
        .order_by("-at", "-id").values("step")[:1]
    )


def _online_payment(end: datetime) -> QuerySet:
    return Payment.objects.filter(
        settles_fee=True, channel=Payment.Channel.ONLINE, paid_at__isnull=False, paid_at__lt=end,
    )


def _rated_unsatisfied(end: datetime) -> Q:
    return Q(Exists(Rating.objects.filter(
        dossier=OuterRef("pk"), score__lt=SATISFIED_SCORE, created_at__lt=end)))


def _fee_dossiers(scope: Scope) -> QuerySet:
    return _received(scope).filter(procedure__fee_vnd__gt=0)


def _fee_procedures(scope: Scope) -> QuerySet:
    return _procedures(scope).filter(fee_vnd__gt=0)


# What each count lists: (group, count) -> the set. Dossiers, except the procedures of the
# payment group's B and C.
SETS: dict[tuple[str, str], Callable[[Scope], QuerySet]] = {
    # Transparency: dossiers with a reception or progress message for the national portal
    # dated in the period; on time when every one of them reached it within the allowed
    # delay. Those late split into never delivered and delivered late.
    ("transparency", "applicable"): _sync_applicable,
    ("transparency", "synced_on_time"): lambda s: _sync_applicable(s).exclude(
        _unsent(s) | _sent_late(s)),
    ("transparency", "synced_late"): lambda s: _sync_applicable(s).filter(
        _sent_late(s)).exclude(_unsent(s)),
    ("transparency", "not_synced"): lambda s: _sync_applicable(s).filter(_unsent(s)),
    ("transparency", "status_differs"): _status_differs,
    # Progress: carried over into the period plus received in it (withdrawn ones aside).
    ("progress", "all"): lambda s: _completed(s) | _open_at_end(s),
    ("progress", "early"): lambda s: _completed(s).filter(outcome=Dossier.Outcome.EARLY),
    ("progress", "on_time"): lambda s: _completed(s).filter(outcome=Dossier.Outcome.ON_TIME),
    ("progress", "late"): lambda s: _completed(s).filter(outcome=Dossier.Outcome.LATE),
    ("progress", "in_progress_within_time"): lambda s: _ids(s, "within"),
    ("progress", "in_progress_overdue"): lambda s: _ids(s, "overdue"),
    ("progress", "in_progress_paused"): lambda s: _ids(s, "paused"),
    # Online service: dossiers received of procedures offered full-online.
    ("online", "full_online_procedure_dossiers"): lambda s: _received(s).filter(
        procedure__online_level=Procedure.OnlineLevel.FULL),
    ("online", "full_online"): lambda s: _received(s).filter(
        procedure__online_level=Procedure.OnlineLevel.FULL, channel__in=ONLINE_CHANNELS),
    # Online payment.
    ("payment", "fee_dossiers"): _fee_dossiers,
    ("payment", "paid_online"): lambda s: _fee_dossiers(s).filter(Exists(
        _online_payment(s.end).filter(dossier=OuterRef("pk")))),
    ("payment", "fee_procedures"): _fee_procedures,
    ("payment", "procedures_paid_online"): lambda s: _fee_procedures(s).filter(Exists(
        _online_payment(s.end).filter(dossier__procedure=OuterRef("pk"),
                                      paid_at__gte=s.start))),
    # Every fee can be paid online here (`payment_payable` asks only for a fee): a fee
    # procedure of the catalog is payable online while it is offered.
    ("payment", "procedures_payable_online"): _fee_procedures,
    # Satisfaction: the dossiers completed in the period; against them, those rated
    # unsatisfied and those completed late (each dossier counted once).
    ("satisfaction", "handled"): _completed,
    ("satisfaction", "unsatisfied"): lambda s: _completed(s).filter(_rated_unsatisfied(s.end)),
    ("satisfaction", "overdue"): lambda s: _completed(s).filter(
        outcome=Dossier.Outcome.LATE).exclude(_rated_unsatisfied(s.end)),
    # Digitization: each part over the dossiers it applies to.
    ("digitization", "results"): lambda s: _completed(s).filter(Exists(
        Result.objects.filter(dossier=OuterRef("pk")))),
    ("digitization", "results_signed"): lambda s: _completed(s).filter(Exists(
        Result.objects.filter(dossier=OuterRef("pk"), electronic=True, signed=True))),
    ("digitization", "paper_dossiers"): lambda s: _received(s).filter(
        channel__in=PAPER_CHANNELS),
    ("digitization", "digitized"): lambda s: _received(s).filter(
        channel__in=PAPER_CHANNELS).filter(Exists(
            Document.objects.filter(dossier=OuterRef("pk"), digitized=True))),
    ("digitization", "received"): _received,
    ("digitization", "reusing"): lambda s: _received(s).filter(Exists(
        Document.objects.filter(dossier=OuterRef("pk")).exclude(
            reuse_source=Document.ReuseSource.NONE))),
}
PROCEDURE_SETS = {("payment", "fee_procedures"), ("payment", "procedures_paid_online"),
                  ("payment", "procedures_payable_online")}


def scorecard_set(*, scope: Scope, group: str, count: str) -> QuerySet:
    """The dossiers (or procedures) one count of the scorecard counts, ordered for paging."""
    build = SETS.get((group, count))
    if build is None:
        raise InvalidFormData(extra={"errors": [
            {"field": "count", "message": str(_("Không có số liệu này trong bảng điểm."))}]})
    qs = build(scope)
    if (group, count) in PROCEDURE_SETS:
        return qs.order_by("national_code", "pk")
    return (
        qs.annotate(state_at_end=_state_at_end(scope.end), step_at_end=_step_at_end(scope.end))
        .select_related("procedure", "handling_agency").order_by("-received_at", "-pk")
    )


# --- the scores ------------------------------------------------------------------------


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    return Decimal(numerator) / Decimal(denominator) if denominator else None


def _part(points: int, ratio: Decimal | None) -> Decimal:
    """A part's points for a ratio; a part that applies to no dossier scores in full."""
    return Decimal(points) * (Decimal(1) if ratio is None else ratio)


def _round(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _score(group: str, c: dict) -> Decimal:
    if group == "transparency":
        return _part(6, _ratio(c["synced_on_time"], c["applicable"]))
    if group == "progress":
        done = c["early"] + c["on_time"] + c["in_progress_within_time"]
        return _part(20, _ratio(done, c["all"]))
    if group == "online":
        return _part(12, _ratio(c["full_online"], c["full_online_procedure_dossiers"]))
    if group == "payment":
        a, b, cc = (Decimal(str(c[k])) for k in RATIOS)
        return min(Decimal(10), 6 * a + min(Decimal(2), Decimal("2.5") * b) + Decimal("2.5") * cc)
    if group == "satisfaction":
        r = _ratio(c["handled"] - c["unsatisfied"] - c["overdue"], c["handled"])
        return min(Decimal(6), Decimal(6) * (Decimal(1) if r is None else r)
                   / SATISFACTION_FULL_AT)
    # digitization
    reuse = _ratio(c["reusing"], c["received"])
    return (
        _part(6, _ratio(c["results_signed"], c["results"]))
        + _part(4, _ratio(c["digitized"], c["paper_dossiers"]))
        + _part(2, None if reuse is None else min(Decimal(1), reuse / REUSE_FULL_AT))
    )


def _payment_ratios(c: dict) -> None:
    for key, (num, den) in {"A": ("paid_online", "fee_dossiers"),
                            "B": ("procedures_paid_online", "fee_procedures"),
                            "C": ("procedures_payable_online", "fee_procedures")}.items():
        ratio = _ratio(c[num], c[den])
        # No fee to pay: the ratio is full, as for any part that applies to nothing.
        c[key] = 1.0 if ratio is None else float(ratio.quantize(Decimal("0.0001")))


def scorecard(*, scope: Scope, link: Callable[[str, str], str] | None = None) -> dict:
    """The six groups, each with its score, maximum, the counts it is computed from and, when
    `link` is given (group, count -> address), where to list what each count counts."""
    counts: dict[str, dict] = {g: {} for g in GROUP_MAX}
    for (group, name), build in SETS.items():
        counts[group][name] = build(scope).count()
    _payment_ratios(counts["payment"])
    groups = []
    total = Decimal(0)
    for group, maximum in GROUP_MAX.items():
        score = _score(group, counts[group])
        score = Decimal(str(_round(score)))
        total += score
        groups.append({
            "key": group, "label": str(GROUP_LABELS[group]), "score": float(score),
            "max": maximum, "computed_max": COMPUTED_MAX[group], "counts": counts[group],
            "links": {name: link(group, name) for name in counts[group]
                      if name not in RATIOS} if link else {},
        })
    return {
        "agency": scope.agency, "procedure": scope.procedure,
        "date_from": scope.date_from, "date_to": scope.date_to,
        "total": float(total), "max": 100, "computed_max": sum(COMPUTED_MAX.values()),
        "groups": groups,
    }
