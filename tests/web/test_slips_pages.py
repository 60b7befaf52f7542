"""The slips of Circular 01/2018 linked from the officer workspace and the applicant's dossier
page, where they apply; an expired supplement request shown to the officers."""

import re
from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

import pytest

from dossiers import services
from dossiers.models import Dossier, Procedure
from dossiers.services.supplements import supplement_expire_due
from portal import clock
from tests.dossiers.factories import DossierFactory


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def slip_links(html: str, area: str) -> set[str]:
    prefix = "/can-bo/ho-so/" if area == "officers" else "/ho-so-cua-toi/"
    return set(re.findall(re.escape(prefix) + r'\d+/phieu/([a-z]+)\.pdf', html))


@pytest.fixture
def accepted(applicant, reception):
    dossier = DossierFactory(applicant=applicant, submitted=True)
    services.dossier_accept(dossier_id=dossier.pk, actor=reception)
    return Dossier.objects.get(pk=dossier.pk)


def officer_page(dossier) -> str:
    return reverse("web:officers:dossier", args=[dossier.pk])


def applicant_page(dossier) -> str:
    return reverse("web:applicant:dossier", args=[dossier.pk])


def test_the_workspace_links_the_slips_that_apply_and_each_is_a_pdf(accepted, specialist):
    html = client_for(specialist).get(officer_page(accepted)).content.decode()

    assert slip_links(html, "officers") == {"receipt", "control"}
    assert "Phiếu kiểm soát quá trình giải quyết hồ sơ (mẫu 05)" in html
    for name in ("receipt", "control"):
        response = client_for(specialist).get(
            reverse("web:officers:slip", args=[accepted.pk, name]))
        assert response.status_code == 200 and response.content.startswith(b"%PDF")
        assert response["Content-Type"] == "application/pdf"


def test_a_draft_apology_is_linked_for_officers_and_not_for_the_applicant(
        accepted, specialist, applicant):
    services.apology_draft(dossier_id=accepted.pk, actor=specialist,
                           new_appointment_at=accepted.due_at + timedelta(days=3),
                           reason="Chờ ý kiến của Công an tỉnh.")

    officer_html = client_for(specialist).get(officer_page(accepted)).content.decode()
    applicant_html = client_for(applicant).get(applicant_page(accepted)).content.decode()

    assert "apology" in slip_links(officer_html, "officers")
    assert slip_links(applicant_html, "applicant") == {"control"}  # the receipt has its own card
    refused = client_for(applicant).get(
        reverse("web:applicant:slip", args=[accepted.pk, "apology"]), follow=True)
    assert refused.redirect_chain[-1][0] == applicant_page(accepted)
    assert "Hồ sơ chưa có phiếu xin lỗi và hẹn lại." in refused.content.decode()


def test_the_applicant_gets_the_completion_slip_and_others_get_404(
        applicant, other_applicant, reception):
    dossier = DossierFactory(applicant=applicant, submitted=True)
    services.dossier_return_for_completion(dossier_id=dossier.pk, actor=reception,
                                           reason="Đơn đề nghị chưa ký.")
    html = client_for(applicant).get(applicant_page(dossier)).content.decode()
    slip = reverse("web:applicant:slip", args=[dossier.pk, "completion"])

    assert slip_links(html, "applicant") == {"completion"}
    response = client_for(applicant).get(slip)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]
    assert client_for(other_applicant).get(slip).status_code == 404
    assert client_for(applicant).get(
        reverse("web:applicant:slip", args=[dossier.pk, "unknown"])).status_code == 404


def test_an_expired_supplement_request_tells_the_officers_what_the_procedure_says(
        accepted, specialist):
    Procedure.objects.filter(pk=accepted.procedure_id).update(
        supplement_expiry=Procedure.SupplementExpiry.REFUSE)
    services.dossier_request_supplement(dossier_id=accepted.pk, actor=specialist,
                                        reason="Bản vẽ mặt bằng.")
    with clock.frozen_at(timezone.now() + timedelta(days=40)):
        assert len(supplement_expire_due()) == 1

    html = client_for(specialist).get(officer_page(accepted)).content.decode()

    assert "Người nộp chưa bổ sung hồ sơ trước hạn" in html
    assert "Lãnh đạo từ chối giải quyết" in html
    assert "completion" in slip_links(html, "officers")
