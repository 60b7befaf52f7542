"""The apology and new-appointment slip (form 04): before the due time, once, leader-approved."""

from datetime import datetime

from django.conf import settings as django_settings
from django.urls import reverse

import pytest

from dossiers import services
from dossiers.exceptions import (
    ApologyNotAllowed,
    ApologyWindowClosed,
    InvalidFormData,
    TransitionForbidden,
)
from dossiers.models import ApologySlip, Dossier, DossierTransition, OutboundMessage
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


# --- the windows: drafted a working day before the due time, approved before it ----------


def test_drafting_closes_one_working_day_before_the_due_time(late_soon, specialist,
                                                              api_client_for):
    # Due Monday 10/03 08:00: one working day earlier is Friday 07/03 08:00.
    with clock.frozen_at(vn(2025, 3, 7, 8, 1)):
        with pytest.raises(ApologyWindowClosed) as refused:
            services.apology_draft(dossier_id=late_soon.pk, actor=specialist,
                                   new_appointment_at=vn(2025, 3, 14, 16), reason="Chậm")
        response = api_client_for(specialist).post(
            reverse("api:dossiers:apology", args=[late_soon.pk]),
            {"new_appointment_at": "2025-03-14T16:00:00+07:00", "reason": "Chậm"},
            format="json")
    assert "chậm nhất 1 ngày làm việc" in str(refused.value.message)
    assert "08:00 07/03/2025" in str(refused.value.message)
    assert response.status_code == 409 and response.json()["code"] == "apology_window_closed"
    assert not ApologySlip.objects.exists()

    with clock.frozen_at(vn(2025, 3, 7, 8, 0)):
        services.apology_draft(dossier_id=late_soon.pk, actor=specialist,
                               new_appointment_at=vn(2025, 3, 14, 16), reason="Chậm")
    assert ApologySlip.objects.get().status == ApologySlip.Status.DRAFT


def test_the_lead_time_is_a_setting(late_soon, specialist, settings):
    settings.APOLOGY_DRAFT_LEAD_DAYS = 2
    with clock.frozen_at(vn(2025, 3, 6, 9)), pytest.raises(ApologyWindowClosed):
        services.apology_draft(dossier_id=late_soon.pk, actor=specialist,
                               new_appointment_at=vn(2025, 3, 14, 16), reason="Chậm")
    settings.APOLOGY_DRAFT_LEAD_DAYS = 0.5  # half a day: until Friday 13:30
    with clock.frozen_at(vn(2025, 3, 7, 13)):
        services.apology_draft(dossier_id=late_soon.pk, actor=specialist,
                               new_appointment_at=vn(2025, 3, 14, 16), reason="Chậm")
    assert ApologySlip.objects.filter(dossier=late_soon).exists()


def test_approval_closes_at_the_due_time_and_nothing_is_sent(
        late_soon, specialist, leader, django_capture_on_commit_callbacks, mailoutbox):
    with clock.frozen_at(vn(2025, 3, 6, 9)):
        services.apology_draft(dossier_id=late_soon.pk, actor=specialist,
                               new_appointment_at=vn(2025, 3, 14, 16), reason="Chậm")
    with (clock.frozen_at(vn(2025, 3, 10, 8)), django_capture_on_commit_callbacks(execute=True),
          pytest.raises(ApologyWindowClosed) as refused):
        services.apology_approve(dossier_id=late_soon.pk, actor=leader)
    assert "trước thời hạn trả kết quả" in str(refused.value.message)
    assert ApologySlip.objects.get().status == ApologySlip.Status.DRAFT
    assert Dossier.objects.get(pk=late_soon.pk).new_appointment_at is None
    assert mailoutbox == [] and not OutboundMessage.objects.exists()


def test_an_approved_slip_is_pushed_to_the_portals_and_printable_for_the_applicant(
        late_soon, specialist, leader, applicant, api_client_for,
        django_capture_on_commit_callbacks):
    with clock.frozen_at(vn(2025, 3, 6, 9)):
        services.apology_draft(dossier_id=late_soon.pk, actor=specialist,
                               new_appointment_at=vn(2025, 3, 14, 16), reason="Chậm")
    slip_url = reverse("api:dossiers:apology_slip", args=[late_soon.pk])
    assert api_client_for(applicant).get(slip_url).status_code == 409  # a draft: not yet
    assert api_client_for(specialist).get(slip_url).status_code == 200
    with clock.frozen_at(vn(2025, 3, 7, 10)), django_capture_on_commit_callbacks(execute=False):
        services.apology_approve(dossier_id=late_soon.pk, actor=leader)

    pushed = OutboundMessage.objects.filter(dossier=late_soon)
    assert pushed.count() == len(django_settings.SYNC_SYSTEMS) >= 1
    for message in pushed:
        assert message.payload["transition"] == "reschedule"
        assert datetime.fromisoformat(message.payload["new_appointment_at"]) == vn(
            2025, 3, 14, 16)
    response = api_client_for(applicant).get(slip_url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
