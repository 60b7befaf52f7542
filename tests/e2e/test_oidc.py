"""Electronic identity sign-in in the browser: /dang-nhap/ → the simulator's identity provider
page → back signed in on /ho-so-cua-toi/."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from integrations.simulator import Simulator

from .conftest import REPO_ROOT, assert_no_sideways_scroll, path_of, sign_out

START = "Đăng nhập bằng tài khoản định danh điện tử"


@pytest.fixture
def idp(settings, live_server):
    sim = Simulator().start()  # client "motcua", any loopback return address
    base = sim.url_for("idp")
    settings.OIDC_RP_CLIENT_ID = "motcua"
    settings.OIDC_RP_CLIENT_SECRET = "motcua-oidc-secret"
    settings.OIDC_OP_ISSUER = base
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{base}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{base}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{base}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{base}/jwks"
    try:
        yield sim
    finally:
        sim.stop()


def _context(new_context, idp, kind="desktop"):
    """A guarded context that may also talk to the identity provider (and nothing else)."""
    context = new_context(kind)
    # Registered after the guard, so it runs first for the provider's own address.
    context.route(f"{idp.url}/idp/**", lambda route: route.continue_())
    return context


def _shot(page, name: str) -> None:
    folder = Path(os.environ.get("E2E_SCREENSHOTS") or REPO_ROOT / "e2e-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)


def test_a_citizen_signs_in_with_the_electronic_identity(new_context, idp, demo_users):
    page = _context(new_context, idp).new_page()
    page.goto("/dang-nhap/")
    page.get_by_role("link", name=START).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(START)
    assert page.url.startswith(idp.url_for("idp") + "/authorize?")
    _shot(page, "test_oidc.idp-page.png")
    page.get_by_role("button", name="Nguyễn Văn An").click()

    page.wait_for_url("**/ho-so-cua-toi/")
    assert path_of(page) == "/ho-so-cua-toi/"
    expect(page.locator("header")).to_contain_text("Nguyễn Văn An")  # the demo account congdan
    _shot(page, "test_oidc.signed-in.png")
    sign_out(page)


def test_a_new_business_signs_in_on_a_phone(new_context, idp, demo_users):
    page = _context(new_context, idp, "phone").new_page()
    page.goto("/dang-nhap/")
    assert_no_sideways_scroll(page)
    page.get_by_role("link", name=START).click()
    assert_no_sideways_scroll(page)
    _shot(page, "test_oidc.idp-page-phone.png")
    page.get_by_role("button", name="Công ty CP Cơ khí Quảng Trị").click()

    page.wait_for_url("**/ho-so-cua-toi/")
    expect(page.locator("header")).to_contain_text("Công ty CP Cơ khí Quảng Trị")


def test_cancelling_on_the_provider_page_returns_to_sign_in(new_context, idp, demo_users):
    page = _context(new_context, idp).new_page()
    page.goto("/dang-nhap/")
    page.get_by_role("link", name=START).click()
    page.get_by_role("button", name="Hủy, quay lại cổng").click()

    page.wait_for_url("**/dang-nhap/")
    expect(page.locator(".messages")).to_contain_text("Bạn đã hủy đăng nhập")
