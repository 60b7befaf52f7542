"""The Content-Security-Policy holds on every main page: public, applicant, officer, manager,
administrator and the API's pages. The guards of conftest.py fail a test on any console error,
and every policy violation is one ("CSP violation: ..." from the page's listener, and the
browser's own line, "Refused to ..." or "... violates the following Content Security Policy
directive ...")."""

import pytest
from playwright.sync_api import expect

from dossiers.models import Dossier, Procedure

from .conftest import sign_in

POLICY_PARTS = ("default-src 'self'", "script-src 'self'", "style-src 'self'",
                "object-src 'none'", "frame-ancestors 'none'", "form-action 'self'",
                "base-uri 'self'")


def visit(page, path: str) -> None:
    """Open `path`, check the policy it came with, and let its scripts run."""
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response and response.status}"
    policy = response.headers.get("content-security-policy", "")
    for part in POLICY_PARTS:
        assert part in policy, f"{path} came without {part!r}: {policy!r}"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path
    page.wait_for_load_state("load")


@pytest.fixture
def world(portal_world, demo_users):
    """A procedure, and a dossier of congdan's being handled at the demo agency."""
    from tests.dossiers.factories import DossierFactory

    procedure = Procedure.objects.filter(agency__code="SCT").order_by("pk").first()
    dossier = DossierFactory(applicant=demo_users["congdan"], procedure=procedure,
                             processing=True)
    return {"procedure": procedure, "dossier": dossier}


def test_public_pages_keep_the_policy(page, world):
    for path in ["/", f"/thu-tuc/{world['procedure'].pk}/", "/tra-cuu/", "/xac-thuc/",
                 "/dang-nhap/"]:
        visit(page, path)
    # The lookup's form answers through htmx under the same policy.
    page.goto("/tra-cuu/")
    expect(page.locator("main h1")).to_be_visible()


def test_applicant_pages_keep_the_policy(page, world):
    sign_in(page, "congdan")
    dossier = world["dossier"]
    for path in ["/ho-so-cua-toi/", f"/ho-so-cua-toi/{dossier.pk}/",
                 f"/nop-ho-so/{world['procedure'].pk}/"]:
        visit(page, path)


def test_officer_pages_keep_the_policy(page, world):
    sign_in(page, "chuyenvien")
    visit(page, "/can-bo/hang-doi/")
    # The queue's filters answer through htmx: a swap under the policy.
    visit(page, "/can-bo/hang-doi/?q=" + (world["dossier"].code or ""))
    visit(page, f"/can-bo/ho-so/{world['dossier'].pk}/")


def test_manager_pages_keep_the_policy(page, world):
    sign_in(page, "quanly")
    for path in ["/quan-ly/chi-so/", "/quan-ly/ho-so/"]:
        visit(page, path)
    expect(page.locator("main h1")).to_be_visible()


def test_admin_pages_keep_the_policy(page, world):
    sign_in(page, "admin")
    for path in ["/admin/", "/admin/dossiers/procedure/",
                 f"/admin/dossiers/procedure/{world['procedure'].pk}/change/",
                 "/admin/dossiers/agency/add/"]:
        visit(page, path)
    expect(page.locator("#content h1")).to_be_visible()


def test_the_api_pages_keep_the_policy(page, world):
    visit(page, "/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Một Cửa API")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    visit(page, "/api/auth/login/")  # DRF's sign-in page for the browsable API
    expect(page.get_by_label("Tên đăng nhập")).to_be_visible()
    sign_in(page, "congdan")
    visit(page, "/api/v1/procedures/")  # DRF's browsable page
    expect(page.locator(".response-info")).to_be_visible()
    visit(page, f"/api/v1/dossiers/{world['dossier'].pk}/")
    assert Dossier.objects.filter(pk=world["dossier"].pk).exists()


def test_a_violation_fails_the_page(page, guards, world):
    """The guards see a violation: an inline style written into a page is refused."""
    visit(page, "/")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', "
                  "'<p style=\"color: red\">x</p>')")
    page.wait_for_timeout(300)

    assert any("CSP violation: style-src-attr" in p for p in guards.problems), guards.problems
    assert any("violates the following Content Security Policy directive" in p
               for p in guards.problems), guards.problems
    guards.allow(r"CSP violation: style-src-attr|Applying inline style violates")
