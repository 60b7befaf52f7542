"""The step history: each step's due time and outcome are kept when the step ends (form 05)."""

from datetime import datetime, timedelta

import pytest

from dossiers import services
from dossiers.models import Dossier, StepRecord
from dossiers.sla import VN_TZ
from portal import clock
from tests.dossiers.factories import DossierFactory


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


MONDAY = vn(2025, 3, 3, 8)  # a working Monday morning


@pytest.fixture
def accepted(applicant, reception):
    dossier = DossierFactory(applicant=applicant, submitted=True)
    with clock.frozen_at(MONDAY):
        services.dossier_accept(dossier_id=dossier.pk, actor=reception)
    return Dossier.objects.get(pk=dossier.pk)


def test_acceptance_opens_the_review_step_handed_over_by_reception(accepted, reception):
    [row] = StepRecord.objects.filter(dossier=accepted)
    assert (row.step.code, row.handed_by, row.taken_by) == ("review", reception, None)
    assert row.started_at == MONDAY and row.ended_at is None and row.outcome == ""
    assert row.due_at == accepted.step_due_at  # 3 working days from Monday 08:00


def test_a_step_ended_keeps_its_due_time_and_outcome_after_the_dossier_moves_on(
        accepted, specialist, leader):
    review_due = accepted.step_due_at
    with clock.frozen_at(review_due + timedelta(hours=3)):  # past the review step's time
        services.dossier_propose(dossier_id=accepted.pk, actor=specialist)
    with clock.frozen_at(review_due + timedelta(hours=4)):
        services.dossier_approve(dossier_id=accepted.pk, actor=leader)

    review, approval = StepRecord.objects.filter(dossier=accepted).order_by("started_at")
    dossier = Dossier.objects.get(pk=accepted.pk)
    assert dossier.step_due_at is None  # the dossier no longer holds it...
    assert review.due_at == review_due  # ...the history does
    assert (review.outcome, review.taken_by, review.ended_at) == (
        "late", specialist, review_due + timedelta(hours=3))
    assert (approval.step.code, approval.handed_by, approval.taken_by) == (
        "approval", specialist, leader)
    assert approval.outcome == "early" and approval.due_at > approval.started_at


def test_a_pause_moves_the_open_steps_due_time(accepted, specialist, applicant):
    before = accepted.step_due_at
    with clock.frozen_at(MONDAY + timedelta(hours=1)):
        services.dossier_suspend(dossier_id=accepted.pk, actor=specialist, reason="Chờ ý kiến")
    with clock.frozen_at(MONDAY + timedelta(days=1, hours=1)):  # a working day later
        services.dossier_resume(dossier_id=accepted.pk, actor=specialist)

    row = StepRecord.objects.get(dossier=accepted)
    assert row.ended_at is None and row.due_at > before
    assert row.due_at == Dossier.objects.get(pk=accepted.pk).step_due_at


def test_claiming_takes_the_open_step_and_withdrawal_ends_it_without_a_taker(
        applicant, reception, specialist):
    dossier = DossierFactory(applicant=applicant, submitted=True)
    with clock.frozen_at(MONDAY):
        services.dossier_accept(dossier_id=dossier.pk, actor=reception)
        services.dossier_claim(dossier_id=dossier.pk, actor=specialist)
    assert StepRecord.objects.get(dossier=dossier).taken_by == specialist

    other = DossierFactory(applicant=applicant, submitted=True)
    with clock.frozen_at(MONDAY):
        services.dossier_accept(dossier_id=other.pk, actor=reception)
    with clock.frozen_at(MONDAY + timedelta(hours=2)):
        services.dossier_withdraw(dossier_id=other.pk, actor=applicant, reason="Không cần nữa")
    row = StepRecord.objects.get(dossier=other)
    assert row.ended_at == MONDAY + timedelta(hours=2) and row.taken_by is None
    assert row.outcome == "early"


def test_the_backfill_rebuilds_the_history_from_the_log(accepted, specialist, leader):
    import importlib

    from django.apps import apps

    with clock.frozen_at(MONDAY + timedelta(days=1)):
        services.dossier_propose(dossier_id=accepted.pk, actor=specialist)
    kept = list(StepRecord.objects.filter(dossier=accepted).order_by("started_at")
                .values_list("step__code", "started_at", "due_at", "ended_at", "outcome",
                             "handed_by", "taken_by"))
    StepRecord.objects.all().delete()

    migration = importlib.import_module("dossiers.migrations.0018_step_records_backfill")
    migration.backfill(apps, None)

    rebuilt = list(StepRecord.objects.filter(dossier=accepted).order_by("started_at")
                   .values_list("step__code", "started_at", "due_at", "ended_at", "outcome",
                                "handed_by", "taken_by"))
    assert rebuilt == kept and len(kept) == 2
