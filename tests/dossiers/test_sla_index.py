"""The calendar's year index gives the same answers as walking the calendar day by day."""

import random
from datetime import date, datetime, time, timedelta

import pytest

from dossiers import sla
from dossiers.sla import VN_TZ, Session, WorkingCalendar


class WalkingCalendar(WorkingCalendar):
    """The same calendar without its index: every answer comes from the day-by-day walk."""

    def _year(self, year):
        return None


def _calendars(seed: int):
    rnd = random.Random(seed)
    off = [date(2026, 1, 1) + timedelta(days=rnd.randint(0, 1200)) for _ in range(25)]
    extra = [date(2026, 1, 3) + timedelta(days=7 * rnd.randint(0, 170)) for _ in range(6)]
    summer = sla.Season(
        start=(5, 1), end=(9, 30), name="hè",
        sessions=(Session(time(7, 0), time(11, 0)), Session(time(13, 30), time(17, 30))),
    )
    kwargs = {"extra_days_off": off, "extra_working_days": extra, "seasons": [summer]}
    return WorkingCalendar(**kwargs), WalkingCalendar(**kwargs)


def _moment(rnd: random.Random) -> datetime:
    return datetime(2026, 1, 1, tzinfo=VN_TZ) + timedelta(minutes=rnd.randint(0, 3 * 525_600))


@pytest.mark.parametrize("seed", range(4))
def test_due_times_and_spans_agree_with_the_walk(seed):
    fast, walk = _calendars(seed)
    rnd = random.Random(seed)
    for _ in range(300):
        start, end = _moment(rnd), _moment(rnd)
        days = rnd.choice(["0.5", "1", "2.5", "7", "15", "30", "365"])
        assert sla.due_at(start, days, fast) == sla.due_at(start, days, walk)
        assert fast.add_working_days(start, f"-{days}") == walk.add_working_days(start, f"-{days}")
        assert fast.working_days_between(start, end) == walk.working_days_between(start, end)
        assert fast.working_minutes_between(start, end) == walk.working_minutes_between(start, end)
        assert fast.end_of_working_day(start.date()) == walk.end_of_working_day(start.date())


def test_the_index_crosses_years_and_a_long_closure_like_the_walk():
    closure = [date(2026, 9, 1) + timedelta(days=i) for i in range(200)]  # into 2027
    fast = WorkingCalendar(extra_days_off=closure)
    walk = WalkingCalendar(extra_days_off=closure)
    start = datetime(2026, 8, 28, 9, tzinfo=VN_TZ)
    for days in (1, 3, 250, 800):
        assert sla.due_at(start, days, fast) == sla.due_at(start, days, walk)
    end = datetime(2029, 3, 1, 10, tzinfo=VN_TZ)
    assert fast.working_days_between(start, end) == walk.working_days_between(start, end)
    assert fast.working_minutes_between(start, end) == walk.working_minutes_between(start, end)


def test_a_gap_longer_than_a_year_across_two_years_is_still_refused():
    # 200 days off at the end of 2026 and 200 at the start of 2027: no single year is empty.
    closure = [date(2026, 6, 15) + timedelta(days=i) for i in range(400)]
    fast = WorkingCalendar(extra_days_off=closure)
    with pytest.raises(sla.NoWorkingDay):
        sla.due_at(datetime(2026, 6, 12, 16, tzinfo=VN_TZ), 1, fast)
    with pytest.raises(sla.NoWorkingDay):
        fast.add_working_days(datetime(2027, 7, 21, 9, tzinfo=VN_TZ), -3)


def test_the_last_years_a_date_can_hold_fall_back_to_the_walk():
    fast = WorkingCalendar()
    start = datetime(9998, 12, 20, 9, tzinfo=VN_TZ)
    assert sla.due_at(start, 3, fast) == sla.due_at(start, 3, WalkingCalendar())
