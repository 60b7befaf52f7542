"""Signing results through each signer: valid with our verifier, invalid after one byte changes."""

import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from signatures.models import IssuedDocument
from signatures.report import Verdict
from signatures.results import ResultContent
from signatures.services import result_issue, signature_verify
from signatures.signers import (
    Pkcs11ResultSigner,
    Pkcs12ResultSigner,
    RemoteResultSigner,
    RemoteSigningConfig,
    SigningCertificateEncodedOnce,
    configured_timestamper,
)

from .servers import remote_signing_handler, serve, tsa_handler

RESULT = ResultContent(
    agency="Sở Công Thương tỉnh Hưng Yên",
    title="Giấy phép sản xuất rượu thủ công",
    number="125/GP-SCT",
    recipient="Hộ kinh doanh Nguyễn Văn Đức",
    body=("Căn cứ Nghị định số 105/2017/NĐ-CP ngày 14 tháng 9 năm 2017 của Chính phủ;",
          "Cho phép hộ kinh doanh được sản xuất rượu thủ công nhằm mục đích kinh doanh."),
    place="Hưng Yên",
    signer_title="Giám đốc",
    signer_name="Trần Thị Ánh",
)


def assert_round_trip(signed) -> None:
    result = signature_verify(content=signed.content, filename="kq.pdf")
    assert [s.verdict for s in result.signatures] == [Verdict.VALID], [
        (s.sub_indication, s.detail) for s in result.signatures]
    assert result.issued_by_us is True
    assert result.signatures[0].root_scope == "government"

    # One byte inside the signed page content changes.
    at = signed.content.index(b"stream\n") + 20
    tampered = signed.content[:at] + bytes([signed.content[at] ^ 0x20]) + signed.content[at + 1:]
    broken = signature_verify(content=tampered, filename="kq.pdf")
    assert broken.verdict == Verdict.INVALID
    assert broken.issued_by_us is False


@pytest.fixture
def pkcs12_signer(trust_store):
    return Pkcs12ResultSigner(data=trust_store.gov_signer.pkcs12(b"mat-khau"),
                              password=b"mat-khau")


def test_a_result_signed_with_pkcs12_verifies_and_is_recognised(pkcs12_signer):
    signed = result_issue(result=RESULT, filename="kq.pdf", signer=pkcs12_signer)

    assert signed.level == "B-B"
    assert IssuedDocument.objects.get(sha256=signed.sha256).reference == "125/GP-SCT"
    assert signed.verify_url.endswith(f"/xac-thuc/?ma={signed.code}")
    assert_round_trip(signed)


def test_a_result_is_b_t_through_the_configured_tsa(pkcs12_signer, trust_store, settings):
    with serve(tsa_handler(trust_store.timestamper())) as (server, url):
        settings.SIGNATURES_TSA_URL = url
        signed = result_issue(result=RESULT, filename="kq.pdf", signer=pkcs12_signer,
                              timestamper=configured_timestamper())

    assert signed.level == "B-T" and server.hits
    report = signature_verify(content=signed.content, filename="kq.pdf").signatures[0]
    assert report.verdict == Verdict.VALID and report.timestamp_time is not None
    assert_round_trip(signed)


def test_the_remote_signer_sends_only_a_digest(trust_store):
    with serve(remote_signing_handler(trust_store.gov_signer, "tok")) as (server, url):
        signer = RemoteResultSigner(config=RemoteSigningConfig(url=url, token="tok"))
        signed = result_issue(result=RESULT, filename="kq.pdf", signer=signer)

    assert server.hits == ["/certificate", "/sign"]
    assert isinstance(signer.pyhanko_signer(), SigningCertificateEncodedOnce)
    assert signed.issued.signer_backend == "remote"
    assert_round_trip(signed)


def test_a_remote_service_refusing_the_token_fails_cleanly(trust_store):
    from signatures.exceptions import SigningFailed

    with serve(remote_signing_handler(trust_store.gov_signer, "tok")) as (_server, url):
        signer = RemoteResultSigner(config=RemoteSigningConfig(url=url, token="wrong"))
        with pytest.raises(SigningFailed):
            result_issue(result=RESULT, filename="kq.pdf", signer=signer)

    assert not IssuedDocument.objects.exists()


