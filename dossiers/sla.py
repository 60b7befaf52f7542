"""Working-time arithmetic for the SLA clock: pure functions, no database access.

Time is counted in working minutes inside an agency's daily sessions, Monday to Friday,
minus Vietnamese public holidays (the `holidays` package, with its official weekend make-up
working days) and corrected by administrator overrides, which always win.
"""

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MINUTES_PER_DAY = 8 * 60  # 1 legal working day = 8 working hours, 0.5 day = one session
QUARTER = timedelta(minutes=15)
# Far enough to cross any real pause or legal time; a guard against a calendar with no
# working day at all (every day overridden as a day off), which would otherwise loop forever.
_MAX_SCAN_DAYS = 3 * 366

EARLY, ON_TIME, LATE = "early", "on_time", "late"
WORKING_DAYS, CALENDAR_DAYS = "working_days", "calendar_days"


@dataclass(frozen=True)
class Session:
    """One daily working session, local (Vietnam) wall-clock times."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError(f"session must start before it ends: {self.start}-{self.end}")

    @property
    def minutes(self) -> int:
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)


DEFAULT_SESSIONS = (Session(time(7, 30), time(11, 30)), Session(time(13, 0), time(17, 0)))


def _as_time(value) -> time:
    if isinstance(value, time):
        return value
    hours, minutes = str(value).split(":")[:2]
    return time(int(hours), int(minutes))


def _as_session(value) -> Session:
    if isinstance(value, Session):
        return value
    start, end = value
    return Session(_as_time(start), _as_time(end))


@lru_cache(maxsize=8)
def _vietnam_holidays(years: tuple[int, ...]) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=years)


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


class WorkingCalendar:
    """Working sessions, public holidays and overrides of one agency."""

    minutes_per_day = MINUTES_PER_DAY

    def __init__(
        self,
        *,
        sessions: Iterable = DEFAULT_SESSIONS,
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
    ) -> None:
        ordered = tuple(sorted((_as_session(s) for s in sessions), key=lambda s: s.start))
        if not ordered:
            raise ValueError("a calendar needs at least one session")
        for first, second in zip(ordered, ordered[1:], strict=False):
            if second.start < first.end:
                raise ValueError("sessions overlap")
        self.sessions = ordered
        self.extra_days_off = frozenset(extra_days_off)
        self.extra_working_days = frozenset(extra_working_days)
        self._day_cache: dict[date, bool] = {}

    # --- days ------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        cached = self._day_cache.get(day)
        if cached is not None:
            return cached
        if day in self.extra_working_days:
            working = True
        elif day in self.extra_days_off:
            working = False
        else:
            official = _vietnam_holidays((day.year - 1, day.year, day.year + 1))
            working = official.is_working_day(day)
        self._day_cache[day] = working
        return working

    def _spans(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_working_day(day):
            return []
        return [
            (
                datetime.combine(day, s.start, tzinfo=VN_TZ),
                datetime.combine(day, s.end, tzinfo=VN_TZ),
            )
            for s in self.sessions
        ]

    def _spans_from(self, day: date, step: int = 1) -> Iterator[tuple[datetime, datetime]]:
        for offset in range(_MAX_SCAN_DAYS):
            spans = self._spans(day + timedelta(days=offset * step))
            yield from (spans if step > 0 else reversed(spans))
        raise ValueError("no working session within three years")

    # --- instants --------------------------------------------------------------------

    def next_working_instant(self, moment: datetime) -> datetime:
        """`moment` itself when it falls inside a session, else the next session's start."""
        _require_aware(moment, "moment")
        local = moment.astimezone(VN_TZ)
        for start, end in self._spans_from(local.date()):
            if local < start:
                return start
            if local < end:
                return local
        raise AssertionError("unreachable")

    def session_start_at_or_before(self, moment: datetime) -> datetime:
        """The start of the session `moment` falls in (a session end counts as inside it),
        or of the last session before it when it falls between sessions."""
        _require_aware(moment, "moment")
        local = moment.astimezone(VN_TZ)
        for start, _end in self._spans_from(local.date(), step=-1):
            if start < local:
                return start
        raise AssertionError("unreachable")

    def add_working_minutes(self, start: datetime, minutes: float) -> datetime:
        """The instant `minutes` working minutes after `start` (before it, if negative).

        Landing exactly on a session's end gives that end, not the next session's start.
        """
        _require_aware(start, "start")
        if minutes < 0:
            return self._subtract_working_minutes(start, -minutes)
        local = start.astimezone(VN_TZ)
        remaining = timedelta(minutes=minutes)
        if not remaining:
            return local
        for begin, end in self._spans_from(local.date()):
            if end <= local:
                continue
            begin = max(begin, local)
            available = end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError("unreachable")

    def _subtract_working_minutes(self, start: datetime, minutes: float) -> datetime:
        local = start.astimezone(VN_TZ)
        remaining = timedelta(minutes=minutes)
        for begin, end in self._spans_from(local.date(), step=-1):
            if begin >= local:
                continue
            end = min(end, local)
            available = end - begin
            if remaining <= available:
                return end - remaining
            remaining -= available
        raise AssertionError("unreachable")

    def working_minutes_between(self, a: datetime, b: datetime) -> float:
        """Working minutes from `a` to `b`; negative when `b` is before `a`."""
        _require_aware(a, "a")
        _require_aware(b, "b")
        if b < a:
            return -self.working_minutes_between(b, a)
        a_local, b_local = a.astimezone(VN_TZ), b.astimezone(VN_TZ)
        total = timedelta()
        day = a_local.date()
        while day <= b_local.date():
            for begin, end in self._spans(day):
                overlap = min(end, b_local) - max(begin, a_local)
                if overlap > timedelta():
                    total += overlap
            day += timedelta(days=1)
        return total.total_seconds() / 60

    def end_of_working_day(self, day: date) -> datetime:
        """The end of the last session of `day`, or of the next working day if it is off."""
        for offset in range(_MAX_SCAN_DAYS):
            spans = self._spans(day + timedelta(days=offset))
            if spans:
                return spans[-1][1]
        raise ValueError("no working session within three years")


