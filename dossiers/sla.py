"""Working-time arithmetic for the SLA clock: pure functions, no database access.

Time is counted inside an agency's daily sessions, Monday to Friday, minus Vietnamese public
holidays (the `holidays` package, with its official weekend make-up working days) and corrected
by administrator overrides, which always win. Each day uses the sessions in force that day: the
agency's default sessions, or those of the seasonal set whose yearly validity covers the day.

A legal working day is one whole day of the sessions in force, however long they are, and each
session of the day is an equal share of it: with the usual two sessions, 0.5 day is one
session. Inside a session time runs evenly, so adding whole days keeps the point in the day's
layout (Monday 10:00 + 1 day = Tuesday 10:00 when both days have the same sessions, and a
third of the way through the morning stays a third of the way through the morning when the
season changes). One day from the first minute of a day ends when that day's last session
ends. A due time is rounded up to the quarter hour, but never past the end of its session.
Working minutes are real minutes inside the sessions.
"""

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_UP, Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from itertools import islice, pairwise
from zoneinfo import ZoneInfo

import holidays

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MINUTES_PER_DAY = 8 * 60  # the default sessions' day; a calendar's own is `minutes_per_day`
QUARTER = timedelta(minutes=15)
# A calendar with no working day for a whole year is refused rather than scanned forever;
# a deadline itself may lie any number of years away.
_LONGEST_GAP_DAYS = 366
# A span of working days beyond this is a typing error (the catalog holds at most 9999.99
# days); it is refused before anything walks the calendar for decades.
MAX_LEGAL_DAYS = 10_000
_LEAP_YEAR = 2024  # seasons are laid out on a leap year, so that 29/02 is a day like any other
# A working day counted in integer ticks: divisible by any number of sessions up to 12, and
# fine enough (well under a microsecond) that an instant and its tick count map back exactly.
_TICKS_PER_DAY = 27_720 * 10**12
_ZERO = timedelta()
_MICROSECOND = timedelta(microseconds=1)

EARLY, ON_TIME, LATE = "early", "on_time", "late"
# How an outcome is decided (an agency's setting, DESIGN §4).
DATE_RULE, SESSION_RULE = "date", "session"
WORKING_DAYS, CALENDAR_DAYS = "working_days", "calendar_days"


class NoWorkingDay(ValueError):
    """The calendar has no working session for a whole year: no time can be counted on it."""


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


def _ordered_sessions(sessions: Iterable) -> tuple[Session, ...]:
    ordered = tuple(sorted((_as_session(s) for s in sessions), key=lambda s: s.start))
    if not ordered:
        raise ValueError("a calendar needs at least one session")
    for first, second in pairwise(ordered):
        if second.start < first.end:
            raise ValueError("sessions overlap")
    return ordered


def _month_day(value) -> tuple[int, int]:
    try:
        month, day = value
    except (TypeError, ValueError):
        raise ValueError(f"a month-day is a (month, day) pair, not {value!r}") from None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (month, day)):
        raise ValueError(f"a month-day is two whole numbers, not {value!r}")
    try:
        date(_LEAP_YEAR, month, day)
    except ValueError:
        raise ValueError(f"no such day: {day}/{month}") from None
    return month, day


@dataclass(frozen=True)
class Season:
    """Sessions in force every year from one (month, day) to another, both included.

    A season whose end comes before its start runs across the new year (01/10 to 30/04).
    """

    start: tuple[int, int]
    end: tuple[int, int]
    sessions: tuple[Session, ...]
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _month_day(self.start))
        object.__setattr__(self, "end", _month_day(self.end))
        object.__setattr__(self, "sessions", _ordered_sessions(self.sessions))

    def covers(self, day: date) -> bool:
        """Whether the season is in force on `day`, in any year."""
        month_day = (day.month, day.day)
        if self.start <= self.end:
            return self.start <= month_day <= self.end
        return month_day >= self.start or month_day <= self.end


def overlapping_seasons(seasons: Iterable[Season]) -> tuple[Season, Season] | None:
    """The first two seasons in force on a same day of the year, or None when none are."""
    seen: list[Season] = []
    for season in seasons:
        for other in seen:
            # Two spans of the year meet exactly when one of them covers the other's start.
            if other.covers(date(_LEAP_YEAR, *season.start)) or season.covers(
                date(_LEAP_YEAR, *other.start)
            ):
                return other, season
        seen.append(season)
    return None


