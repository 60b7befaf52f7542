"""An agency's calendar from the database: default and seasonal sessions, overrides, admin."""

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.urls import reverse

import pytest

from dossiers import sla
from dossiers.models import HolidayOverride
from dossiers.models.catalog import AgencySeason
from dossiers.services import calendar_for
from dossiers.sla import VN_TZ

pytestmark = pytest.mark.django_db

SUMMER = {
    "name": "Giờ làm việc mùa hè", "start_day": 1, "start_month": 5, "end_day": 30,
    "end_month": 9, "morning_start": time(7, 0), "morning_end": time(11, 30),
    "afternoon_start": time(13, 30), "afternoon_end": time(17, 0),
}


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def test_the_agencys_seasonal_sessions_reach_its_calendar(agency):
    agency.afternoon_end = time(16, 30)
    agency.save()
    AgencySeason.objects.create(agency=agency, **SUMMER)
    HolidayOverride.objects.create(date=date(2025, 10, 2), kind="day_off", reason="Bão")

    cal = calendar_for(agency)

    summer = (sla.Session(time(7, 0), time(11, 30)), sla.Session(time(13, 30), time(17, 0)))
    assert cal.sessions_on(date(2025, 7, 1)) == summer
    assert cal.sessions_on(date(2025, 10, 1)) == agency.sessions
    assert sla.due_at(vn(2025, 9, 30, 7, 0), 1, cal) == vn(2025, 9, 30, 17, 0)
    # At 10:00 two thirds of the summer morning are done; then the winter day of 01/10, a
    # storm day off on 02/10, and two thirds of the winter morning of 03/10: 10:10, rounded.
    assert sla.due_at(vn(2025, 9, 30, 10, 0), 2, cal) == vn(2025, 10, 3, 10, 15)
    assert sla.due_at(vn(2025, 10, 1, 7, 30), 1, cal) == vn(2025, 10, 1, 16, 30)


@pytest.mark.parametrize(("day", "month"), [(31, 4), (30, 2), (32, 1), (0, 5)])
def test_a_season_bound_that_is_not_a_day_is_refused(agency, day, month):
    season = AgencySeason(agency=agency, **{**SUMMER, "end_day": day, "end_month": month})
    with pytest.raises(ValidationError) as error:
        season.full_clean()
    assert "end_day" in error.value.message_dict


def test_a_season_whose_sessions_are_out_of_order_is_refused(agency):
    season = AgencySeason(agency=agency, **{**SUMMER, "morning_end": time(14, 0)})
    with pytest.raises(ValidationError):
        season.full_clean()


def _change_form(agency, seasons: list[dict]) -> dict:
    data = {
        "code": agency.code, "name": agency.name, "parent": "",
        "morning_start": "07:30", "morning_end": "11:30", "afternoon_start": "13:00",
        "afternoon_end": "17:00", "dossier_code_pattern": agency.dossier_code_pattern,
        "outcome_rule": agency.outcome_rule, "national_code": agency.national_code,
        "seasons-TOTAL_FORMS": str(len(seasons)), "seasons-INITIAL_FORMS": "0",
        "seasons-MIN_NUM_FORMS": "0", "seasons-MAX_NUM_FORMS": "1000",
        "units-TOTAL_FORMS": "0", "units-INITIAL_FORMS": "0",
    }
    for i, season in enumerate(seasons):
        data.update({f"seasons-{i}-{key}": value for key, value in season.items()})
        data[f"seasons-{i}-agency"] = str(agency.pk)
    return data


def _row(name, start, end, morning=("07:00", "11:30"), afternoon=("13:30", "17:00")) -> dict:
    return {
        "name": name, "start_day": start[0], "start_month": start[1], "end_day": end[0],
        "end_month": end[1], "morning_start": morning[0], "morning_end": morning[1],
        "afternoon_start": afternoon[0], "afternoon_end": afternoon[1],
    }


def test_the_admin_saves_seasons_inline_with_the_agency(admin_client, agency):
    url = reverse("admin:dossiers_agency_change", args=[agency.pk])
    rows = [_row("Mùa hè", (1, 5), (30, 9)),
            _row("Mùa đông", (1, 10), (30, 4), ("07:30", "11:30"), ("13:00", "16:30"))]

    response = admin_client.post(url, _change_form(agency, rows))

    assert response.status_code == 302
    assert sorted(agency.seasons.values_list("name", flat=True)) == ["Mùa hè", "Mùa đông"]
    assert calendar_for(agency).sessions_on(date(2026, 1, 5))[1].end == time(16, 30)


def test_the_admin_refuses_two_seasons_in_force_on_a_same_day(admin_client, agency):
    url = reverse("admin:dossiers_agency_change", args=[agency.pk])
    rows = [_row("Mùa hè", (1, 5), (30, 9)), _row("Mùa đông", (30, 9), (30, 4))]

    response = admin_client.post(url, _change_form(agency, rows))

    assert response.status_code == 200
    assert "trùng ngày hiệu lực" in response.content.decode()
    assert not agency.seasons.exists()


@pytest.mark.django_db
def test_an_unchanged_calendar_is_reused_and_an_override_gives_a_new_one():
    from dossiers.models import Agency

    agency = Agency.objects.create(code="lich-chung", name="Sở thử lịch")
    first = calendar_for(agency)
    assert calendar_for(agency) is first
    HolidayOverride.objects.create(date=date(2031, 3, 4), kind=HolidayOverride.Kind.DAY_OFF,
                                   reason="Nghỉ bù")
    changed = calendar_for(agency)
    assert changed is not first
    assert not changed.is_working_day(date(2031, 3, 4))
    assert first.is_working_day(date(2031, 3, 4))
