"""The officers' pages: the work queue and the dossier workspace, through the real services."""

import re
from datetime import timedelta

from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import pytest

from dossiers.models import ApologySlip, Document, DocumentComponent, Dossier, DossierTransition
from portal.roles import Role
from tests.conftest import PDF_BYTES
from tests.dossiers.factories import AgencyFactory, DossierFactory, ProcedureFactory, UserFactory

QUEUE = reverse("web:officers:queue")


def page(dossier) -> str:
    return reverse("web:officers:dossier", args=[dossier.pk])


def move_url(dossier, name: str) -> str:
    return reverse("web:officers:move", args=[dossier.pk, name.replace("_", "-")])


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


def queue_codes(response) -> list[str]:
    """The dossier codes of the queue's rows, in order."""
    return re.findall(r'<a class="code" href="[^"]+">([^<]+)</a>', text(response))


def move_buttons(response) -> set[str]:
    """The moves the workspace offers, read from the forms it shows."""
    return set(re.findall(r'/thao-tac/([a-z-]+)/"', text(response)))


def chip_count(response, label: str) -> int:
    match = re.search(re.escape(label) + r' <span class="count">(\d+)</span>', text(response))
    assert match, f"no chip {label!r}"
    return int(match.group(1))


@pytest.fixture
def procedure(agency):
    return ProcedureFactory(agency=agency)


@pytest.fixture
def make(procedure, applicant):
    def build(**kwargs):
        kwargs.setdefault("procedure", procedure)
        kwargs.setdefault("applicant", applicant)
        return DossierFactory(**kwargs)

    return build


@pytest.fixture
def foreign_officer(db):
    other = AgencyFactory(code="sxd", name="Sở Xây dựng")
    return UserFactory(roles=[Role.RECEPTION, Role.SPECIALIST, Role.LEADER], kind="staff",
                       agency_code=other.code)


def _document(dossier, *, verdict="", report=None, name="don-de-nghi.pdf") -> Document:
    return Document.objects.create(
        dossier=dossier, component=dossier.procedure.components.get(code="don_de_nghi"),
        file=ContentFile(PDF_BYTES, name="don.pdf"), original_name=name, sha256="0" * 64,
        size=len(PDF_BYTES), content_type="application/pdf", uploaded_by=dossier.applicant,
        signature_verdict=verdict, signature_report=report,
        signature_checked_at=timezone.now(),
    )


# --- who may open the pages ------------------------------------------------------------


def test_an_applicant_gets_403_on_the_officers_pages(applicant, make):
    dossier = make(submitted=True)
    client = client_for(applicant)

    assert client.get(QUEUE).status_code == 403
    assert client.get(page(dossier)).status_code == 403
    assert client.post(move_url(dossier, "accept"), {"version": 1}).status_code == 403
    assert Dossier.objects.get(pk=dossier.pk).state == Dossier.State.SUBMITTED


