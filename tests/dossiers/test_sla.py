"""The working-day clock, table-driven; pure functions, no database."""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction

import holidays
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
    # 11:00 is 8/9 of the way through the 4.5-hour morning; half a day later is 8/9 of the
    # way through the 3.5-hour afternoon, 16:36:40, rounded up to 16:45.
    assert sla.due_at(vn(2025, 3, 3, 11, 0), 0.5, CENTRE) == vn(2025, 3, 3, 16, 45)
    assert sla.due_at(vn(2025, 3, 3, 7, 0), 0.5, CENTRE) == vn(2025, 3, 3, 11, 30)
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


# --- the sessions in force: short days, off-quarter ends, seasons ---------------------------

SHORT = WorkingCalendar(sessions=[("07:30", "11:30"), ("13:00", "16:30")])
OFF_QUARTER = WorkingCalendar(sessions=[("07:30", "11:30"), ("13:00", "16:50")])
SUMMER = sla.Season(
    start=(5, 1), end=(9, 30), sessions=(("07:00", "11:30"), ("13:30", "17:00")), name="hè"
)
# Winter is the agency's own 07:30-11:30 / 13:00-16:30; summer 07:00-11:30 / 13:30-17:00.
SEASONAL = WorkingCalendar(sessions=SHORT.sessions, seasons=[SUMMER])


@pytest.mark.parametrize(
    ("label", "calendar", "start", "days", "expected"),
    [
        ("07:30-16:30: a day from the first minute ends that evening", SHORT,
         vn(2025, 3, 3, 7, 30), 1, vn(2025, 3, 3, 16, 30)),
        ("07:30-16:30: half a day is the morning", SHORT, vn(2025, 3, 3, 7, 30), 0.5,
         vn(2025, 3, 3, 11, 30)),
        ("07:30-16:30: half a day from 13:00 is the afternoon", SHORT, vn(2025, 3, 3, 13, 0),
         0.5, vn(2025, 3, 3, 16, 30)),
        ("07:30-16:30: a day from mid-morning ends mid-morning", SHORT, vn(2025, 3, 3, 10, 0),
         1, vn(2025, 3, 4, 10, 0)),
        ("07:30-16:30: five days", SHORT, vn(2025, 3, 3, 7, 30), 5, vn(2025, 3, 7, 16, 30)),
        ("session ending 16:50: a day ends at 16:50", OFF_QUARTER, vn(2025, 3, 3, 7, 30), 1,
         vn(2025, 3, 3, 16, 50)),
        ("session ending 16:50: 16:45:24 rounds to the session end, not 17:00", OFF_QUARTER,
         vn(2025, 3, 3, 13, 0), "0.49", vn(2025, 3, 3, 16, 50)),
        ("summer day in force on 30/09", SEASONAL, vn(2025, 9, 30, 7, 0), 1,
         vn(2025, 9, 30, 17, 0)),
        ("a third of a summer day, then a winter day: 10:10, rounded", SEASONAL,
         vn(2025, 9, 30, 10, 0), 1, vn(2025, 10, 1, 10, 15)),
        ("summer to winter inside a deadline", SEASONAL, vn(2025, 9, 29, 13, 30), 2,
         vn(2025, 10, 1, 11, 30)),
        ("winter to summer across 30/4, 1/5 and the swapped 2/5", SEASONAL,
         vn(2025, 4, 29, 14, 45), 0.5, vn(2025, 5, 5, 9, 15)),
    ],
)
def test_due_at_counts_the_days_of_the_sessions_in_force(label, calendar, start, days, expected):
    assert sla.due_at(start, days, calendar) == expected, label


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (vn(2025, 3, 3, 16, 47), vn(2025, 3, 3, 16, 50)),
        (vn(2025, 3, 3, 16, 50), vn(2025, 3, 3, 16, 50)),
        (vn(2025, 3, 3, 16, 40), vn(2025, 3, 3, 16, 45)),
        (vn(2025, 3, 3, 11, 29, 30), vn(2025, 3, 3, 11, 30)),
        (vn(2025, 3, 3, 13, 0), vn(2025, 3, 3, 13, 0)),
        (vn(2025, 3, 3, 13, 0, 1), vn(2025, 3, 3, 13, 15)),
    ],
)
def test_rounding_up_never_leaves_the_session(moment, expected):
    assert OFF_QUARTER.round_up_in_session(moment) == expected


