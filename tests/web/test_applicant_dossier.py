"""The applicant's dossier pages: the list and what is expected of them, the dossier page, its
papers, paying the fee and coming back from the provider, withdrawal, rating, and who may see
what."""

import re
from datetime import datetime

from django.urls import reverse

import pytest

from dossiers import services
from dossiers.models import Dossier, Payment, Rating
from dossiers.sla import VN_TZ
from integrations.base import PaymentStatus
from integrations.payment_providers.fake import FakePaymentProvider
from integrations.registry import override_payment_provider
from portal import clock
from tests.conftest import PDF_BYTES
from tests.dossiers.factories import DossierFactory, ProcedureFactory


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def url(name: str, *args) -> str:
    return reverse(f"web:applicant:{name}", args=args)


def html(response) -> str:
    return response.content.decode()


def row_of(page: str, dossier: Dossier) -> str:
    """The list's table row that links to the dossier."""
    link = f'href="{url("dossier", dossier.pk)}"'
    rows = [r for r in page.split("<tr>") if link in r]
    assert len(rows) == 1, f"no single row for dossier {dossier.pk}"
    return rows[0].split("</tr>")[0]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def fake():
    with override_payment_provider(FakePaymentProvider()) as provider:
        yield provider


@pytest.fixture
def fresh_signer():
    """The demo signer trusts its root when built; the store rolls back after each test."""
    from signatures.signers import reset_configured_signer

    reset_configured_signer()
    yield
    reset_configured_signer()


@pytest.fixture
def web(client, applicant):
    client.force_login(applicant)
    return client


def _draft(applicant, pdf_file, **procedure) -> Dossier:
    dossier = DossierFactory(applicant=applicant, procedure=ProcedureFactory(**procedure))
    services.document_upload(dossier_id=dossier.pk, actor=applicant, component_code="don_de_nghi",
                             uploaded_file=pdf_file())
    return dossier


def _submitted(applicant, pdf_file, **procedure) -> Dossier:
    dossier = _draft(applicant, pdf_file, **procedure)
    with clock.frozen_at(vn(2025, 3, 3, 7, 50)):
        return services.dossier_submit(dossier_id=dossier.pk, actor=applicant)


def _received(applicant, reception, pdf_file) -> Dossier:
    """Accepted Monday 03/03/2025 08:00 (Vietnam time): due Monday 10/03/2025 08:00."""
    dossier = _submitted(applicant, pdf_file)
    with clock.frozen_at(vn(2025, 3, 3, 8, 0)):
        return services.dossier_accept(dossier_id=dossier.pk, actor=reception)


@pytest.fixture
def received(applicant, reception, pdf_file):
    return _received(applicant, reception, pdf_file)


@pytest.fixture
def with_result(applicant, leader, fresh_signer):
    dossier = DossierFactory(applicant=applicant, approved=True)
    return services.dossier_issue_result(dossier_id=dossier.pk, actor=leader, number="7/GP-SCT")


# --- the list ----------------------------------------------------------------------------


def test_the_list_says_what_is_expected_of_the_applicant_in_each_state(
    web, applicant, reception, specialist, pdf_file, with_result, fake
):
    draft = _draft(applicant, pdf_file)
    unpaid_draft = DossierFactory(applicant=applicant,
                                  procedure=ProcedureFactory(fee_at_submission=True))
    submitted = _submitted(applicant, pdf_file)
    to_complete = _submitted(applicant, pdf_file)
    services.dossier_return_for_completion(dossier_id=to_complete.pk, actor=reception,
                                           reason="Thiếu bản vẽ mặt bằng")
    supplement = _received(applicant, reception, pdf_file)
    services.dossier_request_supplement(dossier_id=supplement.pk, actor=specialist,
                                        reason="Bổ sung giấy chứng nhận PCCC")

    page = html(web.get(url("dossiers")))

    assert 'href="/"' in page and "Nộp hồ sơ mới" in page
    row = row_of(page, draft)
    assert "Tiếp tục soạn" in row and f'href="/ho-so-cua-toi/{draft.pk}/soan/"' in row
    assert "Thanh toán phí" not in row
    row = row_of(page, unpaid_draft)
    assert "Tiếp tục soạn" in row and "Thanh toán phí" in row
    assert f'href="{url("pay", unpaid_draft.pk)}"' in row
    row = row_of(page, submitted)
    assert "Chờ Bộ phận Một cửa tiếp nhận" in row and 'class="btn' not in row
    assert submitted.code in row and "07:50 03/03/2025" in row
    for dossier, reason in ((to_complete, "Thiếu bản vẽ mặt bằng"),
                            (supplement, "Bổ sung giấy chứng nhận PCCC")):
        row = row_of(page, dossier)
        assert "Bổ sung hồ sơ" in row and reason in row
        assert f'href="/ho-so-cua-toi/{dossier.pk}/tai-lieu/"' in row
    row = row_of(page, supplement)
    assert "08:00 10/03/2025" in row  # the due time, in Vietnam time
    row = row_of(page, with_result)
    assert "Nhận kết quả" in row and "Chờ trả kết quả" in row