def test_an_anonymous_visitor_is_sent_to_sign_in(db):
    response = Client().get(QUEUE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


def test_an_officer_of_another_agency_cannot_open_or_change_the_dossier(foreign_officer, make):
    dossier = make(submitted=True)
    document = _document(dossier)
    client = client_for(foreign_officer)

    assert client.get(page(dossier)).status_code == 404
    assert client.post(move_url(dossier, "accept"), {"version": 1}).status_code == 404
    assert client.get(reverse("web:officers:document", args=[document.pk])).status_code == 404
    assert client.get(reverse("web:officers:receipt_slip", args=[dossier.pk])).status_code == 404
    assert dossier.code not in text(client.get(QUEUE))
    assert Dossier.objects.get(pk=dossier.pk).state == Dossier.State.SUBMITTED


# --- the queue -------------------------------------------------------------------------


def test_reception_sees_the_results_it_has_to_hand_out(reception, specialist, make):
    ready = make(result_ready=True)
    waiting = make(submitted=True)

    seen = queue_codes(client_for(reception).get(QUEUE))
    only_ready = client_for(reception).get(QUEUE, {"state": "result_ready"})

    assert set(seen) == {ready.code, waiting.code}
    assert queue_codes(only_ready) == [ready.code]
    assert "Chờ trả kết quả" in text(only_ready)
    assert ready.code not in queue_codes(client_for(specialist).get(QUEUE))


def test_the_queue_counts_each_state_in_its_chips(reception, make):
    make(submitted=True)
    make(submitted=True)
    make(processing=True)
    make(overdue=True)
    make(result_ready=True)
    make()  # a draft is the applicant's business
    make(result_ready=True, state=Dossier.State.RETURNED)  # done

    response = client_for(reception).get(QUEUE)

    assert response.status_code == 200
    assert chip_count(response, "Tất cả") == 5
    assert chip_count(response, "Chờ tiếp nhận") == 2
    assert chip_count(response, "Đang xử lý") == 2
    assert chip_count(response, "Chờ trả kết quả") == 1
    assert chip_count(response, "Chờ phê duyệt") == 0
    # The chips count under the other filters too.
    overdue_only = client_for(reception).get(QUEUE, {"due": "overdue"})
    assert chip_count(overdue_only, "Tất cả") == 1
    assert chip_count(overdue_only, "Đang xử lý") == 1


def test_the_queue_filters_by_code_state_assignee_and_due_time(specialist, leader, make):
    now = timezone.now()
    mine = make(processing=True, assignee=specialist, code="SCT-250303-0101")
    others = make(processing=True, assignee=leader, code="SCT-250303-0102")
    unassigned = make(pending_approval=True, code="SCT-250304-0103")
    late = make(overdue=True, code="SCT-250304-0104")
    soon = make(processing=True, code="SCT-250305-0105", due_at=now + timedelta(hours=2),
                due_soon_at=now - timedelta(hours=1))
    client = client_for(specialist)

    assert queue_codes(client.get(QUEUE, {"code": "0102"})) == [others.code]
    assert queue_codes(client.get(QUEUE, {"state": "pending_approval"})) == [unassigned.code]
    assert queue_codes(client.get(QUEUE, {"assignee": "me"})) == [mine.code]
    assert set(queue_codes(client.get(QUEUE, {"assignee": "none"}))) == {
        unassigned.code, late.code, soon.code}
    assert queue_codes(client.get(QUEUE, {"due": "overdue"})) == [late.code]
    assert queue_codes(client.get(QUEUE, {"due": "soon"})) == [soon.code]
    assert queue_codes(client.get(QUEUE, {"code": "250304", "state": "processing"})) == [late.code]


def test_the_queue_is_sorted_by_due_time_and_shows_the_columns(specialist, make):
    now = timezone.now()
    later = make(processing=True, due_at=now + timedelta(days=4))
    sooner = make(processing=True, due_at=now + timedelta(days=1), assignee=specialist)

    response = client_for(specialist).get(QUEUE)
    body = text(response)

    assert queue_codes(response) == [sooner.code, later.code]
    assert page(sooner) in body
    for header in ("Mã hồ sơ", "Thủ tục", "Người nộp", "Trạng thái", "Ngày tiếp nhận",
                   "Hạn trả kết quả", "Người xử lý"):
        assert f">{header}</th>" in body
    assert sooner.applicant.display_name in body
    assert sooner.procedure.name in body
    local_due = timezone.localtime(sooner.due_at).strftime("%H:%M %d/%m/%Y")
    assert local_due in body


def test_overdue_and_due_soon_rows_carry_a_textual_badge(specialist, make):
    now = timezone.now()
    late = make(overdue=True)
    soon = make(processing=True, due_at=now + timedelta(hours=2),
                due_soon_at=now - timedelta(hours=1))
    calm = make(processing=True)

    body = text(client_for(specialist).get(QUEUE))
    rows = {code: row for code, row in (
        (re.search(r'<a class="code" href="[^"]+">([^<]+)</a>', r).group(1), r)
        for r in re.findall(r"<tr[^>]*>.*?</tr>", body, re.S) if 'class="code"' in r
    )}

    assert '<span class="badge badge-danger">Quá hạn</span>' in rows[late.code]
    assert '<span class="badge badge-warn">Sắp đến hạn</span>' in rows[soon.code]
    assert "Quá hạn" not in rows[calm.code] and "Sắp đến hạn" not in rows[calm.code]


def test_the_queue_pages_with_a_cursor(specialist, make):
    base = timezone.now().replace(microsecond=0)
    made = [make(processing=True, due_at=base + timedelta(hours=i)) for i in range(27)]
    client = client_for(specialist)

    first = client.get(QUEUE, {"assignee": "none"})
    next_link = re.search(r'<a class="btn" rel="next" href="([^"]+)"', text(first))
    assert next_link, "no link to the next page"
    second = client.get(next_link.group(1).replace("&amp;", "&"))

    assert len(queue_codes(first)) == 25
    assert "Trang sau" in text(first)
    assert len(queue_codes(second)) == 2
    assert 'rel="next"' not in text(second)
    assert "assignee=none" in next_link.group(1)
    assert queue_codes(first) + queue_codes(second) == [d.code for d in made]


def test_a_broken_page_link_shows_the_first_page_with_a_notice(specialist, make):
    dossier = make(processing=True)

    response = client_for(specialist).get(QUEUE, {"cursor": "not-a-cursor"})

    assert response.status_code == 200
    assert queue_codes(response) == [dossier.code]
    assert "Liên kết trang không còn hợp lệ" in text(response)


def test_an_htmx_request_gets_only_the_results(specialist, make):
    dossier = make(processing=True)

    response = client_for(specialist).get(QUEUE, {"state": "processing"},
                                          headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "<html" not in text(response)
    assert queue_codes(response) == [dossier.code]
    assert 'hx-target="#queue-region"' in text(response)


# --- the workspace: which moves show ---------------------------------------------------


@pytest.mark.parametrize(
    ("who", "trait", "expected"),
    [
        ("reception", "submitted", {"accept", "return-for-completion", "refuse-at-reception"}),
        ("specialist", "submitted", set()),
        ("reception", "processing", set()),
        ("specialist", "processing", {"request-supplement", "suspend", "propose"}),
        ("leader", "processing", set()),
        ("leader", "pending_approval", {"approve", "send-back", "refuse"}),
        ("specialist", "pending_approval", set()),
        ("leader", "approved", {"issue-result"}),
        ("reception", "result_ready", {"return-result"}),
        ("leader", "result_ready", set()),
    ],
)
def test_the_workspace_shows_only_the_moves_this_officer_may_make_now(
    reception, specialist, leader, make, who, trait, expected
):
    dossier = make(**{trait: True})
    user = {"reception": reception, "specialist": specialist, "leader": leader}[who]

    response = client_for(user).get(page(dossier))

    assert response.status_code == 200
    assert move_buttons(response) == expected


def test_a_move_whose_condition_fails_is_explained_without_a_button(reception, make):
    dossier = make(submitted=True)
    DocumentComponent.objects.filter(procedure=dossier.procedure, code="don_de_nghi").update(
        must_be_signed=True)
    _document(dossier, verdict="indeterminate", report={"signatures": [{
        "verdict": "indeterminate", "signer": {"name": "Nguyễn Văn Ký", "tax_code": "3200123456"},
        "signing_time": "2025-03-03T01:30:00+00:00", "matches_applicant": True,
        "sub_indication": "NO_CERTIFICATE_CHAIN_FOUND",
    }]})

    response = client_for(reception).get(page(dossier))
    body = text(response)

    assert "accept" not in move_buttons(response)
    assert "Chưa thể Tiếp nhận hồ sơ:" in body
    assert "cán bộ cần quyết định" in body
    # Reception sees the document, its signature report and the decision form.
    assert "don-de-nghi.pdf" in body and "Nguyễn Văn Ký" in body
    assert "Chưa xác định được" in body and "08:30 03/03/2025" in body
    assert reverse("web:officers:signature_decide", args=[dossier.documents.get().pk]) in body


def test_reception_decides_a_signature_then_accepts(reception, make):
    dossier = make(submitted=True)
    DocumentComponent.objects.filter(procedure=dossier.procedure, code="don_de_nghi").update(
        must_be_signed=True)
    document = _document(dossier, verdict="indeterminate",
                         report={"signatures": [{"verdict": "indeterminate"}]})
    client = client_for(reception)
    url = reverse("web:officers:signature_decide", args=[document.pk])

    missing_note = client.post(url, {"accept": "1", "note": ""})
    assert missing_note.status_code == 400
    assert "Vui lòng ghi căn cứ quyết định." in text(missing_note)
    document.refresh_from_db()
    assert document.signature_decision == ""

    decided = client.post(url, {"accept": "1", "note": "Đã đối chiếu bản giấy tại quầy."})
    assert decided.status_code == 302
    document.refresh_from_db()
    assert (document.signature_decision, document.signature_decided_by) == ("accepted", reception)
    assert "accept" in move_buttons(client.get(page(dossier)))


# --- the workspace: moves ----------------------------------------------------------------


def test_reception_accepts_a_dossier_from_its_page(reception, make):
    dossier = make(submitted=True)
    _document(dossier)
    client = client_for(reception)
    assert "accept" in move_buttons(client.get(page(dossier)))

    response = client.post(move_url(dossier, "accept"), {"version": dossier.version}, follow=True)

    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.PROCESSING
    assert dossier.received_at is not None and dossier.due_at is not None
    assert response.redirect_chain[-1][0] == page(dossier)
    body = text(response)
    assert "Đã tiếp nhận hồ sơ" in body
    slip = reverse("web:officers:receipt_slip", args=[dossier.pk])
    assert slip in body
    pdf = client.get(slip)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert DossierTransition.objects.filter(dossier=dossier, name="accept",
                                            actor=reception).exists()


def test_request_supplement_without_a_reason_shows_the_field_error_and_changes_nothing(
    specialist, make
):
    dossier = make(processing=True)

    response = client_for(specialist).post(move_url(dossier, "request_supplement"),
                                           {"version": dossier.version, "reason": "  "})

    assert response.status_code == 400
    body = text(response)
    assert "Vui lòng nêu lý do." in body
    assert re.search(r'<textarea[^>]*aria-invalid="true"[^>]*>', body)
    assert 'id="id_request_supplement_reason_error"' in body
    after = Dossier.objects.get(pk=dossier.pk)
    assert (after.state, after.version) == (Dossier.State.PROCESSING, dossier.version)
    assert not DossierTransition.objects.filter(dossier=dossier).exists()


def test_request_supplement_records_what_to_supply(specialist, make):
    dossier = make(processing=True)

    response = client_for(specialist).post(move_url(dossier, "request_supplement"), {
        "version": dossier.version, "components": ["ban_ve"],
        "reason": "Bản vẽ thiếu chữ ký của đơn vị thiết kế.",
    })

    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.AWAITING_SUPPLEMENT
    assert dossier.reason == "Bản vẽ mặt bằng\nBản vẽ thiếu chữ ký của đơn vị thiết kế."


def test_a_stale_version_is_refused_with_a_message_and_keeps_what_was_typed(specialist, make):
    dossier = make(processing=True, version=4)

    response = client_for(specialist).post(move_url(dossier, "suspend"), {
        "version": 3, "reason": "Chờ ý kiến của Sở Xây dựng.",
    })

    assert response.status_code == 409
    body = text(response)
    assert "Hồ sơ vừa được người khác cập nhật, vui lòng tải lại." in body
    assert "Chờ ý kiến của Sở Xây dựng." in body
    after = Dossier.objects.get(pk=dossier.pk)
    assert (after.state, after.version) == (Dossier.State.PROCESSING, 4)


def test_a_refused_move_becomes_a_message_not_a_server_error(reception, make):
    dossier = make(pending_approval=True)

    response = client_for(reception).post(move_url(dossier, "approve"),
                                          {"version": dossier.version})

    assert response.status_code == 403
    assert 'class="alert alert-error"' in text(response)
    assert Dossier.objects.get(pk=dossier.pk).state == Dossier.State.PENDING_APPROVAL


def test_an_unknown_move_is_a_404(reception, make):
    dossier = make(submitted=True)

    assert client_for(reception).post(move_url(dossier, "submit"), {"version": 1}).status_code == 404
    assert client_for(reception).post(move_url(dossier, "nothing"), {"version": 1}).status_code == 404


def test_the_leader_sends_back_with_a_reason_and_approves(leader, specialist, make):
    dossier = make(pending_approval=True)
    client = client_for(leader)

    missing = client.post(move_url(dossier, "send_back"), {"version": dossier.version})
    assert missing.status_code == 400 and "Vui lòng nêu lý do." in text(missing)

    approved = client.post(move_url(dossier, "approve"), {"version": dossier.version})
    assert approved.status_code == 302
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.APPROVED


@pytest.fixture
def fresh_signer():
    from signatures.signers import reset_configured_signer

    reset_configured_signer()
    yield
    reset_configured_signer()


def test_the_leader_issues_the_result_with_its_number(leader, make, fresh_signer):
    dossier = make(approved=True)
    client = client_for(leader)

    missing = client.post(move_url(dossier, "issue_result"),
                          {"version": dossier.version, "kind": "licence", "number": ""})
    assert missing.status_code == 400 and "Vui lòng nhập số văn bản." in text(missing)

    response = client.post(move_url(dossier, "issue_result"),
                           {"version": dossier.version, "kind": "licence", "number": "12/GP-SCT"})

    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.RESULT_READY
    assert dossier.result.number == "12/GP-SCT" and dossier.result.signed
    body = text(client.get(page(dossier)))
    assert "12/GP-SCT" in body
    assert client.get(reverse("web:officers:result_file", args=[dossier.pk])).status_code == 200


def test_reception_hands_out_the_result(reception, make):
    dossier = make(result_ready=True)

    response = client_for(reception).post(move_url(dossier, "return_result"),
                                          {"version": dossier.version})

    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.RETURNED


# --- claim, assign, apology, files -------------------------------------------------------


def test_an_officer_claims_an_unassigned_dossier(specialist, make):
    dossier = make(processing=True)
    client = client_for(specialist)
    assert "Nhận xử lý" in text(client.get(page(dossier)))

    response = client.post(reverse("web:officers:claim", args=[dossier.pk]),
                           {"version": dossier.version})

    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.assignee == specialist
    assert "Nhận xử lý" not in text(client.get(page(dossier)))


def test_the_leader_assigns_to_an_officer_of_the_steps_role(leader, specialist, reception,
                                                           make, procedure):
    dossier = make(processing=True, current_step=procedure.steps.get(code="review"))
    client = client_for(leader)
    body = text(client.get(page(dossier)))
    assert f'<option value="{specialist.pk}">' in body
    assert f'<option value="{reception.pk}">' not in body

    stale = client.post(reverse("web:officers:assign", args=[dossier.pk]),
                        {"version": dossier.version + 1, "assignee_id": specialist.pk})
    assert stale.status_code == 409
    assert "Hồ sơ vừa được người khác cập nhật" in text(stale)

    response = client.post(reverse("web:officers:assign", args=[dossier.pk]),
                           {"version": dossier.version, "assignee_id": specialist.pk})

    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.assignee == specialist


def test_a_specialist_cannot_assign(specialist, leader, make):
    dossier = make(processing=True)

    body = text(client_for(specialist).get(page(dossier)))
    response = client_for(specialist).post(reverse("web:officers:assign", args=[dossier.pk]),
                                           {"version": dossier.version, "assignee_id": leader.pk})

    assert "Giao hồ sơ" not in body
    assert response.status_code in (400, 403)
    assert Dossier.objects.get(pk=dossier.pk).assignee is None


def test_the_apology_slip_is_drafted_by_the_specialist_and_approved_by_the_leader(
    specialist, leader, make
):
    dossier = make(processing=True)
    new_time = timezone.localtime(dossier.due_at + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    url = reverse("web:officers:apology_draft", args=[dossier.pk])

    early = client_for(specialist).post(url, {"new_appointment_at": "", "reason": "Chậm"})
    assert early.status_code == 400 and "Vui lòng chọn ngày hẹn mới." in text(early)
    drafted = client_for(specialist).post(url, {"new_appointment_at": new_time,
                                                "reason": "Chờ kết quả kiểm tra thực địa."})
    assert drafted.status_code == 302
    assert ApologySlip.objects.get(dossier=dossier).status == ApologySlip.Status.DRAFT

    approved = client_for(leader).post(reverse("web:officers:apology_approve", args=[dossier.pk]))

    assert approved.status_code == 302
    dossier.refresh_from_db()
    assert dossier.new_appointment_at is not None
    assert ApologySlip.objects.get(dossier=dossier).status == ApologySlip.Status.APPROVED


def test_the_workspace_shows_form_data_by_title_history_clock_and_documents(
    reception, specialist, make
):
    dossier = make(submitted=True)
    _document(dossier, name="giay-phep-cu.pdf")
    client_for(reception).post(move_url(dossier, "accept"), {"version": dossier.version})
    dossier.refresh_from_db()

    response = client_for(specialist).get(page(dossier))
    body = text(response)

    assert "Tên tổ chức" in body and "Công ty TNHH Xăng dầu Đông Hà" in body
    assert ">MST<" in body or "MST</dt>" in body
    assert "Tiếp nhận hồ sơ" in body  # the history
    assert timezone.localtime(dossier.due_at).strftime("%H:%M %d/%m/%Y") in body
    assert "ngày làm việc" in body  # the working time left
    assert dossier.current_step.name in body
    download = reverse("web:officers:document", args=[dossier.documents.get().pk])
    assert download in body
    file_response = client_for(specialist).get(download)
    assert file_response.status_code == 200
    assert b"".join(file_response.streaming_content) == PDF_BYTES


def test_a_move_that_does_not_apply_is_not_listed_as_blocked(specialist, make, procedure):
    # The review step is followed by the leader's step: "next step" is simply not a move here.
    dossier = make(processing=True, current_step=procedure.steps.get(code="review"))

    body = text(client_for(specialist).get(page(dossier)))

    assert "Chưa thể" not in body
    assert "propose" in move_buttons(client_for(specialist).get(page(dossier)))


def test_form_dates_are_shown_the_vietnamese_way(specialist, agency, applicant):
    schema = {"type": "object", "properties": {
        "start": {"type": "string", "format": "date", "title": "Ngày bắt đầu khuyến mại"}}}
    dossier = DossierFactory(processing=True, applicant=applicant, form_data={"start": "2026-12-01"},
                             procedure=ProcedureFactory(agency=agency, form_schema=schema))

    body = text(client_for(specialist).get(page(dossier)))

    assert "Ngày bắt đầu khuyến mại" in body and "01/12/2026" in body
