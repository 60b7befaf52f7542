"""The overdue list as CSV: streamed, one query for the rows, working days late on the calendar."""

import csv
import io
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import pytest

from dossiers.models import AgencySeason, Dossier, HolidayOverride
from dossiers.selectors import overdue_rows
from dossiers.selectors.indicators import overdue_names
from dossiers.services import calendar_for
from dossiers.sla import VN_TZ, working_days_late
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


# --- the fast export against a slow reference ----------------------------------------


def _reference(dossiers, now) -> bytes:
    """The export as the model objects and the plain clock give it, one dossier at a time."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for d in dossiers:
        writer.writerow([
            d.code, d.procedure.name, d.handling_agency.name, d.get_state_display(),
            d.received_at.astimezone(VN_TZ).isoformat(), d.due_at.astimezone(VN_TZ).isoformat(),
            f"{working_days_late(d.due_at, now, calendar_for(d.handling_agency)):.2f}",
            d.assignee.display_name if d.assignee else "",
            d.current_step.name if d.current_step else "",
        ])
    return out.getvalue().encode()


def _reference_rows(now, agency=None) -> list[Dossier]:
    listed = Dossier.objects.overdue(now=now)
    if agency:
        listed = listed.filter(handling_agency=agency)
    return list(listed.select_related("procedure", "handling_agency", "assignee", "current_step")
                .order_by("due_at", "pk"))


@pytest.fixture
def varied(procedure, applicant, specialist):
    """Overdue and other dossiers at two agencies with different calendars, odd names for the
    CSV (commas, quotes, line breaks), every kind of assignee, due times across holidays,
    weekends, seasons and years, some with microseconds."""
    sct = procedure.agency
    sct.name = 'Sở Công Thương, tỉnh "Quảng Trị"'
    sct.save()
    district = AgencyFactory(code="pkt02", name="Phòng Kinh tế\nhuyện Gio Linh",
                             morning_start=time(7, 0), morning_end=time(11, 0),
                             afternoon_start=time(13, 30), afternoon_end=time(17, 30))
    AgencySeason.objects.create(agency=district, name="Giờ mùa hè", start_day=15, start_month=4,
                                end_day=14, end_month=10, morning_start=time(6, 30),
                                morning_end=time(11, 0), afternoon_start=time(14, 0),
                                afternoon_end=time(17, 30))
    HolidayOverride.objects.create(date=date(2025, 8, 29), kind=HolidayOverride.Kind.DAY_OFF,
                                   reason="Nghỉ bù")
    HolidayOverride.objects.create(date=date(2025, 8, 23), kind=HolidayOverride.Kind.WORKING_DAY,
                                   reason="Làm bù")
    procedures = [
        procedure,
        ProcedureFactory(agency=sct, name='Cấp phép "bán lẻ", rượu'),
        ProcedureFactory(agency=district, name="Đăng ký\r\nkinh doanh"),
    ]
    assignees = [
        specialist,
        UserFactory(full_name="", first_name="Lê", last_name="Văn Tám", kind="staff"),
        UserFactory(full_name="", first_name="", last_name="", username="cv-khong-ten",
                    kind="staff"),
        UserFactory(full_name='Phan "Ba", Thị', kind="staff"),
        None,
    ]
    states = [Dossier.State.PROCESSING, Dossier.State.AWAITING_SUPPLEMENT,
              Dossier.State.PENDING_APPROVAL, Dossier.State.APPROVED]
    dues = [
        vn(2023, 12, 29, 16, 45), vn(2024, 12, 31, 11, 30), vn(2025, 1, 27, 9, 0),
        vn(2025, 4, 29, 15, 0), vn(2025, 6, 30, 13, 15, 0, 250_000), vn(2025, 8, 22, 17, 0),
        vn(2025, 8, 23, 8, 0), vn(2025, 8, 29, 10, 0), vn(2025, 8, 30, 9, 0),
        vn(2025, 9, 1, 12, 0), vn(2025, 9, 2, 23, 59, 59, 999_999), vn(2025, 9, 3, 7, 0),
        vn(2025, 9, 3, 9, 59),
    ]
    odd_codes = {5: "SCT,005", 6: 'T-"6"'}
    for i, due in enumerate(dues * 2):
        p = procedures[i % len(procedures)]
        code = {"code": odd_codes[i]} if i in odd_codes else {}
        assignee = assignees[i % len(assignees)]
        step = p.steps.order_by("order")[i % 4] if i % 3 else None
        DossierFactory(
            overdue=True, procedure=p, applicant=applicant, state=states[i % len(states)],
            received_at=due - timedelta(days=20, microseconds=i * 7), due_at=due,
            due_soon_at=due, assignee=assignee, current_step=step, **code,
        )
    # Not in the list: paused clocks, not due yet, closed or not received.
    DossierFactory(overdue=True, procedure=procedures[0], applicant=applicant,
                   state=Dossier.State.SUSPENDED, due_at=vn(2025, 8, 1, 9), due_soon_at=DUE,
                   paused_at=vn(2025, 8, 2, 9))
    DossierFactory(overdue=True, procedure=procedures[2], applicant=applicant,
                   state=Dossier.State.AWAITING_SUPPLEMENT, due_at=vn(2025, 8, 1, 9),
                   due_soon_at=DUE, paused_at=vn(2025, 8, 2, 9))
    DossierFactory(overdue=True, procedure=procedures[1], applicant=applicant,
                   due_at=vn(2025, 9, 3, 10, 0, 1), due_soon_at=DUE)
    DossierFactory(result_ready=True, procedure=procedures[0], applicant=applicant,
                   due_at=vn(2025, 8, 1, 9), due_soon_at=DUE)
    DossierFactory(submitted=True, procedure=procedures[2], applicant=applicant)
    return sct, district


def test_the_export_is_the_reference_computation_byte_for_byte(
    api_client_for, manager, varied, time_machine
):
    sct, district = varied
    provincial = UserFactory(roles=[Role.MANAGER], kind="staff")
    time_machine.move_to(NOW, tick=False)

    own = _body(api_client_for(manager).get(reverse(URL)))
    everyone = _body(api_client_for(provincial).get(reverse(URL)))
    filtered = _body(api_client_for(provincial).get(reverse(URL), {"agency": "pkt02"}))

    assert own == _reference(_reference_rows(NOW, sct), NOW)
    assert everyone == _reference(_reference_rows(NOW), NOW)
    assert filtered == _reference(_reference_rows(NOW, district), NOW)
    # The list is what the dossiers make it: both agencies, quoted cells, every kind of row.
    assert len(_reference_rows(NOW, sct)) == 18
    assert len(_reference_rows(NOW, district)) == 8
    rows = list(csv.reader(io.StringIO(everyone.decode("utf-8-sig"))))[1:]
    assert {r[2] for r in rows} == {sct.name, district.name}
    assert {"SCT,005", 'T-"6"'} <= {r[0] for r in rows}
    assert {r[7] for r in rows} >= {"Lê Văn Tám", "cv-khong-ten", 'Phan "Ba", Thị', ""}


def test_the_queries_do_not_grow_with_the_names(
    api_client_for, manager, procedure, applicant, time_machine
):
    client = api_client_for(manager)
    time_machine.move_to(NOW, tick=False)
    client.get(reverse(URL))  # the session's first request reads a little more
    counts = {}
    for total in (3, 30):
        while Dossier.objects.count() < total:
            p = ProcedureFactory(agency=procedure.agency)
            officer = UserFactory(kind="staff", full_name=f"Chuyên viên {p.pk}")
            _overdue(p, applicant, assignee=officer,
                     current_step=p.steps.order_by("order").last())
        with CaptureQueriesContext(connection) as queries:
            rows = _rows(client.get(reverse(URL)))
        assert len(rows) == total + 1
        assert len({r[1] for r in rows[1:]}) == len({r[7] for r in rows[1:]}) == total
        counts[total] = len(queries)

    assert counts[3] == counts[30]


def test_a_name_changed_after_the_names_were_read_is_still_written(
    manager, procedure, applicant, specialist, django_assert_num_queries
):
    step = procedure.steps.order_by("order").first()
    dossier = _overdue(procedure, applicant, assignee=specialist, current_step=step)
    rows = overdue_rows(user=manager, now=NOW)
    names = overdue_names(rows=rows)
    newcomer = UserFactory(kind="staff", full_name="Hoàng Văn Mới")
    other = ProcedureFactory(agency=procedure.agency)
    Dossier.objects.filter(pk=dossier.pk).update(
        assignee=newcomer, procedure=other, current_step=other.steps.order_by("order").last()
    )

    [(_code, procedure_id, _agency, _state, _received, _due, assignee_id, step_id)] = rows
    with django_assert_num_queries(3):
        assert names["assignees"][assignee_id] == "Hoàng Văn Mới"
        assert names["procedures"][procedure_id] == other.name
        assert names["steps"][step_id] == "Trả kết quả"
    assert names["assignees"][specialist.pk] == specialist.display_name


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_the_rows_are_read_in_order_from_the_overdue_index(manager, procedure, applicant):
    _overdue(procedure, applicant)
    sql, params = overdue_rows(user=manager, now=NOW).query.sql_with_params()
    with connection.cursor() as cursor:
        # Any other way to the rows is refused: the plan says whether the index fits the
        # query (its condition implied, its order the list's), whatever the costs.
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Index Only Scan using dossier_overdue_idx" in plan
    assert "Sort" not in plan
