"""Service indicators: the daily summary kept by the workflow, the endpoint and the CSV exports."""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import pytest
from rest_framework.exceptions import PermissionDenied

from dossiers.exceptions import DossierNotFound, InvalidFormData
from dossiers.models import DailySummary, Dossier
from dossiers.services import (
    document_upload,
    dossier_accept,
    dossier_approve,
    dossier_claim,
    dossier_issue_result,
    dossier_propose,
    dossier_refuse,
    dossier_refuse_at_reception,
    dossier_suspend,
    dossier_withdraw,
    payment_confirm,
    payment_record_at_counter,
    payment_start,
    rating_create,
    summary_add,
)
from dossiers.sla import VN_TZ
from portal.roles import Role

from .factories import AgencyFactory, DossierFactory, ProcedureFactory, UserFactory

INDICATORS = "api:dossiers:indicators"


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


# A five-working-day procedure accepted on Monday 03/03/2025 at 08:00 is due on Monday
# 10/03/2025 at 08:00; that session starts at 07:30, so "early" means before 10/03 07:30.
MONDAY = vn(2025, 3, 3, 8, 0)
DUE = vn(2025, 3, 10, 8, 0)
REPORT_AT = vn(2025, 3, 12, 10, 0)


@dataclass
class Flow:
    """Moves dossiers through the real services, each step at its own frozen instant."""

    frozen: object
    applicant: object
    reception: object
    specialist: object
    leader: object
    procedure: object

    def submitted(self, **kwargs) -> Dossier:
        kwargs.setdefault("procedure", self.procedure)
        kwargs.setdefault("applicant", self.applicant)
        return DossierFactory(submitted=True, **kwargs)

    def accept(self, at: datetime, *, reception=None, **kwargs) -> Dossier:
        dossier = self.submitted(**kwargs)
        with self.frozen(at):
            return dossier_accept(dossier_id=dossier.pk, actor=reception or self.reception)

    def propose(self, dossier: Dossier, at: datetime) -> None:
        with self.frozen(at):
            dossier_propose(dossier_id=dossier.pk, actor=self.specialist)

    def issue(self, dossier: Dossier, at: datetime, *, electronic: bool = True) -> Dossier:
        self.propose(dossier, at)
        with self.frozen(at):
            dossier_approve(dossier_id=dossier.pk, actor=self.leader)
            return dossier_issue_result(
                dossier_id=dossier.pk, actor=self.leader, electronic=electronic
            )

    def refuse(self, dossier: Dossier, at: datetime) -> Dossier:
        self.propose(dossier, at)
        with self.frozen(at):
            return dossier_refuse(
                dossier_id=dossier.pk, actor=self.leader, reason="Không đủ điều kiện."
            )

    def withdraw(self, dossier: Dossier, at: datetime) -> Dossier:
        with self.frozen(at):
            return dossier_withdraw(
                dossier_id=dossier.pk, actor=self.applicant, reason="Đổi kế hoạch."
            )

    def rate(self, dossier: Dossier, score: int) -> None:
        rating_create(dossier_id=dossier.pk, actor=self.applicant, score=score)


@pytest.fixture
def procedure(agency):
    return ProcedureFactory(agency=agency)


@pytest.fixture
def flow(frozen, applicant, reception, specialist, leader, procedure):
    return Flow(frozen, applicant, reception, specialist, leader, procedure)


@pytest.fixture
def other_agency(db):
    return AgencyFactory(code="tthcc", name="Trung tâm Phục vụ hành chính công")


@pytest.fixture
def foreign_manager(other_agency):
    return UserFactory(roles=[Role.MANAGER], kind="staff", agency_code=other_agency.code)


