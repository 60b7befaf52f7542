"""The scorecard page: our six groups beside the national portal's published scores, the counts
linking to the dossiers they count, the dossiers that explain a difference, who may open it."""

import html
import re
from datetime import date, timedelta

import pytest

from dossiers.models import OutboundMessage
from dossiers.selectors.scorecard import GROUP_LABELS, scorecard, scorecard_scope
from integrations.adapters.fake import FakePortalAdapter
from integrations.exceptions import PortalUnavailable
from integrations.registry import override_portal_adapter
from portal.roles import Role
from tests.dossiers.factories import AgencyFactory, ProcedureFactory, UserFactory
from tests.dossiers.test_indicators import Flow, vn

PAGE = "/quan-ly/chi-so/bang-diem/"
LIST = "/quan-ly/chi-so/bang-diem/ho-so/"
MARCH = {"date_from": "2025-03-01", "date_to": "2025-03-31"}
REPORT_AT = vn(2025, 4, 2, 9, 0)
COUNT_LINK = re.compile(r'<a href="(/quan-ly/chi-so/bang-diem/ho-so/\?[^"]+)">([0-9]+)</a>')
NATIONAL = {"transparency": 15.5, "progress": 18.0, "online": 11.0, "payment": 9.0,
            "satisfaction": 16.25, "digitization": 20.0}


@pytest.fixture
def data(frozen, agency, applicant, reception, specialist, leader):
    flow = Flow(frozen, applicant, reception, specialist, leader, ProcedureFactory(agency=agency))
    monday = vn(2025, 3, 3, 8, 0)  # due 10/03
    d = {
        "early": flow.issue(flow.accept(monday), vn(2025, 3, 5, 10, 0)),
        "late": flow.issue(flow.accept(monday), vn(2025, 3, 11, 9, 0)),
        "overdue": flow.accept(monday),
        "within": flow.accept(vn(2025, 3, 27, 8, 0)),
    }
    # The early one reached the national portal in time, the late one two days late.
    for name, delay in (("early", timedelta(minutes=3)), ("late", timedelta(days=2))):
        for message in OutboundMessage.objects.filter(dossier=d[name], system="national"):
            message.status = OutboundMessage.Status.SENT
            message.sent_at = message.created_at + delay
            message.save(update_fields=["status", "sent_at"])
    return d


@pytest.fixture
def national(agency):
    fake = FakePortalAdapter("national")
    fake.publish_scores(agency.code, date(2025, 3, 1), date(2025, 3, 31), NATIONAL)
    with override_portal_adapter("national", fake):
        yield fake


def _page(client, user, params=None, url=PAGE):
    client.force_login(user)
    return client.get(url, params or {})


def test_the_page_shows_our_groups_beside_the_national_figures(
    client, manager, data, national, frozen
):
    with frozen(REPORT_AT):
        response = _page(client, manager, MARCH)
        card = scorecard(scope=scorecard_scope(user=manager, date_from=date(2025, 3, 1),
                                               date_to=date(2025, 3, 31)))
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    assert "<h1>Bảng điểm chất lượng phục vụ (Quyết định 766/QĐ-TTg)</h1>" in body
    rows = re.findall(r'<tr>\s*<th scope="row"[^>]*><a href="#g-(\w+)">([^<]+)</a></th>(.*?)</tr>',
                      body, re.S)
    assert [key for key, _label, _rest in rows] == list(GROUP_LABELS)
    for (key, label, rest), group in zip(rows, card["groups"], strict=True):
        assert label == str(GROUP_LABELS[key])
        cells = re.findall(r'<td class="num"[^>]*>([^<]*)', rest)
        ours = f"{group['score']:.2f}".rstrip("0").rstrip(".").replace(".", ",")
        theirs = f"{NATIONAL[key]:.2f}".rstrip("0").rstrip(".").replace(".", ",")
        assert cells[0].strip() == ours and cells[1].strip() == theirs
        assert '<svg class="score-bars"' in rest  # a bar pair per group
    total = f"{card['total']:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    assert f'{total}<span class="of">/100</span>' in body
    assert '89,75<span class="of">/100</span>' in body  # the portal's total
    assert national.calls_of("pull_scorecard")[-1].argument == (
        "sct", date(2025, 3, 1), date(2025, 3, 31))


