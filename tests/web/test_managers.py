"""The supervisors' indicator pages: figures equal to the selectors', the dossiers behind each
figure, the charts, the exports, who may open them."""

import csv
import html
import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook

from dossiers.models import Dossier
from dossiers.selectors.indicators import indicator_rows, indicators
from portal.roles import Role
from tests.dossiers.factories import AgencyFactory, ProcedureFactory, UserFactory
from tests.dossiers.test_indicators import Flow, vn

DASHBOARD = "/quan-ly/chi-so/"
DOSSIERS = "/quan-ly/ho-so/"
REPORT_AT = vn(2025, 4, 16, 10, 0)
# The default period: the twelve months up to the report's month.
PERIOD = {"date_from": date(2024, 5, 1), "date_to": date(2025, 4, 30)}
FIGURE_LINK = re.compile(r'<a[^>]*href="(/quan-ly/ho-so/\?[^"]+)"[^>]*>([0-9.]+)</a>')


@pytest.fixture
def other_agency(db):
    return AgencyFactory(code="tthcc", name="Trung tâm Phục vụ hành chính công tỉnh")


@pytest.fixture
def provincial(db):
    return UserFactory(roles=[Role.MANAGER], kind="staff", agency_code="")


@pytest.fixture
def data(frozen, agency, other_agency, applicant, reception, specialist, leader):
    """Dossiers of two agencies and two procedures over March and April 2025, walked through
    the real services: early, on time, late, still open (one of them overdue), by two channels."""
    retail = ProcedureFactory(agency=agency, name="Cấp Giấy phép bán lẻ rượu")
    gas = ProcedureFactory(agency=other_agency, name="Cấp Giấy chứng nhận đủ điều kiện LPG")
    sct = Flow(frozen, applicant, reception, specialist, leader, retail)
    staff = {role: UserFactory(roles=[role], kind="staff", agency_code=other_agency.code)
             for role in (Role.RECEPTION, Role.SPECIALIST, Role.LEADER)}
    centre = Flow(frozen, applicant, staff[Role.RECEPTION], staff[Role.SPECIALIST],
                  staff[Role.LEADER], gas)
    monday = vn(2025, 3, 3, 8, 0)  # due 10/03 08:00
    d = {
        "early": sct.issue(sct.accept(monday), vn(2025, 3, 5, 10, 0)),
        "late": sct.issue(sct.accept(monday, channel=Dossier.Channel.COUNTER),
                          vn(2025, 3, 11, 9, 0)),
        "overdue": sct.accept(monday),
        "april_on_time": sct.issue(sct.accept(vn(2025, 4, 8, 8, 0)), vn(2025, 4, 15, 7, 45)),
        "april_open": sct.accept(vn(2025, 4, 14, 8, 0)),
        "centre_early": centre.issue(centre.accept(monday), vn(2025, 3, 4, 9, 0)),
        "centre_late": centre.issue(
            centre.accept(vn(2025, 4, 1, 8, 0), channel=Dossier.Channel.NATIONAL_PORTAL),
            vn(2025, 4, 10, 9, 0)),
        "centre_open": centre.accept(vn(2025, 4, 15, 8, 0)),
    }
    assert d["april_on_time"].outcome == Dossier.Outcome.ON_TIME
    assert d["centre_late"].outcome == Dossier.Outcome.LATE
    return {"retail": retail, "gas": gas, **d}


@pytest.fixture
def at_report(time_machine, data):
    time_machine.move_to(REPORT_AT, tick=False)
    return data


def _get(client, user, url, params=None, **headers):
    client.force_login(user)
    return client.get(url, params or {}, **headers)


def _figure_links(body: str) -> list[tuple[str, int]]:
    return [(html.unescape(href), int(value.replace(".", "")))
            for href, value in FIGURE_LINK.findall(body)]


