"""The printed papers: every word on the page, nothing printed over anything else, the facts
each form must carry, dates in Vietnam time written once, and the QR codes' targets."""

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from html import unescape
from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile

import pytest
from pypdf import PdfReader

from dossiers import services
from dossiers.models import (
    Agency,
    DocumentComponent,
    Dossier,
    Result,
    StepRecord,
    SupplementRequest,
)
from dossiers.services import slips
from portal import clock, papers
from portal.roles import Role
from signatures.services import signature_verify
from tests.conftest import PDF_BYTES, PNG_BYTES
from tests.dossiers.factories import ProcedureFactory, UserFactory

# 01:30 on 1 December in Vietnam while it is still 30 November in UTC: a paper that prints UTC
# shows the wrong day.
NIGHT = datetime(2026, 11, 30, 18, 30, tzinfo=UTC)
VN_DAY = "ngày 01 tháng 12 năm 2026"
UTC_DAY = ("ngày 30 tháng 11 năm 2026", "30/11/2026")
LONG_AGENCY = "Sở Công Thương tỉnh Quảng Trị – Trung tâm Phục vụ hành chính công tỉnh Quảng Trị"
LONG_COMPONENT = (
    "Bản sao có chứng thực Giấy chứng nhận đủ điều kiện về phòng cháy và chữa cháy đối với "
    "cửa hàng bán lẻ xăng dầu, kèm theo biên bản kiểm tra an toàn phòng cháy còn hiệu lực do "
    "cơ quan Cảnh sát PCCC cấp tỉnh"
)
APPLICANT = "Công ty TNHH Thương mại Dịch vụ Xăng dầu Đông Hà Quảng Trị"
PROCEDURE = "Cấp Giấy chứng nhận đủ điều kiện cửa hàng bán lẻ xăng dầu"


# --- reading a PDF -------------------------------------------------------------------------


def squash(text: str) -> str:
    """Text without any white space, lower case: a line break anywhere still matches."""
    return "".join(text.split()).lower()


def page_texts(content: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(BytesIO(content)).pages]


def runs_outside_page(content: bytes) -> list[tuple]:
    """Every text run whose origin lies outside its page's mediabox (pypdf's view)."""
    outside = []
    for number, page in enumerate(PdfReader(BytesIO(content)).pages):
        box = page.mediabox
        runs: list[tuple[float, float, str]] = []

        def visit(text, cm, tm, font, size, runs=runs):
            if text.strip():
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                runs.append((x, y, text))

        page.extract_text(visitor_text=visit)
        assert runs, f"page {number + 1} has no text"
        outside += [(number, x, y, t) for x, y, t in runs
                    if not (box.left <= x <= box.right and box.bottom <= y <= box.top)]
    return outside


WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                  r"(.*?)</word>")
PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.DOTALL)


def word_boxes(path) -> list[tuple[float, float, list[tuple]]]:
    """Per page: its size and every word with its box (poppler's pdftotext -bbox)."""
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True,
                         text=True, check=True).stdout
    pages = []
    for width, height, body in PAGE.findall(out):
        words = [(float(a), float(b), float(c), float(d), unescape(t))
                 for a, b, c, d, t in WORD.findall(body)]
        pages.append((float(width), float(height), words))
    return pages


def layout_problems(content: bytes, tmp_path) -> list[str]:
    """Words off the page and words printed over other words."""
    problems = [f"run outside the page: {r}" for r in runs_outside_page(content)]
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is needed to read word boxes")
    path = tmp_path / "paper.pdf"
    path.write_bytes(content)
    for number, (width, height, words) in enumerate(word_boxes(path), start=1):
        for x0, y0, x1, y1, text in words:
            if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
                problems.append(f"page {number}: {text!r} off the page ({x0}, {y0}, {x1}, {y1})")
        for i, a in enumerate(words):
            for b in words[i + 1:]:
                dx = min(a[2], b[2]) - max(a[0], b[0])
                dy = min(a[3], b[3]) - max(a[1], b[1])
                if dx > 0.5 and dy > 0.5:
                    problems.append(f"page {number}: {a[4]!r} overlaps {b[4]!r}")
    return problems