def test_a_returned_dossier_asks_for_a_rating_until_it_is_rated(
    web, applicant, reception, with_result
):
    returned = services.dossier_return_result(dossier_id=with_result.pk, actor=reception)
    row = row_of(html(web.get(url("dossiers"))), returned)
    assert "Đánh giá" in row and f'{url("dossier", returned.pk)}#danh-gia' in row

    services.rating_create(dossier_id=returned.pk, actor=applicant, score=4)
    row = row_of(html(web.get(url("dossiers"))), returned)
    assert "Đánh giá" not in row and "Cảm ơn" in row


def test_the_list_filters_by_state_group_newest_first_and_pages(
    web, applicant, other_applicant, reception, pdf_file
):
    drafts = [DossierFactory(applicant=applicant) for _ in range(20)]
    to_complete = _submitted(applicant, pdf_file)
    services.dossier_return_for_completion(dossier_id=to_complete.pk, actor=reception,
                                           reason="Thiếu giấy tờ")
    DossierFactory(applicant=other_applicant, submitted=True)

    needs = html(web.get(url("dossiers"), {"nhom": "can-bo-sung"}))
    assert url("dossier", to_complete.pk) in needs
    assert all(url("dossier", d.pk) + '"' not in needs for d in drafts)

    first = html(web.get(url("dossiers")))
    ids = [int(i) for i in re.findall(r'href="/ho-so-cua-toi/(\d+)/"', first)]
    assert len(ids) == 20 and ids[0] == to_complete.pk  # the newest first
    assert "Trang 1 / 2" in first
    second = html(web.get(url("dossiers"), {"trang": 2}))
    assert [int(i) for i in re.findall(r'href="/ho-so-cua-toi/(\d+)/"', second)] == [drafts[0].pk]

    only_drafts = html(web.get(url("dossiers"), {"nhom": "dang-soan"}))
    assert url("dossier", to_complete.pk) + '"' not in only_drafts
    assert 'aria-current="page">Đang soạn' in only_drafts


def test_the_list_shows_only_the_applicants_own_dossiers(web, other_applicant):
    theirs = DossierFactory(applicant=other_applicant, submitted=True)
    page = html(web.get(url("dossiers")))
    assert theirs.code not in page and "Bạn chưa có hồ sơ nào" in page


# --- the dossier page --------------------------------------------------------------------


def test_the_dossier_page_shows_code_due_time_documents_and_timeline(web, received):
    response = web.get(url("dossier", received.pk))
    page = html(response)
    assert response.status_code == 200
    assert received.code in page and received.procedure.name in page
    assert received.handling_agency.name in page
    assert "08:00 10/03/2025" in page  # 01:00 UTC, shown in Vietnam time
    assert "08:00 03/03/2025" in page  # received at
    assert "don.pdf" in page and "Đơn đề nghị" in page
    [document] = received.documents.all()
    assert url("document", received.pk, document.pk) in page
    timeline = page.split('class="timeline"')[1].split("</ol>")[0]
    assert timeline.index("Nộp hồ sơ") < timeline.index("Đã tiếp nhận hồ sơ")
    assert url("receipt_slip", received.pk) in page
    assert "Đã nộp hồ sơ thành công" not in page
    assert "Rút hồ sơ" in page  # open: the applicant may withdraw


def test_the_dossier_page_counts_the_working_time_left_and_past_the_appointment(web, received):
    facts = 'Thời gian còn lại</dt>'
    with clock.frozen_at(vn(2025, 3, 7, 8, 0)):  # Friday 08:00: 7.5 hours, then Monday's 0.5
        page = html(web.get(url("dossier", received.pk)))
    assert "Còn 1 ngày làm việc" in page.split(facts)[1].split("</dd>")[0]
    with clock.frozen_at(vn(2025, 3, 10, 9, 30)):
        page = html(web.get(url("dossier", received.pk)))
    left = page.split(facts)[1].split("</dd>")[0]
    assert "Quá hạn" in left and "1 giờ 30 phút làm việc" in left