def _svgs(body: str) -> dict[str, str]:
    """Each inline chart by its title."""
    return {m.group(2): m.group(0) for m in re.finditer(
        r'<svg class="([a-z-]+)".*?<title id="[^"]+">([^<]+)</title>.*?</svg>', body, re.S)}


# --- figures -------------------------------------------------------------------------


def test_the_dashboard_shows_the_selectors_figures(client, provincial, at_report):
    response = _get(client, provincial, DASHBOARD)

    assert response.status_code == 200
    totals = indicators(user=provincial, **PERIOD)
    shown = {f["label"]: f["value"] for f in response.context["figures"]}
    assert shown == {
        "Đã tiếp nhận": str(totals["received"]),
        "Đã giải quyết": str(totals["completed"]),
        "Tỷ lệ đúng hạn": "60,0%",
        "Giải quyết trễ hạn": str(totals["late"]),
        "Đang giải quyết": str(totals["in_progress"]),
        "Đang quá hạn": str(totals["overdue"]),
        "Thanh toán trực tuyến": str(totals["paid_online"]),
    }
    assert (totals["received"], totals["completed"], totals["late"], totals["in_progress"],
            totals["overdue"]) == (8, 5, 2, 3, 1)
    assert totals["on_time_rate"] == 0.6  # early, early, on time of five
    body = response.content.decode()
    assert "Chỉ số theo Quyết định 766/QĐ-TTg" in body
    # Names, never ids.
    assert "Cấp Giấy phép bán lẻ rượu" in body and "Trung tâm Phục vụ hành chính công" in body


def test_every_figure_links_to_a_list_of_exactly_that_many_dossiers(
    client, provincial, at_report
):
    body = _get(client, provincial, DASHBOARD).content.decode()
    links = _figure_links(body)

    assert len(links) > 40  # headline figures, months, agencies, procedures, steps
    assert any(value > 0 for _href, value in links)
    for href, value in links:
        listed = client.get(href)
        assert listed.status_code == 200, href
        assert listed.context["page"].paginator.count == value, href


def test_the_list_shows_the_facts_of_each_dossier_and_pages(
    client, provincial, at_report, monkeypatch
):
    from web.managers import views

    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    first = _get(client, provincial, DOSSIERS, {"figure": "received"})
    second = client.get(DOSSIERS, {"figure": "received", "page": 2, "month_from": "2024-05",
                                   "month_to": "2025-04"})

    assert first.status_code == 200
    assert first.context["page"].paginator.count == 8
    codes = [d.code for d in first.context["page"]] + [d.code for d in second.context["page"]]
    assert len(codes) == 6 and len(set(codes)) == 6
    body = first.content.decode()
    early = at_report["early"]
    assert "Hồ sơ: Đã tiếp nhận" in body and "Có 8 hồ sơ." in body
    assert 'rel="next"' in body
    # Facts only: no applicant, no form contents.
    assert early.applicant.display_name not in body
    late = client.get(DOSSIERS, {"figure": "late"}).content.decode()
    assert at_report["late"].code in late and "Quá hạn" in late
    assert at_report["early"].code not in late


def test_filters_change_the_figures(client, provincial, at_report, other_agency):
    def figures(params, **filters):
        response = _get(client, provincial, DASHBOARD, params)
        expected = indicators(user=provincial, **{**PERIOD, **filters})
        shown = {f["label"]: f["value"] for f in response.context["figures"]}
        assert shown["Đã tiếp nhận"] == str(expected["received"])
        assert shown["Đã giải quyết"] == str(expected["completed"])
        assert shown["Đang giải quyết"] == str(expected["in_progress"])
        return expected["received"], expected["completed"], expected["in_progress"]

    assert figures({}) == (8, 5, 3)
    assert figures({"agency": other_agency.code}, agency=other_agency.code) == (3, 2, 1)
    assert figures({"procedure": at_report["retail"].pk},
                   procedure=at_report["retail"].pk) == (5, 3, 2)
    assert figures({"channel": "counter"}, channels=["counter"]) == (1, 1, 0)
    assert figures({"channel": "portal"},
                   channels=["national_portal", "provincial_portal"]) == (1, 1, 0)
    assert figures({"month_from": "2025-04", "month_to": "2025-04"},
                   date_from=date(2025, 4, 1), date_to=date(2025, 4, 30)) == (4, 2, 3)


