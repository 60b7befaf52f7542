"""The due time's fast path (integer day layouts) against a slow reference written with
datetimes, session by session, as the clock first computed it."""

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from dossiers import sla
from dossiers.sla import _MICROSECOND, _TICKS_PER_DAY, VN_TZ, Session, WorkingCalendar


def _reference_position(calendar: WorkingCalendar, local: datetime) -> tuple[date, int]:
    day = local.date()
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    if day != local.date():
        return day, 0
    spans = calendar._day(day).spans
    count = len(spans)
    for index, (begin, end) in enumerate(spans):
        if local < end:
            low = index * _TICKS_PER_DAY // count
            if local <= begin:
                return day, low
            share = (index + 1) * _TICKS_PER_DAY // count - low
            return day, low + (local - begin) // _MICROSECOND * share // (
                (end - begin) // _MICROSECOND)
    return day, _TICKS_PER_DAY


def _reference_at(calendar: WorkingCalendar, day: date, ticks: int) -> datetime:
    spans = calendar._day(day).spans
    count = len(spans)
    for index, (begin, end) in enumerate(spans):
        high = (index + 1) * _TICKS_PER_DAY // count
        if ticks <= high or index == count - 1:
            low = index * _TICKS_PER_DAY // count
            length = (end - begin) // _MICROSECOND
            return begin + _MICROSECOND * -(-(ticks - low) * length // (high - low))
    raise AssertionError("unreachable")


def reference_due_at(start: datetime, days, calendar: WorkingCalendar) -> datetime:
    """Working days added day by day, the instant found in the sessions as datetimes, then
    rounded up to the quarter hour inside its session."""
    ticks = sla._ticks(sla._legal_days(days))
    day, done = _reference_position(calendar, start.astimezone(VN_TZ))
    target = done + ticks
    whole = (target - 1) // _TICKS_PER_DAY
    while whole:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            whole -= 1
    moment = _reference_at(calendar, day, target - ((done + ticks - 1) // _TICKS_PER_DAY)
                           * _TICKS_PER_DAY)
    if not (moment.second or moment.microsecond or moment.minute % 15):
        return moment
    rounded = moment.replace(minute=moment.minute - moment.minute % 15, second=0,
                             microsecond=0) + sla.QUARTER
    for begin, end in calendar._day(moment.date()).spans:
        if begin <= moment <= end:
            return min(rounded, end)
    return rounded


def _calendar(seed: int) -> WorkingCalendar:
    rnd = random.Random(seed)
    summer = sla.Season(
        start=(5, 1), end=(9, 30), name="hè",
        sessions=(Session(time(7, 0), time(11, 10)), Session(time(13, 20), time(16, 50))),
    )
    winter = sla.Season(
        start=(12, 1), end=(2, 10), name="đông",
        sessions=(Session(time(8, 0), time(10, 0)), Session(time(10, 15), time(12, 0)),
                  Session(time(13, 30), time(17, 7))),
    )
    return WorkingCalendar(
        seasons=[summer, winter],
        extra_days_off=[date(2026, 1, 1) + timedelta(days=rnd.randint(0, 1500))
                        for _ in range(40)],
        extra_working_days=[date(2026, 1, 3) + timedelta(days=7 * rnd.randint(0, 200))
                            for _ in range(8)],
    )


@pytest.mark.parametrize("seed", range(3))
def test_due_at_matches_the_slow_reference_for_random_starts_and_durations(seed):
    rnd = random.Random(seed)
    calendar = _calendar(seed)
    plain = WorkingCalendar()
    for _ in range(1500):
        start = datetime(2026, 1, 1, tzinfo=VN_TZ) + timedelta(
            seconds=rnd.randint(0, 4 * 365 * 86_400), microseconds=rnd.choice([0, rnd.randint(0, 999_999)]))
        if rnd.random() < 0.2:
            start = start.astimezone(UTC)  # any aware instant is taken
        days = rnd.choice([
            Decimal(rnd.choice(["0.5", "1", "3", "5", "7", "10", "15", "20", "30", "45"])),
            Decimal(rnd.randint(1, 4000)) / 100, rnd.randint(1, 60), str(rnd.randint(1, 99) / 4),
        ])
        for cal in (calendar, plain):
            fast = sla.due_at(start, days, cal)
            slow = reference_due_at(start, days, cal)
            assert fast == slow, (start, days)
            assert fast.tzinfo is VN_TZ and fast.isoformat() == slow.isoformat()


@pytest.mark.parametrize("seed", range(2))
def test_days_late_at_one_now_match_working_days_late(seed):
    rnd = random.Random(seed)
    calendar = _calendar(seed)
    now = datetime(2028, 6, 14, 10, 20, 30, tzinfo=VN_TZ)
    late = sla.working_days_late_at(now, calendar)
    for _ in range(1000):
        due = now - timedelta(seconds=rnd.randint(-30 * 86_400, 3 * 365 * 86_400))
        assert late(due) == sla.working_days_late(due, now, calendar), due
    assert late(now + timedelta(days=1)) == 0.0