def test_every_count_links_to_a_list_of_exactly_that_many(client, manager, data, national,
                                                          frozen):
    with frozen(REPORT_AT):
        body = _page(client, manager, MARCH).content.decode()
        links = COUNT_LINK.findall(body)
        assert len(links) >= 25
        for href, value in links:
            listed = client.get(html.unescape(href))
            assert listed.status_code == 200, href
            count = re.search(r'<p class="count" role="status">Có ([0-9]+) (?:hồ sơ|thủ tục)\.',
                              listed.content.decode())
            assert count and count[1] == value, href


def test_the_dossiers_that_explain_a_difference_are_named(client, manager, data, national,
                                                         frozen):
    with frozen(REPORT_AT):
        body = html.unescape(_page(client, manager, MARCH).content.decode())
    section = body[body.index('id="h-explain"'):body.index('id="g-transparency"')]
    late = section[section.index('id="x-synced_late"'):section.index('id="x-status_differs"')]
    assert data["late"].code in late and data["early"].code not in late
    not_synced = section[section.index('id="x-not_synced"'):section.index('id="x-synced_late"')]
    assert data["overdue"].code in not_synced and data["within"].code in not_synced
    assert data["early"].code not in not_synced


def test_without_the_national_portal_the_page_still_shows_our_figures(
    client, manager, data, frozen
):
    fake = FakePortalAdapter("national")
    fake.fail_next(PortalUnavailable())
    with override_portal_adapter("national", fake), frozen(REPORT_AT):
        response = _page(client, manager, MARCH)
    body = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Chưa lấy được số liệu từ Cổng quốc gia" in body
    assert "Tiến độ giải quyết" in body


def test_a_provincial_manager_picks_an_agency_to_compare(client, data, national, frozen):
    AgencyFactory(code="tthcc", name="Trung tâm Phục vụ hành chính công")
    provincial = UserFactory(roles=[Role.MANAGER], kind="staff", agency_code="")
    with frozen(REPORT_AT):
        every = html.unescape(_page(client, provincial, MARCH).content.decode())
        one = html.unescape(_page(client, provincial, {**MARCH, "agency": "sct"}).content
                            .decode())
    assert "Chọn một cơ quan để so sánh với Cổng quốc gia." in every
    assert '89,75<span class="of">/100</span>' in one


def test_bad_dates_are_explained_next_to_the_field_and_kept(client, manager, data):
    response = _page(client, manager, {"date_from": "2025-03-31", "date_to": "2025-03-01"})
    body = html.unescape(response.content.decode())
    assert response.status_code == 400
    assert '<p class="field-error" id="id_date_to-error">Ngày kết thúc không được trước ngày ' \
           'bắt đầu.</p>' in body
    assert 'aria-invalid="true"' in body and 'aria-describedby="id_date_to-error"' in body
    assert 'value="2025-03-31"' in body and 'value="2025-03-01"' in body


def test_a_day_outside_the_reports_calendar_is_explained(client, manager, data):
    response = _page(client, manager, {"date_from": "2025-03-01", "date_to": "9999-12-31"})
    body = html.unescape(response.content.decode())
    assert response.status_code == 400
    assert '<p class="field-error" id="id_date_to-error">Chọn một ngày từ 01/01/2000 đến ' \
           '31/12/2099.</p>' in body
    # The picker itself offers only those days.
    assert body.count('min="2000-01-01"') == 2 and body.count('max="2099-12-31"') == 2


def test_who_may_open_the_page(client, leader, specialist, applicant, manager, data, national,
                               frozen):
    with frozen(REPORT_AT):
        assert _page(client, leader, MARCH).status_code == 200
        assert _page(client, specialist, MARCH).status_code == 403
        client.logout()
        assert client.get(PAGE).status_code == 302
        listed = _page(client, manager, {**MARCH, "group": "progress", "count": "nothing"},
                       url=LIST)
        assert listed.status_code == 400


def test_the_page_is_linked_from_the_dashboard_and_has_no_inline_style_or_script(
    client, manager, data, national, frozen
):
    with frozen(REPORT_AT):
        dashboard = _page(client, manager, url="/quan-ly/chi-so/").content.decode()
        body = _page(client, manager, MARCH).content.decode()
    assert f'href="{PAGE}"' in dashboard
    assert " style=" not in body and "<style" not in body
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body)
    assert "http://" not in body.replace("http://www.w3.org/2000/svg", "")