@lru_cache(maxsize=8)
def _vietnam_holidays(years: tuple[int, ...]) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=years)


@lru_cache(maxsize=1 << 15)
def _officially_working(day: date) -> bool:
    return _vietnam_holidays((day.year - 1, day.year, day.year + 1)).is_working_day(day)


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def _as_decimal(days) -> Decimal:
    if isinstance(days, Fraction):
        days = Decimal(days.numerator) / Decimal(days.denominator)
    try:
        value = Decimal(str(days))
    except InvalidOperation:
        raise ValueError(f"not a number of days: {days!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a number of days: {days!r}")
    return value


@lru_cache(maxsize=256)
def _decimal_ticks(days: Decimal) -> int:
    return _ticks_of(days)


@lru_cache(maxsize=256)
def _legal_decimal_ticks(days: Decimal) -> int:
    return _ticks_of(_legal_days(days))


def _ticks(days) -> int:
    """`days` in ticks, rounded away from zero (exact for any usual fraction of a day)."""
    if type(days) is Decimal and days.is_finite():
        return _decimal_ticks(days)  # the catalog's processing times: a handful of values
    return _ticks_of(days)


def _ticks_of(days) -> int:
    value = days if isinstance(days, Fraction) else _as_decimal(days)
    if abs(value) > MAX_LEGAL_DAYS:
        raise ValueError(f"a processing time must be at most {MAX_LEGAL_DAYS} days")
    if isinstance(value, Fraction):
        scaled = value * _TICKS_PER_DAY
        return math.ceil(scaled) if scaled > 0 else math.floor(scaled)
    return int((value * _TICKS_PER_DAY).to_integral_value(rounding=ROUND_UP))


_QUARTER_US = 15 * 60 * 10**6


def _offset(local: datetime) -> int:
    """Microseconds since local midnight (wall clock, as the sessions are laid out)."""
    return ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 + local.microsecond