@pytest.fixture
def march(flow, frozen, reception, specialist):
    """Eight dossiers received in March 2025, ending in every way a dossier can end."""
    d = {name: flow.accept(MONDAY) for name in ("early", "on_time", "late", "refused",
                                                  "withdrawn", "overdue", "paused")}
    assert d["early"].due_at == DUE
    d["early"] = flow.issue(d["early"], vn(2025, 3, 5, 10, 0))
    d["on_time"] = flow.issue(d["on_time"], vn(2025, 3, 10, 7, 45), electronic=False)
    d["late"] = flow.issue(d["late"], vn(2025, 3, 11, 9, 0))
    d["refused"] = flow.refuse(d["refused"], vn(2025, 3, 6, 9, 0))
    d["withdrawn"] = flow.withdraw(d["withdrawn"], vn(2025, 3, 4, 9, 0))
    with frozen(vn(2025, 3, 5, 9, 0)):
        d["paused"] = dossier_suspend(
            dossier_id=d["paused"].pk, actor=specialist, reason="Chờ ý kiến phối hợp."
        )
        dossier_claim(dossier_id=d["overdue"].pk, actor=specialist)
    d["within_time"] = flow.accept(vn(2025, 3, 11, 8, 0))
    rejected = flow.submitted()
    with frozen(vn(2025, 3, 3, 9, 0)):
        d["rejected"] = dossier_refuse_at_reception(
            dossier_id=rejected.pk, actor=reception, reason="Không thuộc thẩm quyền."
        )
    flow.rate(d["early"], 5)
    flow.rate(d["late"], 2)
    return d


def _get(client, name=INDICATORS, **params):
    return client.get(reverse(name), params)


def _body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(_body(response).decode("utf-8-sig"))))


def _error(code: str, message, extra: dict | None = None) -> dict:
    return {"code": code, "message": str(message), "extra": extra or {}}


# --- the daily summary ---------------------------------------------------------------


def test_the_walked_dossiers_end_with_the_expected_outcomes(march):
    assert {k: (d.state, d.outcome) for k, d in march.items()} == {
        "early": (Dossier.State.RESULT_READY, Dossier.Outcome.EARLY),
        "on_time": (Dossier.State.RESULT_READY, Dossier.Outcome.ON_TIME),
        "late": (Dossier.State.RESULT_READY, Dossier.Outcome.LATE),
        "refused": (Dossier.State.REFUSED, Dossier.Outcome.EARLY),
        "withdrawn": (Dossier.State.WITHDRAWN, ""),
        "overdue": (Dossier.State.PROCESSING, ""),
        "paused": (Dossier.State.SUSPENDED, ""),
        "within_time": (Dossier.State.PROCESSING, ""),
        "rejected": (Dossier.State.REJECTED, ""),
    }


def test_each_change_adds_to_the_summary_row_of_its_day(march, procedure):
    rows = {
        row["day"]: {c: row[c] for c in DailySummary.COUNTERS if row[c]}
        for row in DailySummary.objects.filter(procedure=procedure).values()
    }

    assert rows == {
        date(2025, 3, 3): {"received": 7, "rejected": 1},
        date(2025, 3, 4): {"withdrawn": 1},
        date(2025, 3, 5): {"completed": 1, "early": 1, "results_electronic": 1, "rated": 1,
                           "rating_sum": 5, "satisfied": 1},
        date(2025, 3, 6): {"completed": 1, "early": 1, "refused": 1, "results_electronic": 1},
        date(2025, 3, 10): {"completed": 1, "on_time": 1},
        date(2025, 3, 11): {"received": 1, "completed": 1, "late": 1, "results_electronic": 1,
                            "rated": 1, "rating_sum": 2},
    }
    assert set(
        DailySummary.objects.filter(procedure=procedure).values_list("channel", flat=True)
    ) == {Dossier.Channel.ONLINE}


def test_the_summary_day_is_the_vietnam_day_not_the_utc_day(flow, procedure):
    # 06:30 on 04/03 in Hanoi is still 03/03 in UTC.
    flow.accept(vn(2025, 3, 4, 6, 30))

    assert list(DailySummary.objects.filter(procedure=procedure).values_list("day", "received")) \
        == [(date(2025, 3, 4), 1)]


def test_summary_add_refuses_an_unknown_counter(march):
    with pytest.raises(ValueError, match="unknown counters"):
        summary_add(dossier=march["early"], at=MONDAY, received=1, shipped=1)


