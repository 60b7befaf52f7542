"""The monthly rollup of the daily summary: always the sum of its days, whatever happens to the
dossiers, and the indicators read from it exactly as from the days alone."""

import importlib
import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from types import SimpleNamespace

from django.apps import apps as global_apps
from django.core.management import call_command
from django.db import connection

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dossiers import services
from dossiers.models import DailySummary, Dossier, HolidayOverride, MonthlySummary
from dossiers.selectors.indicators import indicator_rows, indicators, period_split
from dossiers.services.indicators import summary_add, summary_monthly_rebuild
from dossiers.services.retime import retime_apply
from dossiers.sla import VN_TZ
from portal import clock
from portal.roles import Role

from .factories import AgencyFactory, DossierFactory, ProcedureFactory, UserFactory

COUNTERS = DailySummary.COUNTERS
selectors = importlib.import_module("dossiers.selectors.indicators")


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def monthly_rows() -> dict:
    """The rollup as stored: (agency, procedure, channel, month) -> its non-zero counters."""
    return {
        (r["agency_id"], r["procedure_id"], r["channel"], r["month"]):
            {c: r[c] for c in COUNTERS if r[c]}
        for r in MonthlySummary.objects.values()
    }


def monthly_from_daily() -> dict:
    """What the rollup must be: the daily rows added up per month, in Python."""
    sums: dict = defaultdict(lambda: defaultdict(int))
    for r in DailySummary.objects.values():
        key = (r["agency_id"], r["procedure_id"], r["channel"], r["day"].replace(day=1))
        for c in COUNTERS:
            sums[key][c] += r[c]
    return {key: {c: v for c, v in counts.items() if v} for key, counts in sums.items()}


# --- the write side ------------------------------------------------------------------


def test_summary_add_writes_the_day_and_its_month(agency, db):
    procedure = ProcedureFactory(agency=agency)
    dossier = Dossier(handling_agency=agency, procedure=procedure, channel="post")

    summary_add(dossier=dossier, at=vn(2025, 3, 31, 23, 30), received=1, fee_bearing=1)
    summary_add(dossier=dossier, at=vn(2025, 3, 3, 8, 0), received=1)
    # 00:30 on 01/04 in Hanoi is still 31/03 in UTC: April's row, like the day's.
    summary_add(dossier=dossier, at=vn(2025, 4, 1, 0, 30), completed=1, late=1)

    assert monthly_rows() == {
        (agency.pk, procedure.pk, "post", date(2025, 3, 1)): {"received": 2, "fee_bearing": 1},
        (agency.pk, procedure.pk, "post", date(2025, 4, 1)): {"completed": 1, "late": 1},
    }
    assert monthly_rows() == monthly_from_daily()


def test_summary_add_refusing_a_counter_writes_neither_row(agency, db):
    dossier = Dossier(handling_agency=agency, procedure=ProcedureFactory(agency=agency),
                      channel="online")

    with pytest.raises(ValueError, match="unknown counters"):
        summary_add(dossier=dossier, at=vn(2025, 3, 3, 8, 0), received=1, shipped=1)

    assert not DailySummary.objects.exists() and not MonthlySummary.objects.exists()


def test_a_failed_change_leaves_neither_the_day_nor_the_month(
    agency, applicant, reception, monkeypatch
):
    """The rollup is written in the service's transaction: a move that fails after it adds
    nothing to either table."""
    from dossiers.services import workflow

    dossier = DossierFactory(submitted=True, procedure=ProcedureFactory(agency=agency),
                             applicant=applicant)

    def failing(*, dossier, at, **counts):
        summary_add(dossier=dossier, at=at, **counts)
        assert MonthlySummary.objects.exists()
        raise RuntimeError("after the summary")

    monkeypatch.setattr(workflow, "summary_add", failing)
    with clock.frozen_at(vn(2025, 3, 3, 8, 0)), pytest.raises(RuntimeError):
        services.dossier_accept(dossier_id=dossier.pk, actor=reception)

    assert not DailySummary.objects.exists() and not MonthlySummary.objects.exists()


