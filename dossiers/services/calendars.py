"""The working calendar of an agency: its sessions, seasons and the administrators' overrides."""

from functools import lru_cache

from portal.prepared import Prepared

from .. import sla
from ..models import Agency, AgencySeason, HolidayOverride

# Compiled once per process: every move that ends a step reads the calendar this way.
_OVERRIDES = Prepared(lambda *, shape: HolidayOverride.objects.only("date", "kind").order_by())
_SEASONS = Prepared(
    lambda *, shape, agency_id: AgencySeason.objects.filter(agency_id=agency_id).order_by(
        "start_month", "start_day", "pk"),
    agency_id=int)


@lru_cache(maxsize=64)
def _calendar(sessions, seasons, days_off, working_days) -> sla.WorkingCalendar:
    # Shared by every request of the process: a calendar is immutable once built, and the
    # working days it lays out year by year are then laid out once, not on each request.
    return sla.WorkingCalendar(
        sessions=sessions, seasons=seasons, extra_days_off=days_off,
        extra_working_days=working_days,
    )


def _overrides() -> tuple[frozenset, frozenset]:
    off, extra = [], []
    for row in _OVERRIDES.rows():
        day, kind = row.date, row.kind
        (off if kind == HolidayOverride.Kind.DAY_OFF else extra).append(day)
    return frozenset(off), frozenset(extra)


def _agency_calendar(agency: Agency, seasons, overrides: tuple[frozenset, frozenset]
                     ) -> sla.WorkingCalendar:
    return _calendar(tuple(agency.sessions), tuple(season.as_season() for season in seasons),
                     *overrides)


def calendar_for(agency: Agency) -> sla.WorkingCalendar:
    """The agency's working calendar: default and seasonal sessions, with the overrides.

    Read afresh from the database each time; an identical calendar already built is reused,
    and any change to the sessions, seasons or overrides gives a new one."""
    return _agency_calendar(agency, _SEASONS.rows(agency_id=agency.pk), _overrides())


def calendars_by_agency(*, agency_code: str | None = None) -> dict[int, sla.WorkingCalendar]:
    """The working calendar of every agency (or of the one with `agency_code`) by agency id,
    in three queries whatever the number of agencies."""
    overrides = _overrides()
    agencies = Agency.objects.prefetch_related("seasons")
    if agency_code:
        agencies = agencies.filter(code=agency_code)
    return {agency.pk: _agency_calendar(agency, agency.seasons.all(), overrides)
            for agency in agencies}
