"""Process steps in order, each with its own due time; the transition table covers every move;
the clock bits that ride on transitions (a pause closed by withdrawal, a second overdue spell)."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.urls import reverse

import pytest

from dossiers import services
from dossiers.models import ClockInterval, Dossier, ProcessStep
from dossiers.services.transitions import REASON_NONE, REASON_REQUIRED, SPECS
from dossiers.sla import CALENDAR_DAYS, VN_TZ
from portal import clock
from tests.dossiers.factories import DossierFactory, ProcedureFactory


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def at(moment: datetime, fn, **kwargs):
    with clock.frozen_at(moment):
        return fn(**kwargs)


@pytest.fixture
def two_reviews(agency):
    """Reception, a first review, an appraisal by a second specialist, two signatures."""
    procedure = ProcedureFactory(agency=agency, processing_days=Decimal("10"))
    procedure.steps.all().delete()
    ProcessStep.objects.bulk_create([
        ProcessStep(procedure=procedure, order=1, code="reception", name="Tiếp nhận",
                    role="reception", budget_days=Decimal("0.5")),
        ProcessStep(procedure=procedure, order=2, code="review", name="Thẩm định hồ sơ",
                    role="specialist", budget_days=Decimal("4")),
        ProcessStep(procedure=procedure, order=3, code="appraisal", name="Thẩm định thực tế",
                    role="specialist", budget_days=Decimal("3")),
        ProcessStep(procedure=procedure, order=4, code="deputy", name="Phó Giám đốc",
                    role="leader", budget_days=Decimal("1")),
        ProcessStep(procedure=procedure, order=5, code="director", name="Giám đốc",
                    role="leader", budget_days=Decimal("1")),
        ProcessStep(procedure=procedure, order=6, code="result", name="Trả kết quả",
                    role="reception", budget_days=Decimal("0.5")),
    ])
    return procedure


def step_of(dossier: Dossier) -> str:
    dossier.refresh_from_db()
    return dossier.current_step.code if dossier.current_step_id else ""


def test_a_procedure_with_several_steps_moves_through_each_in_order(
    two_reviews, applicant, reception, specialist, leader, api_client_for
):
    dossier = DossierFactory(submitted=True, procedure=two_reviews, applicant=applicant)
    at(vn(2025, 3, 3, 8, 0), services.dossier_accept, dossier_id=dossier.pk, actor=reception)
    assert step_of(dossier) == "review"
    assert dossier.step_due_at == vn(2025, 3, 7, 8, 0)  # 4 working days

    def post(user, name, **body):
        return api_client_for(user).post(
            reverse(f"api:dossiers:{name}", args=[dossier.pk]), body, format="json")

    early = post(specialist, "propose")
    assert early.status_code == 409
    assert early.json()["code"] == "steps_remaining"
    assert step_of(dossier) == "review"

    with clock.frozen_at(vn(2025, 3, 6, 9, 0)):
        assert post(specialist, "advance_step").status_code == 200
    assert step_of(dossier) == "appraisal"
    assert (dossier.step_started_at, dossier.step_due_at) == (vn(2025, 3, 6, 9, 0),
                                                              vn(2025, 3, 11, 9, 0))
    # No further review step: the next move is the proposal, not another hand-over.
    assert post(specialist, "advance_step").json()["code"] == "invalid_transition"
    assert post(specialist, "propose").status_code == 200
    assert step_of(dossier) == "deputy"
    assert dossier.state == Dossier.State.PENDING_APPROVAL

    assert post(leader, "approve").json()["code"] == "steps_remaining"
    assert post(specialist, "advance_step").status_code == 403  # the step is a leader's
    assert post(leader, "advance_step").status_code == 200
    assert step_of(dossier) == "director"
    assert post(leader, "send_back", reason="Làm rõ số liệu").status_code == 200
    assert step_of(dossier) == "appraisal"
    assert dossier.state == Dossier.State.PROCESSING

    assert post(specialist, "propose").status_code == 200
    assert post(leader, "advance_step").status_code == 200
    assert post(leader, "approve").status_code == 200
    dossier.refresh_from_db()
    assert (dossier.state, dossier.current_step_id) == (Dossier.State.APPROVED, None)
    steps = list(dossier.transitions.values_list("name", "step"))
    assert ("advance_step", "appraisal") in steps and ("advance_step", "director") in steps


def test_step_due_times_count_calendar_days_for_a_calendar_day_procedure(
    agency, applicant, reception
):
    procedure = ProcedureFactory(agency=agency, processing_days=Decimal("10"),
                                 duration_kind=CALENDAR_DAYS)
    dossier = DossierFactory(submitted=True, procedure=procedure, applicant=applicant)
    # Friday 07/03/2025 08:00 + 8 calendar days = Saturday 15/03, a day off: the end of the
    # next working day, Monday 17/03.
    at(vn(2025, 3, 7, 8, 0), services.dossier_accept, dossier_id=dossier.pk, actor=reception)
    dossier.refresh_from_db()
    assert dossier.current_step.code == "review"
    assert dossier.step_due_at == vn(2025, 3, 17, 17, 0)


def test_withdrawing_during_a_pause_records_the_paused_working_minutes(
    applicant, reception, specialist
):
    dossier = DossierFactory(submitted=True, applicant=applicant)
    at(vn(2025, 3, 3, 8, 0), services.dossier_accept, dossier_id=dossier.pk, actor=reception)
    at(vn(2025, 3, 4, 8, 0), services.dossier_suspend, dossier_id=dossier.pk, actor=specialist,
       reason="Chờ ý kiến")
    at(vn(2025, 3, 5, 8, 0), services.dossier_withdraw, dossier_id=dossier.pk, actor=applicant,
       reason="Không tiếp tục")

    pause = ClockInterval.objects.get(dossier=dossier)
    assert (pause.ended_at, pause.working_minutes) == (vn(2025, 3, 5, 8, 0), 480)
    assert dossier.transitions.last().details["paused_working_minutes"] == 480


def test_a_dossier_overdue_a_second_time_is_flagged_and_notified_again(
    agency, applicant, reception, specialist, pdf_file
):
    procedure = ProcedureFactory(agency=agency, restart_on_supplement=True)
    dossier = DossierFactory(submitted=True, procedure=procedure, applicant=applicant)
    at(vn(2025, 3, 3, 8, 0), services.dossier_accept, dossier_id=dossier.pk, actor=reception)
    dossier.refresh_from_db()
    first_due = dossier.due_at
    with clock.frozen_at(first_due + timedelta(hours=1)):
        assert services.dossier_flag_overdue() == [dossier.pk]
    at(first_due + timedelta(hours=2), services.dossier_request_supplement,
       dossier_id=dossier.pk, actor=specialist, reason="Bổ sung bản vẽ")
    services.document_upload(dossier_id=dossier.pk, actor=applicant,
                             component_code="don_de_nghi", uploaded_file=pdf_file())
    # The procedure restarts its clock on a supplement: due again in the future.
    supplied = at(first_due + timedelta(days=1), services.dossier_supply,
                  dossier_id=dossier.pk, actor=applicant)
    assert supplied.due_at > first_due + timedelta(days=1)
    assert supplied.overdue_notified_at is None

    with clock.frozen_at(supplied.due_at - timedelta(minutes=5)):
        assert services.dossier_flag_overdue() == []
    with clock.frozen_at(supplied.due_at + timedelta(minutes=5)):
        assert services.dossier_flag_overdue() == [dossier.pk]
    assert dossier.notifications.filter(kind="overdue").count() == 2


def test_every_workflow_transition_declares_its_needs():
    declared = {t.name for t in Dossier._meta.get_field("state").get_all_transitions(Dossier)}
    assert declared == set(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_api_asks_for_a_reason_exactly_when_the_transition_needs_one(name, monkeypatch):
    from dossiers.api.urls import TRANSITIONS

    seen = {}

    def service(**kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop")

    if name == "register":
        return  # the desk's intake endpoint makes it, with the whole paper dossier
    view = TRANSITIONS[name]
    if name == "issue_result":
        return  # its own view passes number and kind, never a reason
    monkeypatch.setattr(view, "service", staticmethod(service))
    with pytest.raises(RuntimeError):
        view().call(type("R", (), {"user": None})(), type("D", (), {"pk": 1})(),
                    {"reason": "x", "version": None})
    assert ("reason" in seen) == (SPECS[name].reason != REASON_NONE)


def test_a_required_reason_of_blanks_is_refused(applicant, reception, api_client_for):
    dossier = DossierFactory(submitted=True, applicant=applicant)
    response = api_client_for(reception).post(
        reverse("api:dossiers:return_for_completion", args=[dossier.pk]),
        {"reason": " \n\t "}, format="json")
    assert SPECS["return_for_completion"].reason == REASON_REQUIRED
    assert response.status_code == 400 or response.status_code == 422
    assert response.json()["code"] == "reason_required"
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.SUBMITTED


def test_accepting_on_a_calendar_without_a_working_day_is_a_clear_conflict(
    applicant, reception, api_client_for
):
    from datetime import date

    from dossiers.models import HolidayOverride

    HolidayOverride.objects.bulk_create([
        HolidayOverride(date=date(2025, 3, 3) + timedelta(days=n), kind="day_off", reason="x")
        for n in range(800)
    ])
    dossier = DossierFactory(submitted=True, applicant=applicant)

    with clock.frozen_at(vn(2025, 3, 3, 8, 0)):
        response = api_client_for(reception).post(
            reverse("api:dossiers:accept", args=[dossier.pk]), {}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "calendar_without_working_days"
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.SUBMITTED