def test_after_submission_the_page_shows_the_success_banner_with_the_code(
    web, applicant, pdf_file
):
    dossier = _submitted(applicant, pdf_file)
    page = html(web.get(url("dossier", dossier.pk), {"nop": "1"}))
    banner = page.split("submitted-banner")[1].split("</div>")[0]
    assert "Đã nộp hồ sơ thành công" in banner
    assert f'<strong class="big-code">{dossier.code}</strong>' in banner
    assert dossier.lookup_secret in banner
    # A draft never shows it.
    draft = DossierFactory(applicant=applicant)
    assert "Đã nộp hồ sơ thành công" not in html(web.get(url("dossier", draft.pk), {"nop": "1"}))


def test_a_dossier_awaiting_a_supplement_shows_the_request_and_the_link(
    web, received, specialist
):
    services.dossier_request_supplement(dossier_id=received.pk, actor=specialist,
                                        reason="Bổ sung giấy chứng nhận PCCC")
    page = html(web.get(url("dossier", received.pk)))
    assert "Yêu cầu bổ sung hồ sơ" in page and "Bổ sung giấy chứng nhận PCCC" in page
    assert f'href="/ho-so-cua-toi/{received.pk}/tai-lieu/"' in page
    assert "Đang tạm dừng tính thời gian giải quyết" in page