def assert_paper(content: bytes, tmp_path, *, must_have: list[str]) -> str:
    """The checks every paper passes; returns its text."""
    assert content.startswith(b"%PDF-")
    # The pages' footers ("Trang 1/2") left out, so a paragraph reads across the page break.
    text = "\n".join(re.sub(r"Trang \d+/\d+", "", t) for t in page_texts(content))
    assert layout_problems(content, tmp_path) == []
    flat = squash(text)
    missing = [fact for fact in must_have if squash(fact) not in flat]
    assert missing == []
    assert "— —" not in text and "——" not in flat
    for wrong in UTC_DAY:  # the UTC day never shows: dates are in Vietnam time
        assert squash(wrong) not in flat
    for line in text.splitlines():  # a date is written once, not twice on one line
        assert len(re.findall(r"ngày \d\d tháng \d\d? năm \d{4}|\d\d/\d\d/\d{4}", line)) <= 1, line
    return text


# --- the dossier the papers are about ------------------------------------------------------


@pytest.fixture
def desk(db):
    agency = Agency.objects.create(code="sct", name=LONG_AGENCY)
    reception = UserFactory(roles=[Role.RECEPTION], agency_code="sct",
                            full_name="Lê Thị Hồng Nhung")
    specialist = UserFactory(roles=[Role.SPECIALIST], agency_code="sct",
                             full_name="Trần Quốc Việt")
    leader = UserFactory(roles=[Role.LEADER], agency_code="sct", full_name="Nguyễn Văn Đức")
    applicant = UserFactory(roles=[Role.APPLICANT], kind="business", full_name=APPLICANT,
                            tax_code="3200123456", phone="0233 3852 123")
    procedure = ProcedureFactory(agency=agency, name=PROCEDURE, national_code="1.001234")
    DocumentComponent.objects.create(procedure=procedure, order=3, code="pccc",
                                     name=LONG_COMPONENT, mandatory=False,
                                     accepted_types=["application/pdf", "image/png"])
    return {"agency": agency, "reception": reception, "specialist": specialist,
            "leader": leader, "applicant": applicant, "procedure": procedure}


def _upload(dossier, actor, code, content, name):
    services.document_upload(dossier_id=dossier.pk, actor=actor, component_code=code,
                             uploaded_file=SimpleUploadedFile(name, content))


@pytest.fixture
def received(desk):
    from tests.dossiers.factories import VALID_FORM

    with clock.frozen_at(NIGHT - timedelta(hours=1)):  # 00:30 in Vietnam
        dossier = services.dossier_create(actor=desk["applicant"],
                                          procedure_id=desk["procedure"].pk,
                                          form_data=dict(VALID_FORM))
        _upload(dossier, desk["applicant"], "don_de_nghi", PDF_BYTES, "don-de-nghi.pdf")
        _upload(dossier, desk["applicant"], "pccc", PNG_BYTES, "giay-chung-nhan-pccc.png")
        services.dossier_submit(dossier_id=dossier.pk, actor=desk["applicant"])
    with clock.frozen_at(NIGHT):
        services.dossier_accept(dossier_id=dossier.pk, actor=desk["reception"])
    return Dossier.objects.get(pk=dossier.pk)


# --- form 01 -------------------------------------------------------------------------------


def test_the_receipt_carries_every_fact_on_one_page_in_vietnam_time(received, desk, tmp_path):
    from django.utils import translation

    with translation.override("en"):  # an official form: Vietnamese whatever the session's
        content = slips.slip_receipt_render(dossier=received)

    text = assert_paper(content, tmp_path, must_have=[
        received.code, LONG_AGENCY, APPLICANT, PROCEDURE, LONG_COMPONENT, "Đơn đề nghị",
        "Mã số thuế: 3200123456", "Lê Thị Hồng Nhung", "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
        "Thời gian nhận hồ sơ: 01 giờ 30 phút, " + VN_DAY,
        "Thời gian trả kết quả giải quyết hồ sơ: " + papers.time_words(received.due_at),
        "Bản sao (bản điện tử)", received.lookup_secret, "5 ngày làm việc",
        "Kênh nộp: Trực tuyến",
    ])
    assert len(PdfReader(BytesIO(content)).pages) == 1
    assert "Quảng Trị, " + VN_DAY in text.replace("\n", " ")


# --- results: licence, decision, refusal ------------------------------------------------------


@pytest.fixture
def fresh_signer():
    """The demo signer registers its root in the trust store when built; build it per test."""
    from signatures.signers import reset_configured_signer

    reset_configured_signer()
    yield
    reset_configured_signer()


def _issued(dossier) -> bytes:
    with Result.objects.get(dossier=dossier).file.open("rb") as handle:
        return handle.read()


