"""The public pages: the catalog and its search, a procedure, the status lookup, verification."""

import re
from datetime import UTC, datetime

from django.core.cache import caches
from django.urls import reverse
from django.utils.html import escape

import pytest

from dossiers.api.views.officers import LookupThrottle
from dossiers.models import Dossier, Procedure
from dossiers.services import catalog_load
from tests.dossiers.factories import AgencyFactory, DossierFactory, ProcedureFactory, UserFactory

pytestmark = pytest.mark.django_db

HOME = "/"
LOOKUP = "/tra-cuu/"
WRONG_PAIR = "Không tìm thấy hồ sơ với mã và mã tra cứu đã nhập."


@pytest.fixture(autouse=True)
def empty_cache():
    """Request rates are counted in the cache: every test starts with a full budget."""
    caches["default"].clear()
    yield
    caches["default"].clear()


def _names(response) -> list[str]:
    """The procedure names the catalog lists, in order."""
    html = response.content.decode()
    return re.findall(r'<h3><a href="/thu-tuc/\d+/">([^<]+)</a></h3>', html)


@pytest.fixture
def catalog():
    return {p.name: p for p in catalog_load()}


# --- the catalog --------------------------------------------------------------------------------


def test_the_home_page_lists_the_active_catalog_with_its_facts(client, catalog):
    petrol = catalog["Cấp Giấy chứng nhận cửa hàng đủ điều kiện bán lẻ xăng dầu"]

    response = client.get(reverse("web:public:home"))

    assert response.status_code == 200
    listed = _names(response)
    assert sorted(listed) == sorted(escape(name) for name in catalog)
    html = response.content.decode()
    card = html[html.index(f'href="/thu-tuc/{petrol.pk}/"'):]
    card = card[:card.index("</li>")]
    assert "2.000648" in card
    assert escape(petrol.sector) in card and escape(petrol.agency.name) in card
    assert "20 ngày làm việc" in card
    assert "1.200.000 đ" in card
    assert "Một phần" in card


def test_the_home_page_has_the_lookup_box_and_a_sign_in_link_for_visitors(client, catalog):
    html = client.get(HOME).content.decode()

    form = html[html.index('action="/tra-cuu/"') - 200:]
    form = form[:form.index("</form>")]
    assert 'method="post"' in form
    assert 'name="code"' in form and 'name="secret"' in form
    signin = html[html.index('class="signin-line'):]
    assert "đăng nhập bằng tài khoản của tổ chức, cá nhân" in signin[:signin.index("</p>")]
    assert 'href="/dang-nhap/"' in signin[:signin.index("</p>")]


def test_signed_in_users_are_not_asked_to_sign_in(client, catalog):
    client.force_login(UserFactory(roles=["applicant"]))

    html = client.get(HOME).content.decode()

    assert "signin-line" not in html
    assert "đăng nhập bằng tài khoản của tổ chức, cá nhân" not in html


@pytest.mark.parametrize("query", [
    "Giấy phép bán buôn rượu", "giấy phép bán buôn rượu", "giay phep ban buon ruou",
    "GIAY PHEP  ban BUON ruou", "rượu bán buôn",
])
def test_search_by_name_ignores_case_accents_and_word_order(client, catalog, query):
    response = client.get(HOME, {"q": query})

    assert _names(response) == [
        "Cấp Giấy phép bán buôn rượu trên địa bàn tỉnh, thành phố trực thuộc Trung ương"
    ]
    assert "Kết quả tìm kiếm" in response.content.decode()


def test_search_folds_the_letter_d_with_stroke(client, catalog):
    names = _names(client.get(HOME, {"q": "ban le dien"}))

    assert names == ["Cấp Giấy phép hoạt động bán lẻ điện đến cấp điện áp 0,4 kV tại địa phương"]


def test_search_by_national_code(client, catalog):
    names = _names(client.get(HOME, {"q": "1.000948"}))

    assert names == ["Cấp lại Giấy phép chế biến nguyên liệu thuốc lá"]