# --- the endpoint --------------------------------------------------------------------


def test_indicators_report_the_figures_of_the_walked_dossiers(
    march, api_client_for, manager, frozen
):
    with frozen(REPORT_AT):
        response = _get(api_client_for(manager))

    assert response.status_code == 200
    assert response.json() == {
        "received": 8, "completed": 4, "early": 2, "on_time": 1, "late": 1, "refused": 1,
        "rejected": 1, "withdrawn": 1, "fee_bearing": 0, "paid_online": 0, "digitized": 0,
        "results_electronic": 3, "rated": 2, "rating_sum": 7, "satisfied": 1,
        "on_time_rate": 0.75, "online_payment_rate": None, "digitization_rate": 0.0,
        "electronic_result_rate": 0.75, "average_rating": 3.5, "satisfied_rate": 0.5,
        # In progress: the overdue one, the suspended one (a paused clock is neither overdue
        # nor within time: the national index keeps it in its own bucket) and the one
        # received on 11/03, due 18/03.
        "in_progress": 3, "paused": 1, "overdue": 1, "within_time": 1,
    }


def test_an_open_dossier_becomes_overdue_once_its_due_time_has_passed(
    march, api_client_for, manager, frozen
):
    client = api_client_for(manager)
    with frozen(vn(2025, 3, 10, 7, 59)):
        before = _get(client).json()
    with frozen(vn(2025, 3, 10, 8, 1)):
        after = _get(client).json()

    assert (before["overdue"], before["within_time"], before["paused"]) == (0, 2, 1)
    assert (after["overdue"], after["within_time"], after["paused"]) == (1, 1, 1)


def test_leader_may_read_the_indicators_of_the_agency(march, api_client_for, leader, frozen):
    with frozen(REPORT_AT):
        response = _get(api_client_for(leader))

    assert response.status_code == 200
    assert response.json()["received"] == 8


def test_indicators_count_fees_paid_online_and_documents_digitized_at_reception(
    flow, frozen, agency, applicant, reception, api_client_for, manager
):
    paid_first = ProcedureFactory(agency=agency, fee_at_submission=True)
    online = flow.submitted(procedure=paid_first)
    at_counter = flow.submitted(procedure=paid_first, channel=Dossier.Channel.COUNTER)
    with frozen(MONDAY):
        payment = payment_start(dossier_id=online.pk, actor=applicant)
        payment_confirm(provider=payment.provider, provider_reference=payment.provider_reference,
                        amount=payment.amount, confirmed_by="provider:fake")
        payment_record_at_counter(dossier_id=at_counter.pk, actor=reception, channel="cash")
        document_upload(dossier_id=at_counter.pk, actor=reception, component_code="don_de_nghi",
                        uploaded_file=_pdf(), digitized=True)
        for dossier in (online, at_counter):
            dossier_accept(dossier_id=dossier.pk, actor=reception)
    flow.accept(MONDAY)  # a free procedure: no fee to pay

    with frozen(REPORT_AT):
        body = _get(api_client_for(manager)).json()

    assert (body["received"], body["fee_bearing"], body["paid_online"]) == (3, 2, 1)
    assert body["online_payment_rate"] == 0.5
    assert (body["digitized"], body["digitization_rate"]) == (1, 0.3333)


def test_a_fee_paid_online_after_acceptance_counts_as_paid_online(
    flow, frozen, agency, applicant, api_client_for, manager
):
    paid_later = ProcedureFactory(agency=agency, fee_before_result=True)
    dossier = flow.issue(flow.accept(MONDAY, procedure=paid_later), vn(2025, 3, 5, 10, 0))
    with frozen(vn(2025, 3, 6, 9, 0)):
        payment = payment_start(dossier_id=dossier.pk, actor=applicant)
        payment_confirm(provider=payment.provider, provider_reference=payment.provider_reference,
                        amount=payment.amount, confirmed_by="provider:fake")

    with frozen(REPORT_AT):
        body = _get(api_client_for(manager)).json()

    assert (body["fee_bearing"], body["paid_online"], body["online_payment_rate"]) == (1, 1, 1.0)


