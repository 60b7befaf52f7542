"""The working calendar of an agency: its sessions, seasons and the administrators' overrides."""

from .. import sla
from ..models import Agency, HolidayOverride


def calendar_for(agency: Agency) -> sla.WorkingCalendar:
    """The agency's working calendar: default and seasonal sessions, with the overrides."""
    off, extra = [], []
    for day, kind in HolidayOverride.objects.values_list("date", "kind"):
        (off if kind == HolidayOverride.Kind.DAY_OFF else extra).append(day)
    return sla.WorkingCalendar(
        sessions=agency.sessions,
        seasons=[season.as_season() for season in agency.seasons.all()],
        extra_days_off=off,
        extra_working_days=extra,
    )