class History:
    """Random histories walked through the services: acceptances, results, refusals,
    withdrawals, rejections at reception, ratings and fees paid online, at instants spread
    over months and close to Vietnam's midnight."""

    def __init__(self, rnd: random.Random, agencies, applicant) -> None:
        self.rnd = rnd
        self.applicant = applicant
        self.staff = {}
        self.procedures = []
        for agency in agencies:
            self.staff[agency.pk] = {
                role: UserFactory(roles=[role], kind="staff", agency_code=agency.code)
                for role in (Role.RECEPTION, Role.SPECIALIST, Role.LEADER)
            }
            self.procedures += [
                ProcedureFactory(agency=agency, processing_days=Decimal("5")),
                ProcedureFactory(agency=agency, processing_days=Decimal("3"),
                                 fee_before_result=True),
            ]
        self.open: list[Dossier] = []
        self.issued: list[Dossier] = []
        self.rated: set[int] = set()
        self.paid: set[int] = set()
        self.at = vn(2025, 1, 27, 8, 0)

    def tick(self) -> datetime:
        # Forward by hours to weeks; now and then just before or after midnight.
        at = self.at + timedelta(hours=self.rnd.choice((1, 5, 20, 70, 200, 400)))
        if self.rnd.random() < 0.3:
            at = at.replace(hour=self.rnd.choice((0, 6, 23)), minute=30)
            if at <= self.at:
                at += timedelta(days=1)
        self.at = at
        return at

    def who(self, dossier: Dossier, role: str):
        return self.staff[dossier.handling_agency_id][role]

    def step(self) -> str:
        kind = self.rnd.choice(("accept", "accept", "reject", "issue", "refuse", "withdraw",
                                "rate", "pay"))
        at = self.tick()
        with clock.frozen_at(at):
            if kind in ("accept", "reject") or not self.open:
                dossier = DossierFactory(
                    submitted=True, procedure=self.rnd.choice(self.procedures),
                    applicant=self.applicant, channel=self.rnd.choice(Dossier.Channel.values),
                )
                reception = self.who(dossier, Role.RECEPTION)
                if kind == "reject":
                    services.dossier_refuse_at_reception(dossier_id=dossier.pk, actor=reception,
                                                         reason="Không thuộc thẩm quyền.")
                    return kind
                self.open.append(services.dossier_accept(dossier_id=dossier.pk, actor=reception))
                return "accept"
            if kind in ("issue", "refuse"):
                dossier = self.open.pop(self.rnd.randrange(len(self.open)))
                services.dossier_propose(dossier_id=dossier.pk,
                                         actor=self.who(dossier, Role.SPECIALIST))
                leader = self.who(dossier, Role.LEADER)
                if kind == "refuse":
                    services.dossier_refuse(dossier_id=dossier.pk, actor=leader,
                                            reason="Không đủ điều kiện.")
                else:
                    services.dossier_approve(dossier_id=dossier.pk, actor=leader)
                    self.issued.append(services.dossier_issue_result(
                        dossier_id=dossier.pk, actor=leader, electronic=self.rnd.random() < 0.5))
                return kind
            if kind == "withdraw":
                dossier = self.open.pop(self.rnd.randrange(len(self.open)))
                services.dossier_withdraw(dossier_id=dossier.pk, actor=self.applicant,
                                          reason="Đổi kế hoạch.")
                return kind
            unrated = [d for d in self.issued if d.pk not in self.rated]
            if kind == "rate" and unrated:
                dossier = self.rnd.choice(unrated)
                self.rated.add(dossier.pk)
                services.rating_create(dossier_id=dossier.pk, actor=self.applicant,
                                       score=self.rnd.randint(1, 5))
                return kind
            payable = [d for d in self.issued if d.procedure.fee_vnd and d.pk not in self.paid]
            if kind == "pay" and payable:
                dossier = self.rnd.choice(payable)
                self.paid.add(dossier.pk)
                payment = services.payment_start(dossier_id=dossier.pk, actor=self.applicant)
                services.payment_confirm(
                    provider=payment.provider, provider_reference=payment.provider_reference,
                    amount=payment.amount, confirmed_by="provider:fake",
                )
                return kind
        return "nothing"