def _pdf():
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.conftest import PDF_BYTES

    return SimpleUploadedFile("so-hoa.pdf", PDF_BYTES, content_type="application/pdf")


# --- filters -------------------------------------------------------------------------


def test_indicators_filter_by_date_range(march, api_client_for, manager, frozen):
    with frozen(REPORT_AT):
        response = _get(api_client_for(manager), date_from="2025-03-05", date_to="2025-03-10")

    body = response.json()
    assert response.status_code == 200
    assert (body["received"], body["completed"], body["early"], body["on_time"], body["late"]) \
        == (0, 3, 2, 1, 0)
    assert body["on_time_rate"] == 1.0
    # Still open now, and received by the end of the period: not the one received on 11/03.
    assert (body["in_progress"], body["paused"], body["overdue"]) == (2, 1, 1)


def test_indicators_date_to_alone_counts_up_to_that_day(march, api_client_for, manager, frozen):
    with frozen(REPORT_AT):
        body = _get(api_client_for(manager), date_to="2025-03-03").json()

    assert (body["received"], body["rejected"], body["completed"]) == (7, 1, 0)
    assert body["on_time_rate"] is None


def test_indicators_filter_by_procedure(march, flow, agency, api_client_for, manager, frozen):
    other = ProcedureFactory(agency=agency)
    flow.accept(MONDAY, procedure=other)
    client = api_client_for(manager)

    with frozen(REPORT_AT):
        mine = _get(client, procedure=flow.procedure.pk).json()
        theirs = _get(client, procedure=other.pk).json()

    assert (mine["received"], mine["in_progress"]) == (8, 3)
    assert (theirs["received"], theirs["in_progress"], theirs["overdue"]) == (1, 1, 1)


@pytest.fixture
def two_agencies(flow, other_agency):
    """One dossier received at each agency, the other one's by its own reception."""
    foreign_reception = UserFactory(
        roles=[Role.RECEPTION], kind="staff", agency_code=other_agency.code
    )
    flow.accept(MONDAY)
    flow.accept(MONDAY, reception=foreign_reception,
                procedure=ProcedureFactory(agency=other_agency))


def test_indicators_filter_by_agency_for_a_province_wide_reader(
    two_agencies, api_client_for, agency, other_agency
):
    provincial = UserFactory(roles=[Role.MANAGER], kind="staff", agency_code="")
    client = api_client_for(provincial)

    everything = _get(client).json()
    ours = _get(client, agency=agency.code).json()
    theirs = _get(client, agency=other_agency.code).json()

    assert (everything["received"], ours["received"], theirs["received"]) == (2, 1, 1)
    assert (everything["in_progress"], ours["in_progress"], theirs["in_progress"]) == (2, 1, 1)


def test_a_manager_sees_only_the_own_agency(two_agencies, api_client_for, manager, agency):
    client = api_client_for(manager)

    assert _get(client).json()["received"] == 1
    assert _get(client, agency=agency.code).json()["received"] == 1


def test_manager_of_another_agency_asking_for_this_agency_gets_404(
    two_agencies, api_client_for, foreign_manager, agency
):
    response = _get(api_client_for(foreign_manager), agency=agency.code)

    assert response.status_code == 404
    assert response.json() == _error(
        "dossier_not_found", "Không có quyền xem số liệu của cơ quan này."
    )


@pytest.mark.parametrize("persona", ["applicant", "reception", "specialist"])
def test_only_supervisors_may_read_the_indicators(api_client_for, request, persona):
    user = request.getfixturevalue(persona)

    response = _get(api_client_for(user))

    assert response.status_code == 403
    assert response.json() == _error("permission_denied", PermissionDenied.default_detail)