def _decided(desk, **trait) -> Dossier:
    from tests.dossiers.factories import DossierFactory

    return DossierFactory(applicant=desk["applicant"], procedure=desk["procedure"], **trait)


def _header_rows(content: bytes, tmp_path) -> dict[str, tuple]:
    """The first-page boxes of the header's landmarks, top-left origin."""
    path = tmp_path / "head.pdf"
    path.write_bytes(content)
    _w, _h, words = word_boxes(path)[0]
    found = {}
    for x0, y0, x1, y1, text in words:
        for key in ("Số:", "CỘNG", "Độc", "Quảng"):
            if text == key and key not in found:
                found[key] = (x0, y0, x1, y1)
    return found


@pytest.mark.parametrize("kind", [Result.Kind.LICENCE, Result.Kind.DECISION])
def test_a_signed_result_lays_out_motto_and_agency_side_by_side(desk, tmp_path, kind,
                                                                 fresh_signer):
    dossier = _decided(desk, approved=True)
    with clock.frozen_at(NIGHT):
        services.dossier_issue_result(dossier_id=dossier.pk, actor=desk["leader"], kind=kind,
                                      number="125/GP-SCT")
    content = _issued(dossier)

    text = assert_paper(content, tmp_path, must_have=[
        dossier.code, LONG_AGENCY, APPLICANT, PROCEDURE, "Số: 125/GP-SCT",
        "Quảng Trị, " + VN_DAY, "Mã số thuế: 3200123456", "(mã 1.001234)",
        "Nguyễn Văn Đức", "ĐÃ KÝ SỐ", "Thời gian ký: 01/12/2026 01:30:00 (GMT+7)",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
        {"licence": "GIẤY PHÉP", "decision": "QUYẾT ĐỊNH"}[kind],
    ])
    assert squash(text).count(squash(VN_DAY)) == 1  # the date, once
    head = _header_rows(content, tmp_path)
    # Two columns: the number under the agency on the left, the date under the motto on the
    # right, the motto above the date.
    assert head["Số:"][2] < head["CỘNG"][0] and head["Số:"][2] < head["Quảng"][0]
    assert head["CỘNG"][3] <= head["Độc"][1] <= head["Quảng"][1]
    verified = signature_verify(content=content, filename="kq.pdf")
    assert verified.issued_by_us is True and str(verified.verdict) == "valid"


def test_a_refusal_notice_prints_the_reason_and_is_signed(desk, tmp_path, fresh_signer):
    dossier = _decided(desk, pending_approval=True)
    reason = ("Cửa hàng không bảo đảm khoảng cách an toàn phòng cháy, chữa cháy theo "
              "Quy chuẩn QCVN 01:2020/BCT.")
    with clock.frozen_at(NIGHT):
        services.dossier_refuse(dossier_id=dossier.pk, actor=desk["leader"], reason=reason)
    content = _issued(dossier)

    text = assert_paper(content, tmp_path, must_have=[
        dossier.code, LONG_AGENCY, APPLICANT, PROCEDURE, reason, "Quảng Trị, " + VN_DAY,
        "VĂN BẢN TỪ CHỐI GIẢI QUYẾT HỒ SƠ", "từ chối giải quyết hồ sơ vì lý do sau",
        "Thời gian ký: 01/12/2026 01:30:00 (GMT+7)", "Số: " + dossier.code,
    ])
    assert squash(text).count(squash(VN_DAY)) == 1
    verified = signature_verify(content=content, filename="kq.pdf")
    assert verified.issued_by_us is True and str(verified.verdict) == "valid"


def test_a_long_refusal_runs_onto_a_second_page_with_the_stamp_signed_there(desk, tmp_path,
                                                                            fresh_signer):
    dossier = _decided(desk, pending_approval=True)
    reasons = [f"{n}. Hạng mục thứ {n} của cửa hàng chưa đáp ứng quy chuẩn kỹ thuật quốc gia "
               f"về an toàn phòng cháy, chữa cháy và bảo vệ môi trường." for n in range(1, 31)]
    with clock.frozen_at(NIGHT):
        services.dossier_refuse(dossier_id=dossier.pk, actor=desk["leader"],
                                reason="\n".join(reasons))
    content = _issued(dossier)

    assert_paper(content, tmp_path, must_have=[dossier.code, APPLICANT, *reasons])
    reader = PdfReader(BytesIO(content))
    pages = reader.pages
    assert len(pages) == 2 and "ĐÃ KÝ SỐ" in pages[1].extract_text()
    # The signature field sits over the stamp, on the page that prints it.
    [field] = reader.trailer["/Root"]["/AcroForm"]["/Fields"]
    assert field.get_object().raw_get("/P").idnum == pages[1].indirect_reference.idnum
    verified = signature_verify(content=content, filename="kq.pdf")
    assert verified.issued_by_us is True and str(verified.verdict) == "valid"


