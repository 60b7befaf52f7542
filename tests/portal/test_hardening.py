"""Hardening: the security headers of every page, the Content-Security-Policy and what the
templates may contain under it, the downloads' type and disposition, and the production
settings passing Django's deployment check."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import pytest

from dossiers.models import Document
from portal.downloads import sniffed_type
from portal.roles import Role
from tests.conftest import PDF_BYTES, PNG_BYTES
from tests.dossiers.factories import DossierFactory, ProcedureFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]
HTML_BYTES = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def policy_of(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- headers on every page -----------------------------------------------------------------


PAGES = ["/", "/dang-nhap/", "/tra-cuu/", "/xac-thuc/", "/api/docs/", "/admin/login/",
         "/khong-co-trang-nay/"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_policy_and_the_security_headers(db, client, path):
    response = client.get(path, secure=True)

    policy = policy_of(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    # The lookup page goes further and sends no referrer at all (a code in its address).
    assert response["Referrer-Policy"] in ("same-origin", "no-referrer")


def test_signed_in_pages_carry_the_policy_too(db):
    officer = UserFactory(roles=[Role.RECEPTION], kind="staff")
    response = client_for(officer).get(reverse("web:officers:queue"), secure=True)

    assert response.status_code == 200
    assert policy_of(response)["script-src"] == ["'self'"]


def test_htmx_is_told_not_to_write_styles_nor_evaluate_code(db, client):
    page = client.get("/").content.decode()

    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', page)
    assert config, "no htmx-config meta"
    import json

    assert json.loads(config.group(1)) == {
        "includeIndicatorStyles": False, "allowEval": False, "allowScriptTags": False,
    }
    assert page.index('name="htmx-config"') < page.index("htmx-2.min.js")


# --- the templates: nothing inline --------------------------------------------------------

# Rendered to PDF by WeasyPrint, never served as a page.
PAPER_FOLDERS = ("/papers/",)
TEMPLATE_ROOTS = ["web", "templates", "dossiers", "signatures", "integrations", "portal"]
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> block"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler"),
    (re.compile(r"\shx-on[:-]", re.I), "an hx-on handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def _served_templates() -> list[Path]:
    found = []
    for root in TEMPLATE_ROOTS:
        for path in (ROOT / root).rglob("*.html"):
            text = str(path.relative_to(ROOT))
            if "templates" in path.parts and not any(f in f"/{text}" for f in PAPER_FOLDERS):
                found.append(path)
    return found


def test_the_served_templates_have_no_inline_script_style_or_handler():
    templates = _served_templates()
    assert len(templates) > 20, templates  # the scan reaches the pages

    problems = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in templates for pattern, what in INLINE
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert problems == []


@pytest.mark.parametrize("snippet", [
    '<script>alert(1)</script>', '<div style="color:red">', '<style>p{}</style>',
    '<button onclick="go()">', '<a hx-on:click="x()">',
])
def test_the_inline_scan_recognises_each_kind(snippet):
    assert any(pattern.search(snippet) for pattern, _what in INLINE)


def test_the_scan_accepts_a_script_file():
    assert not any(p.search('<script src="/static/web/js/filing.js" defer></script>')
                   for p, _w in INLINE)


# --- the payment page: the only widening ---------------------------------------------------


def test_the_fee_page_lets_its_form_lead_to_the_payment_platform_only(client, settings, db):
    settings.PAYMENT_PLATFORM_URL = "https://thanhtoan.example.gov.vn/api/v1"
    settings.PAYMENT_PAGE_ORIGINS = ["https://pay.example.vn"]
    applicant = UserFactory(roles=[Role.APPLICANT])
    dossier = DossierFactory(applicant=applicant)
    client.force_login(applicant)

    pay = client.get(reverse("web:applicant:pay", args=[dossier.pk]))
    other = client.get(reverse("web:applicant:dossier", args=[dossier.pk]))

    assert pay.status_code == 200
    assert policy_of(pay)["form-action"] == [
        "'self'", "https://pay.example.vn", "https://thanhtoan.example.gov.vn"]
    assert policy_of(pay)["script-src"] == ["'self'"]
    assert policy_of(other)["form-action"] == ["'self'"]


def test_without_a_payment_platform_the_fee_page_keeps_the_plain_policy(client, settings, db):
    settings.PAYMENT_PLATFORM_URL = ""
    settings.PAYMENT_PAGE_ORIGINS = []
    applicant = UserFactory(roles=[Role.APPLICANT])
    dossier = DossierFactory(applicant=applicant)
    client.force_login(applicant)

    assert policy_of(client.get(reverse("web:applicant:pay", args=[dossier.pk])))[
        "form-action"] == ["'self'"]


# --- downloads -------------------------------------------------------------------------------


@pytest.fixture
def stored(db):
    """A dossier with two documents whose recorded type lies about their bytes."""
    applicant = UserFactory(roles=[Role.APPLICANT])
    dossier = DossierFactory(applicant=applicant, procedure=ProcedureFactory(), submitted=True)
    component = dossier.procedure.components.get(code="don_de_nghi")

    def document(content: bytes, declared: str, name: str, version: int) -> Document:
        return Document.objects.create(
            dossier=dossier, component=component, version=version, is_current=version == 3,
            file=ContentFile(content, name=name),
            original_name=name, sha256="0" * 64, size=len(content), content_type=declared,
            uploaded_by=applicant, signature_checked_at=timezone.now(),
        )

    return {
        "dossier": dossier, "applicant": applicant,
        "pdf": document(PDF_BYTES, "text/html", "don.pdf", 1),
        "html": document(HTML_BYTES, "application/pdf", "trang.pdf", 2),
        "png": document(PNG_BYTES, "application/pdf", "anh.png", 3),
    }


def _download_urls(stored, document) -> list[tuple[str, object]]:
    dossier, applicant = stored["dossier"], stored["applicant"]
    officer = UserFactory(roles=[Role.RECEPTION], kind="staff",
                          agency_code=dossier.handling_agency.code)
    return [
        (reverse("web:applicant:document", args=[dossier.pk, document.pk]), applicant),
        (reverse("web:officers:document", args=[document.pk]), officer),
        (reverse("api:dossiers:download", args=[document.pk]), applicant),
    ]


@pytest.mark.parametrize(("which", "expected"), [
    ("pdf", "application/pdf"), ("png", "image/png"), ("html", "application/octet-stream"),
])
def test_a_document_downloads_as_an_attachment_of_its_sniffed_type(stored, which, expected):
    document = stored[which]
    for address, user in _download_urls(stored, document):
        response = client_for(user).get(address)

        assert response.status_code == 200, address
        assert response["Content-Type"] == expected, address
        assert response["Content-Disposition"].startswith("attachment;"), address
        assert document.original_name in response["Content-Disposition"], address
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cache-Control"] == "private, no-store"
        assert b"".join(response.streaming_content) == document.file.open("rb").read()


def test_the_receipt_slip_is_an_attachment_for_the_applicant_and_inline_at_the_counter(
    db, pdf_file
):
    from dossiers import services

    applicant = UserFactory(roles=[Role.APPLICANT])
    dossier = DossierFactory(applicant=applicant, procedure=ProcedureFactory())
    services.document_upload(dossier_id=dossier.pk, actor=applicant,
                             component_code="don_de_nghi", uploaded_file=pdf_file())
    services.dossier_submit(dossier_id=dossier.pk, actor=applicant)
    reception = UserFactory(roles=[Role.RECEPTION], kind="staff",
                            agency_code=dossier.handling_agency.code)
    dossier = services.dossier_accept(dossier_id=dossier.pk, actor=reception)

    mine = client_for(applicant).get(reverse("web:applicant:receipt_slip", args=[dossier.pk]))
    api = client_for(applicant).get(reverse("api:dossiers:receipt_slip", args=[dossier.pk]))
    desk = client_for(reception).get(reverse("web:officers:receipt_slip", args=[dossier.pk]))

    for response in (mine, api, desk):
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        assert f'filename="tiep-nhan-{dossier.code}.pdf"' in response["Content-Disposition"]
    assert mine["Content-Disposition"].startswith("attachment;")
    assert api["Content-Disposition"].startswith("attachment;")
    # Reception prints the slip from the browser's viewer; the portal made these bytes.
    assert desk["Content-Disposition"].startswith("inline;")


def test_the_sniffer_never_trusts_a_name_or_a_declaration():
    assert sniffed_type(PDF_BYTES) == "application/pdf"
    assert sniffed_type(HTML_BYTES) == "application/octet-stream"
    assert sniffed_type(b"") == "application/octet-stream"
    assert sniffed_type(b"a,b\n", fallback="text/csv") == "text/csv"


# --- production settings: the deployment check ---------------------------------------------

# What a deployment sets (README, .env.example): its own key and hosts, and its integrations.
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_ALLOWED_HOSTS": "motcua.example.gov.vn",
    "NATIONAL_PORTAL_URL": "https://dvc.example.gov.vn/api",
    "NATIONAL_PORTAL_USERNAME": "motcua", "NATIONAL_PORTAL_PASSWORD": "from-the-vault",
    "PROVINCIAL_PORTAL_URL": "https://dvc-tinh.example.gov.vn/api",
    "PROVINCIAL_PORTAL_USERNAME": "motcua", "PROVINCIAL_PORTAL_PASSWORD": "from-the-vault",
    "PAYMENT_PLATFORM_URL": "https://thanhtoan.example.gov.vn/api",
    "PAYMENT_MERCHANT_ID": "SCT", "PAYMENT_SECRET": "from-the-vault",
    "PAYMENT_BENEFICIARY_ACCOUNT": "0123456789", "PAYMENT_BENEFICIARY_BANK": "VCB",
    "PAYMENT_BENEFICIARY_NAME": "SO CONG THUONG",
    "PAYMENT_NOTIFY_URL": "https://motcua.example.gov.vn/api/v1/inbound/payments/callback/",
    "INBOUND_HMAC_SECRET": "from-the-vault",
}


def _check_deploy(**variables: str) -> subprocess.CompletedProcess:
    """`manage.py check --deploy --fail-level WARNING` in a clean environment: only PATH and
    HOME of this one, then the production settings' variables."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/"),
           "DJANGO_SETTINGS_MODULE": "portal.settings", **variables}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )


def test_the_deployment_check_is_clean_with_production_settings():
    done = _check_deploy(**PRODUCTION, DJANGO_SECRET_KEY=secrets.token_urlsafe(50))

    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_the_deployment_check_fails_on_a_weakened_setting():
    """The same check fails when a deployment turns HSTS off: the gate can fail."""
    done = _check_deploy(**PRODUCTION, DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
                         DJANGO_SECURE_HSTS_SECONDS="0")

    assert done.returncode != 0
    assert "security.W004" in done.stderr


@pytest.mark.parametrize("key", [None, "insecure-development-key-change-me", "change-me"],
                         ids=["missing", "development-default", "placeholder"])
def test_the_deployment_check_refuses_a_missing_or_default_key(key):
    variables = dict(PRODUCTION)
    if key is not None:
        variables["DJANGO_SECRET_KEY"] = key

    done = _check_deploy(**variables)

    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert "DJANGO_SECRET_KEY" in done.stderr


PRODUCTION_PROBE = """
import json, django
django.setup()
from django.conf import settings as s
from django.test import Client
host = {"HTTP_HOST": "motcua.example.gov.vn"}
page = Client().get("/dang-nhap/", secure=True, **host)
plain = Client().get("/dang-nhap/", **host)
print(json.dumps({
    "cookies": [s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY],
    "status": page.status_code, "headers": dict(page.headers),
    "csrf_cookie": page.cookies["csrftoken"].output() if "csrftoken" in page.cookies else "",
    "plain": [plain.status_code, plain.headers.get("Location")],
}))
"""


def test_production_pages_send_hsts_secure_cookies_and_move_plain_http_to_https(tmp_path):
    """The production settings in a process of their own (the suite's own settings are read
    with debug on, so their production branch is not taken here)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/"),
           "DJANGO_SETTINGS_MODULE": "portal.settings", **PRODUCTION,
           "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}"}
    done = subprocess.run([sys.executable, "-c", PRODUCTION_PROBE], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    import json

    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["cookies"] == [True, True, True]
    assert seen["status"] == 200
    headers = seen["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "; secure" in seen["csrf_cookie"].lower()
    assert seen["plain"] == [301, "https://motcua.example.gov.vn/dang-nhap/"]
