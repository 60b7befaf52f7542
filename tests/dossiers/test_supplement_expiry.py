"""A supplement left unanswered past its deadline: reception returns the dossier, or the leader
refuses it with the signed notice, as the procedure says; neither before the deadline, nor the
action the procedure does not name."""

from datetime import timedelta
from decimal import Decimal

from django.urls import reverse

import pytest

from dossiers import services, sla
from dossiers.exceptions import SupplementExpiryOtherAction, SupplementNotLapsed
from dossiers.models import (
    ClockInterval,
    Dossier,
    DossierTransition,
    OutboundMessage,
    Procedure,
    Result,
    SupplementRequest,
)
from dossiers.services.portal_sync import progress_from
from dossiers.services.slips import slip_supplement_render
from dossiers.services.supplements import supplement_expire_due
from integrations.defaults import DefaultCodeBook
from portal import clock
from tests.dossiers.test_supplements import MONDAY, _ask, _received, vn
from tests.dossiers.test_sync_faults import wired  # noqa: F401
from tests.integrations.conftest import simulator  # noqa: F401

RETURN, REFUSE = Procedure.SupplementExpiry.RETURN, Procedure.SupplementExpiry.REFUSE
# Asked Monday 09:00 with two working days to reply: due back Wednesday 09:00.
ASKED = MONDAY + timedelta(hours=1)
DEADLINE = vn(2025, 3, 5, 9)


@pytest.fixture
def waiting(applicant, reception, pdf_file):
    """A dossier waiting for a supplement asked for on Monday, due back Wednesday 09:00."""
    def make(action):
        dossier = _received(applicant, reception, pdf_file)
        Procedure.objects.filter(pk=dossier.procedure_id).update(
            supplement_expiry=action, supplement_reply_days=Decimal("2"))
        return dossier
    return make


def _asked(dossier, specialist):
    _ask(dossier, specialist, ASKED)
    return Dossier.objects.get(pk=dossier.pk)


def test_reception_returns_the_dossier_after_the_deadline_logged_pushed_and_without_outcome(
        waiting, specialist, reception, time_machine):
    dossier = _asked(waiting(RETURN), specialist)
    time_machine.move_to(DEADLINE + timedelta(hours=1), tick=False)
    supplement_expire_due()

    services.dossier_return_unanswered(dossier_id=dossier.pk, actor=reception)

    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.RETURNED_UNANSWERED
    assert dossier.returned_at == DEADLINE + timedelta(hours=1)
    assert dossier.outcome == "" and dossier.completed_at is None and dossier.paused_at is None
    assert dossier.current_step_id is None
    row = DossierTransition.objects.filter(dossier=dossier).latest("id")
    assert (row.name, row.from_state, row.actor_id) == (
        "return_unanswered", "awaiting_supplement", reception.pk)
    # The reason says what was asked for and never came.
    assert "Bản vẽ mặt bằng: thiếu xác nhận" in row.reason and "05/03/2025" in row.reason
    # The pause ends at the deadline: the applicant's time, not the agency's.
    pause = ClockInterval.objects.get(dossier=dossier)
    assert pause.ended_at == DEADLINE
    assert services.audit_verify(dossier_ids=[dossier.pk]) == []
    message = OutboundMessage.objects.filter(dossier=dossier).latest("id")
    assert message.payload["transition"] == "return_unanswered"
    assert message.payload["handler"]["title"] == "Cán bộ tiếp nhận và trả kết quả"
    assert DefaultCodeBook().status_code(message.payload["state"], "return_unanswered") == 8
    assert progress_from(message).note == row.reason
    # Form 02 lists what was missing.
    from tests.dossiers.test_papers import page_texts
    text = "\n".join(page_texts(slip_supplement_render(dossier=dossier)))
    assert "Bản vẽ mặt bằng: thiếu xác nhận." in text


def test_the_daily_run_need_not_have_run_a_passed_deadline_is_enough(
        waiting, specialist, reception, time_machine):
    dossier = _asked(waiting(RETURN), specialist)
    time_machine.move_to(DEADLINE + timedelta(minutes=1), tick=False)

    services.dossier_return_unanswered(dossier_id=dossier.pk, actor=reception, reason="Hết hạn.")

    request = SupplementRequest.objects.get(dossier=dossier)
    assert (request.status, request.expiry_action) == ("expired", RETURN)
    assert DossierTransition.objects.filter(dossier=dossier).latest("id").reason == "Hết hạn."


def test_before_the_deadline_both_moves_are_refused_and_nothing_changes(
        waiting, specialist, reception, leader, time_machine, api_client_for):
    dossier = _asked(waiting(RETURN), specialist)
    time_machine.move_to(DEADLINE - timedelta(minutes=1), tick=False)

    with pytest.raises(SupplementNotLapsed):
        services.dossier_return_unanswered(dossier_id=dossier.pk, actor=reception)
    answer = api_client_for(reception).post(
        reverse("api:dossiers:return_unanswered", args=[dossier.pk]), {}, format="json")

    assert answer.status_code == 409 and answer.json()["code"] == "supplement_not_lapsed"
    assert Dossier.objects.get(pk=dossier.pk).state == Dossier.State.AWAITING_SUPPLEMENT
    assert ClockInterval.objects.get(dossier=dossier).ended_at is None