def ceil_quarter_hour(moment: datetime) -> datetime:
    """Round up to the next quarter hour (an exact quarter hour stays)."""
    local = moment.astimezone(VN_TZ)
    floor = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    return floor if floor == local else floor + QUARTER


def _minutes_for(days: Decimal | float | int | str) -> int:
    value = Decimal(str(days))
    if value <= 0:
        raise ValueError("a processing time must be positive")
    return int((value * MINUTES_PER_DAY).to_integral_value(rounding="ROUND_CEILING"))


def due_at(
    start: datetime,
    days: Decimal | float | int | str,
    calendar: WorkingCalendar,
    *,
    kind: str = WORKING_DAYS,
) -> datetime:
    """The due time of a legal time of `days` started at `start`.

    Working days: the start is normalised into a session, then 8 working hours a day are
    added (fractions allowed) and the result rounded up to the next quarter hour. Calendar
    days: the end of the last day; a deadline on a day off moves to the end of the next
    working day.
    """
    _require_aware(start, "start")
    if kind == CALENDAR_DAYS:
        whole = math.ceil(Decimal(str(days)))
        if whole <= 0:
            raise ValueError("a processing time must be positive")
        last_day = start.astimezone(VN_TZ).date() + timedelta(days=whole)
        return calendar.end_of_working_day(last_day)
    if kind != WORKING_DAYS:
        raise ValueError(f"unknown duration kind: {kind}")
    begin = calendar.next_working_instant(start)
    return ceil_quarter_hour(calendar.add_working_minutes(begin, _minutes_for(days)))


def restart_due(
    restart_at: datetime, days, calendar: WorkingCalendar, *, kind: str = WORKING_DAYS
) -> datetime:
    """A restarted clock: the full legal time again from the moment of the restart."""
    return due_at(restart_at, days, calendar, kind=kind)


def shift_due_for_pause(
    due: datetime, paused_at: datetime, resumed_at: datetime, calendar: WorkingCalendar
) -> datetime:
    """The due time moved on by the working minutes the clock stood still."""
    paused = calendar.working_minutes_between(paused_at, resumed_at)
    if paused <= 0:
        return due
    return ceil_quarter_hour(calendar.add_working_minutes(due, paused))


def due_soon_from(due: datetime, calendar: WorkingCalendar) -> datetime:
    """The instant from which less than one working session is left before `due`."""
    return calendar.add_working_minutes(due, -MINUTES_PER_DAY / 2)


def outcome(completed_at: datetime, due: datetime, calendar: WorkingCalendar) -> str:
    """`early` before the start of the session in which `due` falls, `on_time` at or
    before `due`, `late` after it."""
    _require_aware(completed_at, "completed_at")
    _require_aware(due, "due")
    if completed_at > due:
        return LATE
    if completed_at < calendar.session_start_at_or_before(due):
        return EARLY
    return ON_TIME


def working_days_late(due: datetime, now: datetime, calendar: WorkingCalendar) -> float:
    """How many working days `now` is past `due` (0 when not late)."""
    return max(0.0, calendar.working_minutes_between(due, now) / MINUTES_PER_DAY)