def test_the_filter_form_is_htmx_enhanced_and_answers_with_the_part_below(
    client, provincial, at_report
):
    full = _get(client, provincial, DASHBOARD).content.decode()
    part = client.get(DASHBOARD, {"channel": "counter"}, HTTP_HX_REQUEST="true")

    assert 'hx-get="/quan-ly/chi-so/"' in full and 'hx-push-url="true"' in full
    assert 'id="dashboard-body"' in full
    body = part.content.decode()
    assert "<html" not in body and "<form" in body
    assert [f["value"] for f in part.context["figures"]][:2] == ["1", "1"]


def test_a_period_ending_before_it_starts_is_refused_next_to_the_field(
    client, provincial, at_report
):
    response = _get(client, provincial, DASHBOARD,
                    {"month_from": "2025-04", "month_to": "2025-03", "channel": "online"})

    body = response.content.decode()
    assert response.status_code == 200
    assert "Tháng kết thúc không được trước tháng bắt đầu." in body
    assert 'aria-invalid="true"' in body and 'aria-describedby="id_month_to-error"' in body
    assert 'id="id_month_to-error"' in body
    assert '<option value="online" selected>' in body  # nothing chosen is lost
    assert "figures" not in response.context or not response.context.get("valid")


# --- charts --------------------------------------------------------------------------


def test_the_charts_draw_one_bar_or_point_per_figure(client, provincial, at_report):
    body = _get(client, provincial, DASHBOARD).content.decode()
    svgs = _svgs(body)

    rate = svgs["Tỷ lệ giải quyết đúng hạn theo tháng"]
    volume = svgs["Hồ sơ tiếp nhận và giải quyết theo tháng"]
    # Twelve months; a rate only in the two months with completed dossiers.
    assert rate.count('class="point"') == 2
    assert re.findall(r'class="point" data-value="([0-9.]+)"', rate) == ["66.67", "50"]
    assert volume.count('class="bar bar-0"') == 12  # received
    assert volume.count('class="bar bar-1"') == 12  # completed
    assert re.findall(r'class="bar bar-0" data-value="([0-9.]+)"', volume)[-2:] == ["4", "4"]
    agencies = svgs["Tỷ lệ giải quyết đúng hạn theo cơ quan"]
    assert agencies.count('class="bar"') == 2
    procedures = svgs["Tỷ lệ giải quyết đúng hạn theo thủ tục"]
    assert procedures.count('class="bar"') == 2
    steps = svgs["Hồ sơ đang quá hạn theo bước xử lý"]
    assert re.findall(r'class="bar" data-value="([0-9.]+)"', steps) == ["1"]
    for svg in svgs.values():
        assert "<desc" in svg and 'role="img"' in svg
    # The figures are also in tables for screen readers and keyboards.
    assert body.count("<table") == 4
    assert "Tháng" in rate and "Tỷ lệ đúng hạn" in rate  # axis titles


def test_the_page_uses_no_external_address(client, provincial, at_report):
    for url in (DASHBOARD, f"{DOSSIERS}?figure=received"):
        body = _get(client, provincial, url).content.decode()
        assert not re.search(r"(https?:)?//[a-z0-9]", body, re.I), url


# --- exports -------------------------------------------------------------------------

HEADERS = ["Tháng", "Cơ quan", "Thủ tục", "Đã tiếp nhận", "Đã giải quyết", "Trước hạn",
           "Đúng hạn", "Trễ hạn", "Tỷ lệ đúng hạn (%)"]


