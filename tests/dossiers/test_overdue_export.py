"""The overdue list as CSV: streamed, one query for the rows, working days late on the calendar."""

import csv
import io
from datetime import date, datetime

from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import pytest

from dossiers.models import Dossier, HolidayOverride
from dossiers.services import calendar_for
from dossiers.sla import VN_TZ
from portal.roles import Role

from .factories import AgencyFactory, DossierFactory, ProcedureFactory, UserFactory

URL = "api:dossiers:overdue_csv"
HEADER = ["Mã hồ sơ", "Thủ tục", "Cơ quan", "Trạng thái", "Ngày tiếp nhận", "Ngày hẹn trả",
          "Số ngày làm việc quá hạn", "Người xử lý", "Bước xử lý"]


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


# Due on Friday 29/08/2025 at 10:00; read on Wednesday 03/09/2025 at 10:00. Monday 01/09 and
# Tuesday 02/09 are the National Day holidays: one working day late (three without them).
DUE = vn(2025, 8, 29, 10, 0)
NOW = vn(2025, 9, 3, 10, 0)


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(_body(response).decode("utf-8-sig"))))


@pytest.fixture
def procedure(agency):
    return ProcedureFactory(agency=agency)


def _overdue(procedure, applicant, *, due=DUE, **kwargs) -> Dossier:
    return DossierFactory(
        overdue=True, procedure=procedure, applicant=applicant, received_at=vn(2025, 8, 20, 9),
        due_at=due, due_soon_at=due, **kwargs,
    )


def test_the_export_streams_the_overdue_rows_with_days_late_across_a_holiday(
    api_client_for, manager, procedure, applicant, specialist, time_machine
):
    assert not calendar_for(procedure.agency).is_working_day(date(2025, 9, 1))
    step = procedure.steps.order_by("order").first()
    late = _overdue(procedure, applicant, assignee=specialist, current_step=step)
    unassigned = _overdue(procedure, applicant, due=vn(2025, 9, 3, 8, 0),
                          state=Dossier.State.PENDING_APPROVAL)
    _overdue(procedure, applicant, due=vn(2025, 9, 4, 8, 0))  # not due yet
    _overdue(procedure, applicant, paused_at=vn(2025, 9, 2, 8, 0),
             state=Dossier.State.SUSPENDED)  # the clock stands still: not overdue
    time_machine.move_to(NOW, tick=False)

    response = api_client_for(manager).get(reverse(URL))

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="ho-so-qua-han.csv"'
    body = _body(response)
    assert body.startswith("\ufeff".encode())  # spreadsheet programs read it as UTF-8
    assert csv.reader(io.StringIO(body.decode("utf-8-sig"))).__next__() == HEADER
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))[1:]
    assert rows == [
        [late.code, procedure.name, procedure.agency.name, "Đang xử lý",
         "2025-08-20T09:00:00+07:00", "2025-08-29T10:00:00+07:00", "1.00",
         specialist.display_name, step.name],
        # From 08:00 to 10:00: two of the day's eight working hours.
        [unassigned.code, procedure.name, procedure.agency.name, "Chờ phê duyệt",
         "2025-08-20T09:00:00+07:00", "2025-09-03T08:00:00+07:00", "0.25", "", ""],
    ]


def test_an_administrators_day_off_counts_in_the_days_late(
    api_client_for, manager, procedure, applicant, time_machine
):
    _overdue(procedure, applicant)
    HolidayOverride.objects.create(date=date(2025, 8, 29), kind=HolidayOverride.Kind.DAY_OFF,
                                   reason="Nghỉ bù")
    time_machine.move_to(NOW, tick=False)

    rows = _rows(api_client_for(manager).get(reverse(URL)))

    # Friday off too: from the start of Wednesday's session to 10:00, 2.5 of 8 hours.
    assert [r[6] for r in rows[1:]] == ["0.31"]


def test_the_export_keeps_to_the_managers_agency(
    api_client_for, manager, procedure, applicant, time_machine
):
    mine = _overdue(procedure, applicant)
    elsewhere = AgencyFactory(code="pkt01", name="Phòng Kinh tế Đông Hà")
    theirs = _overdue(ProcedureFactory(agency=elsewhere), applicant)
    provincial = UserFactory(roles=[Role.MANAGER], kind="staff")
    time_machine.move_to(NOW, tick=False)

    own = _rows(api_client_for(manager).get(reverse(URL)))
    everyone = _rows(api_client_for(provincial).get(reverse(URL)))
    filtered = _rows(api_client_for(provincial).get(reverse(URL), {"agency": "pkt01"}))
    refused = api_client_for(manager).get(reverse(URL), {"agency": "pkt01"})

    assert [r[0] for r in own[1:]] == [mine.code]
    assert sorted(r[0] for r in everyone[1:]) == sorted([mine.code, theirs.code])
    assert [(r[0], r[2]) for r in filtered[1:]] == [(theirs.code, "Phòng Kinh tế Đông Hà")]
    assert refused.status_code == 404
    assert refused.json()["code"] == "dossier_not_found"


def test_a_malformed_agency_filter_is_bad_input(api_client_for, manager):
    response = api_client_for(manager).get(reverse(URL), {"agency": "SCT\x00"})

    assert response.status_code == 400


def test_the_queries_do_not_grow_with_the_rows(
    api_client_for, manager, procedure, applicant, specialist, time_machine
):
    step = procedure.steps.order_by("order").first()
    client = api_client_for(manager)
    time_machine.move_to(NOW, tick=False)
    client.get(reverse(URL))  # the session's first request reads a little more
    counts = {}
    for total in (10, 100):
        while Dossier.objects.count() < total:
            _overdue(procedure, applicant, assignee=specialist, current_step=step)
        with CaptureQueriesContext(connection) as queries:
            rows = _rows(client.get(reverse(URL)))
        assert len(rows) == total + 1
        counts[total] = len(queries)

    assert counts[10] == counts[100]