def test_the_action_the_procedure_does_not_name_is_refused(
        waiting, specialist, reception, leader, time_machine, api_client_for):
    returning = _asked(waiting(RETURN), specialist)
    time_machine.move_to(DEADLINE + timedelta(hours=1), tick=False)

    with pytest.raises(SupplementExpiryOtherAction):
        services.dossier_refuse_unanswered(dossier_id=returning.pk, actor=leader)
    answer = api_client_for(leader).post(
        reverse("api:dossiers:refuse_unanswered", args=[returning.pk]), {}, format="json")

    assert answer.status_code == 409
    assert answer.json()["code"] == "supplement_expiry_other_action"
    assert Dossier.objects.get(pk=returning.pk).state == Dossier.State.AWAITING_SUPPLEMENT
    assert not Result.objects.filter(dossier=returning).exists()


def test_only_reception_returns_and_only_the_leader_refuses(
        waiting, specialist, reception, leader, time_machine, api_client_for):
    returning = _asked(waiting(RETURN), specialist)
    time_machine.move_to(DEADLINE + timedelta(hours=1), tick=False)

    for actor in (specialist, leader):
        answer = api_client_for(actor).post(
            reverse("api:dossiers:return_unanswered", args=[returning.pk]), {}, format="json")
        assert answer.status_code == 403, actor
    assert Dossier.objects.get(pk=returning.pk).state == Dossier.State.AWAITING_SUPPLEMENT


def test_the_leader_refuses_with_the_signed_notice_and_the_wait_is_not_the_agencys(
        waiting, specialist, leader, reception, time_machine, api_client_for):
    dossier = _asked(waiting(REFUSE), specialist)
    due_before = dossier.due_at
    # Two working days after the deadline, and past the original due time: still the
    # applicant's wait (Monday 09:00 to Wednesday 09:00) is added first.
    acted = vn(2025, 3, 7, 10)
    time_machine.move_to(acted, tick=False)

    answer = api_client_for(leader).post(
        reverse("api:dossiers:refuse_unanswered", args=[dossier.pk]),
        {"reason": "Không bổ sung bản vẽ mặt bằng theo yêu cầu."}, format="json")

    assert answer.status_code == 200, answer.json()
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.REFUSED and dossier.completed_at == acted
    pause = ClockInterval.objects.get(dossier=dossier)
    assert (pause.started_at, pause.ended_at) == (ASKED, DEADLINE)
    assert pause.working_minutes == 2 * 8 * 60
    calendar = services.calendar_for(dossier.handling_agency)
    assert dossier.due_at == sla.shift_due_for_pause(due_before, ASKED, DEADLINE,
                                                              calendar)
    expected = sla.outcome(acted, dossier.due_at, calendar,
                                    rule=dossier.handling_agency.outcome_rule)
    assert dossier.outcome == expected
    result = Result.objects.get(dossier=dossier)
    assert result.kind == Result.Kind.REFUSAL and result.signed and result.file
    row = DossierTransition.objects.filter(dossier=dossier).latest("id")
    assert (row.name, row.reason) == ("refuse_unanswered",
                                      "Không bổ sung bản vẽ mặt bằng theo yêu cầu.")
    assert row.details["outcome"] == dossier.outcome
    message = OutboundMessage.objects.filter(dossier=dossier).latest("id")
    assert DefaultCodeBook().status_code(message.payload["state"],
                                         message.payload["transition"]) == 9
    # The notice is then handed over at the desk, like any refusal (status 10).
    services.dossier_hand_over_refusal(dossier_id=dossier.pk, actor=reception)
    assert Dossier.objects.get(pk=dossier.pk).returned_at == acted


def test_a_dossier_late_before_the_request_stays_late(
        waiting, specialist, leader, time_machine):
    dossier = waiting(REFUSE)
    # Asked only after the due time had passed: the agency was late already.
    late = dossier.due_at + timedelta(days=1)
    with clock.frozen_at(late):
        services.dossier_request_supplement(
            dossier_id=dossier.pk, actor=specialist, reason="Bản vẽ.",
            reply_by=late + timedelta(days=2))
    time_machine.move_to(late + timedelta(days=3), tick=False)

    services.dossier_refuse_unanswered(dossier_id=dossier.pk, actor=leader)

    assert Dossier.objects.get(pk=dossier.pk).outcome == Dossier.Outcome.LATE


@pytest.mark.parametrize("action", [RETURN, REFUSE])
def test_the_simulator_takes_the_records_of_both_ends(
        action, wired, agency, reception, specialist, leader):  # noqa: F811
    from tests.dossiers.factories import VALID_FORM, ProcedureFactory
    from tests.dossiers.test_intake import CITIZEN, scans
    from tests.dossiers.test_sync_faults import relay_until_settled

    procedure = ProcedureFactory(agency=agency, supplement_expiry=action)
    dossier = services.intake_register(
        actor=reception, procedure_id=procedure.pk, channel="counter", applicant=CITIZEN,
        form_data=dict(VALID_FORM), scans=scans()).dossier
    now = clock.now()
    services.dossier_request_supplement(dossier_id=dossier.pk, actor=specialist,
                                        reason="Bản vẽ mặt bằng.",
                                        reply_by=now + timedelta(hours=1))
    with clock.frozen_at(now + timedelta(hours=2)):
        if action == RETURN:
            services.dossier_return_unanswered(dossier_id=dossier.pk, actor=reception)
        else:
            services.dossier_refuse_unanswered(dossier_id=dossier.pk, actor=leader)
        relay_until_settled()

    assert not OutboundMessage.objects.exclude(status="sent").exists()
    codes = [d.status_code for d in wired.deliveries("national", dossier.code)]
    assert codes == ["1", "2", "5", "8" if action == RETURN else "9"]
