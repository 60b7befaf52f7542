"""The working-day clock, table-driven; pure functions, no database."""

import random
from datetime import date, datetime, time, timedelta

import pytest

from dossiers import sla
from dossiers.sla import VN_TZ, WorkingCalendar


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


DEFAULT = WorkingCalendar()
CENTRE = WorkingCalendar(sessions=[("07:00", "11:30"), ("13:30", "17:00")])


@pytest.mark.parametrize(
    ("label", "start", "days", "expected"),
    [
        ("plain five days", vn(2025, 3, 3, 8, 0), 5, vn(2025, 3, 10, 8, 0)),
        ("a day from the first minute ends the same evening", vn(2025, 3, 3, 7, 30), 1,
         vn(2025, 3, 3, 17, 0)),
        ("Tết 2025: Friday before, runs on after the break", vn(2025, 1, 24, 9, 0), 1,
         vn(2025, 2, 3, 9, 0)),
        ("Tết 2025: started on Lunar New Year itself", vn(2025, 1, 29, 10, 0), 0.5,
         vn(2025, 2, 3, 11, 30)),
        ("Tết 2026: half day from Friday afternoon", vn(2026, 2, 13, 15, 0), 0.5,
         vn(2026, 2, 23, 9, 30)),
        ("Tết 2026: ten days across the break", vn(2026, 2, 9, 7, 30), 10,
         vn(2026, 2, 27, 17, 0)),
        ("make-up Saturday 26/04/2025 is worked", vn(2025, 4, 25, 13, 0), 1,
         vn(2025, 4, 26, 11, 30)),
        ("30/4, 1/5 and the swapped 2/5/2025 are off", vn(2025, 4, 29, 13, 0), 1,
         vn(2025, 5, 5, 11, 30)),
        ("start during lunch moves to the afternoon", vn(2025, 3, 3, 12, 0), 0.5,
         vn(2025, 3, 3, 17, 0)),
        ("start after hours moves to the next morning", vn(2025, 3, 3, 18, 0), 1,
         vn(2025, 3, 4, 17, 0)),
        ("start before hours moves to the session", vn(2025, 3, 3, 6, 0), 0.5,
         vn(2025, 3, 3, 11, 30)),
        ("start on National Day", vn(2025, 9, 1, 8, 0), 1, vn(2025, 9, 3, 17, 0)),
        ("start on an ordinary Saturday", vn(2025, 3, 8, 10, 0), 0.5, vn(2025, 3, 10, 11, 30)),
        ("half-day procedure in the morning", vn(2025, 3, 4, 8, 0), 0.5,
         vn(2025, 3, 4, 13, 30)),
        ("fractions round up to the quarter hour", vn(2025, 3, 3, 7, 30), "1.3",
         vn(2025, 3, 4, 10, 0)),
    ],
)
def test_due_at_on_the_default_calendar(label, start, days, expected):
    assert sla.due_at(start, days, DEFAULT) == expected, label


def test_due_at_accepts_a_utc_start_and_returns_the_same_instant():
    from datetime import UTC

    start = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # 08:00 in Hanoi
    assert sla.due_at(start, 1, DEFAULT) == vn(2025, 3, 4, 8, 0)


def test_agency_sessions_of_another_province_are_honoured():
    assert sla.due_at(vn(2025, 3, 3, 11, 0), 0.5, CENTRE) == vn(2025, 3, 3, 17, 0)
    assert sla.due_at(vn(2025, 3, 3, 6, 55), 1, CENTRE) == vn(2025, 3, 3, 17, 0)


def test_administrator_day_off_is_skipped():
    cal = WorkingCalendar(extra_days_off=[date(2025, 3, 4)])
    assert sla.due_at(vn(2025, 3, 3, 13, 0), 1, cal) == vn(2025, 3, 5, 11, 30)


def test_administrator_extra_working_day_is_counted_and_wins_over_a_holiday():
    cal = WorkingCalendar(extra_working_days=[date(2025, 3, 9), date(2025, 9, 2)])
    assert sla.due_at(vn(2025, 3, 7, 13, 0), 1, cal) == vn(2025, 3, 9, 11, 30)
    assert cal.is_working_day(date(2025, 9, 2))
    assert not cal.is_working_day(date(2025, 9, 1))


def test_administrator_day_off_wins_over_a_make_up_saturday():
    cal = WorkingCalendar(extra_days_off=[date(2025, 4, 26)])
    assert not cal.is_working_day(date(2025, 4, 26))
    assert DEFAULT.is_working_day(date(2025, 4, 26))


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Ends on Saturday 25/01/2025, inside Tết: moves to the end of Monday 03/02.
        (vn(2025, 1, 20, 10, 0), 5, vn(2025, 2, 3, 17, 0)),
        (vn(2025, 3, 3, 10, 0), 3, vn(2025, 3, 6, 17, 0)),
        (vn(2025, 3, 3, 10, 0), "2.5", vn(2025, 3, 6, 17, 0)),
    ],
)
def test_calendar_day_deadlines(start, days, expected):
    assert sla.due_at(start, days, DEFAULT, kind=sla.CALENDAR_DAYS) == expected