class _Day:
    """The sessions of one date as instants (none on a day off), and their total length.

    `layout` holds the same sessions as microseconds since the day's local midnight, each with
    the ticks of the working day done at its start and at its end: the clock's hot paths work
    on these integers and build a datetime only for their answer."""

    __slots__ = ("layout", "length", "midnight", "spans")

    def __init__(self, spans: tuple[tuple[datetime, datetime], ...], length: timedelta) -> None:
        self.spans = spans
        self.length = length
        count = len(spans)
        self.layout = tuple(
            (_offset(begin), _offset(end), index * _TICKS_PER_DAY // count,
             (index + 1) * _TICKS_PER_DAY // count)
            for index, (begin, end) in enumerate(spans)
        )
        self.midnight = spans[0][0].replace(hour=0, minute=0, second=0, microsecond=0) \
            if spans else None


class _Year:
    """One year of a calendar laid out for lookups: its working days in order, and for each
    day of the year the working days and working time before it. Counting and stepping over
    any span is then a few index lookups per year crossed, whatever the span's length."""

    __slots__ = ("before", "days", "first", "lead", "time_before", "trail")

    def __init__(self, calendar: "WorkingCalendar", year: int) -> None:
        self.first = date(year, 1, 1).toordinal()
        length = date(year + 1, 1, 1).toordinal() - self.first if year < 9999 else 365
        days: list[int] = []
        before = [0] * (length + 1)
        time_before = [0] * (length + 1)
        count, total = 0, 0
        for index in range(length):
            day = date.fromordinal(self.first + index)
            if calendar.is_working_day(day):
                days.append(self.first + index)
                count += 1
                total += calendar._lengths[calendar.sessions_on(day)] // _MICROSECOND
            before[index + 1] = count
            time_before[index + 1] = total
        self.days = days
        self.before = before
        self.time_before = time_before
        # Days off at the year's start and end: a gap between two years is their sum.
        self.lead = (days[0] - self.first) if days else length
        self.trail = (self.first + length - 1 - days[-1]) if days else length


class WorkingCalendar:
    """Working sessions (default and seasonal), public holidays and overrides of one agency."""

    def __init__(
        self,
        *,
        sessions: Iterable = DEFAULT_SESSIONS,
        seasons: Iterable[Season] = (),
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
    ) -> None:
        self.sessions = _ordered_sessions(sessions)
        self.seasons = tuple(seasons)
        if not all(isinstance(season, Season) for season in self.seasons):
            raise TypeError("seasons must be Season objects")
        clash = overlapping_seasons(self.seasons)
        if clash:
            raise ValueError(f"seasons overlap: {clash[0].name!r} and {clash[1].name!r}")
        self.minutes_per_day = sum(s.minutes for s in self.sessions)
        self.extra_days_off = frozenset(extra_days_off)
        self.extra_working_days = frozenset(extra_working_days)
        self._lengths = {
            sessions: timedelta(minutes=sum(s.minutes for s in sessions))
            for sessions in {self.sessions, *(season.sessions for season in self.seasons)}
        }
        self._open: dict[date, bool] = {}
        self._days: dict[date, _Day] = {}
        self._years: dict[int, _Year] = {}

    # --- days ------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        working = self._open.get(day)
        if working is None:
            if day in self.extra_working_days:
                working = True
            elif day in self.extra_days_off:
                working = False
            else:
                working = _officially_working(day)
            self._open[day] = working
        return working

    def sessions_on(self, day: date) -> tuple[Session, ...]:
        """The sessions in force on `day` (whether or not it is a working day)."""
        for season in self.seasons:
            if season.covers(day):
                return season.sessions
        return self.sessions

    def _day(self, day: date) -> _Day:
        cached = self._days.get(day)
        if cached is None:
            if self.is_working_day(day):
                sessions = self.sessions_on(day)
                spans = tuple(
                    (
                        datetime.combine(day, s.start, tzinfo=VN_TZ),
                        datetime.combine(day, s.end, tzinfo=VN_TZ),
                    )
                    for s in sessions
                )
                cached = _Day(spans, self._lengths[sessions])
            else:
                cached = _Day((), _ZERO)
            self._days[day] = cached
        return cached

    def _working_days(self, day: date, step: int = 1) -> Iterator[date]:
        """Working days from `day` on (`day` included), backwards when `step` is -1."""
        delta, gap = timedelta(days=step), 0
        while True:
            if self.is_working_day(day):
                gap = 0
                yield day
            else:
                gap += 1
                if gap > _LONGEST_GAP_DAYS:
                    raise NoWorkingDay(f"no working session in a whole year from {day - delta * gap}")
            try:
                day += delta
            except OverflowError:
                raise NoWorkingDay("no working session before the end of the calendar") from None

    def _spans_from(self, day: date, step: int = 1) -> Iterator[tuple[datetime, datetime]]:
        for working in self._working_days(day, step):
            spans = self._day(working).spans
            yield from (spans if step > 0 else reversed(spans))

    # --- the year index --------------------------------------------------------------
    # Each lookup answers None when the span crosses a stretch of days off longer than
    # _LONGEST_GAP_DAYS or leaves the years a date can hold; the day-by-day walk then gives
    # the answer or the error.

    def _year(self, year: int) -> _Year | None:
        if not 1 < year < 9999:
            return None
        index = self._years.get(year)
        if index is None:
            index = self._years[year] = _Year(self, year)
        return index

    def _next_year(self, year: int, gap: int) -> tuple[int, _Year, int] | None:
        """The next year holding a working day, and the days off crossed to reach it."""
        while True:
            year += 1
            index = self._year(year)
            if index is None:
                return None
            if index.days:
                gap += index.lead
                return (year, index, gap) if gap <= _LONGEST_GAP_DAYS else None
            gap += index.lead
            if gap > _LONGEST_GAP_DAYS:
                return None

    def _previous_year(self, year: int, gap: int) -> tuple[int, _Year, int] | None:
        while True:
            year -= 1
            index = self._year(year)
            if index is None:
                return None
            gap += index.trail
            if gap > _LONGEST_GAP_DAYS:
                return None
            if index.days:
                return year, index, gap

    def _working_on_or_after(self, day: date) -> date:
        """The first working day from `day` on (`day` included)."""
        year = day.year
        index = self._year(year)
        if index is not None:
            at = index.before[day.toordinal() - index.first]
            if at < len(index.days):
                return date.fromordinal(index.days[at])
            found = self._next_year(year, index.first + len(index.before) - 1 - day.toordinal())
            if found is not None:
                return date.fromordinal(found[1].days[0])
        return next(self._working_days(day))

    def _nth_after(self, day: date, count: int) -> date | None:
        year = day.year
        index = self._year(year)
        if index is None:
            return None
        target = index.before[day.toordinal() - index.first + 1] + count - 1
        while target >= len(index.days):
            target -= len(index.days)
            found = self._next_year(year, index.trail)
            if found is None:
                return None
            year, index, _gap = found
        return date.fromordinal(index.days[target])

    def _nth_before(self, day: date, count: int) -> date | None:
        year = day.year
        index = self._year(year)
        if index is None:
            return None
        target = index.before[day.toordinal() - index.first] - count
        while target < 0:
            found = self._previous_year(year, index.lead)
            if found is None:
                return None
            year, index, _gap = found
            target += len(index.days)
        return date.fromordinal(index.days[target])

    def _count_between(self, first: date, last: date) -> int | None:
        """Working days from `first` (a working day) up to `last`, `last` excluded."""
        year_a, year_b = first.year, last.year
        index = self._year(year_a)
        end = self._year(year_b)
        if index is None or end is None:
            return None
        if year_a == year_b:
            return (index.before[last.toordinal() - index.first]
                    - index.before[first.toordinal() - index.first])
        count = len(index.days) - index.before[first.toordinal() - index.first]
        gap = index.trail
        for year in range(year_a + 1, year_b):
            middle = self._year(year)
            gap += middle.lead
            if gap > _LONGEST_GAP_DAYS:
                return None
            if middle.days:
                count += len(middle.days)
                gap = middle.trail
        if gap + end.lead > _LONGEST_GAP_DAYS and end.before[last.toordinal() - end.first]:
            return None
        return count + end.before[last.toordinal() - end.first]

    def _time_between(self, first: date, last: date) -> timedelta | None:
        """Working time of the whole days from `first` up to `last`, `last` excluded."""
        year_a, year_b = first.year, last.year
        index = self._year(year_a)
        end = self._year(year_b)
        if index is None or end is None:
            return None
        if year_a == year_b:
            micro = (index.time_before[last.toordinal() - index.first]
                     - index.time_before[first.toordinal() - index.first])
        else:
            micro = index.time_before[-1] - index.time_before[first.toordinal() - index.first]
            for year in range(year_a + 1, year_b):
                micro += self._year(year).time_before[-1]
            micro += end.time_before[last.toordinal() - end.first]
        return micro * _MICROSECOND

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

    def round_up_in_session(self, moment: datetime) -> datetime:
        """Up to the next quarter hour, but never past the end of the session `moment` is in:
        a session ending at 16:50 keeps a due time of 16:47 at 16:50, not 17:00."""
        _require_aware(moment, "moment")
        return self._round_up_local(moment.astimezone(VN_TZ))

    def _round_up_local(self, local: datetime) -> datetime:
        if local.second or local.microsecond or local.minute % 15:
            rounded = local.replace(minute=local.minute - local.minute % 15, second=0,
                                    microsecond=0) + QUARTER
        else:
            return local  # already on a quarter hour
        for begin, end in self._day(local.date()).spans:
            if begin <= local <= end:
                return min(rounded, end)
        return rounded

    # --- working days ----------------------------------------------------------------

    def _position(self, local: datetime) -> tuple[date, int]:
        """The working day `local` counts in and the ticks of it done by then."""
        day = local.date()
        cached = self._days.get(day)
        if cached is None:
            cached = self._day(day)
        if not cached.layout:
            return self._working_on_or_after(day), 0
        at = _offset(local)
        for begin, end, low, high in cached.layout:
            if at < end:
                if at <= begin:
                    return day, low
                return day, low + (at - begin) * (high - low) // (end - begin)
        return day, _TICKS_PER_DAY

    def _at_offset(self, day: date, ticks: int, *, latest: bool) -> tuple[_Day, int]:
        """`_at` as the day and microseconds since its local midnight."""
        cached = self._days.get(day)
        if cached is None:
            cached = self._day(day)
        layout = cached.layout
        last = len(layout) - 1
        for index, (begin, end, low, high) in enumerate(layout):
            if ticks < high or (ticks == high and not latest) or index == last:
                return cached, begin + -(-(ticks - low) * (end - begin) // (high - low))
        raise AssertionError("unreachable")

    def _at(self, day: date, ticks: int, *, latest: bool) -> datetime:
        """The instant when `ticks` of working day `day` are done; on the boundary between
        two sessions, the end of the first (or, when `latest`, the start of the second)."""
        cached, at = self._at_offset(day, ticks, latest=latest)
        return cached.midnight + timedelta(microseconds=at)

    def _due_local(self, local: datetime, ticks: int) -> datetime:
        """`_round_up_local(_add_ticks(local, ticks))` for `ticks` > 0, on the day layouts
        (`_position` and `_at_offset` written out: this is the path of every due time)."""
        day = local.date()
        cached = self._days.get(day) or self._day(day)
        layout = cached.layout
        if layout:
            at = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 \
                + local.microsecond
            done = _TICKS_PER_DAY
            for begin, end, low, high in layout:
                if at < end:
                    done = low if at <= begin else low + (at - begin) * (high - low) // (
                        end - begin)
                    break
        else:
            day, done = self._working_on_or_after(day), 0
        target = done + ticks
        whole = (target - 1) // _TICKS_PER_DAY
        if whole:
            index = self._years.get(day.year)
            if index is not None:  # the common case, inside the year's index: one lookup
                at = index.before[day.toordinal() - index.first + 1] + whole - 1
                day = date.fromordinal(index.days[at]) if at < len(index.days) else \
                    self._nth_working_day(day, whole, 1)
            else:
                day = self._nth_working_day(day, whole, 1)
        if whole or not layout:
            cached = self._days.get(day) or self._day(day)
            layout = cached.layout
        ticks = target - whole * _TICKS_PER_DAY
        last = len(layout) - 1
        for index, (begin, end, low, high) in enumerate(layout):
            if ticks <= high or index == last:
                at = begin + -(-(ticks - low) * (end - begin) // (high - low))
                break
        if at % _QUARTER_US:
            rounded = at - at % _QUARTER_US + _QUARTER_US
            for begin, end, _low, _high in layout:
                if begin <= at <= end:
                    rounded = min(rounded, end)
                    break
            at = rounded
        return cached.midnight + timedelta(microseconds=at)

    def _nth_working_day(self, day: date, count: int, step: int) -> date:
        if not count:
            return day
        found = self._nth_after(day, count) if step > 0 else self._nth_before(day, count)
        if found is not None:
            return found
        return next(islice(self._working_days(day + timedelta(days=step), step), count - 1, None))

    def _add_ticks(self, local: datetime, ticks: int) -> datetime:
        day, done = self._position(local)
        target = done + ticks
        if ticks > 0:
            whole = (target - 1) // _TICKS_PER_DAY
            day = self._nth_working_day(day, whole, 1)
            return self._at(day, target - whole * _TICKS_PER_DAY, latest=False)
        whole = target // _TICKS_PER_DAY
        day = self._nth_working_day(day, -whole, -1)
        return self._at(day, target - whole * _TICKS_PER_DAY, latest=True)

    def add_working_days(self, start: datetime, days) -> datetime:
        """The instant `days` working days after `start` (before it, if negative).

        Forwards, landing exactly on a session's end gives that end, not the next session's
        start; backwards, the next session's start.
        """
        _require_aware(start, "start")
        ticks = _ticks(days)
        local = start.astimezone(VN_TZ)
        return self._add_ticks(local, ticks) if ticks else local

    def _ticks_between(self, a: datetime, b: datetime) -> int:
        if b < a:
            return -self._ticks_between(b, a)
        day_a, done_a = self._position(a.astimezone(VN_TZ))
        day_b, done_b = self._position(b.astimezone(VN_TZ))
        whole = self._count_between(day_a, day_b) if day_a < day_b else 0
        if whole is None:
            whole = 0
            for day in self._working_days(day_a):
                if day >= day_b:
                    break
                whole += 1
        return whole * _TICKS_PER_DAY + done_b - done_a

    def working_days_between(self, a: datetime, b: datetime) -> Fraction:
        """Working days from `a` to `b`; negative when `b` is before `a`."""
        _require_aware(a, "a")
        _require_aware(b, "b")
        return Fraction(self._ticks_between(a, b), _TICKS_PER_DAY)

    # --- working minutes -------------------------------------------------------------

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

    def _minutes_on(self, day: date, a: datetime, b: datetime) -> timedelta:
        total = _ZERO
        for begin, end in self._day(day).spans:
            overlap = min(end, b) - max(begin, a)
            if overlap > _ZERO:
                total += overlap
        return total

    def working_minutes_between(self, a: datetime, b: datetime) -> float:
        """Working minutes from `a` to `b`; negative when `b` is before `a`."""
        _require_aware(a, "a")
        _require_aware(b, "b")
        if b < a:
            return -self.working_minutes_between(b, a)
        a_local, b_local = a.astimezone(VN_TZ), b.astimezone(VN_TZ)
        first, last = a_local.date(), b_local.date()
        total = self._minutes_on(first, a_local, b_local)
        if last != first:
            total += self._minutes_on(last, a_local, b_local)
            whole = self._time_between(first + timedelta(days=1), last) if last > first else None
            if whole is None:
                whole = _ZERO
                day = first + timedelta(days=1)
                while day < last:
                    whole += self._day(day).length
                    day += timedelta(days=1)
            total += whole
        return total.total_seconds() / 60

    def end_of_working_day(self, day: date) -> datetime:
        """The end of the last session of `day`, or of the next working day if it is off."""
        return self._day(self._working_on_or_after(day)).spans[-1][1]


# A dossier reaching the desk after this local time is handed on the next working day.
HANDOVER_CUTOFF = time(15, 0)


def reception_due(arrived: datetime, calendar: WorkingCalendar) -> datetime:
    """The legal end of the reception step (Decree 61/2018, art. 19(1)): the desk hands a
    dossier to the unit that handles it within the working day it arrived, or, arriving after
    15:00 (or outside working hours, counted from the next session), by the end of the first
    session of the next working day."""
    _require_aware(arrived, "arrived")
    start = calendar.next_working_instant(arrived).astimezone(VN_TZ)
    if start.time() < HANDOVER_CUTOFF:
        return calendar.end_of_working_day(start.date())
    following = calendar.next_working_instant(calendar.end_of_working_day(start.date()))
    following = following.astimezone(VN_TZ)
    first = calendar.sessions_on(following.date())[0]
    return datetime.combine(following.date(), first.end, tzinfo=VN_TZ)


def ceil_quarter_hour(moment: datetime) -> datetime:
    """Round up to the next quarter hour (an exact quarter hour stays)."""
    local = moment.astimezone(VN_TZ)
    floor = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    return floor if floor == local else floor + QUARTER


def _legal_days(days) -> Decimal:
    value = _as_decimal(days)
    if value <= 0:
        raise ValueError("a processing time must be positive")
    return value


def due_at(
    start: datetime,
    days: Decimal | float | int | str,
    calendar: WorkingCalendar,
    *,
    kind: str = WORKING_DAYS,
) -> datetime:
    """The due time of a legal time of `days` started at `start`.

    Working days: `days` working days of the sessions in force (fractions allowed, 0.5 = one
    session) from `start`, or from the next session's start when `start` is outside one, then
    rounded up to the next quarter hour inside the session it falls in. Calendar days: the end
    of the last day; a deadline on a day off moves to the end of the next working day.
    """
    if start.tzinfo is not VN_TZ:  # a Vietnam time is aware: the common case checks nothing
        _require_aware(start, "start")
    if kind == CALENDAR_DAYS:
        last_day = start.astimezone(VN_TZ).date() + timedelta(days=math.ceil(_legal_days(days)))
        return calendar.end_of_working_day(last_day)
    if kind != WORKING_DAYS:
        raise ValueError(f"unknown duration kind: {kind}")
    local = start.astimezone(VN_TZ)
    if type(days) is Decimal and days.is_finite():
        ticks = _legal_decimal_ticks(days)  # the catalog's processing times: a few values
    else:
        ticks = _ticks(_legal_days(days))
    return calendar._due_local(local, ticks)


def restart_due(
    restart_at: datetime, days, calendar: WorkingCalendar, *, kind: str = WORKING_DAYS
) -> datetime:
    """A restarted clock: the full legal time again from the moment of the restart."""
    return due_at(restart_at, days, calendar, kind=kind)


def shift_due_for_pause(
    due: datetime, paused_at: datetime, resumed_at: datetime, calendar: WorkingCalendar
) -> datetime:
    """The due time moved on by the working time (in working days) the clock stood still."""
    _require_aware(paused_at, "paused_at")
    _require_aware(resumed_at, "resumed_at")
    _require_aware(due, "due")
    paused = calendar._ticks_between(paused_at, resumed_at)
    if paused <= 0:
        return due
    return calendar.round_up_in_session(calendar._add_ticks(due.astimezone(VN_TZ), paused))


def working_days_before(due: datetime, days, calendar: WorkingCalendar) -> datetime:
    """The instant `days` working days (of the sessions in force) before `due`."""
    _require_aware(due, "due")
    value = _as_decimal(days)
    if value <= 0:
        return due
    return calendar._add_ticks(due.astimezone(VN_TZ), -_ticks(value))


def due_soon_from(due: datetime, calendar: WorkingCalendar) -> datetime:
    """The instant from which less than one working session (half a day) is left before `due`."""
    _require_aware(due, "due")
    return calendar._add_ticks(due.astimezone(VN_TZ), -_TICKS_PER_DAY // 2)


def outcome(
    completed_at: datetime, due: datetime, calendar: WorkingCalendar, *, rule: str = SESSION_RULE
) -> str:
    """The outcome of a completion against `due`, by one of the two rules of DESIGN §4.

    `session` (OpenCPS): `early` before the start of the session in which `due` falls,
    `on_time` at or before `due`, `late` after it. `date` (the national portal's): `early` on a
    (Vietnam) date before the due date, `on_time` on the due date, `late` after it."""
    _require_aware(completed_at, "completed_at")
    _require_aware(due, "due")
    if rule == DATE_RULE:
        done, due_day = completed_at.astimezone(VN_TZ).date(), due.astimezone(VN_TZ).date()
        return EARLY if done < due_day else ON_TIME if done == due_day else LATE
    if rule != SESSION_RULE:
        raise ValueError(f"unknown outcome rule: {rule!r}")
    if completed_at > due:
        return LATE
    if completed_at < calendar.session_start_at_or_before(due):
        return EARLY
    return ON_TIME


def working_days_late(due: datetime, now: datetime, calendar: WorkingCalendar) -> float:
    """How many working days `now` is past `due` (0 when not late)."""
    _require_aware(due, "due")
    _require_aware(now, "now")
    return max(0.0, calendar._ticks_between(due, now) / _TICKS_PER_DAY)


def working_days_late_at(now: datetime, calendar: WorkingCalendar) -> Callable[[datetime], float]:
    """`working_days_late(due, now, calendar)` as a function of `due`, for a list of many due
    times read at one `now`: `now` is placed in the calendar once, and each due time then
    costs one index lookup, whatever the span."""
    _require_aware(now, "now")
    day_now, done_now = calendar._position(now.astimezone(VN_TZ))
    # The working days from each due date to `now`'s: many due times share a date.
    whole_from: dict[date, int] = {}

    def late(due: datetime) -> float:
        _require_aware(due, "due")
        if due >= now:
            return 0.0
        day_due, done_due = calendar._position(due.astimezone(VN_TZ))
        whole = whole_from.get(day_due)
        if whole is None:
            whole = calendar._count_between(day_due, day_now) if day_due < day_now else 0
            if whole is None:  # beyond the index: the day-by-day walk gives the answer or the error
                return working_days_late(due, now, calendar)
            whole_from[day_due] = whole
        return max(0.0, (whole * _TICKS_PER_DAY + done_now - done_due) / _TICKS_PER_DAY)

    return late
