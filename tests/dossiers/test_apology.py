"""The apology and new-appointment slip (form 04): before the due time, once, leader-approved."""

from datetime import datetime

from django.urls import reverse

import pytest

from dossiers import services
from dossiers.exceptions import ApologyNotAllowed, InvalidFormData, TransitionForbidden
from dossiers.models import ApologySlip, Dossier, DossierTransition
from dossiers.sla import VN_TZ
from portal import clock
from tests.dossiers.factories import DossierFactory


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


@pytest.fixture
def late_soon(applicant):
    return DossierFactory(applicant=applicant, processing=True, received_at=vn(2025, 3, 3, 8),
                          due_at=vn(2025, 3, 10, 8), due_soon_at=vn(2025, 3, 7, 13, 30))


def test_a_leader_approved_slip_tells_the_applicant_and_keeps_the_original_due(
    late_soon, specialist, leader, django_capture_on_commit_callbacks, mailoutbox
):
    with clock.frozen_at(vn(2025, 3, 6, 9)):
        slip = services.apology_draft(dossier_id=late_soon.pk, actor=specialist,
                                      new_appointment_at=vn(2025, 3, 14, 16),
                                      reason="Chờ kết quả kiểm tra thực địa")
    assert slip.status == ApologySlip.Status.DRAFT
    assert Dossier.objects.get(pk=late_soon.pk).new_appointment_at is None
    with clock.frozen_at(vn(2025, 3, 7, 10)), django_capture_on_commit_callbacks(execute=True):
        slip = services.apology_approve(dossier_id=late_soon.pk, actor=leader)
    dossier = Dossier.objects.get(pk=late_soon.pk)
    assert (slip.status, slip.approved_by) == (ApologySlip.Status.APPROVED, leader)
    assert dossier.new_appointment_at == vn(2025, 3, 14, 16)
    assert dossier.due_at == vn(2025, 3, 10, 8)  # the outcome still counts against this
    row = DossierTransition.objects.get(dossier=dossier)
    assert (row.name, row.from_state, row.to_state) == ("reschedule", "processing", "processing")
    assert services.audit_verify(dossier_ids=[dossier.pk]) == []
    [message] = mailoutbox
    assert "14/03/2025" in message.body and "xin lỗi" in message.body


def test_the_slip_must_be_drafted_before_the_due_time(late_soon, specialist):
    with clock.frozen_at(vn(2025, 3, 10, 9)), pytest.raises(ApologyNotAllowed):
        services.apology_draft(dossier_id=late_soon.pk, actor=specialist,
                               new_appointment_at=vn(2025, 3, 14, 16), reason="Chậm")
    assert not ApologySlip.objects.exists()


def test_only_one_slip_per_dossier(late_soon, specialist):
    with clock.frozen_at(vn(2025, 3, 6, 9)):
        services.apology_draft(dossier_id=late_soon.pk, actor=specialist,
                               new_appointment_at=vn(2025, 3, 14, 16), reason="Chậm")
        with pytest.raises(ApologyNotAllowed):
            services.apology_draft(dossier_id=late_soon.pk, actor=specialist,
                                   new_appointment_at=vn(2025, 3, 20, 16), reason="Lần hai")


def test_the_new_appointment_must_be_after_the_original_due(late_soon, specialist):
    with clock.frozen_at(vn(2025, 3, 6, 9)), pytest.raises(InvalidFormData):
        services.apology_draft(dossier_id=late_soon.pk, actor=specialist,
                               new_appointment_at=vn(2025, 3, 9, 16), reason="Chậm")


def test_a_specialist_cannot_approve_and_a_leader_cannot_approve_nothing(late_soon, specialist,
                                                                        leader):
    with clock.frozen_at(vn(2025, 3, 6, 9)):
        with pytest.raises(ApologyNotAllowed):
            services.apology_approve(dossier_id=late_soon.pk, actor=leader)
        services.apology_draft(dossier_id=late_soon.pk, actor=specialist,
                               new_appointment_at=vn(2025, 3, 14, 16), reason="Chậm")
        with pytest.raises(TransitionForbidden):
            services.apology_approve(dossier_id=late_soon.pk, actor=specialist)
    assert ApologySlip.objects.get().status == ApologySlip.Status.DRAFT


def test_the_slip_through_the_api(late_soon, specialist, leader, applicant, api_client_for):
    draft_url = reverse("api:dossiers:apology", args=[late_soon.pk])
    with clock.frozen_at(vn(2025, 3, 6, 9)):
        denied = api_client_for(applicant).post(draft_url, {}, format="json")
        bad = api_client_for(specialist).post(draft_url, {"reason": "x"}, format="json")
        created = api_client_for(specialist).post(
            draft_url, {"new_appointment_at": "2025-03-14T16:00:00+07:00", "reason": "Chậm"},
            format="json")
        approved = api_client_for(leader).post(
            reverse("api:dossiers:apology_approve", args=[late_soon.pk]))
    assert denied.status_code == 403
    assert bad.status_code == 400 and bad.json()["code"] == "validation_error"
    assert created.status_code == 201 and created.json()["status"] == "draft"
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
