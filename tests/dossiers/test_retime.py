"""A day off corrected after dossiers were received: preview, then each open dossier moved,
logged, pushed and told; completed ones keep their outcome and are reported."""

from datetime import date, datetime
from decimal import Decimal
from io import StringIO

from django.core import mail
from django.core.management import CommandError, call_command

import pytest

from dossiers import services
from dossiers.models import (
    Dossier,
    DossierTransition,
    HolidayOverride,
    OutboundMessage,
    StepRecord,
)
from dossiers.services.audit import audit_verify
from dossiers.services.retime import retime_apply, retime_plan
from dossiers.sla import VN_TZ
from portal import clock
from tests.dossiers.factories import DossierFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

# Received Monday 02/03/2026 08:00 with 5 working days: due Monday 09/03 08:00. Then the
# government moves a day off onto Thursday 05/03 after the fact.
DAY = date(2026, 3, 5)


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


@pytest.fixture
def procedure(agency):
    return ProcedureFactory(agency=agency, processing_days=Decimal("5"))


def received(procedure, applicant, reception):
    dossier = DossierFactory(submitted=True, procedure=procedure, applicant=applicant)
    with clock.frozen_at(vn(2026, 3, 2, 8, 0)):
        services.dossier_accept(dossier_id=dossier.pk, actor=reception)
    dossier.refresh_from_db()
    return dossier


def day_off():
    HolidayOverride.objects.create(date=DAY, kind=HolidayOverride.Kind.DAY_OFF,
                                   reason="Nghỉ bù công bố muộn")


def test_the_preview_lists_the_move_and_changes_nothing(procedure, applicant, reception):
    dossier = received(procedure, applicant, reception)
    assert dossier.due_at == vn(2026, 3, 9, 8, 0)
    day_off()
    plan = retime_plan(days=[DAY])
    assert [(m.code, m.due_at, m.new_due_at) for m in plan.moves] == [
        (dossier.code, vn(2026, 3, 9, 8, 0), vn(2026, 3, 10, 8, 0))
    ]
    dossier.refresh_from_db()
    assert dossier.due_at == vn(2026, 3, 9, 8, 0)
    assert not plan.unrebuilt and not plan.outcomes


def test_applying_moves_logs_pushes_and_tells_the_applicant(
    procedure, applicant, reception, admin_user, django_capture_on_commit_callbacks
):
    dossier = received(procedure, applicant, reception)
    logs_before = dossier.transitions.count()
    pushed_before = OutboundMessage.objects.filter(dossier=dossier).count()
    mail.outbox.clear()
    day_off()
    with clock.frozen_at(vn(2026, 3, 4, 10, 0)), django_capture_on_commit_callbacks(execute=True):
        plan = retime_apply(days=[DAY], actor=admin_user, reason="Nghỉ bù theo thông báo mới")
    assert len(plan.moves) == 1
    dossier.refresh_from_db()
    assert dossier.due_at == vn(2026, 3, 10, 8, 0)
    assert dossier.step_due_at == vn(2026, 3, 6, 8, 0)  # the review step's 3 days, moved too
    open_step = StepRecord.objects.get(dossier=dossier, ended_at__isnull=True)
    assert open_step.due_at == dossier.step_due_at  # the step history follows
    log = dossier.transitions.order_by("id").last()
    assert dossier.transitions.count() == logs_before + 1
    assert (log.name, log.reason) == ("retime", "Nghỉ bù theo thông báo mới")
    assert log.details == {"due_at_before": vn(2026, 3, 9, 8, 0).isoformat(),
                           "due_at": vn(2026, 3, 10, 8, 0).isoformat()}
    assert OutboundMessage.objects.filter(dossier=dossier).count() > pushed_before
    assert any("10/03/2026" in m.body and dossier.code in m.body for m in mail.outbox)
    assert audit_verify(dossier_ids=[dossier.pk]) == []
    # Applying again finds nothing left to move.
    assert retime_plan(days=[DAY]).moves == []