@pytest.mark.parametrize("seed", range(4))
def test_the_rollup_is_the_sum_of_its_days_through_any_history(seed, agency, applicant):
    rnd = random.Random(seed)
    history = History(rnd, [agency, AgencyFactory()], applicant)
    done = defaultdict(int)
    for number in range(45):
        done[history.step()] += 1
        if number % 5 == 4:
            assert monthly_rows() == monthly_from_daily(), (seed, number)
        if number == 20:
            # A day off corrected after the fact re-times open dossiers; the counts stay.
            day = history.at.date() - timedelta(days=3)
            HolidayOverride.objects.update_or_create(
                date=day, defaults={"kind": HolidayOverride.Kind.DAY_OFF,
                                    "reason": "Nghỉ bù công bố muộn"})
            with clock.frozen_at(history.tick()):
                retime_apply(days=[day], actor=history.staff[agency.pk][Role.LEADER],
                             reason="Điều chỉnh lịch")
            assert monthly_rows() == monthly_from_daily()
        if number == 30:
            # Recomputed from the days, whole or for a few months: the same rows again.
            before = monthly_rows()
            summary_monthly_rebuild(months=[history.at.date(), date(2025, 2, 14)])
            assert monthly_rows() == before
            summary_monthly_rebuild()
            assert monthly_rows() == before

    assert monthly_rows() == monthly_from_daily()
    assert len({key[3] for key in monthly_rows()}) >= 3  # the history spans months
    assert done["accept"] and (done["issue"] or done["refuse"])


def test_a_rebuild_replaces_a_rollup_that_drifted(agency, db):
    procedure = ProcedureFactory(agency=agency)
    dossier = Dossier(handling_agency=agency, procedure=procedure, channel="online")
    for day in (3, 17):
        summary_add(dossier=dossier, at=vn(2025, 3, day, 9, 0), received=2, completed=1)
    summary_add(dossier=dossier, at=vn(2025, 4, 2, 9, 0), received=1)
    right = monthly_rows()
    MonthlySummary.objects.filter(month=date(2025, 3, 1)).update(received=99)
    MonthlySummary.objects.create(agency=agency, procedure=procedure, channel="post",
                                  month=date(2025, 5, 1), rejected=4)

    assert summary_monthly_rebuild(months=[date(2025, 3, 9)]) == 1
    assert monthly_rows() != right  # May is not rebuilt
    summary_monthly_rebuild()
    assert monthly_rows() == right == monthly_from_daily()


def test_the_rebuild_command_reports_the_rows_written(agency, db):
    dossier = Dossier(handling_agency=agency, procedure=ProcedureFactory(agency=agency),
                      channel="online")
    summary_add(dossier=dossier, at=vn(2025, 3, 3, 9, 0), received=1)
    summary_add(dossier=dossier, at=vn(2025, 5, 3, 9, 0), received=1)
    MonthlySummary.objects.all().delete()
    out = StringIO()

    call_command("rebuild_monthly_summary", "--month", "2025-05", stdout=out)
    assert list(MonthlySummary.objects.values_list("month", flat=True)) == [date(2025, 5, 1)]
    call_command("rebuild_monthly_summary", stdout=out)

    assert monthly_rows() == monthly_from_daily()
    assert out.getvalue().splitlines() == [
        "Đã tính lại 1 dòng số liệu tháng.", "Đã tính lại 2 dòng số liệu tháng.",
    ]