def test_a_pause_that_pushes_the_due_time_near_an_off_quarter_close_stays_in_the_session():
    due = vn(2025, 3, 3, 16, 30)
    assert sla.shift_due_for_pause(
        due, vn(2025, 3, 4, 13, 0), vn(2025, 3, 4, 13, 19), OFF_QUARTER
    ) == vn(2025, 3, 3, 16, 50)


def test_a_paused_whole_day_moves_the_due_time_by_a_whole_day_whatever_the_season():
    paused, resumed = vn(2025, 9, 29, 7, 0), vn(2025, 9, 30, 7, 0)  # a summer day, 8 hours
    assert SEASONAL.working_days_between(paused, resumed) == 1
    due = vn(2025, 10, 1, 16, 30)  # a winter day's close, 7.5 hours in the day
    assert sla.shift_due_for_pause(due, paused, resumed, SEASONAL) == vn(2025, 10, 2, 16, 30)


def test_due_soon_is_one_session_before_due_whatever_its_length():
    assert sla.due_soon_from(vn(2025, 3, 5, 16, 30), SHORT) == vn(2025, 3, 5, 13, 0)
    assert sla.due_soon_from(vn(2025, 3, 5, 11, 30), SHORT) == vn(2025, 3, 5, 7, 30)


def test_working_days_late_counts_days_of_the_agencys_sessions():
    assert sla.working_days_late(vn(2025, 3, 3, 16, 30), vn(2025, 3, 5, 16, 30), SHORT) == 2
    assert sla.working_days_late(vn(2025, 3, 3, 16, 30), vn(2025, 3, 4, 11, 30), SHORT) == 0.5


@pytest.mark.parametrize("calendar", [DEFAULT, SHORT, OFF_QUARTER, SEASONAL, CENTRE])
def test_due_times_fall_in_a_session_on_a_quarter_hour_or_the_session_end(calendar):
    rnd = random.Random(4)
    for _ in range(200):
        start = vn(2025, 1, 1) + timedelta(minutes=rnd.randrange(0, 60 * 24 * 700))
        due = sla.due_at(start, Decimal(rnd.randrange(1, 3000)) / 100, calendar)
        assert calendar.is_working_day(due.date()), due
        sessions = calendar.sessions_on(due.date())
        inside = [s for s in sessions if s.start < due.time() <= s.end]
        assert inside, due
        assert due.minute % 15 == 0 or due.time() == inside[0].end, due
        assert due.second == due.microsecond == 0, due


def test_adding_then_measuring_working_days_gives_them_back_across_seasons():
    rnd = random.Random(2025)
    tolerance = Fraction(1, 10**9)
    for _ in range(300):
        start = vn(2025, 1, 1) + timedelta(minutes=rnd.randrange(0, 60 * 24 * 700))
        days = Decimal(rnd.randrange(1, 4000)) / 100
        end = SEASONAL.add_working_days(start, days)
        assert abs(SEASONAL.working_days_between(start, end) - Fraction(days)) < tolerance
        back = SEASONAL.add_working_days(end, -days)
        assert abs(SEASONAL.working_days_between(back, start)) < tolerance


def test_seasons_may_run_across_the_new_year():
    winter = sla.Season(start=(10, 1), end=(4, 30), sessions=SHORT.sessions, name="đông")
    cal = WorkingCalendar(sessions=CENTRE.sessions, seasons=[winter])
    for day in (date(2025, 10, 1), date(2025, 12, 31), date(2026, 1, 1), date(2026, 4, 30)):
        assert cal.sessions_on(day) == SHORT.sessions, day
    for day in (date(2025, 9, 30), date(2026, 5, 1)):
        assert cal.sessions_on(day) == CENTRE.sessions, day


