"""OCSP answers for the cache: fetched from allowlisted responders only, stored only when the
issuer signed them, and used by the verifier."""

import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.x509 import ocsp as x509_ocsp

from signatures import devpki
from signatures.models import RevocationRecord, TrustedCertificate
from signatures.ocsp import (
    OcspTarget,
    ocsp_refresh,
    ocsp_refresh_for_pdf,
    ocsp_response_store,
    ocsp_targets_in_trust_store,
)
from signatures.services import signature_verify, trust_anchor_import

from .pki import one_page_pdf, sign_pdf


@pytest.fixture(scope="module")
def ocsp_pki():
    now = datetime.now(UTC).replace(microsecond=0)
    far = now + timedelta(days=3650)
    root = devpki.make_root("Root OCSP (thử nghiệm)", not_before=now - timedelta(days=30),
                            not_after=far)
    return {"now": now, "root": root, "stranger": devpki.make_root(
        "Root lạ", not_before=now - timedelta(days=30), not_after=far)}


@pytest.fixture
def responder(ocsp_pki):
    """A local OCSP responder answering for the root's certificates; `revoked` serials."""
    revoked: set[int] = set()
    seen: list[int] = []
    signer = {"issuer": ocsp_pki["root"]}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server API
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = x509_ocsp.load_der_ocsp_request(body)
            seen.append(request.serial_number)
            now = datetime.now(UTC)
            cert = certs[request.serial_number]
            data = devpki.make_ocsp_response(
                signer["issuer"], cert, this_update=now - timedelta(minutes=1),
                next_update=now + timedelta(days=1),
                revoked_at=now - timedelta(days=2) if request.serial_number in revoked else None,
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/ocsp-response")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    certs: dict = {}
    url = f"http://127.0.0.1:{server.server_address[1]}/ocsp"
    yield {"url": url, "certs": certs, "revoked": revoked, "seen": seen, "signer": signer,
           "host": f"127.0.0.1:{server.server_address[1]}"}
    server.shutdown()
    server.server_close()


def _leaf(ocsp_pki, responder, name="Công ty TNHH Ánh Dương"):
    now = ocsp_pki["now"]
    leaf = devpki.issue(ocsp_pki["root"], name, uid="MST:0101234567",
                        not_before=now - timedelta(days=10), not_after=now + timedelta(days=365),
                        ocsp_url=responder["url"])
    responder["certs"][leaf.cert.serial_number] = leaf.cert
    return leaf


@pytest.fixture
def trusted_root(db, ocsp_pki):
    trust_anchor_import(data=ocsp_pki["root"].pem, scope=TrustedCertificate.Scope.PUBLIC)


def test_a_signature_without_revocation_data_becomes_valid_once_ocsp_is_fetched(
    trusted_root, ocsp_pki, responder, settings
):
    settings.SIGNATURES_REVOCATION_HOSTS = [responder["host"]]
    content = sign_pdf(one_page_pdf(), _leaf(ocsp_pki, responder))
    before = signature_verify(content=content, filename="don.pdf")
    assert str(before.verdict) == "indeterminate"

    outcome = ocsp_refresh_for_pdf(content)
    assert list(outcome.values()) == ["stored"]
    after = signature_verify(content=content, filename="don.pdf")
    assert str(after.verdict) == "valid"
    [report] = after.signatures
    assert report.revocation_status == "good"
    assert responder["url"] in report.revocation_source


def test_a_revoked_answer_makes_the_signature_invalid(trusted_root, ocsp_pki, responder,
                                                      settings):
    settings.SIGNATURES_REVOCATION_HOSTS = [responder["host"]]
    leaf = _leaf(ocsp_pki, responder, "Thu Hồi OCSP")
    responder["revoked"].add(leaf.cert.serial_number)
    content = sign_pdf(one_page_pdf(), leaf)
    assert list(ocsp_refresh_for_pdf(content).values()) == ["stored"]
    assert str(signature_verify(content=content, filename="don.pdf").verdict) == "invalid"


def test_responders_off_the_allowlist_are_never_asked(trusted_root, ocsp_pki, responder,
                                                      settings):
    settings.SIGNATURES_REVOCATION_HOSTS = ["ocsp.ca.gov.vn"]
    content = sign_pdf(one_page_pdf(), _leaf(ocsp_pki, responder))
    assert list(ocsp_refresh_for_pdf(content).values()) == ["revocation_host_not_allowed"]
    assert responder["seen"] == []
    assert not RevocationRecord.objects.exists()


def test_an_answer_not_signed_by_the_issuer_is_not_stored(trusted_root, ocsp_pki, responder,
                                                           settings):
    settings.SIGNATURES_REVOCATION_HOSTS = [responder["host"]]
    responder["signer"]["issuer"] = ocsp_pki["stranger"]
    content = sign_pdf(one_page_pdf(), _leaf(ocsp_pki, responder))
    [result] = ocsp_refresh_for_pdf(content).values()
    assert result.startswith("error:")
    assert not RevocationRecord.objects.exists()


def test_an_answer_about_another_certificate_is_refused(trusted_root, ocsp_pki, responder):
    first, second = _leaf(ocsp_pki, responder, "Một"), _leaf(ocsp_pki, responder, "Hai")
    now = datetime.now(UTC)
    data = devpki.make_ocsp_response(ocsp_pki["root"], second.cert, this_update=now,
                                     next_update=now + timedelta(days=1))
    with pytest.raises(ValueError, match="another certificate"):
        ocsp_response_store(source="x", data=data,
                            target=OcspTarget(cert=first.cert, issuer=ocsp_pki["root"].cert))


def test_the_beat_refresh_asks_for_our_intermediates(db, ocsp_pki, responder, settings):
    settings.SIGNATURES_REVOCATION_HOSTS = [responder["host"]]
    now = ocsp_pki["now"]
    intermediate = devpki.issue(ocsp_pki["root"], "CA trung gian", ca=True,
                                not_before=now - timedelta(days=1), not_after=now
                                + timedelta(days=365), ocsp_url=responder["url"])
    responder["certs"][intermediate.cert.serial_number] = intermediate.cert
    trust_anchor_import(data=ocsp_pki["root"].pem, scope=TrustedCertificate.Scope.PUBLIC)
    trust_anchor_import(data=intermediate.pem, scope=TrustedCertificate.Scope.PUBLIC)
    [target] = ocsp_targets_in_trust_store()
    assert target.cert == intermediate.cert
    assert list(ocsp_refresh(targets=[target]).values()) == ["stored"]
    assert RevocationRecord.objects.get().kind == "ocsp"