def test_date_from_after_date_to_is_a_400(api_client_for, manager):
    response = _get(api_client_for(manager), date_from="2025-03-10", date_to="2025-03-01")

    assert response.status_code == 400
    assert response.json() == _error(
        "validation_error", "Dữ liệu không hợp lệ.",
        {"fields": {"date_to": ["must not be before date_from"]}},
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [({"group_by": "weekday"}, "group_by"), ({"date_from": "03/03/2025"}, "date_from"),
     ({"procedure": "xăng dầu"}, "procedure")],
)
def test_a_malformed_indicator_filter_is_a_400(api_client_for, manager, params, field):
    response = _get(api_client_for(manager), **params)

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["extra"]["fields"]) == [field]


@pytest.mark.parametrize("params", [
    {"date_to": "9999-12-31"}, {"date_from": "9999-12-01", "date_to": "9999-12-31"},
    {"date_from": "0001-01-01"}, {"date_from": "1999-12-31", "date_to": "2025-03-01"},
])
def test_a_day_outside_the_reports_calendar_is_a_400_not_an_overflow(
    api_client_for, manager, params
):
    response = _get(api_client_for(manager), **params)

    assert response.status_code == 400
    fields = response.json()["extra"]["fields"]
    assert {name: fields[name] for name in fields} == {
        name: ["must be between 2000-01-01 and 2099-12-31"] for name in fields}
    assert set(fields) <= {"date_from", "date_to"} and fields


def test_the_reports_calendar_ends_are_accepted(api_client_for, manager):
    response = _get(api_client_for(manager), date_from="2000-01-01", date_to="2099-12-31")

    assert response.status_code == 200


# --- groups --------------------------------------------------------------------------


def test_indicators_group_by_procedure(march, flow, agency, api_client_for, manager, frozen):
    other = ProcedureFactory(agency=agency)
    second = flow.issue(flow.accept(MONDAY, procedure=other), vn(2025, 3, 11, 9, 0))
    assert second.outcome == Dossier.Outcome.LATE

    with frozen(REPORT_AT):
        body = _get(api_client_for(manager), group_by="procedure").json()

    groups = {g["key"]: g for g in body["groups"]}
    assert set(groups) == {flow.procedure.pk, other.pk}
    mine, theirs = groups[flow.procedure.pk], groups[other.pk]
    assert (mine["received"], mine["completed"], mine["on_time_rate"]) == (8, 4, 0.75)
    assert (mine["in_progress"], mine["overdue"], mine["within_time"]) == (3, 1, 1)
    assert (theirs["received"], theirs["completed"], theirs["late"]) == (1, 1, 1)
    assert (theirs["on_time_rate"], theirs["in_progress"]) == (0.0, 0)
    for figure in ("received", "completed", "early", "on_time", "late", "in_progress"):
        assert body[figure] == mine[figure] + theirs[figure], figure


def test_indicators_group_by_channel(flow, api_client_for, manager, frozen):
    flow.accept(MONDAY, channel=Dossier.Channel.ONLINE)
    flow.accept(MONDAY, channel=Dossier.Channel.ONLINE)
    counter = flow.accept(MONDAY, channel=Dossier.Channel.COUNTER)
    flow.issue(counter, vn(2025, 3, 4, 9, 0))

    with frozen(REPORT_AT):
        body = _get(api_client_for(manager), group_by="channel").json()

    figures = {g["key"]: (g["received"], g["completed"], g["in_progress"]) for g in body["groups"]}
    assert figures == {"counter": (1, 1, 0), "online": (2, 0, 2)}


def test_indicators_group_by_agency_are_keyed_and_ordered_by_code(
    two_agencies, flow, agency, other_agency, api_client_for, frozen
):
    # Made last, named first: the groups follow the codes, not the order the agencies were made.
    first = AgencyFactory(code="an-giang", name="Sở Công Thương tỉnh An Giang")
    done = flow.accept(MONDAY, procedure=ProcedureFactory(agency=first), reception=UserFactory(
        roles=[Role.RECEPTION], kind="staff", agency_code=first.code))
    assert first.pk > other_agency.pk > agency.pk
    provincial = UserFactory(roles=[Role.MANAGER], kind="staff", agency_code="")
    client = api_client_for(provincial)

    with frozen(REPORT_AT):
        body = _get(client, group_by="agency").json()
        later = _get(client, group_by="agency", date_from="2025-03-05").json()

    assert [(g["key"], g["received"], g["in_progress"]) for g in body["groups"]] == [
        ("an-giang", 1, 1), ("sct", 1, 1), ("tthcc", 1, 1)]
    assert done.handling_agency_id == first.pk
    # Received before the period, still open: each agency's group comes from its open
    # dossiers alone, under its code, in the same order.
    assert [(g["key"], g["received"], g["in_progress"]) for g in later["groups"]] == [
        ("an-giang", 0, 1), ("sct", 0, 1), ("tthcc", 0, 1)]
    assert later["in_progress"] == 3


