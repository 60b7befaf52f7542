"""What every visitor meets: sign-in and sign-out, the language switch, the keyboard, a phone."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import DEMO_PASSWORD, assert_no_sideways_scroll, path_of, sign_in, sign_out
from .journey import need_page

WRONG_LOGIN = "Tên đăng nhập hoặc mật khẩu không đúng"

LANDINGS = [
    ("tiepnhan", "/can-bo/hang-doi/"),
    ("chuyenvien", "/can-bo/hang-doi/"),
    ("lanhdao", "/can-bo/hang-doi/"),
    ("quanly", "/quan-ly/chi-so/"),
    ("doanhnghiep", "/ho-so-cua-toi/"),
    ("congdan", "/ho-so-cua-toi/"),
    ("admin", "/admin/"),
]


def test_wrong_password_shows_the_error_and_keeps_the_username(page, demo_users):
    page.goto("/dang-nhap/")
    page.get_by_label("Tên đăng nhập").fill("doanhnghiep")
    page.get_by_label("Mật khẩu").fill("sai-mat-khau")
    page.locator("main form button[type=submit]").click()

    expect(page.get_by_role("alert")).to_contain_text(WRONG_LOGIN)
    expect(page.get_by_label("Tên đăng nhập")).to_have_value("doanhnghiep")
    assert path_of(page) == "/dang-nhap/"
    # Still signed out: the header offers sign-in.
    expect(page.locator("header").get_by_role("link", name="Đăng nhập")).to_be_visible()


@pytest.mark.parametrize(("username", "landing"), LANDINGS)
def test_each_role_lands_on_its_page(page, demo_users, username, landing):
    need_page(landing, "the landing page of this role")
    sign_in(page, username)

    assert path_of(page) == landing
    response = page.request.get(landing)
    assert response.status == 200, f"{landing} answers {response.status}"
    user = demo_users[username]
    if landing == "/admin/":
        expect(page.locator("#user-tools")).to_contain_text(user.get_short_name() or username)
    else:
        expect(page.locator("main h1").first).to_be_visible()
        expect(page.locator("header")).to_contain_text(user.display_name)


def test_sign_out_returns_to_signed_out_state(page, demo_users):
    sign_in(page, "doanhnghiep")
    expect(page.locator("header")).to_contain_text("Công ty TNHH Thương mại Đông Hà")

    sign_out(page)

    assert path_of(page) == "/"
    expect(page.locator("header").get_by_role("link", name="Đăng nhập")).to_be_visible()
    expect(page.locator("header")).not_to_contain_text("Công ty TNHH Thương mại Đông Hà")
    # A page for signed-in applicants sends the visitor to sign in again.
    page.goto("/ho-so-cua-toi/")
    assert path_of(page) == "/dang-nhap/"


def test_sign_out_link_asks_before_signing_out(page, demo_users):
    sign_in(page, "congdan")
    page.goto("/dang-xuat/")
    expect(page.locator("main h1")).to_have_text("Đăng xuất")
    expect(page.locator("main")).to_contain_text("Nguyễn Văn An")

    with page.expect_navigation():
        page.locator("main").get_by_role("button", name="Đăng xuất").click()

    assert path_of(page) == "/"
    expect(page.locator("header").get_by_role("link", name="Đăng nhập")).to_be_visible()


def test_language_switch_to_english_and_back(page, demo_users):
    page.goto("/dang-nhap/")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    header = page.locator("header")
    expect(header.get_by_role("link", name="Đăng nhập")).to_be_visible()

    with page.expect_navigation():
        header.get_by_role("button", name="EN").click()

    assert path_of(page) == "/dang-nhap/"
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(header.get_by_role("button", name="EN")).to_have_attribute("aria-current", "true")
    expect(header.get_by_role("link", name="Log in")).to_be_visible()
    expect(header).not_to_contain_text("Đăng nhập")
    expect(header.get_by_role("button", name="VI")).not_to_have_attribute("aria-current", "true")
    expect(page.locator("main form button[type=submit]")).to_have_text("Log in")

    with page.expect_navigation():
        header.get_by_role("button", name="VI").click()

    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(header.get_by_role("link", name="Đăng nhập")).to_be_visible()
    # The choice sticks for the next page.
    page.goto("/dang-nhap/")
    expect(page.locator("html")).to_have_attribute("lang", "vi")


def test_language_choice_survives_sign_in(page, demo_users):
    page.goto("/dang-nhap/")
    with page.expect_navigation():
        page.locator("header").get_by_role("button", name="EN").click()
    page.locator("input[name=username]").fill("doanhnghiep")
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()

    assert path_of(page) == "/ho-so-cua-toi/"
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("header").get_by_role("button", name="Log out")).to_be_visible()


@pytest.mark.parametrize("path", ["/", "/dang-xuat/"])
def test_tab_reaches_the_skip_link_first_and_it_moves_focus_to_main(page, demo_users, path):
    # The sign-in page puts the cursor in its first field; these pages start at the top.
    if path == "/dang-xuat/":
        sign_in(page, "admin")
    page.goto(path)

    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => [document.activeElement.className, document.activeElement.textContent.trim()]"
    )
    assert focused == ["skip-link", "Bỏ qua, đến nội dung chính"]
    expect(page.locator("a.skip-link")).to_be_in_viewport()

    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    # The next Tab goes on inside the main content, not back to the header.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")


def test_favicon_is_served_by_the_portal(page):
    response = page.request.get("/favicon.ico")
    assert response.status == 200
    assert response.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    page.goto("/dang-nhap/")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(icon).status == 200


def test_static_files_come_from_the_portal(page):
    page.goto("/dang-nhap/")
    stylesheet = page.locator("link[rel=stylesheet]").first.get_attribute("href")
    assert stylesheet.startswith("/static/")
    response = page.request.get(stylesheet)
    assert response.status == 200
    assert "text/css" in response.headers["content-type"]
    # The stylesheet is applied: the header has the portal's colour, not the browser default.
    background = page.evaluate(
        "() => getComputedStyle(document.querySelector('.site-header')).backgroundColor"
    )
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")


@pytest.mark.parametrize("path", ["/", "/dang-nhap/"])
def test_phone_has_no_sideways_scroll(phone_page, path):
    response = phone_page.goto(path)
    assert response.status == 200, f"{path} answers {response.status}"

    assert_no_sideways_scroll(phone_page)
    expect(phone_page.locator("h1").first).to_be_visible()
    width = phone_page.evaluate("() => window.innerWidth")
    assert width == 390


def test_phone_sign_in_form_fits_and_works(phone_page, demo_users):
    phone_page.goto("/dang-nhap/")
    assert_no_sideways_scroll(phone_page)
    box = phone_page.locator("input[name=username]").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390

    phone_page.locator("input[name=username]").tap()
    phone_page.keyboard.type("congdan")
    phone_page.locator("input[name=password]").fill(DEMO_PASSWORD)
    with phone_page.expect_navigation():
        phone_page.locator("main form button[type=submit]").tap()

    assert re.fullmatch("/ho-so-cua-toi/", path_of(phone_page))


def test_the_guards_catch_what_a_page_does_wrong(page, guards):
    """The checks every test relies on: a CDN request, a console error, a script error and a
    missing sub-resource are each recorded (and then cleared, so this test passes)."""
    page.goto("/dang-nhap/")
    page.evaluate("""() => {
        const img = document.createElement("img");
        img.src = "https://cdn.example.org/logo.png";
        document.body.append(img);
        console.error("hỏng");
        fetch("/static/web/css/khong-co.css");
        setTimeout(() => { throw new Error("lỗi kịch bản"); }, 0);
    }""")
    page.wait_for_function("() => true")
    page.wait_for_timeout(300)

    recorded = "\n".join(guards.problems)
    # The page's Content-Security-Policy stops the request before it leaves; either way it fails.
    assert guards.outside == ["GET https://cdn.example.org/logo.png"] or (
        "CSP violation: img-src blocked https://cdn.example.org/logo.png" in recorded)
    assert "console error" in recorded and "hỏng" in recorded
    assert "script error" in recorded and "lỗi kịch bản" in recorded
    assert "404 for a sub-resource: GET" in recorded and "khong-co.css" in recorded
    guards.problems.clear()
    guards.outside.clear()