def test_a_pause_is_replayed_on_the_new_calendar(procedure, applicant, reception, specialist):
    dossier = received(procedure, applicant, reception)
    with clock.frozen_at(vn(2026, 3, 3, 8, 0)):
        services.dossier_suspend(dossier_id=dossier.pk, actor=specialist,
                                 reason="Chờ ý kiến cơ quan phối hợp")
    with clock.frozen_at(vn(2026, 3, 4, 8, 0)):
        services.dossier_resume(dossier_id=dossier.pk, actor=specialist)
    dossier.refresh_from_db()
    assert dossier.due_at == vn(2026, 3, 10, 8, 0)  # one working day paused
    day_off()
    (move,) = retime_plan(days=[DAY]).moves
    assert move.new_due_at == vn(2026, 3, 11, 8, 0)


def test_a_dossier_whose_history_does_not_give_its_due_time_is_listed_not_moved(
    procedure, applicant, reception
):
    dossier = received(procedure, applicant, reception)
    Dossier.objects.filter(pk=dossier.pk).update(due_at=vn(2026, 3, 20, 8, 0))
    day_off()
    plan = retime_plan(days=[DAY])
    assert plan.moves == []
    assert [u.code for u in plan.unrebuilt] == [dossier.code]


def test_a_completed_dossier_keeps_its_outcome_and_is_reported(procedure, applicant, reception):
    dossier = received(procedure, applicant, reception)
    # Completed Monday 09/03 at 08:00 sharp: on time; with the day off it would be early.
    Dossier.objects.filter(pk=dossier.pk).update(
        state=Dossier.State.RESULT_READY, completed_at=vn(2026, 3, 9, 8, 0),
        outcome=Dossier.Outcome.ON_TIME,
    )
    day_off()
    plan = retime_plan(days=[DAY])
    assert plan.moves == []
    assert [(o.code, o.outcome, o.new_outcome) for o in plan.outcomes] == [
        (dossier.code, "on_time", "early")
    ]
    with clock.frozen_at(vn(2026, 3, 12, 8, 0)):
        retime_apply(days=[DAY], actor=None, reason="Nghỉ bù")
    dossier.refresh_from_db()
    assert (dossier.outcome, dossier.due_at) == ("on_time", vn(2026, 3, 9, 8, 0))


def test_a_day_made_working_again_brings_the_due_time_forward(procedure, applicant, reception):
    HolidayOverride.objects.create(date=DAY, kind=HolidayOverride.Kind.DAY_OFF, reason="Nghỉ")
    dossier = received(procedure, applicant, reception)
    assert dossier.due_at == vn(2026, 3, 10, 8, 0)
    HolidayOverride.objects.filter(date=DAY).delete()
    (move,) = retime_plan(days=[DAY]).moves
    assert move.new_due_at == vn(2026, 3, 9, 8, 0)


def test_the_command_previews_then_applies(procedure, applicant, reception, admin_user):
    dossier = received(procedure, applicant, reception)
    day_off()
    out = StringIO()
    call_command("retime_dossiers", "--day", "2026-03-05", stdout=out)
    assert f"{dossier.code}: 08:00 09/03/2026 → 08:00 10/03/2026" in out.getvalue()
    assert not DossierTransition.objects.filter(dossier=dossier, name="retime").exists()
    with pytest.raises(CommandError, match="lý do"):
        call_command("retime_dossiers", "--day", "2026-03-05", "--apply", stdout=StringIO())
    with pytest.raises(CommandError, match="Ngày không hợp lệ"):
        call_command("retime_dossiers", "--day", "05/03/2026", stdout=StringIO())
    call_command("retime_dossiers", "--day", "2026-03-05", "--apply", "--reason", "Nghỉ bù",
                 "--actor", admin_user.username, stdout=StringIO())
    log = DossierTransition.objects.get(dossier=dossier, name="retime")
    assert log.actor == admin_user