def test_the_receipt_slip_downloads_as_a_pdf(web, received):
    response = web.get(url("receipt_slip", received.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f"tiep-nhan-{received.code}.pdf" in response["Content-Disposition"]


def test_the_receipt_of_a_dossier_not_yet_received_is_a_message_not_an_error(
    web, applicant, pdf_file
):
    dossier = _submitted(applicant, pdf_file)
    response = web.get(url("receipt_slip", dossier.pk), follow=True)
    assert response.redirect_chain[-1][0] == url("dossier", dossier.pk)
    assert any("chưa được tiếp nhận" in m for m in messages_of(response))


def test_a_document_downloads_for_its_applicant_only(web, client, received, other_applicant):
    [document] = received.documents.all()
    response = web.get(url("document", received.pk, document.pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    other = DossierFactory(applicant=received.applicant)
    assert web.get(url("document", other.pk, document.pk)).status_code == 404
    client.force_login(other_applicant)
    assert client.get(url("document", received.pk, document.pk)).status_code == 404


# --- the result --------------------------------------------------------------------------


def test_the_signed_result_downloads_when_ready_and_after_it_is_returned(
    web, with_result, reception
):
    page = html(web.get(url("dossier", with_result.pk)))
    assert 'id="ket-qua"' in page and "7/GP-SCT" in page and url("result_file", with_result.pk) in page
    with with_result.result.file.open("rb") as handle:
        signed = handle.read()

    def download() -> bytes:
        response = web.get(url("result_file", with_result.pk))
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        return b"".join(response.streaming_content)

    assert download() == signed and signed.startswith(b"%PDF")
    services.dossier_return_result(dossier_id=with_result.pk, actor=reception)
    assert Dossier.objects.get(pk=with_result.pk).state == Dossier.State.RETURNED
    assert download() == signed


def test_a_result_held_for_its_fee_sends_the_applicant_to_pay(
    web, applicant, leader, fresh_signer
):
    dossier = DossierFactory(applicant=applicant, approved=True,
                             procedure=ProcedureFactory(fee_before_result=True))
    services.dossier_issue_result(dossier_id=dossier.pk, actor=leader, number="3/GP-SCT")
    page = html(web.get(url("dossier", dossier.pk)))
    assert "Phải nộp phí, lệ phí trước khi nhận kết quả." in page
    assert url("result_file", dossier.pk) not in page
    response = web.get(url("result_file", dossier.pk))
    assert response.status_code == 302 and response["Location"] == url("pay", dossier.pk)


# --- paying the fee ----------------------------------------------------------------------


@pytest.fixture
def fee_dossier(applicant, pdf_file):
    return _draft(applicant, pdf_file, fee_at_submission=True)


def test_paying_goes_to_the_provider_and_the_return_page_shows_the_payment_paid(
    web, fake, fee_dossier
):
    page = html(web.get(url("pay", fee_dossier.pk)))
    assert "1.200.000 đ" in page and "Thanh toán trực tuyến" in page

    response = web.post(url("pay", fee_dossier.pk))
    payment = Payment.objects.get(dossier=fee_dossier)
    assert response.status_code == 302
    assert response["Location"] == payment.redirect_url
    assert payment.redirect_url == (
        f"http://127.0.0.1:8000{url('payment_return', payment.pk)}?reference=FAKE-000001")
    assert payment.status == Payment.Status.PENDING

    fake.complete(payment.provider_reference)  # the applicant pays on the provider's page
    back = web.get(url("payment_return", payment.pk), {"reference": "FAKE-000001"})
    page = html(back)
    assert back.status_code == 200
    assert "Thanh toán thành công" in page and "1.200.000 đ" in page
    assert f"SCT-NHAP-{fee_dossier.pk}" in page  # the draft's bill code: it has no code yet
    assert url("dossier", fee_dossier.pk) in page
    payment.refresh_from_db()
    assert (payment.status, payment.confirmed_by) == (Payment.Status.PAID, "query:fake")

    detail = html(web.get(url("dossier", fee_dossier.pk)))
    fees = detail.split('id="phi"')[1].split("</section>")[0]
    assert "Đã thanh toán" in fees and url("pay", fee_dossier.pk) not in fees


def test_the_return_while_the_provider_has_no_word_yet_shows_waiting(web, fake, fee_dossier):
    web.post(url("pay", fee_dossier.pk))
    payment = Payment.objects.get()
    # The browser claims success; only the provider's answer counts.
    page = html(web.get(url("payment_return", payment.pk),
                        {"reference": payment.provider_reference, "status": "paid"}))
    assert "Đang chờ xác nhận" in page and "Thanh toán thành công" not in page
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_a_forged_return_shows_failure_and_changes_nothing(web, fake, fee_dossier):
    web.post(url("pay", fee_dossier.pk))
    payment = Payment.objects.get()
    fake.complete(payment.provider_reference)
    calls = len(fake.calls)

    response = web.get(url("payment_return", payment.pk),
                       {"reference": "FAKE-999999", "status": "paid"})
    page = html(response)
    assert response.status_code == 400
    assert "Thanh toán không thành công" in page and "không khớp" in page
    assert url("dossier", fee_dossier.pk) in page
    assert len(fake.calls) == calls  # the provider was not even asked
    payment.refresh_from_db()
    assert (payment.status, payment.paid_at) == (Payment.Status.PENDING, None)


def test_a_failed_payment_says_so_and_offers_to_pay_again(web, fake, fee_dossier):
    web.post(url("pay", fee_dossier.pk))
    payment = Payment.objects.get()
    fake.complete(payment.provider_reference, status=PaymentStatus.FAILED)
    page = html(web.get(url("payment_return", payment.pk)))
    assert "Thanh toán không thành công" in page and "Thanh toán lại" in page
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED


def test_the_return_of_another_applicants_payment_is_a_404(
    client, fake, fee_dossier, applicant, other_applicant
):
    client.force_login(applicant)
    client.post(url("pay", fee_dossier.pk))
    payment = Payment.objects.get()
    client.force_login(other_applicant)
    assert client.get(url("payment_return", payment.pk)).status_code == 404
    assert client.post(url("pay", fee_dossier.pk)).status_code == 404
    assert [c.operation for c in fake.calls] == ["create_transaction"]


def test_paying_when_the_provider_is_down_is_a_message(web, fake, fee_dossier):
    from integrations.exceptions import PortalUnavailable

    fake.fail_next(PortalUnavailable())
    response = web.post(url("pay", fee_dossier.pk), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == url("pay", fee_dossier.pk)
    assert messages_of(response)


def test_a_procedure_without_a_fee_takes_no_payment(web, applicant, pdf_file, fake):
    dossier = _draft(applicant, pdf_file)
    assert "Thủ tục này không thu phí, lệ phí." in html(web.get(url("pay", dossier.pk)))
    response = web.post(url("pay", dossier.pk), follow=True)
    assert "Thủ tục này không thu phí, lệ phí." in messages_of(response)
    assert not Payment.objects.exists() and fake.calls == []


# --- withdrawal --------------------------------------------------------------------------


def test_withdrawing_without_a_reason_shows_the_field_error_and_changes_nothing(web, received):
    response = web.post(url("withdraw", received.pk), {"reason": "  ", "version": received.version})
    page = html(response)
    assert response.status_code == 400
    assert 'id="id_reason-error"' in page and "Vui lòng nêu lý do rút hồ sơ." in page
    assert 'aria-invalid="true"' in page and 'aria-describedby="id_reason-error"' in page
    assert "<details open>" in page
    assert Dossier.objects.get(pk=received.pk).state == Dossier.State.PROCESSING


def test_withdrawing_with_a_reason_withdraws(web, received):
    response = web.post(url("withdraw", received.pk),
                        {"reason": "Doanh nghiệp đổi địa điểm kinh doanh",
                         "version": received.version}, follow=True)
    dossier = Dossier.objects.get(pk=received.pk)
    assert (dossier.state, dossier.reason) == (
        Dossier.State.WITHDRAWN, "Doanh nghiệp đổi địa điểm kinh doanh")
    assert f"Đã rút hồ sơ {received.code}." in messages_of(response)
    page = html(response)
    assert 'action="' + url("withdraw", received.pk) not in page  # nothing left to withdraw


def test_a_stale_withdrawal_or_one_in_the_wrong_state_is_a_message_not_an_error(
    web, applicant, received
):
    response = web.post(url("withdraw", received.pk),
                        {"reason": "Rút", "version": received.version - 1}, follow=True)
    assert response.status_code == 200
    assert "Hồ sơ vừa được người khác cập nhật; vui lòng tải lại." in messages_of(response)
    assert Dossier.objects.get(pk=received.pk).state == Dossier.State.PROCESSING

    draft = DossierFactory(applicant=applicant)
    assert 'action="' + url("withdraw", draft.pk) not in html(web.get(url("dossier", draft.pk)))
    response = web.post(url("withdraw", draft.pk), {"reason": "Rút"}, follow=True)
    assert response.status_code == 200
    assert "Thao tác không hợp lệ ở trạng thái hiện tại của hồ sơ." in messages_of(response)
    assert Dossier.objects.get(pk=draft.pk).state == Dossier.State.DRAFT


# --- rating ------------------------------------------------------------------------------


def test_a_dossier_with_a_result_is_rated_once(web, with_result):
    page = html(web.get(url("dossier", with_result.pk)))
    assert 'id="danh-gia"' in page and "Rất hài lòng" in page

    response = web.post(url("rate", with_result.pk), {"score": "5", "comment": "Nhanh gọn"},
                        follow=True)
    assert "Cảm ơn bạn đã đánh giá." in messages_of(response)
    rating = Rating.objects.get(dossier=with_result)
    assert (rating.score, rating.comment) == (5, "Nhanh gọn")
    assert "Bạn đã đánh giá: <strong>Rất hài lòng</strong>" in html(response)

    again = web.post(url("rate", with_result.pk), {"score": "1"}, follow=True)
    assert "Hồ sơ đã được đánh giá." in messages_of(again)
    assert Rating.objects.get(dossier=with_result).score == 5


def test_a_rating_out_of_range_or_before_the_result_is_refused(web, with_result, received):
    response = web.post(url("rate", with_result.pk), {"score": "9"})
    assert response.status_code == 400
    assert "Vui lòng chọn một mức trong danh sách." in html(response)
    assert 'id="danh-gia"' not in html(web.get(url("dossier", received.pk)))
    early = web.post(url("rate", received.pk), {"score": "4"}, follow=True)
    assert "Chỉ đánh giá được hồ sơ đã có kết quả." in messages_of(early)
    assert not Rating.objects.exists()


# --- who may see what --------------------------------------------------------------------


@pytest.mark.parametrize(("name", "method"), [
    ("dossier", "get"), ("receipt_slip", "get"), ("result_file", "get"), ("pay", "get"),
    ("pay", "post"), ("withdraw", "post"), ("rate", "post"),
])
def test_another_applicants_dossier_is_a_404(client, other_applicant, received, name, method):
    client.force_login(other_applicant)
    response = getattr(client, method)(url(name, received.pk), {"reason": "x", "score": "5"})
    assert response.status_code == 404
    assert Dossier.objects.get(pk=received.pk).state == Dossier.State.PROCESSING


@pytest.mark.parametrize("name", ["dossiers", "dossier", "pay", "receipt_slip"])
def test_officers_get_403_on_the_applicants_pages(client, reception, received, name):
    client.force_login(reception)
    args = () if name == "dossiers" else (received.pk,)
    assert client.get(url(name, *args)).status_code == 403


def test_signing_in_is_asked_first(client, received):
    response = client.get(url("dossier", received.pk))
    assert response.status_code == 302 and response["Location"].startswith("/dang-nhap/")