def test_indicators_group_by_month(flow, api_client_for, manager, frozen):
    flow.issue(flow.accept(MONDAY), vn(2025, 3, 5, 10, 0))
    flow.accept(vn(2025, 4, 14, 8, 0))
    flow.accept(vn(2025, 4, 15, 8, 0))

    with frozen(vn(2025, 4, 16, 9, 0)):
        body = _get(api_client_for(manager), group_by="month").json()

    assert [(g["key"], g["received"], g["completed"], g["early"]) for g in body["groups"]] == [
        ("2025-03", 1, 1, 1), ("2025-04", 2, 0, 0),
    ]
    assert body["received"] == 3


def test_groups_add_up_to_the_total_when_the_period_starts_after_acceptance(
    flow, agency, api_client_for, manager, frozen
):
    flow.issue(flow.accept(MONDAY), vn(2025, 3, 5, 10, 0))
    quiet = ProcedureFactory(agency=agency)
    flow.accept(MONDAY, procedure=quiet)  # still open, nothing happened to it since

    with frozen(REPORT_AT):
        body = _get(api_client_for(manager), group_by="procedure", date_from="2025-03-05").json()

    assert body["in_progress"] == 1
    assert sum(g["in_progress"] for g in body["groups"]) == body["in_progress"]


# --- CSV exports ---------------------------------------------------------------------


def test_indicators_csv_has_a_header_one_row_per_procedure_and_a_total(
    march, flow, agency, api_client_for, manager, frozen
):
    other = ProcedureFactory(agency=agency)
    flow.accept(MONDAY, procedure=other)
    client = api_client_for(manager)

    with frozen(REPORT_AT):
        response = _get(client, "api:dossiers:indicators_csv")
        body = _get(client, group_by="procedure").json()

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, *rows = _rows(response)
    assert header[:8] == ["Thủ tục", "Đã tiếp nhận", "Đã giải quyết", "Trước hạn", "Đúng hạn",
                          "Trễ hạn", "Tỷ lệ đúng hạn (%)", "Đang giải quyết"]
    assert {"Đang quá hạn", "Trong hạn", "Tỷ lệ thanh toán trực tuyến (%)"} <= set(header)
    # Procedures by name, never by id; the total last.
    assert [r[0] for r in rows] == [flow.procedure.name, other.name, "Tổng cộng"]
    by_key = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    mine = by_key[flow.procedure.name]
    assert mine["Đã tiếp nhận"] == "8"
    assert mine["Tỷ lệ đúng hạn (%)"] == "75.0"  # a percentage, as the header says
    assert by_key[other.name]["Tỷ lệ đúng hạn (%)"] == ""  # nothing completed: no rate
    total = by_key["Tổng cộng"]
    labels = {"received": "Đã tiếp nhận", "completed": "Đã giải quyết", "early": "Trước hạn",
              "on_time": "Đúng hạn", "late": "Trễ hạn", "in_progress": "Đang giải quyết",
              "overdue": "Đang quá hạn", "within_time": "Trong hạn",
              "paused": "Tạm dừng, chờ bổ sung"}
    for column, label in labels.items():
        assert total[label] == str(body[column]), column
    assert total["Tỷ lệ thanh toán trực tuyến (%)"] == ""