# --- forms 02 to 05 ---------------------------------------------------------------------------


def test_the_supplement_request_lists_what_to_supply(received, desk, tmp_path):
    asked = ["Bản sao biên bản kiểm tra phòng cháy, chữa cháy còn hiệu lực",
             "Bản vẽ mặt bằng tổng thể cửa hàng có xác nhận của đơn vị thiết kế"]
    with clock.frozen_at(NIGHT + timedelta(hours=1)):
        services.dossier_request_supplement(
            dossier_id=received.pk, actor=desk["specialist"],
            reason=f"1. {asked[0]}\n- {asked[1]}")

    content = slips.slip_supplement_render(dossier=received)

    text = assert_paper(content, tmp_path, must_have=[
        received.code, LONG_AGENCY, APPLICANT, PROCEDURE, *asked, "Trần Quốc Việt",
        "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ", "Quảng Trị, " + VN_DAY,
    ])
    # Each thing to supply is its own numbered item, its list mark dropped.
    assert "1. " + asked[0][:20] not in text and "- " + asked[1][:20] not in text


def test_the_supplement_request_slip_needs_a_request(received):
    from dossiers.exceptions import InvalidTransition

    with pytest.raises(InvalidTransition):
        slips.slip_supplement_render(dossier=received)


def test_the_refusal_at_reception_slip_gives_the_reason(desk, tmp_path):
    from tests.dossiers.factories import DossierFactory

    dossier = DossierFactory(applicant=desk["applicant"], procedure=desk["procedure"],
                             submitted=True)
    reason = "Thủ tục không thuộc thẩm quyền giải quyết của Sở Công Thương."
    with clock.frozen_at(NIGHT):
        services.dossier_refuse_at_reception(dossier_id=dossier.pk, actor=desk["reception"],
                                             reason=reason)

    content = slips.slip_refusal_render(dossier=dossier)

    assert_paper(content, tmp_path, must_have=[
        dossier.code, LONG_AGENCY, APPLICANT, PROCEDURE, reason, "Lê Thị Hồng Nhung",
        "Phiếu từ chối tiếp nhận giải quyết hồ sơ", "Quảng Trị, " + VN_DAY,
    ])


def test_the_apology_slip_gives_the_new_appointment(received, desk, tmp_path):
    due = received.due_at
    new = due + timedelta(days=3)
    with clock.frozen_at(NIGHT + timedelta(days=1)):
        services.apology_draft(dossier_id=received.pk, actor=desk["specialist"],
                               new_appointment_at=new, reason="Chờ ý kiến của Công an tỉnh.")
    draft = slips.slip_apology_render(dossier=received)
    assert "DỰ THẢO" in "\n".join(page_texts(draft))
    with clock.frozen_at(NIGHT + timedelta(days=1, hours=1)):
        services.apology_approve(dossier_id=received.pk, actor=desk["leader"])

    content = slips.slip_apology_render(dossier=received)

    text = assert_paper(content, tmp_path, must_have=[
        received.code, LONG_AGENCY, APPLICANT, PROCEDURE, "Chờ ý kiến của Công an tỉnh.",
        papers.time_words(due), papers.time_words(new), "Nguyễn Văn Đức",
        "Phiếu xin lỗi và hẹn lại ngày trả kết quả", "Ngày 01 tháng 12 năm 2026",
        "Quảng Trị, ngày 02 tháng 12 năm 2026",
    ])
    assert "DỰ THẢO" not in text