def test_search_that_finds_nothing_says_so(client, catalog):
    response = client.get(HOME, {"q": "không có thủ tục này"})

    assert _names(response) == []
    assert "Không tìm thấy thủ tục phù hợp" in response.content.decode()


def test_filter_by_sector_offers_the_catalog_sectors(client, catalog):
    response = client.get(HOME, {"sector": "Điện"})

    html = response.content.decode()
    expected = sorted(escape(n) for n, p in catalog.items() if p.sector == "Điện")
    assert sorted(_names(response)) == expected and len(expected) == 3
    assert '<option value="Điện" selected>Điện</option>' in html
    assert '<option value="Hóa chất">Hóa chất</option>' in html


def test_filter_by_agency_and_by_words_together(client, catalog):
    centre = AgencyFactory(code="tthcc-x", name="Trung tâm Phục vụ hành chính công thử")
    ProcedureFactory(name="Cấp giấy phép thử tại trung tâm", agency=centre)

    only_centre = _names(client.get(HOME, {"agency": "tthcc-x"}))
    both = _names(client.get(HOME, {"agency": "tthcc-x", "q": "giay phep"}))
    none = _names(client.get(HOME, {"agency": "tthcc-x", "q": "xang dau"}))

    assert only_centre == both == ["Cấp giấy phép thử tại trung tâm"]
    assert none == []
    html = client.get(HOME).content.decode()
    assert '<option value="tthcc-x">Trung tâm Phục vụ hành chính công thử</option>' in html


def test_an_unknown_filter_value_is_dropped_not_an_error(client, catalog):
    response = client.get(HOME, {"sector": "Không tồn tại"})

    assert response.status_code == 200
    assert len(_names(response)) == len(catalog)