def test_indicators_csv_follows_the_group_and_filters(flow, api_client_for, manager, frozen):
    flow.accept(MONDAY, channel=Dossier.Channel.COUNTER)
    flow.accept(vn(2025, 3, 11, 8, 0), channel=Dossier.Channel.ONLINE)

    with frozen(REPORT_AT):
        response = _get(api_client_for(manager), "api:dossiers:indicators_csv",
                        group_by="channel", date_to="2025-03-05")

    header, *rows = _rows(response)
    assert header[0] == "Kênh nộp"
    assert [(r[0], r[header.index("Đã tiếp nhận")]) for r in rows] == [
        ("Trực tiếp", "1"), ("Tổng cộng", "1"),
    ]


def test_overdue_csv_lists_overdue_dossiers_with_working_days_late(
    march, api_client_for, manager, specialist, time_machine, other_agency
):
    DossierFactory(overdue=True, procedure=ProcedureFactory(agency=other_agency))
    time_machine.move_to(REPORT_AT, tick=False)

    response = _get(api_client_for(manager), "api:dossiers:overdue_csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    overdue = march["overdue"]
    # Late since 10/03 08:00: 7.5 working hours that day, 8 on 11/03, 2.5 on 12/03 = 2.25 days.
    assert _rows(response) == [
        ["Mã hồ sơ", "Thủ tục", "Cơ quan", "Trạng thái", "Ngày tiếp nhận", "Ngày hẹn trả",
         "Số ngày làm việc quá hạn", "Người xử lý", "Bước xử lý"],
        [overdue.code, overdue.procedure.name, overdue.handling_agency.name, "Đang xử lý",
         "2025-03-03T08:00:00+07:00", "2025-03-10T08:00:00+07:00", "2.25",
         specialist.display_name, overdue.current_step.name],
    ]
    assert overdue.current_step.code == "review"


def test_overdue_csv_lists_the_most_overdue_first(flow, api_client_for, manager, time_machine):
    later = flow.accept(vn(2025, 3, 4, 8, 0))
    earlier = flow.accept(MONDAY)
    time_machine.move_to(REPORT_AT, tick=False)

    rows = _rows(_get(api_client_for(manager), "api:dossiers:overdue_csv"))

    assert [(r[0], r[6]) for r in rows[1:]] == [(earlier.code, "2.25"), (later.code, "1.25")]


@pytest.mark.parametrize("name", ["api:dossiers:indicators_csv", "api:dossiers:overdue_csv"])
def test_applicants_get_403_on_the_csv_exports(api_client_for, applicant, name):
    response = _get(api_client_for(applicant), name)

    assert response.status_code == 403
    assert response.json() == _error("permission_denied", PermissionDenied.default_detail)


@pytest.mark.parametrize("name", ["api:dossiers:indicators_csv", "api:dossiers:overdue_csv"])
def test_manager_of_another_agency_gets_404_on_this_agencys_csv(
    march, api_client_for, foreign_manager, agency, name
):
    response = _get(api_client_for(foreign_manager), name, agency=agency.code)

    assert response.status_code == 404
    assert response.json()["code"] == "dossier_not_found"


# --- cost ----------------------------------------------------------------------------


def _received_dossiers(count: int, agency) -> None:
    channels = list(Dossier.Channel.values)
    for i in range(count):
        dossier = DossierFactory(
            processing=True, procedure=ProcedureFactory(agency=agency),
            channel=channels[i % len(channels)],
        )
        summary_add(dossier=dossier, at=dossier.received_at, received=1)
        if i % 3 == 0:
            summary_add(dossier=dossier, at=dossier.received_at, completed=1, early=1)


@pytest.mark.parametrize("params", [{}, {"group_by": "procedure"}, {"group_by": "month"}])
def test_indicators_query_count_does_not_grow_with_the_number_of_dossiers(
    api_client_for, manager, agency, params
):
    client = api_client_for(manager)
    _get(client)  # warm the caches that are not per dossier (roles)

    _received_dossiers(5, agency)
    with CaptureQueriesContext(connection) as few:
        small = _get(client, **params)
    _received_dossiers(45, agency)
    with CaptureQueriesContext(connection) as many:
        large = _get(client, **params)

    assert (small.json()["received"], large.json()["received"]) == (5, 50)
    assert len(few.captured_queries) == len(many.captured_queries)


# --- the dossiers behind each figure -------------------------------------------------


def _behind(user, figure, **filters) -> int:
    from dossiers.selectors.indicators import indicator_dossiers

    return indicator_dossiers(user=user, figure=figure, **filters).count()


def _figure(body: dict, figure: str) -> int:
    return body["early"] + body["on_time"] if figure == "in_time" else body[figure]


@pytest.mark.parametrize("filters", [
    {},
    {"date_from": date(2025, 3, 5), "date_to": date(2025, 3, 10)},
    {"date_to": date(2025, 3, 3)},
    {"channels": ["counter"]},
    {"channels": ["online", "post"], "date_from": date(2025, 3, 11)},
])
def test_each_figure_counts_the_dossiers_its_filter_lists(
    march, flow, frozen, agency, applicant, reception, manager, filters
):
    from dossiers.selectors.indicators import FIGURES, indicators

    paid_first = ProcedureFactory(agency=agency, fee_at_submission=True)
    online = flow.submitted(procedure=paid_first)
    at_counter = flow.submitted(procedure=paid_first, channel=Dossier.Channel.COUNTER)
    with frozen(MONDAY):
        payment = payment_start(dossier_id=online.pk, actor=applicant)
        payment_confirm(provider=payment.provider, provider_reference=payment.provider_reference,
                        amount=payment.amount, confirmed_by="provider:fake")
        document_upload(dossier_id=at_counter.pk, actor=reception, component_code="don_de_nghi",
                        uploaded_file=_pdf(), digitized=True)
        payment_record_at_counter(dossier_id=at_counter.pk, actor=reception, channel="cash")
        for dossier in (online, at_counter):
            dossier_accept(dossier_id=dossier.pk, actor=reception)
    flow.issue(at_counter, vn(2025, 3, 11, 9, 0))

    with frozen(REPORT_AT):
        body = indicators(user=manager, **filters)
        counts = {figure: _behind(manager, figure, **filters) for figure in FIGURES}

    assert counts == {figure: _figure(body, figure) for figure in FIGURES}
    assert sum(counts.values()) > 0


def test_the_dossiers_behind_a_figure_are_scoped_like_the_figure(
    two_agencies, manager, foreign_manager, agency, other_agency
):
    provincial = UserFactory(roles=[Role.MANAGER], kind="staff", agency_code="")

    assert _behind(manager, "received") == 1
    assert _behind(provincial, "received") == 2
    assert _behind(provincial, "received", agency=other_agency.code) == 1
    with pytest.raises(DossierNotFound):
        _behind(foreign_manager, "received", agency=agency.code)


def test_overdue_by_step_counts_the_overdue_list_by_step(march, manager, frozen):
    from dossiers.selectors.indicators import overdue_by_step

    step = march["overdue"].current_step
    with frozen(REPORT_AT):
        rows = overdue_by_step(user=manager)
        listed = _behind(manager, "overdue", step=step.name)

    assert rows == [{"step": step.name, "count": 1}]
    assert listed == 1


def test_indicator_rows_give_month_agency_and_procedure_by_name(flow, agency, manager):
    from dossiers.selectors.indicators import indicator_rows

    flow.issue(flow.accept(MONDAY), vn(2025, 3, 5, 10, 0))
    flow.accept(vn(2025, 4, 14, 8, 0))

    rows = indicator_rows(user=manager)

    assert [(r["month"], r["agency"], r["procedure"], r["received"], r["completed"],
             r["on_time_rate"]) for r in rows] == [
        ("2025-03", agency.name, flow.procedure.name, 1, 1, 1.0),
        ("2025-04", agency.name, flow.procedure.name, 1, 0, None),
    ]


def test_an_unknown_figure_is_refused(manager):
    with pytest.raises(InvalidFormData):
        _behind(manager, "shipped")