def test_the_process_control_slip_follows_each_handover(received, desk, tmp_path, fresh_signer):
    day = NIGHT + timedelta(days=1)
    with clock.frozen_at(day):
        services.dossier_propose(dossier_id=received.pk, actor=desk["specialist"],
                                 reason="Đủ điều kiện cấp.")
    with clock.frozen_at(day + timedelta(hours=1)):
        services.dossier_approve(dossier_id=received.pk, actor=desk["leader"])
    with clock.frozen_at(day + timedelta(hours=2)):
        services.dossier_issue_result(dossier_id=received.pk, actor=desk["leader"],
                                      number="7/GP-SCT")
    review = StepRecord.objects.get(dossier=received, step__role=Role.SPECIALIST)

    content = slips.slip_control_render(dossier=received)

    text = assert_paper(content, tmp_path, must_have=[
        received.code, LONG_AGENCY, APPLICANT, PROCEDURE,
        "Phiếu kiểm soát quá trình giải quyết hồ sơ", "Tiếp nhận hồ sơ, chuyển xử lý",
        "Trình phê duyệt", "Phê duyệt", "Ban hành kết quả", "Đủ điều kiện cấp.",
        "Lê Thị Hồng Nhung", "Trần Quốc Việt", "Nguyễn Văn Đức", "Thẩm định",
        "Bên giao", "Bên nhận", "Hạn xử lý",
        papers.vn_local(day).strftime("%H:%M %d/%m/%Y"),  # when the review step was handed on
        papers.vn_local(review.due_at).strftime("%H:%M %d/%m/%Y"),  # that step's own due time
    ])
    # The review step, the approval step and the result: each within its time, early.
    assert text.count("Trước hạn") == 3 and "Quá hạn" not in text


# --- the five slips: one set of checks ------------------------------------------------------

A4 = (595.28, 841.89)
MM = 72 / 25.4


@pytest.fixture
def every_slip(received, desk, fresh_signer):
    """A dossier with a supplement request answered, an approved apology and a result; and a
    dossier refused at reception: between them, all five slips."""
    with clock.frozen_at(NIGHT + timedelta(hours=2)):
        services.dossier_request_supplement(
            dossier_id=received.pk, actor=desk["specialist"],
            reason="Bản vẽ mặt bằng cửa hàng: bản đã nộp không có xác nhận của đơn vị thiết kế.")
    with clock.frozen_at(NIGHT + timedelta(hours=8)):
        services.dossier_supply(dossier_id=received.pk, actor=desk["applicant"])
    due = Dossier.objects.get(pk=received.pk).due_at
    with clock.frozen_at(NIGHT + timedelta(days=1)):
        services.apology_draft(dossier_id=received.pk, actor=desk["specialist"],
                               new_appointment_at=due + timedelta(days=3),
                               reason="Chờ ý kiến của Công an tỉnh.")
        services.apology_approve(dossier_id=received.pk, actor=desk["leader"])
    from tests.dossiers.factories import DossierFactory

    refused = DossierFactory(applicant=desk["applicant"], procedure=desk["procedure"],
                             submitted=True)
    with clock.frozen_at(NIGHT):
        services.dossier_refuse_at_reception(dossier_id=refused.pk, actor=desk["reception"],
                                             reason="Không thuộc thẩm quyền.")
    received.refresh_from_db()
    refused.refresh_from_db()
    return {"receipt": received, "completion": received, "refusal": refused,
            "apology": received, "control": received}


def _qr_found(content: bytes, url: str) -> bool:
    """Some picture on some page is the QR code of `url`, module for module."""
    expected = papers.qr_matrix(url)
    size = len(expected)
    for page in PdfReader(BytesIO(content)).pages:
        for picture in page.images:
            image = picture.image.convert("L")
            if image.width != image.height:
                continue
            cell = image.width / size
            seen = [[image.getpixel((int((j + 0.5) * cell), int((i + 0.5) * cell))) < 128
                     for j in range(size)] for i in range(size)]
            if seen == expected:
                return True
    return False


def _ink_in_side_margins(png) -> list[str]:
    """Dark pixels in the left and right page margins of a rendered page: text or a table
    running past the type area shows there first."""
    from PIL import Image

    image = Image.open(png).convert("L")
    dpi = image.width / (A4[0] / 72)
    left, right = int(20 * MM / 72 * dpi), int(10 * MM / 72 * dpi)  # margins are 25 and 15 mm
    found = []
    for name, (x0, x1) in {"left": (0, left), "right": (image.width - right, image.width)}.items():
        box = image.crop((x0, 0, x1, image.height))
        if box.getextrema()[0] < 128:
            found.append(f"{png.name}: ink in the {name} margin")
    return found