def test_29_february_is_a_season_bound_like_any_other_day():
    season = sla.Season(start=(2, 29), end=(3, 31), sessions=SHORT.sessions)
    assert season.covers(date(2028, 2, 29))
    assert season.covers(date(2025, 3, 1))
    assert not season.covers(date(2025, 2, 28))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (((5, 1), (9, 30)), ((9, 30), (10, 31))),
        (((10, 1), (4, 30)), ((1, 1), (1, 31))),
        (((10, 1), (4, 30)), ((4, 30), (5, 1))),
        (((3, 1), (3, 31)), ((1, 1), (12, 31))),
        (((12, 31), (1, 1)), ((6, 1), (1, 1))),
    ],
)
def test_overlapping_seasons_are_refused(first, second):
    seasons = [sla.Season(*first, sessions=SHORT.sessions, name="a"),
               sla.Season(*second, sessions=CENTRE.sessions, name="b")]
    assert sla.overlapping_seasons(seasons) == tuple(seasons)
    with pytest.raises(ValueError, match="overlap"):
        WorkingCalendar(seasons=seasons)


def test_seasons_that_only_touch_are_accepted():
    winter = sla.Season(start=(10, 1), end=(4, 30), sessions=SHORT.sessions)
    assert sla.overlapping_seasons([SUMMER, winter]) is None
    assert WorkingCalendar(seasons=[SUMMER, winter]).sessions_on(date(2025, 7, 1)) == (
        SUMMER.sessions
    )


@pytest.mark.parametrize(
    "bad", [(2, 30), (4, 31), (13, 1), (0, 1), (5, 0), ("5", 1), (True, 1), (5,), None, 501]
)
def test_a_season_bound_that_is_not_a_day_is_refused(bad):
    with pytest.raises(ValueError):
        sla.Season(start=bad, end=(9, 30), sessions=SHORT.sessions)


@pytest.mark.parametrize(
    "sessions", [(), (("07:30", "12:00"), ("11:00", "17:00")), (("11:30", "07:30"),)]
)
def test_a_season_without_valid_sessions_is_refused(sessions):
    with pytest.raises(ValueError):
        sla.Season(start=(5, 1), end=(9, 30), sessions=sessions)


def _nth_official_working_day(first: date, n: int) -> date:
    official = holidays.country_holidays("VN", years=range(first.year, first.year + 12))
    day, counted = first, 0
    while True:
        counted += official.is_working_day(day)
        if counted == n:
            return day
        day += timedelta(days=1)


@pytest.mark.parametrize("days", [800, 2000])
def test_deadlines_years_away_are_computed(days):
    last = _nth_official_working_day(date(2025, 3, 3), days)
    due = sla.due_at(vn(2025, 3, 3, 7, 30), days, DEFAULT)
    assert due == vn(last.year, last.month, last.day, 17, 0)
    assert DEFAULT.working_days_between(vn(2025, 3, 3, 7, 30), due) == days


def test_a_long_closure_is_crossed_but_a_year_without_a_working_day_is_refused():
    closed = WorkingCalendar(
        extra_days_off=[date(2025, 3, 1) + timedelta(days=i) for i in range(300)]  # to 25/12
    )
    assert sla.due_at(vn(2025, 2, 28, 13, 0), 1, closed) == vn(2025, 12, 26, 11, 30)
    year_off = WorkingCalendar(
        extra_days_off=[date(2025, 1, 1) + timedelta(days=i) for i in range(367)]
    )
    with pytest.raises(sla.NoWorkingDay, match="no working session in a whole year"):
        sla.due_at(vn(2025, 1, 2, 8), 1, year_off)
    with pytest.raises(sla.NoWorkingDay):
        year_off.add_working_minutes(vn(2025, 1, 2, 8), 30)


@pytest.mark.parametrize("days", ["nan", "inf", "-inf", "x", None, True, "1e400", 10_001, -1])
def test_a_processing_time_that_is_not_a_usable_number_is_refused(days):
    with pytest.raises(ValueError):
        sla.due_at(vn(2025, 3, 3, 8), days, DEFAULT)