def test_csv_export_has_vietnamese_headers_and_a_row_per_month_agency_and_procedure(
    client, provincial, at_report, agency, other_agency
):
    response = _get(client, provincial, "/quan-ly/chi-so/xuat.csv",
                    {"month_from": "2025-01", "month_to": "2025-04"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="chi-so-2025-01_2025-04.csv"'
    assert response.content.startswith("\ufeff".encode())
    header, *rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header[:9] == HEADERS
    expected = indicator_rows(user=provincial, date_from=date(2025, 1, 1),
                              date_to=date(2025, 4, 30))
    assert len(rows) == len(expected) + 1 == 5
    assert [r[:8] for r in rows[:-1]] == [
        ["03/2025", agency.name, "Cấp Giấy phép bán lẻ rượu", "3", "2", "1", "0", "1"],
        ["03/2025", other_agency.name, "Cấp Giấy chứng nhận đủ điều kiện LPG", "1", "1", "1",
         "0", "0"],
        ["04/2025", agency.name, "Cấp Giấy phép bán lẻ rượu", "2", "1", "0", "1", "0"],
        ["04/2025", other_agency.name, "Cấp Giấy chứng nhận đủ điều kiện LPG", "2", "1", "0",
         "0", "1"],
    ]
    assert [r[8] for r in rows] == ["50.0", "100.0", "100.0", "0.0", "60.0"]
    assert rows[-1][:5] == ["Tổng cộng", "", "", "8", "5"]


def test_xlsx_export_reads_back_with_the_same_rows(client, provincial, at_report):
    csv_rows = list(csv.reader(io.StringIO(_get(
        client, provincial, "/quan-ly/chi-so/xuat.csv").content.decode("utf-8-sig"))))
    response = client.get("/quan-ly/chi-so/xuat.xlsx")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="chi-so-2024-05_2025-04.xlsx"'
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:9] == HEADERS
    def same(cell):
        try:
            return float(cell)
        except (TypeError, ValueError):
            return "" if cell is None else cell

    assert [[same(v) for v in r] for r in rows] == [[same(v) for v in r] for r in csv_rows]
    assert isinstance(rows[1][3], int)  # numbers, not text, for the spreadsheet
    assert ["Cơ quan", "Tất cả cơ quan"] in [list(r) for r in
                                              book.worksheets[1].iter_rows(values_only=True)]


# --- who may read --------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["applicant", "reception", "specialist"])
@pytest.mark.parametrize("url", [DASHBOARD, f"{DOSSIERS}?figure=received",
                                 "/quan-ly/chi-so/xuat.csv", "/quan-ly/chi-so/xuat.xlsx"])
def test_only_supervisors_may_open_the_pages(client, request, persona, url):
    user = request.getfixturevalue(persona)

    assert _get(client, user, url).status_code == 403


def test_signing_in_comes_first(client, db):
    response = client.get(DASHBOARD)

    assert response.status_code == 302
    assert response["Location"].startswith("/dang-nhap/?next=")


def test_an_agency_manager_reads_only_the_own_agency(
    client, manager, leader, at_report, other_agency
):
    response = _get(client, manager, DASHBOARD)
    body = response.content.decode()

    shown = {f["label"]: f["value"] for f in response.context["figures"]}
    assert shown["Đã tiếp nhận"] == "5"
    assert other_agency.name not in body
    assert "Cấp Giấy chứng nhận đủ điều kiện LPG" not in body
    assert _get(client, leader, DASHBOARD).status_code == 200
    # Asking for another agency's figures or dossiers shows nothing of them.
    foreign = client.get(DASHBOARD, {"agency": other_agency.code})
    assert not foreign.context.get("valid") and "agency" in foreign.context["form"].errors
    listed = client.get(DOSSIERS, {"figure": "received", "agency": other_agency.code})
    assert not listed.context.get("valid")
    assert at_report["centre_early"].code not in listed.content.decode()
    assert client.get("/quan-ly/chi-so/xuat.csv", {"agency": other_agency.code}).status_code \
        == 400