@pytest.mark.parametrize(
    ("a", "b", "minutes"),
    [
        (vn(2025, 3, 3, 7, 30), vn(2025, 3, 3, 17, 0), 480),
        (vn(2025, 3, 3, 11, 0), vn(2025, 3, 3, 13, 30), 60),
        (vn(2025, 3, 7, 16, 0), vn(2025, 3, 10, 8, 0), 90),
        (vn(2025, 1, 24, 17, 0), vn(2025, 2, 3, 7, 30), 0),
        (vn(2025, 3, 3, 20, 0), vn(2025, 3, 3, 22, 0), 0),
        (vn(2025, 3, 3, 17, 0), vn(2025, 3, 3, 7, 30), -480),
    ],
)
def test_working_minutes_between(a, b, minutes):
    assert DEFAULT.working_minutes_between(a, b) == minutes


def test_adding_then_measuring_gives_back_the_minutes():
    rnd = random.Random(766)
    for _ in range(300):
        start = vn(2025, 1, 1) + timedelta(minutes=rnd.randrange(0, 60 * 24 * 500))
        minutes = rnd.randrange(1, 480 * 30)
        end = DEFAULT.add_working_minutes(start, minutes)
        begin = DEFAULT.next_working_instant(start)
        assert DEFAULT.working_minutes_between(begin, end) == minutes
        assert DEFAULT.add_working_minutes(end, -minutes) == begin


def test_landing_on_a_session_end_stays_there():
    assert DEFAULT.add_working_minutes(vn(2025, 3, 3, 13, 0), 240) == vn(2025, 3, 3, 17, 0)
    assert DEFAULT.add_working_minutes(vn(2025, 3, 3, 17, 0), 1) == vn(2025, 3, 4, 7, 31)


def test_pause_spanning_tet_shifts_due_by_the_paused_working_time():
    due = vn(2025, 1, 24, 17, 0)
    paused, resumed = vn(2025, 1, 23, 10, 0), vn(2025, 2, 4, 10, 0)
    assert DEFAULT.working_minutes_between(paused, resumed) == 3 * 480
    assert sla.shift_due_for_pause(due, paused, resumed, DEFAULT) == vn(2025, 2, 5, 17, 0)


def test_pause_entirely_outside_working_time_changes_nothing():
    due = vn(2025, 3, 10, 17, 0)
    assert sla.shift_due_for_pause(due, vn(2025, 3, 8, 9), vn(2025, 3, 9, 9), DEFAULT) == due


def test_restart_gives_the_full_legal_time_again_from_the_resume():
    assert sla.restart_due(vn(2025, 2, 4, 10, 0), 5, DEFAULT) == vn(2025, 2, 11, 10, 0)


def test_due_soon_is_one_session_before_due():
    assert sla.due_soon_from(vn(2025, 3, 5, 17, 0), DEFAULT) == vn(2025, 3, 5, 13, 0)
    assert sla.due_soon_from(vn(2025, 3, 5, 9, 0), DEFAULT) == vn(2025, 3, 4, 14, 30)


@pytest.mark.parametrize(
    ("completed", "due", "expected"),
    [
        (vn(2025, 3, 5, 12, 0), vn(2025, 3, 5, 17, 0), "early"),
        (vn(2025, 3, 5, 12, 59), vn(2025, 3, 5, 17, 0), "early"),
        (vn(2025, 3, 5, 13, 0), vn(2025, 3, 5, 17, 0), "on_time"),
        (vn(2025, 3, 5, 17, 0), vn(2025, 3, 5, 17, 0), "on_time"),
        (vn(2025, 3, 5, 17, 1), vn(2025, 3, 5, 17, 0), "late"),
        (vn(2025, 3, 4, 16, 0), vn(2025, 3, 5, 11, 30), "early"),
        (vn(2025, 3, 5, 7, 29), vn(2025, 3, 5, 11, 30), "early"),
        (vn(2025, 3, 5, 8, 0), vn(2025, 3, 5, 11, 30), "on_time"),
        (vn(2025, 3, 5, 12, 0), vn(2025, 3, 5, 11, 30), "late"),
        # Due on the first session after Tết: anything finished before the break is early.
        (vn(2025, 1, 24, 16, 59), vn(2025, 2, 3, 9, 0), "early"),
        (vn(2025, 2, 3, 7, 45), vn(2025, 2, 3, 9, 0), "on_time"),
        (vn(2025, 2, 10, 8, 0), vn(2025, 2, 3, 9, 0), "late"),
    ],
)
def test_outcome(completed, due, expected):
    assert sla.outcome(completed, due, DEFAULT) == expected


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        sla.due_at(datetime(2025, 3, 3, 8, 0), 1, DEFAULT)  # noqa: DTZ001
    with pytest.raises(ValueError, match="aware"):
        DEFAULT.working_minutes_between(datetime(2025, 3, 3), vn(2025, 3, 4))  # noqa: DTZ001


def test_non_positive_processing_time_is_refused():
    with pytest.raises(ValueError, match="positive"):
        sla.due_at(vn(2025, 3, 3, 8), 0, DEFAULT)


def test_overlapping_sessions_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        WorkingCalendar(sessions=[(time(7, 30), time(12, 0)), (time(11, 0), time(17, 0))])


def test_a_calendar_with_no_working_day_fails_instead_of_looping():
    every_day = [date(2025, 1, 1) + timedelta(days=i) for i in range(4 * 366)]
    cal = WorkingCalendar(extra_days_off=every_day)
    with pytest.raises(ValueError, match="no working session"):
        sla.due_at(vn(2025, 1, 2, 8), 1, cal)


def test_working_days_late():
    assert sla.working_days_late(vn(2025, 3, 3, 17), vn(2025, 3, 5, 17), DEFAULT) == 2
    assert sla.working_days_late(vn(2025, 3, 5, 17), vn(2025, 3, 3, 17), DEFAULT) == 0