@pytest.mark.parametrize("name", slips.SLIP_NAMES)
def test_each_slip_has_the_header_motto_code_and_qr_on_a4_without_overflow(
        every_slip, desk, tmp_path, name):
    dossier = every_slip[name]

    content = slips.slip_render(dossier=dossier, name=name, officer=True)

    assert_paper(content, tmp_path, must_have=[
        dossier.code, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
        LONG_AGENCY, APPLICANT, slips.SLIP_TITLES[name],
    ])
    for page in PdfReader(BytesIO(content)).pages:
        box = page.mediabox
        assert (round(float(box.width), 0), round(float(box.height), 0)) == (595, 842)
    assert _qr_found(content, slips.lookup_url(dossier))
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is needed to render the pages")
    pdf = tmp_path / f"{name}.pdf"
    pdf.write_bytes(content)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(tmp_path / name)], check=True)
    pngs = sorted(tmp_path.glob(f"{name}*.png"))
    assert len(pngs) == len(PdfReader(BytesIO(content)).pages) >= 1
    assert [p for png in pngs for p in _ink_in_side_margins(png)] == []


def test_the_completion_slip_lists_what_is_missing_why_and_by_when(every_slip, tmp_path):
    dossier = every_slip["completion"]
    request = SupplementRequest.objects.get(dossier=dossier)

    text = assert_paper(slips.slip_render(dossier=dossier, name="completion", officer=False),
                        tmp_path, must_have=[
        "Bản vẽ mặt bằng cửa hàng: bản đã nộp không có xác nhận của đơn vị thiết kế.",
        "Thời hạn bổ sung, hoàn thiện hồ sơ: trước " + papers.time_words(request.reply_by),
    ])
    assert "Thời hạn bổ sung" in text


def test_slips_that_do_not_apply_are_refused_and_drafts_stay_with_the_officers(
        received, desk):
    from dossiers.exceptions import InvalidTransition

    assert slips.slips_available(dossier=received, officer=False) == ["receipt", "control"]
    for name in ("completion", "refusal", "apology"):
        with pytest.raises(InvalidTransition):
            slips.slip_render(dossier=received, name=name, officer=True)
    with clock.frozen_at(NIGHT + timedelta(hours=1)):
        services.apology_draft(dossier_id=received.pk, actor=desk["specialist"],
                               new_appointment_at=received.due_at + timedelta(days=2),
                               reason="Chờ ý kiến.")
    assert "apology" in slips.slips_available(dossier=received, officer=True)
    assert "apology" not in slips.slips_available(dossier=received, officer=False)
    with pytest.raises(InvalidTransition):
        slips.slip_render(dossier=received, name="apology", officer=False)


# --- QR codes, dates and the fetcher ------------------------------------------------------------


def test_the_lookup_url_is_the_public_status_page_of_the_code(received, settings):
    settings.PORTAL_BASE_URL = "https://dichvucong.quangtri.gov.vn/"
    assert slips.lookup_url(received) == (
        f"https://dichvucong.quangtri.gov.vn/tra-cuu/?code={received.code}")


def test_the_receipts_qr_code_encodes_the_lookup_url(received):
    content = slips.slip_receipt_render(dossier=received)
    [picture] = PdfReader(BytesIO(content)).pages[0].images
    image = picture.image.convert("L")
    expected = papers.qr_matrix(slips.lookup_url(received))

    size = len(expected)
    cell = image.width / size
    seen = [[image.getpixel((int((j + 0.5) * cell), int((i + 0.5) * cell))) < 128
             for j in range(size)] for i in range(size)]
    assert image.width == image.height and seen == expected


def test_dates_are_written_as_decree_30_writes_them():
    assert papers.date_words(datetime(2026, 3, 4, 20, 0, tzinfo=UTC)) == "ngày 05 tháng 3 năm 2026"
    assert papers.date_words(datetime(2026, 2, 9, 1, 0, tzinfo=UTC)) == "ngày 09 tháng 02 năm 2026"
    assert papers.time_words(NIGHT) == "01 giờ 30 phút, ngày 01 tháng 12 năm 2026"
    assert papers.place_date("Quảng Trị", NIGHT) == "Quảng Trị, ngày 01 tháng 12 năm 2026"
    with pytest.raises(ValueError):
        papers.date_words(datetime(2026, 3, 4))  # noqa: DTZ001 - a naive value is refused


def test_a_template_reaches_neither_the_network_nor_other_files(tmp_path):
    fetcher = papers._fetcher_for([tmp_path])
    (tmp_path / "ok.txt").write_text("x")
    assert fetcher.fetch((tmp_path / "ok.txt").as_uri()).read() == b"x"
    for url in ("http://example.com/logo.png", "file:///etc/passwd",
                (tmp_path / ".." / "x").resolve().as_uri()):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