def test_the_rebuild_command_refuses_a_malformed_month(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("rebuild_monthly_summary", "--month", "05/2025")


def test_the_migration_fills_the_rollup_from_the_daily_rows(agency, db):
    dossier = Dossier(handling_agency=agency, procedure=ProcedureFactory(agency=agency),
                      channel="counter")
    for at in (vn(2024, 12, 31, 23, 0), vn(2025, 1, 1, 1, 0), vn(2025, 1, 20, 9, 0)):
        summary_add(dossier=dossier, at=at, received=1, digitized=1)
    expected = monthly_rows()
    MonthlySummary.objects.all().delete()

    migration = importlib.import_module("dossiers.migrations.0024_monthly_summary")
    migration.fill(global_apps, SimpleNamespace(connection=connection))

    assert monthly_rows() == expected == monthly_from_daily()


# --- the read side -------------------------------------------------------------------


@pytest.mark.parametrize(("date_from", "date_to", "months", "days"), [
    # A year from the middle of a month: its days at both ends, the months between.
    (date(2025, 3, 15), date(2026, 3, 14), (date(2025, 4, 1), date(2026, 3, 1)),
     [(date(2025, 3, 15), date(2025, 3, 31)), (date(2026, 3, 1), date(2026, 3, 14))]),
    # Whole months only.
    (date(2025, 3, 1), date(2025, 5, 31), (date(2025, 3, 1), date(2025, 6, 1)), []),
    (date(2025, 12, 1), date(2025, 12, 31), (date(2025, 12, 1), date(2026, 1, 1)), []),
    # Inside one month, or across two without a whole one: days only.
    (date(2025, 3, 2), date(2025, 3, 30), None, [(date(2025, 3, 2), date(2025, 3, 30))]),
    (date(2025, 3, 20), date(2025, 4, 10), None, [(date(2025, 3, 20), date(2025, 4, 10))]),
    (date(2025, 2, 28), date(2025, 2, 28), None, [(date(2025, 2, 28), date(2025, 2, 28))]),
    # The end of February, of a leap year too, closes the month.
    (date(2024, 2, 1), date(2024, 2, 29), (date(2024, 2, 1), date(2024, 3, 1)), []),
    (date(2024, 2, 1), date(2024, 2, 28), None, [(date(2024, 2, 1), date(2024, 2, 28))]),
    # Open ends.
    (None, None, (None, None), []),
    (date(2025, 3, 15), None, (date(2025, 4, 1), None),
     [(date(2025, 3, 15), date(2025, 3, 31))]),
    (None, date(2025, 3, 14), (None, date(2025, 3, 1)),
     [(date(2025, 3, 1), date(2025, 3, 14))]),
    (None, date(2025, 3, 31), (None, date(2025, 4, 1)), []),
])
def test_a_period_splits_into_whole_months_and_the_days_at_its_ends(
    date_from, date_to, months, days
):
    assert period_split(date_from, date_to) == (months, days)


@given(st.dates(date(2023, 1, 1), date(2027, 12, 31)), st.integers(0, 800))
def test_every_day_of_a_period_is_read_exactly_once(date_from, length):
    date_to = date_from + timedelta(days=length)
    months, days = period_split(date_from, date_to)
    covered = []
    if months is not None:
        month = months[0]
        while month < months[1]:
            covered += [month + timedelta(days=i) for i in range(31)
                        if (month + timedelta(days=i)).month == month.month]
            month = (month + timedelta(days=32)).replace(day=1)
    for first, last in days:
        covered += [first + timedelta(days=i) for i in range((last - first).days + 1)]
    assert sorted(covered) == [date_from + timedelta(days=i) for i in range(length + 1)]
    assert len(days) <= 2


@pytest.fixture
def scattered(db):
    """Summary rows of three agencies on random days of two years, written as the services
    write them; a manager of one agency and a provincial one."""
    rnd = random.Random(766)
    # Names apart: the export sorts by agency name, and rows tied on it come in any order.
    agencies = [AgencyFactory(code=code, name=f"Cơ quan {code}")
                for code in ("SCT", "PKT01", "tthcc")]
    procedures = [ProcedureFactory(agency=agencies[i % 3]) for i in range(6)]
    start = vn(2024, 11, 1, 0, 30)
    for _ in range(400):
        procedure = rnd.choice(procedures)
        dossier = Dossier(handling_agency=rnd.choice(agencies), procedure=procedure,
                          channel=rnd.choice(Dossier.Channel.values))
        counts = {c: rnd.randint(0, 3) for c in rnd.sample(COUNTERS, 4)}
        summary_add(dossier=dossier, at=start + timedelta(hours=rnd.randint(0, 24 * 760)),
                    **counts)
    return {
        "provincial": UserFactory(roles=[Role.MANAGER], kind="staff", agency_code=""),
        "local": UserFactory(roles=[Role.MANAGER], kind="staff", agency_code="PKT01"),
        "procedure": procedures[1].pk,
    }


def _daily_only(date_from, date_to):
    return None, [(date_from, date_to)]


def _both_ways(monkeypatch, read):
    """What `read` answers from the rollup, and from the daily rows alone."""
    with clock.frozen_at(vn(2026, 12, 1, 9, 0)):
        mixed = read()
        with monkeypatch.context() as patched:
            patched.setattr(selectors, "period_split", _daily_only)
            daily = read()
    return mixed, daily


PERIODS = st.one_of(
    st.tuples(st.dates(date(2024, 10, 1), date(2027, 1, 31)), st.integers(0, 500)).map(
        lambda p: (p[0], p[0] + timedelta(days=p[1]))),
    st.tuples(st.none(), st.dates(date(2024, 10, 1), date(2027, 1, 31))),
    st.tuples(st.dates(date(2024, 10, 1), date(2027, 1, 31)), st.none()),
)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(period=PERIODS, group_by=st.sampled_from([None, "agency", "procedure", "channel",
                                                   "month"]),
       who=st.sampled_from(["provincial", "local"]), narrow=st.sampled_from(
           [{}, {"procedure": "procedure"}, {"channels": ["online", "post"]}]))
def test_indicators_from_the_rollup_equal_those_from_the_days_alone(
    scattered, monkeypatch, period, group_by, who, narrow
):
    filters = {k: scattered[v] if k == "procedure" else v for k, v in narrow.items()}
    date_from, date_to = period

    mixed, daily = _both_ways(monkeypatch, lambda: indicators(
        user=scattered[who], date_from=date_from, date_to=date_to, group_by=group_by,
        **filters))

    assert mixed == daily


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(period=PERIODS)
@example(period=(None, date(2024, 11, 5)))
def test_export_rows_from_the_rollup_equal_those_from_the_days_alone(
    scattered, monkeypatch, period
):
    date_from, date_to = period

    mixed, daily = _both_ways(monkeypatch, lambda: indicator_rows(
        user=scattered["provincial"], date_from=date_from, date_to=date_to))

    assert mixed == daily


def test_a_year_with_partial_months_counts_what_the_daily_rows_hold(scattered):
    """Against the daily rows summed directly: the year from 15/03/2025 to 14/03/2026 reads
    two partial months and eleven whole ones."""
    date_from, date_to = date(2025, 3, 15), date(2026, 3, 14)
    in_period = DailySummary.objects.filter(day__gte=date_from, day__lte=date_to)
    by_agency: dict = defaultdict(lambda: defaultdict(int))
    for row in in_period.values("agency__code", *COUNTERS):
        for c in COUNTERS:
            by_agency[row["agency__code"]][c] += row[c]

    with clock.frozen_at(vn(2026, 12, 1, 9, 0)):
        body = indicators(user=scattered["provincial"], date_from=date_from, date_to=date_to,
                          group_by="agency")

    assert {g["key"]: {c: g[c] for c in COUNTERS} for g in body["groups"]} == {
        code: dict(counts) for code, counts in by_agency.items()}
    assert [g["key"] for g in body["groups"]] == sorted(by_agency)
    assert body["received"] == sum(in_period.values_list("received", flat=True)) > 0