def test_a_search_from_htmx_answers_only_the_results(client, catalog):
    response = client.get(HOME, {"q": "thuoc la"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert "<html" not in html and "<form" not in html
    names = _names(response)
    assert len(names) == 3
    assert 'id="search-status"' in html and "Tìm thấy 3 thủ tục." in html
    assert "HX-Request" in response["Vary"]


def test_htmx_restoring_history_gets_the_whole_page(client, catalog):
    response = client.get(HOME, {"q": "thuoc la"}, HTTP_HX_REQUEST="true",
                          HTTP_HX_HISTORY_RESTORE_REQUEST="true")

    assert "<html" in response.content.decode() and len(_names(response)) == 3


def test_the_words_as_typed_come_first(client, catalog):
    names = _names(client.get(HOME, {"q": "thuoc la"}))

    # "thuốc lá" in a row first; "thuốc nổ" with "lại" (every word starts one) after them.
    assert [("thuốc lá" in n) for n in names] == [True, True, False]


def test_a_word_must_start_a_word_of_the_name(client, catalog):
    assert _names(client.get(HOME, {"q": "uou"})) == []  # inside "rượu" only
    assert len(_names(client.get(HOME, {"q": "giay ph"}))) > 1  # while typing


def test_retired_procedures_are_not_listed(client, catalog):
    retired = catalog["Thông báo hoạt động khuyến mại"]
    Procedure.objects.filter(pk=retired.pk).update(is_active=False)

    assert retired.name not in _names(client.get(HOME))
    assert retired.name not in _names(client.get(HOME, {"q": "thong bao khuyen mai"}))


# --- a procedure --------------------------------------------------------------------------------


def test_the_procedure_page_shows_what_to_prepare_and_links_to_submission(client, catalog):
    petrol = catalog["Cấp Giấy chứng nhận cửa hàng đủ điều kiện bán lẻ xăng dầu"]

    response = client.get(reverse("web:public:procedure", args=[petrol.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert f"<h1>{escape(petrol.name)}</h1>" in html
    for text in ("2.000648", escape(petrol.agency.name), escape(petrol.sector),
                 "20 ngày làm việc", "1.200.000 đ", "Nộp khi nộp hồ sơ (thu trước)", "Một phần",
                 "Nghị định 83/2014/NĐ-CP"):
        assert text in html, text
    for component in petrol.components.all():
        assert escape(component.name) in html
    assert "Chuẩn bị 4 thành phần hồ sơ" in html and "4 bắt buộc" in html
    for step in petrol.steps.all():
        assert escape(step.name) in html
    assert "Tổng sức chứa bể (m³)" in html and "Địa chỉ cửa hàng bán lẻ xăng dầu" in html
    assert f'href="/nop-ho-so/{petrol.pk}/"' in html and "Nộp hồ sơ trực tuyến" in html


def test_the_procedure_page_says_which_papers_must_be_signed(client):
    procedure = ProcedureFactory(name="Thủ tục có giấy tờ phải ký số", demo_assumptions=[])
    procedure.components.filter(code="don_de_nghi").update(must_be_signed=True)

    html = client.get(f"/thu-tuc/{procedure.pk}/").content.decode()

    row = html[html.index("Đơn đề nghị"):]
    row = row[:row.index("</tr>")]
    assert "Phải ký số" in row and "PDF" in row and "Bắt buộc" in row
    other = html[html.index("Bản vẽ mặt bằng"):]
    other = other[:other.index("</tr>")]
    assert "Không bắt buộc" in other and "PDF, JPEG, PNG" in other
    assert "1 phải ký số" in html
    assert "(giả định demo)" not in html


def test_the_procedure_page_marks_the_demo_assumptions(client):
    procedure = ProcedureFactory(demo_assumptions=["processing_days", "components"])

    html = client.get(f"/thu-tuc/{procedure.pk}/").content.decode()

    assert html.count('class="muted demo-mark') == 2


def test_a_retired_or_missing_procedure_is_a_404_page(client):
    retired = ProcedureFactory(is_active=False)

    for url in (f"/thu-tuc/{retired.pk}/", "/thu-tuc/999999/"):
        response = client.get(url)
        assert response.status_code == 404
        assert "Không tìm thấy trang" in response.content.decode()


# --- the status lookup --------------------------------------------------------------------------


@pytest.fixture
def dossier():
    applicant = UserFactory(roles=["applicant"], full_name="Trần Thị Bí Mật",
                            email="bimat@example.vn", citizen_id="038190000999",
                            phone="0912345678")
    return DossierFactory(
        processing=True, applicant=applicant, on_behalf_name="Người Được Ủy Quyền Riêng",
        procedure=ProcedureFactory(name="Cấp giấy phép tra cứu thử"),
        received_at=datetime(2030, 3, 4, 1, 15, tzinfo=UTC),
        due_at=datetime(2030, 3, 11, 2, 30, tzinfo=UTC),
    )


def _lookup(client, code, secret, method="post"):
    return getattr(client, method)(LOOKUP, {"code": code, "secret": secret})


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_right_code_and_secret_show_the_status(client, dossier, method):
    response = _lookup(client, dossier.code, dossier.lookup_secret, method)

    assert response.status_code == 200
    html = response.content.decode()
    assert f"Hồ sơ {dossier.code}" in html
    assert "Cấp giấy phép tra cứu thử" in html
    assert escape(dossier.handling_agency.name) in html
    assert '<span class="badge badge-info">Đang xử lý</span>' in html
    assert "08:15 04/03/2030" in html  # received, in Vietnam time
    assert "09:30 11/03/2030" in html  # due, in Vietnam time
    assert "Hồ sơ đang được giải quyết. Bạn chưa cần làm gì thêm" in html
    assert f'value="{dossier.lookup_secret}"' not in html  # not written back into the form
    if method == "post":  # a link holds it in its address; a form's post leaves it nowhere
        assert dossier.lookup_secret not in html
    assert response["Cache-Control"] == "no-store"


def test_a_dossier_awaiting_a_supplement_asks_the_applicant_to_sign_in(client, dossier):
    Dossier.objects.filter(pk=dossier.pk).update(state=Dossier.State.AWAITING_SUPPLEMENT)

    html = _lookup(client, dossier.code, dossier.lookup_secret).content.decode()

    assert "Cơ quan yêu cầu bổ sung hồ sơ – đăng nhập" in html
    assert 'href="/dang-nhap/?next=/ho-so-cua-toi/"' in html


def test_the_public_timeline_holds_only_the_dates_of_the_lookup(client, dossier):
    Dossier.objects.filter(pk=dossier.pk).update(
        state=Dossier.State.RETURNED, completed_at=datetime(2030, 3, 8, 3, 0, tzinfo=UTC),
        returned_at=datetime(2030, 3, 9, 4, 0, tzinfo=UTC), outcome=Dossier.Outcome.EARLY,
        reason="Lý do nội bộ không công khai",
    )

    html = _lookup(client, dossier.code, dossier.lookup_secret).content.decode()

    timeline = html[html.index('<ol class="timeline">'):]
    timeline = timeline[:timeline.index("</ol>")]
    assert re.findall(r"<strong>([^<]+)</strong>", timeline) == [
        "Nộp hồ sơ", "Đã tiếp nhận, bắt đầu tính thời hạn giải quyết", "Đã xử lý xong",
        "Đã trả kết quả",
    ]
    assert "10:00 08/03/2030" in timeline and "11:00 09/03/2030" in timeline
    assert "Trước hạn" in html
    assert "Lý do nội bộ không công khai" not in html


def test_the_lookup_shows_nothing_personal_of_the_applicant(client, dossier):
    html = _lookup(client, dossier.code, dossier.lookup_secret).content.decode()

    assert f"Hồ sơ {dossier.code}" in html
    applicant = dossier.applicant
    for private in (applicant.full_name, applicant.email, applicant.citizen_id, applicant.phone,
                    applicant.username, dossier.on_behalf_name,
                    *dossier.form_data.values()):
        assert private not in html and escape(private) not in html, private


@pytest.mark.parametrize("wrong", ["secret", "code"])
def test_a_wrong_secret_and_an_unknown_code_get_the_same_message(client, dossier, wrong):
    code = dossier.code if wrong == "secret" else "SCT-000000-9999"
    secret = "sai-ma-tra-cuu" if wrong == "secret" else dossier.lookup_secret

    response = _lookup(client, code, secret)

    assert response.status_code == 200
    html = response.content.decode()
    assert WRONG_PAIR in html
    assert "Cấp giấy phép tra cứu thử" not in html and "Đang xử lý" not in html
    # What was typed stays, and both fields point at the one message.
    assert f'value="{code}"' in html and f'value="{secret}"' in html
    assert html.count('aria-invalid="true"') == 2
    assert html.count('aria-describedby="lookup-error') == 2


def test_the_two_wrong_answers_are_the_same_page(client, dossier):
    wrong_secret = _lookup(client, dossier.code, "sai").content.decode()
    wrong_code = _lookup(client, "SCT-000000-9999", "sai").content.decode()

    def body(html):
        html = re.sub(r'value="[^"]*"', "", html)
        html = re.sub(r'name="csrfmiddlewaretoken"[^>]*', "", html)
        return re.sub(r'"X-CSRFToken": "[^"]*"', "", html)

    assert body(wrong_secret) == body(wrong_code)


def test_empty_fields_say_what_is_missing(client):
    response = client.post(LOOKUP, {"code": "", "secret": ""})

    html = response.content.decode()
    assert "Nhập mã hồ sơ." in html and "Nhập mã tra cứu." in html
    assert 'id="id_code_error"' in html
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="id_code"|<input[^>]*id="id_code"'
                     r'[^>]*aria-invalid="true"', html)


def test_a_link_with_the_code_alone_fills_it_in_and_asks_for_the_secret(client, dossier):
    response = client.get(LOOKUP, {"code": dossier.code})

    assert response.status_code == 200
    html = response.content.decode()
    assert f'value="{dossier.code}"' in html
    assert "Nhập mã tra cứu để xem tình trạng hồ sơ" in html
    assert re.search(r'<input[^>]*name="secret"[^>]*autofocus', html)
    assert "Đang xử lý" not in html and WRONG_PAIR not in html


def test_the_link_of_the_status_emails_lands_on_the_page(client, dossier):
    response = client.get(f"{LOOKUP}?code={dossier.code}")

    assert response.status_code == 200 and f'value="{dossier.code}"' in response.content.decode()


def test_too_many_tries_from_one_address_get_429(client, dossier):
    from django.test import Client

    limit = LookupThrottle().num_requests
    tries = [_lookup(client, dossier.code, f"doan-{i}").status_code for i in range(limit)]

    refused = _lookup(client, dossier.code, dossier.lookup_secret)
    elsewhere = _lookup(Client(REMOTE_ADDR="198.51.100.23"), dossier.code, dossier.lookup_secret)

    assert set(tries) == {200}
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    html = refused.content.decode()
    assert "Bạn đã tra cứu quá nhiều lần" in html
    assert "Đang xử lý" not in html  # even the right secret is not checked now
    assert elsewhere.status_code == 200 and "Đang xử lý" in elsewhere.content.decode()


def test_the_page_and_the_api_share_one_budget(client, dossier):
    limit = LookupThrottle().num_requests
    api = reverse("api:dossiers:lookup")
    for i in range(limit - 1):
        assert client.get(api, {"code": dossier.code, "secret": f"doan-{i}"}).status_code == 404

    last = _lookup(client, dossier.code, dossier.lookup_secret)
    refused = _lookup(client, dossier.code, dossier.lookup_secret)

    assert last.status_code == 200
    assert refused.status_code == 429


def test_opening_the_page_costs_nothing(client, dossier):
    limit = LookupThrottle().num_requests
    for _ in range(limit + 2):
        assert client.get(LOOKUP, {"code": dossier.code}).status_code == 200

    assert _lookup(client, dossier.code, dossier.lookup_secret).status_code == 200


# --- every public page --------------------------------------------------------------------------


def _pages(client, dossier) -> dict:
    procedure = dossier.procedure
    return {
        "home": client.get(HOME),
        "search": client.get(HOME, {"q": "giay phep"}),
        "procedure": client.get(f"/thu-tuc/{procedure.pk}/"),
        "lookup": _lookup(client, dossier.code, dossier.lookup_secret),
        "lookup-code": client.get(LOOKUP, {"code": dossier.code}),
        "verify": client.get("/xac-thuc/"),
        "404": client.get("/thu-tuc/999999/"),
    }


def test_no_public_page_loads_or_links_anything_from_another_host(client, dossier):
    for name, response in _pages(client, dossier).items():
        html = response.content.decode()
        targets = re.findall(r'(?:src|href|action)\s*=\s*"([^"]*)"', html)
        assert targets, name
        for target in targets:
            assert not re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", target, re.I), (name, target)


def test_every_public_page_has_one_h1_and_labelled_inputs(client, dossier):
    for name, response in _pages(client, dossier).items():
        html = response.content.decode()
        assert html.count("<h1") == 1, name
        for input_id in re.findall(r'<(?:input|select|textarea)(?![^>]*type="(?:hidden|submit)")'
                                   r'[^>]*\sid="([^"]+)"', html):
            assert f'for="{input_id}"' in html, (name, input_id)


def test_the_verification_page_stands_in_the_portal_frame(client, db):
    html = client.get("/xac-thuc/").content.decode()

    assert 'class="site-header"' in html and "web/css/portal.css" in html
    assert 'enctype="multipart/form-data"' in html
    assert 'name="file"' in html and 'name="detached"' in html
    assert '<label for="verify-file"' in html
