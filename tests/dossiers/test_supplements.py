"""Supplement requests: once per dossier unless the procedure allows more, with what is missing
and a reply deadline; past the deadline, the procedure's action, logged either way."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.core.management import call_command
from django.urls import reverse

import pytest

from dossiers import services
from dossiers.exceptions import InvalidFormData, SupplementNotAllowed
from dossiers.models import Dossier, DossierTransition, Procedure, SupplementRequest
from dossiers.services.supplements import supplement_expire_due, supplement_expired_for
from dossiers.sla import VN_TZ
from portal import clock
from tests.dossiers.factories import DossierFactory


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


MONDAY = vn(2025, 3, 3, 8)


def _received(applicant, reception, pdf_file, procedure=None):
    """A dossier with its mandatory paper, so that a supplement can be supplied."""
    dossier = DossierFactory(applicant=applicant, **({"procedure": procedure} if procedure else {}))
    services.document_upload(dossier_id=dossier.pk, actor=applicant,
                             component_code="don_de_nghi", uploaded_file=pdf_file())
    with clock.frozen_at(MONDAY - timedelta(hours=1)):
        services.dossier_submit(dossier_id=dossier.pk, actor=applicant)
    with clock.frozen_at(MONDAY):
        services.dossier_accept(dossier_id=dossier.pk, actor=reception)
    return Dossier.objects.get(pk=dossier.pk)


@pytest.fixture
def accepted(applicant, reception, pdf_file):
    return _received(applicant, reception, pdf_file)


def _ask(dossier, specialist, at, **kwargs):
    with clock.frozen_at(at):
        return services.dossier_request_supplement(
            dossier_id=dossier.pk, actor=specialist,
            reason="1. Bản vẽ mặt bằng: thiếu xác nhận.\n- Đơn đề nghị: sai mã số thuế.",
            **kwargs)


def _answer(dossier, applicant, at):
    with clock.frozen_at(at):
        services.dossier_supply(dossier_id=dossier.pk, actor=applicant)


def test_a_request_lists_what_is_missing_with_the_procedures_reply_deadline(
        accepted, specialist):
    _ask(accepted, specialist, MONDAY + timedelta(hours=1))

    request = SupplementRequest.objects.get(dossier=accepted)
    assert request.items == ["Bản vẽ mặt bằng: thiếu xác nhận.", "Đơn đề nghị: sai mã số thuế."]
    # 10 working days (the default) from Monday 09:00: two weeks later, same time.
    assert request.reply_by == vn(2025, 3, 17, 9)
    assert request.status == SupplementRequest.Status.OPEN
    row = DossierTransition.objects.filter(dossier=accepted).latest("id")
    assert datetime.fromisoformat(row.details["reply_by"]) == request.reply_by


def test_the_officer_may_set_the_deadline_but_not_in_the_past(accepted, specialist):
    with pytest.raises(InvalidFormData):
        _ask(accepted, specialist, MONDAY + timedelta(hours=1), reply_by=MONDAY)
    assert not SupplementRequest.objects.exists()
    assert Dossier.objects.get(pk=accepted.pk).state == Dossier.State.PROCESSING

    _ask(accepted, specialist, MONDAY + timedelta(hours=1), reply_by=vn(2025, 3, 7, 17))
    assert SupplementRequest.objects.get().reply_by == vn(2025, 3, 7, 17)


def test_only_once_per_dossier_unless_the_procedure_allows_more(
        accepted, specialist, applicant, api_client_for):
    _ask(accepted, specialist, MONDAY + timedelta(hours=1))
    _answer(accepted, applicant, MONDAY + timedelta(hours=3))
    assert SupplementRequest.objects.get().status == SupplementRequest.Status.ANSWERED

    with pytest.raises(SupplementNotAllowed):
        _ask(accepted, specialist, MONDAY + timedelta(hours=4))
    with clock.frozen_at(MONDAY + timedelta(hours=4)):
        refused = api_client_for(specialist).post(
            reverse("api:dossiers:request_supplement", args=[accepted.pk]),
            {"reason": "Lần hai"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "supplement_limit_reached"
    assert "bổ sung" in refused.json()["message"]
    assert Dossier.objects.get(pk=accepted.pk).state == Dossier.State.PROCESSING

    Procedure.objects.filter(pk=accepted.procedure_id).update(supplement_max_requests=2)
    _ask(accepted, specialist, MONDAY + timedelta(hours=5))
    assert SupplementRequest.objects.filter(dossier=accepted).count() == 2


@pytest.mark.parametrize("action", [Procedure.SupplementExpiry.RETURN,
                                    Procedure.SupplementExpiry.REFUSE])
def test_an_unanswered_request_goes_to_the_procedures_action_once_and_is_logged(
        accepted, specialist, action, time_machine):
    Procedure.objects.filter(pk=accepted.procedure_id).update(
        supplement_expiry=action, supplement_reply_days=Decimal("2"))
    _ask(accepted, specialist, MONDAY + timedelta(hours=1))  # reply by Wednesday 09:00
    request = SupplementRequest.objects.get()

    time_machine.move_to(vn(2025, 3, 5, 8, 59), tick=False)
    assert supplement_expire_due() == []
    time_machine.move_to(vn(2025, 3, 5, 9, 1), tick=False)
    assert supplement_expire_due() == [request.pk]
    assert supplement_expire_due() == []  # once

    request.refresh_from_db()
    assert (request.status, request.expiry_action) == (SupplementRequest.Status.EXPIRED, action)
    assert request.expired_at == vn(2025, 3, 5, 9, 1)
    dossier = Dossier.objects.get(pk=accepted.pk)
    row = DossierTransition.objects.filter(dossier=dossier).latest("id")
    assert (row.name, row.from_state, row.to_state) == (
        "supplement_expired", "awaiting_supplement", "awaiting_supplement")
    assert row.details["action"] == action
    assert str(Procedure.SupplementExpiry(action).label).lower() in row.reason
    assert services.audit_verify(dossier_ids=[dossier.pk]) == []
    assert supplement_expired_for(dossier) == request


def test_an_answered_request_never_expires_and_the_command_reports_the_count(
        accepted, specialist, applicant, reception, pdf_file, time_machine, capsys):
    _ask(accepted, specialist, MONDAY + timedelta(hours=1))
    _answer(accepted, applicant, MONDAY + timedelta(hours=2))
    other = _received(applicant, reception, pdf_file, procedure=accepted.procedure)
    _ask(other, specialist, MONDAY + timedelta(hours=1))

    time_machine.move_to(vn(2025, 4, 1, 9), tick=False)
    call_command("expire_supplements")

    assert capsys.readouterr().out.strip() == "1"
    assert SupplementRequest.objects.get(dossier=accepted).status == "answered"
    assert SupplementRequest.objects.get(dossier=other).status == "expired"
    assert not DossierTransition.objects.filter(dossier=accepted,
                                                name="supplement_expired").exists()


def test_the_api_takes_the_reply_deadline(accepted, specialist, api_client_for):
    endpoint = reverse("api:dossiers:request_supplement", args=[accepted.pk])
    with clock.frozen_at(MONDAY + timedelta(hours=1)):
        past = api_client_for(specialist).post(
            endpoint, {"reason": "Bản vẽ.", "reply_by": "2025-03-01T08:00:00+07:00"},
            format="json")
        made = api_client_for(specialist).post(
            endpoint, {"reason": "Bản vẽ.", "reply_by": "2025-03-12T17:00:00+07:00"},
            format="json")
    assert past.status_code == 400 and past.json()["code"] == "invalid_form_data"
    assert made.status_code == 200, made.json()
    assert SupplementRequest.objects.get(dossier=accepted).reply_by == vn(2025, 3, 12, 17)
