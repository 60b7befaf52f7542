"""The transition services: every move, its clock effect, its checks and its log."""

from datetime import datetime

from django.core import mail
from django.db.models import Sum

import pytest

from dossiers import services
from dossiers.exceptions import (
    InvalidFormData,
    InvalidTransition,
    MissingDocuments,
    PaymentRequired,
    ReasonRequired,
    StaleVersion,
    TransitionForbidden,
)
from dossiers.models import ClockInterval, DailySummary, Dossier, DossierTransition, Payment
from dossiers.sla import VN_TZ
from portal import clock
from portal.roles import Role
from tests.dossiers.factories import AgencyFactory, DossierFactory, ProcedureFactory, UserFactory


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def at(moment: datetime, fn, **kwargs):
    with clock.frozen_at(moment):
        return fn(**kwargs)


@pytest.fixture
def draft(applicant, pdf_file):
    dossier = DossierFactory(applicant=applicant)
    services.document_upload(
        dossier_id=dossier.pk, actor=applicant, component_code="don_de_nghi",
        uploaded_file=pdf_file(),
    )
    return dossier


@pytest.fixture
def received(draft, applicant, reception):
    """Submitted Monday 03/03/2025 07:50, accepted at 08:00: due Monday 10/03 08:00."""
    at(vn(2025, 3, 3, 7, 50), services.dossier_submit, dossier_id=draft.pk, actor=applicant)
    return at(vn(2025, 3, 3, 8, 0), services.dossier_accept, dossier_id=draft.pk, actor=reception)


def _snapshot(dossier: Dossier) -> tuple:
    dossier = Dossier.objects.get(pk=dossier.pk)
    return (dossier.state, dossier.version, dossier.due_at, dossier.code,
            DossierTransition.objects.filter(dossier=dossier).count())


def _summary(dossier: Dossier) -> dict:
    rows = DailySummary.objects.filter(procedure=dossier.procedure)
    return rows.aggregate(**{c: Sum(c) for c in DailySummary.COUNTERS})