def test_the_result_pdf_embeds_dejavu_with_vietnamese_glyphs(pkcs12_signer):
    from io import BytesIO

    from fontTools.ttLib import TTFont
    from pypdf import PdfReader

    signed = result_issue(result=RESULT, filename="kq.pdf", signer=pkcs12_signer)

    families, cmaps = set(), b""
    for page in PdfReader(BytesIO(signed.content)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            program = descriptor.get_object()["/FontFile2"].get_object().get_data()
            families.add(TTFont(BytesIO(program))["name"].getDebugName(1))
            cmaps += font["/ToUnicode"].get_object().get_data().lower()
    # Every font is an embedded subset of the DejaVu Sans the portal ships.
    assert families == {"DejaVu Sans", "DejaVu Sans Bold"} or families == {"DejaVu Sans"}
    # The ToUnicode maps of the subsets cover the letters with stacked diacritics.
    for char in "ĐƯỢỘÃỦĨạ":
        assert f"<{ord(char):04x}>".encode() in cmaps, char
    assert b"/Widget" in signed.content  # the visible stamp's signature widget


# --- PKCS#11 against a real SoftHSM2 token ------------------------------------------------

MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
           "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so")


def _ensure_softhsm() -> str:
    util = shutil.which("softhsm2-util")
    if util is None:
        if os.geteuid() != 0:
            pytest.skip("softhsm2-util is missing and installing the Debian package softhsm2 "
                        "needs root (apt-get install -y softhsm2)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "softhsm2"]
        if subprocess.run(install, env=env, capture_output=True, timeout=900).returncode:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=900)
            subprocess.run(install, env=env, capture_output=True, timeout=900)
        util = shutil.which("softhsm2-util")
        if util is None:
            pytest.skip("could not install the Debian package softhsm2 with apt-get")
    return util


@pytest.fixture(scope="session")
def softhsm_token(pki, tmp_path_factory):
    util = _ensure_softhsm()
    module = next((m for m in MODULES if Path(m).exists()), None)
    if module is None:
        pytest.skip("softhsm2 is installed but libsofthsm2.so was not found")
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run([util, "--init-token", "--free", "--label", "motcua", "--pin", "246810",
                    "--so-pin", "13579111"], check=True, capture_output=True, timeout=60)
    _put_key_and_certificate(module, pki)
    yield module
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


class _PublicOnly:
    """Lets the test CA issue a certificate for a key that never leaves the token."""

    def __init__(self, public_key):
        self._public_key = public_key

    def public_key(self):
        return self._public_key


def _put_key_and_certificate(module: str, pki) -> None:
    import pkcs11
    from asn1crypto import keys
    from cryptography.hazmat.primitives import serialization
    from pkcs11 import Attribute, CertificateType, KeyType, ObjectClass
    from pkcs11.util.rsa import encode_rsa_public_key

    from signatures import devpki

    token = pkcs11.lib(module).get_token(token_label="motcua")
    with token.open(rw=True, user_pin="246810") as session:
        public, _private = session.generate_keypair(
            KeyType.RSA, 2048, label="agency", id=b"\x01", store=True)
        spki = keys.PublicKeyInfo({
            "algorithm": {"algorithm": "rsa"},
            "public_key": keys.RSAPublicKey.load(encode_rsa_public_key(public)),
        }).dump()
        cert = devpki.issue(
            pki.gov_root, "Sở Công Thương (HSM)", uid="MNS:1234567",
            key=_PublicOnly(serialization.load_der_public_key(spki)),
            not_before=pki.now - timedelta(days=1), not_after=pki.now + timedelta(days=365),
        ).cert
        session.create_object({
            Attribute.CLASS: ObjectClass.CERTIFICATE,
            Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True,
            Attribute.LABEL: "agency",
            Attribute.ID: b"\x01",
            Attribute.SUBJECT: cert.subject.public_bytes(),
            Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
        })


def test_a_result_signed_on_a_pkcs11_token_verifies(softhsm_token, trust_store):
    signer = Pkcs11ResultSigner(module=softhsm_token, token_label="motcua", pin="246810",
                                key_label="agency")
    try:
        signed = result_issue(result=RESULT, filename="kq.pdf", signer=signer)
        assert isinstance(signer.pyhanko_signer(), SigningCertificateEncodedOnce)
    finally:
        signer.close()

    assert signed.issued.signer_backend == "pkcs11"
    assert "HSM" in signed.issued.signer_subject
    assert_round_trip(signed)


def test_the_demo_signer_provisions_its_own_trusted_key(db, settings):
    from signatures.signers import configured_signer, reset_configured_signer

    settings.SIGNATURES_SIGNER = "demo"
    settings.SIGNATURES_TSA_URL = ""
    reset_configured_signer()
    try:
        signed = result_issue(result=RESULT, filename="kq.pdf", signer=configured_signer())
    finally:
        reset_configured_signer()

    assert signed.level == "B-B"
    assert_round_trip(signed)