def test_a_dossier_lives_from_draft_to_returned(
    draft, applicant, reception, specialist, leader, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        d = at(vn(2025, 3, 3, 7, 50), services.dossier_submit, dossier_id=draft.pk, actor=applicant)
        assert d.state == Dossier.State.SUBMITTED
        assert d.code == "SCT-250303-0001"
        assert d.received_at is None and d.due_at is None

        d = at(vn(2025, 3, 3, 8, 0), services.dossier_accept, dossier_id=d.pk, actor=reception)
        assert d.state == Dossier.State.PROCESSING
        assert d.received_at == vn(2025, 3, 3, 8, 0)
        assert d.due_at == vn(2025, 3, 10, 8, 0)
        assert d.due_soon_at == vn(2025, 3, 7, 13, 30)
        assert d.current_step.code == "review"
        assert d.step_due_at == vn(2025, 3, 6, 8, 0)

        d = at(vn(2025, 3, 5, 9, 0), services.dossier_propose, dossier_id=d.pk, actor=specialist)
        assert (d.state, d.current_step.code) == (Dossier.State.PENDING_APPROVAL, "approval")
        assert d.step_due_at == vn(2025, 3, 6, 9, 0)
        d = at(vn(2025, 3, 5, 10, 0), services.dossier_approve, dossier_id=d.pk, actor=leader)
        d = at(vn(2025, 3, 5, 10, 30), services.dossier_issue_result, dossier_id=d.pk,
               actor=leader, number="12/GP-SCT")
        assert d.state == Dossier.State.RESULT_READY
        assert d.completed_at == vn(2025, 3, 5, 10, 30)
        assert d.outcome == Dossier.Outcome.EARLY
        assert d.result.number == "12/GP-SCT"
        d = at(vn(2025, 3, 6, 8, 0), services.dossier_return_result, dossier_id=d.pk,
               actor=reception)
    assert d.state == Dossier.State.RETURNED
    assert d.returned_at == vn(2025, 3, 6, 8, 0)
    names = list(DossierTransition.objects.filter(dossier=d).values_list("name", flat=True))
    assert names == ["submit", "accept", "propose", "approve", "issue_result", "return_result"]
    assert services.audit_verify(dossier_ids=[d.pk]) == []
    row = _summary(d)
    assert (row["received"], row["completed"], row["early"], row["on_time"], row["late"]) == (
        1, 1, 1, 0, 0)
    # The applicant hears of the moves that concern them, not of internal hand-overs.
    assert [m.to for m in mail.outbox] == [[applicant.email]] * 4
    assert "10/03/2025" in mail.outbox[1].body


def test_dossier_codes_count_per_agency_and_day(applicant, pdf_file):
    procedure = ProcedureFactory()
    codes = []
    for moment in (vn(2025, 3, 3, 8), vn(2025, 3, 3, 23, 30), vn(2025, 3, 4, 0, 10)):
        d = DossierFactory(applicant=applicant, procedure=procedure)
        services.document_upload(dossier_id=d.pk, actor=applicant, component_code="don_de_nghi",
                                 uploaded_file=pdf_file())
        codes.append(at(moment, services.dossier_submit, dossier_id=d.pk, actor=applicant).code)
    assert codes == ["SCT-250303-0001", "SCT-250303-0002", "SCT-250304-0001"]


def test_submit_without_a_mandatory_component_is_refused_and_changes_nothing(applicant):
    dossier = DossierFactory(applicant=applicant)
    before = _snapshot(dossier)
    with pytest.raises(MissingDocuments) as exc:
        services.dossier_submit(dossier_id=dossier.pk, actor=applicant)
    assert exc.value.extra == {"components": ["don_de_nghi"]}
    assert _snapshot(dossier) == before


def test_submit_with_form_data_breaking_the_schema_is_refused(draft, applicant):
    Dossier.objects.filter(pk=draft.pk).update(form_data={"applicant_name": ""})
    with pytest.raises(InvalidFormData) as exc:
        services.dossier_submit(dossier_id=draft.pk, actor=applicant)
    fields = {e["field"] for e in exc.value.extra["errors"]}
    assert fields == {"tax_code", "applicant_name"}  # tax_code missing, name too short
    assert Dossier.objects.get(pk=draft.pk).state == Dossier.State.DRAFT


def test_fee_due_at_submission_must_be_paid_first(applicant, pdf_file):
    dossier = DossierFactory(applicant=applicant, procedure=ProcedureFactory(fee_at_submission=True))
    services.document_upload(dossier_id=dossier.pk, actor=applicant, component_code="don_de_nghi",
                             uploaded_file=pdf_file())
    with pytest.raises(PaymentRequired) as exc:
        services.dossier_submit(dossier_id=dossier.pk, actor=applicant)
    assert exc.value.http_status == 402
    assert exc.value.extra == {"amount": 1_200_000}
    payment = services.payment_start(dossier_id=dossier.pk, actor=applicant)
    with pytest.raises(PaymentRequired):  # opened but not confirmed is not paid
        services.dossier_submit(dossier_id=dossier.pk, actor=applicant)
    services.payment_confirm(provider=payment.provider, provider_reference=payment.provider_reference,
                             amount=payment.amount, confirmed_by="provider:fake")
    assert services.dossier_submit(dossier_id=dossier.pk, actor=applicant).state == "submitted"


def test_fee_due_before_the_result_blocks_the_return_until_paid(applicant, reception):
    dossier = DossierFactory(applicant=applicant, result_ready=True,
                             procedure=ProcedureFactory(fee_before_result=True))
    with pytest.raises(PaymentRequired):
        services.dossier_return_result(dossier_id=dossier.pk, actor=reception)
    services.payment_record_at_counter(dossier_id=dossier.pk, actor=reception, channel="cash")
    d = services.dossier_return_result(dossier_id=dossier.pk, actor=reception)
    assert d.state == Dossier.State.RETURNED
    assert Payment.objects.get(dossier=d).status == Payment.Status.PAID


def test_supplement_pauses_the_clock_and_shifts_due_by_the_paused_working_time(
    received, applicant, specialist
):
    d = at(vn(2025, 3, 4, 8, 0), services.dossier_request_supplement, dossier_id=received.pk,
           actor=specialist, reason="Bổ sung biên bản PCCC")
    assert d.state == Dossier.State.AWAITING_SUPPLEMENT
    assert d.paused_at == vn(2025, 3, 4, 8, 0)
    # Paused dossiers are never overdue, however long the applicant takes.
    assert not Dossier.objects.overdue(now=vn(2025, 4, 1)).filter(pk=d.pk).exists()
    d = at(vn(2025, 3, 6, 8, 0), services.dossier_supply, dossier_id=d.pk, actor=applicant)
    assert d.state == Dossier.State.PROCESSING
    assert d.paused_at is None
    assert d.due_at == vn(2025, 3, 12, 8, 0)
    assert d.step_due_at == vn(2025, 3, 10, 8, 0)
    pause = ClockInterval.objects.get(dossier=d)
    assert (pause.kind, pause.policy, pause.working_minutes) == ("supplement", "pause", 960)
    log = DossierTransition.objects.filter(dossier=d).last()
    assert (log.name, log.clock_effect, log.details["paused_working_minutes"]) == (
        "supply", "resume", 960)


def test_supplement_restarts_the_clock_when_the_procedure_says_so(applicant, reception, specialist,
                                                                  pdf_file):
    procedure = ProcedureFactory(restart_on_supplement=True)
    d = DossierFactory(applicant=applicant, procedure=procedure)
    services.document_upload(dossier_id=d.pk, actor=applicant, component_code="don_de_nghi",
                             uploaded_file=pdf_file())
    at(vn(2025, 3, 3, 7, 50), services.dossier_submit, dossier_id=d.pk, actor=applicant)
    at(vn(2025, 3, 3, 8, 0), services.dossier_accept, dossier_id=d.pk, actor=reception)
    at(vn(2025, 3, 4, 8, 0), services.dossier_request_supplement, dossier_id=d.pk,
       actor=specialist, reason="Thiếu bản vẽ")
    d = at(vn(2025, 3, 6, 8, 0), services.dossier_supply, dossier_id=d.pk, actor=applicant)
    assert d.due_at == vn(2025, 3, 13, 8, 0)  # five full working days from the supply


def test_suspension_spanning_a_holiday_adds_only_working_time(received, specialist):
    d = at(vn(2025, 3, 7, 16, 0), services.dossier_suspend, dossier_id=received.pk,
           actor=specialist, reason="Chờ ý kiến cơ quan phối hợp")
    assert d.state == Dossier.State.SUSPENDED
    d = at(vn(2025, 3, 10, 8, 0), services.dossier_resume, dossier_id=d.pk, actor=specialist)
    assert d.state == Dossier.State.PROCESSING
    assert d.due_at == vn(2025, 3, 10, 9, 30)  # 60 + 30 working minutes paused


def test_refusal_stops_the_clock_and_counts_late_after_due(received, specialist, leader):
    at(vn(2025, 3, 5, 9, 0), services.dossier_propose, dossier_id=received.pk, actor=specialist)
    d = at(vn(2025, 3, 11, 9, 0), services.dossier_refuse, dossier_id=received.pk, actor=leader,
           reason="Không đủ điều kiện")
    assert (d.state, d.outcome, d.completed_at) == ("refused", "late", vn(2025, 3, 11, 9, 0))
    row = _summary(d)
    assert (row["completed"], row["refused"], row["late"]) == (1, 1, 1)


def test_result_issued_in_the_last_session_is_on_time(received, specialist, leader):
    at(vn(2025, 3, 5, 9, 0), services.dossier_propose, dossier_id=received.pk, actor=specialist)
    at(vn(2025, 3, 6, 9, 0), services.dossier_approve, dossier_id=received.pk, actor=leader)
    d = at(vn(2025, 3, 10, 7, 45), services.dossier_issue_result, dossier_id=received.pk,
           actor=leader)
    assert d.outcome == "on_time"


def test_send_back_returns_the_dossier_to_the_specialist(received, specialist, leader):
    at(vn(2025, 3, 5, 9, 0), services.dossier_propose, dossier_id=received.pk, actor=specialist)
    d = at(vn(2025, 3, 5, 10, 0), services.dossier_send_back, dossier_id=received.pk,
           actor=leader, reason="Thẩm định lại")
    assert (d.state, d.current_step.code) == ("processing", "review")


def test_reception_can_return_for_completion_and_the_applicant_resubmits(draft, applicant,
                                                                        reception):
    services.dossier_submit(dossier_id=draft.pk, actor=applicant)
    d = services.dossier_return_for_completion(dossier_id=draft.pk, actor=reception,
                                               reason="Thiếu chữ ký")
    assert d.state == Dossier.State.NEEDS_COMPLETION
    d = services.dossier_resubmit(dossier_id=draft.pk, actor=applicant)
    assert d.state == Dossier.State.SUBMITTED
    d = services.dossier_refuse_at_reception(dossier_id=draft.pk, actor=reception,
                                             reason="Không thuộc thẩm quyền")
    assert d.state == Dossier.State.REJECTED
    assert d.received_at is None


@pytest.mark.parametrize("state", ["submitted", "processing", "pending_approval", "approved"])
def test_applicant_can_withdraw_an_open_dossier(state, applicant):
    dossier = DossierFactory(applicant=applicant, **{state: True})
    d = services.dossier_withdraw(dossier_id=dossier.pk, actor=applicant, reason="Đổi kế hoạch")
    assert d.state == Dossier.State.WITHDRAWN
    assert d.outcome == ""


def test_withdrawing_during_a_supplement_closes_the_pause(received, applicant, specialist):
    at(vn(2025, 3, 4, 8, 0), services.dossier_request_supplement, dossier_id=received.pk,
       actor=specialist, reason="Bổ sung")
    d = at(vn(2025, 3, 5, 8, 0), services.dossier_withdraw, dossier_id=received.pk,
           actor=applicant, reason="Không tiếp tục")
    assert d.paused_at is None
    assert ClockInterval.objects.get(dossier=d).ended_at == vn(2025, 3, 5, 8, 0)
    assert _summary(d)["withdrawn"] == 1


@pytest.mark.parametrize("trait", ["result_ready"])
def test_withdrawing_a_completed_dossier_is_refused(trait, applicant):
    dossier = DossierFactory(applicant=applicant, **{trait: True})
    before = _snapshot(dossier)
    with pytest.raises(InvalidTransition):
        services.dossier_withdraw(dossier_id=dossier.pk, actor=applicant, reason="x")
    assert _snapshot(dossier) == before


def test_withdraw_needs_a_reason(applicant):
    dossier = DossierFactory(applicant=applicant, processing=True)
    with pytest.raises(ReasonRequired):
        services.dossier_withdraw(dossier_id=dossier.pk, actor=applicant, reason="  ")


def test_a_transition_from_the_wrong_state_is_a_conflict(applicant, reception):
    dossier = DossierFactory(applicant=applicant, processing=True)
    before = _snapshot(dossier)
    with pytest.raises(InvalidTransition) as exc:
        services.dossier_accept(dossier_id=dossier.pk, actor=reception)
    assert exc.value.extra == {"state": "processing", "transition": "accept"}
    assert _snapshot(dossier) == before


def test_double_submit_is_a_conflict(received, applicant):
    with pytest.raises(InvalidTransition):
        services.dossier_submit(dossier_id=received.pk, actor=applicant)


@pytest.mark.parametrize("role", [Role.SPECIALIST, Role.LEADER, Role.MANAGER])
def test_only_reception_accepts(role, applicant, agency):
    dossier = DossierFactory(applicant=applicant, submitted=True)
    officer = UserFactory(roles=[role], agency_code=agency.code)
    before = _snapshot(dossier)
    with pytest.raises(TransitionForbidden):
        services.dossier_accept(dossier_id=dossier.pk, actor=officer)
    assert _snapshot(dossier) == before


def test_reception_of_another_agency_cannot_accept(applicant):
    dossier = DossierFactory(applicant=applicant, submitted=True)
    other = AgencyFactory(code="stp", name="Sở Tư pháp")
    stranger = UserFactory(roles=[Role.RECEPTION], agency_code=other.code)
    with pytest.raises(TransitionForbidden):
        services.dossier_accept(dossier_id=dossier.pk, actor=stranger)


def test_another_applicant_cannot_submit(draft, other_applicant):
    with pytest.raises(TransitionForbidden):
        services.dossier_submit(dossier_id=draft.pk, actor=other_applicant)


def test_a_stale_version_is_refused_and_changes_nothing(applicant, reception):
    dossier = DossierFactory(applicant=applicant, submitted=True)
    before = _snapshot(dossier)
    with pytest.raises(StaleVersion) as exc:
        services.dossier_accept(dossier_id=dossier.pk, actor=reception, version=dossier.version - 1
                                if dossier.version > 1 else 99)
    assert exc.value.extra == {"current_version": dossier.version}
    assert _snapshot(dossier) == before
    d = services.dossier_accept(dossier_id=dossier.pk, actor=reception, version=dossier.version)
    assert d.version == dossier.version + 1


def test_submission_costs_at_most_ten_queries(draft, applicant, django_assert_max_num_queries,
                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False), django_assert_max_num_queries(10):
        services.dossier_submit(dossier_id=draft.pk, actor=applicant)


def test_form_can_be_edited_in_a_draft_but_not_after_submission(draft, applicant):
    d = services.dossier_update_form(dossier_id=draft.pk, actor=applicant,
                                     form_data={"applicant_name": "Công ty A",
                                                "tax_code": "3200000001"})
    assert d.form_data["applicant_name"] == "Công ty A"
    with pytest.raises(InvalidFormData):
        services.dossier_update_form(dossier_id=draft.pk, actor=applicant,
                                     form_data={"tax_code": "abc"})
    services.dossier_submit(dossier_id=draft.pk, actor=applicant)
    with pytest.raises(InvalidTransition):
        services.dossier_update_form(dossier_id=draft.pk, actor=applicant,
                                     form_data={"applicant_name": "B", "tax_code": "3200000001"})


def test_timeline_rows_record_actor_reason_step_and_clock(received, specialist):
    at(vn(2025, 3, 4, 8, 0), services.dossier_suspend, dossier_id=received.pk, actor=specialist,
       reason="Chờ kết quả kiểm tra")
    row = DossierTransition.objects.filter(dossier=received).last()
    assert (row.name, row.from_state, row.to_state, row.actor_id, row.reason, row.step,
            row.clock_effect) == ("suspend", "processing", "suspended", specialist.pk,
                                  "Chờ kết quả kiểm tra", "review", "pause")


def test_a_new_draft_does_not_look_up_again_the_rows_it_was_built_from(applicant):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    procedure = ProcedureFactory()
    with CaptureQueriesContext(connection) as captured:
        dossier = services.dossier_create(actor=applicant, procedure_id=procedure.pk)
    lookups = [q["sql"] for q in captured.captured_queries if 'SELECT 1 AS "a"' in q["sql"]]
    assert lookups == []  # no existence check of the procedure, agency or applicant
    stored = Dossier.objects.get(pk=dossier.pk)
    assert (stored.procedure_id, stored.applicant_id, stored.handling_agency_id,
            stored.reception_agency_id) == (procedure.pk, applicant.pk, procedure.agency_id,
                                            procedure.agency_id)
    assert stored.state == Dossier.State.DRAFT and stored.code is None


def test_a_new_draft_is_read_and_checked_before_its_transaction_which_only_inserts(applicant):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    procedure = ProcedureFactory()
    with CaptureQueriesContext(connection) as captured:
        dossier = services.dossier_create(actor=applicant, procedure_id=procedure.pk)
    statements = [q["sql"] for q in captured.captured_queries]
    # Under the test's own transaction the durable block is a savepoint: what it holds is
    # what the transaction holds (under SQLite, the one write lock).
    inserted = next(i for i, sql in enumerate(statements)
                    if sql.startswith('INSERT INTO "dossiers_dossier"'))
    assert statements[inserted - 1].startswith("SAVEPOINT")
    assert statements[inserted + 1].startswith("RELEASE SAVEPOINT")
    before = statements[:inserted - 1]
    assert any('FROM "dossiers_procedure"' in sql for sql in before)  # read before the lock
    assert Dossier.objects.filter(pk=dossier.pk, state=Dossier.State.DRAFT).exists()


def test_a_new_draft_inside_another_transaction_is_refused_and_not_stored(applicant):
    from django.db import transaction

    procedure = ProcedureFactory()
    # Its transaction is its own (durable): opened inside another one, it refuses to run.
    with pytest.raises(RuntimeError), transaction.atomic():
        services.dossier_create(actor=applicant, procedure_id=procedure.pk)
    assert not Dossier.objects.filter(procedure=procedure).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("procedure_id", ["x", None, -1, 0, 2**63, "1; DROP TABLE x", [1]])
def test_a_draft_for_an_id_no_procedure_has_is_refused_and_stores_nothing(procedure_id):
    from dossiers.exceptions import ProcedureNotFound

    ProcedureFactory()
    with pytest.raises(ProcedureNotFound):
        services.dossier_create(actor=UserFactory(), procedure_id=procedure_id, form_data={})
    assert not Dossier.objects.exists()


@pytest.mark.django_db
def test_a_draft_for_an_inactive_procedure_is_refused():
    from dossiers.exceptions import ProcedureNotFound

    closed = ProcedureFactory(is_active=False)
    with pytest.raises(ProcedureNotFound):
        services.dossier_create(actor=UserFactory(), procedure_id=closed.pk, form_data={})
    assert services.dossier_create(actor=UserFactory(), procedure_id=str(ProcedureFactory().pk),
                                   form_data={}).state == Dossier.State.DRAFT


@pytest.mark.django_db
@pytest.mark.parametrize("dossier_id", ["x", None, -1, 2**63, 10**6])
def test_a_result_or_refusal_for_an_id_no_dossier_has_is_a_404(dossier_id):
    from dossiers.exceptions import DossierNotFound

    leader = UserFactory(roles=[Role.LEADER])
    with pytest.raises(DossierNotFound):
        services.dossier_issue_result(dossier_id=dossier_id, actor=leader, number="1/GP")
    with pytest.raises(DossierNotFound):
        services.dossier_refuse(dossier_id=dossier_id, actor=leader, reason="Không đủ điều kiện.")
    for unanswered in (services.dossier_return_unanswered, services.dossier_refuse_unanswered):
        with pytest.raises(DossierNotFound):
            unanswered(dossier_id=dossier_id, actor=leader)
