"""The signing key and the printed papers' fonts are loaded once per process, not per document."""

from datetime import timedelta
from io import BytesIO
from unittest import mock

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign import fields
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, pdf_cms
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pypdf import PdfReader

from portal import clock, papers
from signatures import devpki
from signatures import signers as signers_module
from signatures.results import FONT_DIR, TEMPLATE
from signatures.services import result_issue, signature_verify
from signatures.signers import (
    LoadedKeySigner,
    Pkcs12ResultSigner,
    configured_signer,
    reset_configured_signer,
)

from .test_signing import RESULT, assert_round_trip


def _counting(target, name):
    """Patch `target.name` with a wrapper that counts its calls and still does the work."""
    real = getattr(target, name)
    return mock.patch.object(target, name, side_effect=real)


def test_two_results_parse_the_pkcs12_key_once_and_pyhanko_never_reparses_it(trust_store):
    signer = Pkcs12ResultSigner(data=trust_store.gov_signer.pkcs12(b"mat-khau"),
                                password=b"mat-khau")
    with (_counting(signers_module.pkcs12, "load_key_and_certificates") as opened,
          _counting(pdf_cms.serialization, "load_der_private_key") as reparsed):
        first = result_issue(result=RESULT, filename="kq-1.pdf", signer=signer)
        second = result_issue(result=RESULT, filename="kq-2.pdf", signer=signer)

    assert opened.call_count == 1
    assert reparsed.call_count == 0
    assert first.sha256 != second.sha256
    assert_round_trip(first)
    assert_round_trip(second)


def test_a_wrong_pkcs12_password_is_a_configuration_error(trust_store):
    from signatures.exceptions import SignerNotConfigured

    signer = Pkcs12ResultSigner(data=trust_store.gov_signer.pkcs12(b"mat-khau"),
                                password=b"sai")
    with pytest.raises(SignerNotConfigured):
        signer.pyhanko_signer()


def test_the_loaded_key_signer_signs_what_the_library_verifies(pki):
    issued = pki.leaves["business"]
    with _counting(pdf_cms.serialization, "load_der_private_key") as reparsed:
        signer = LoadedKeySigner.from_key(
            signing_cert=issued.asn1(), private_key=issued.key,
            cert_registry=pdf_cms.SimpleCertificateStore.from_certs(issued.asn1_chain()))
        raw = signer.sign_raw(b"du lieu", "sha256")
    assert reparsed.call_count == 0
    public = issued.cert.public_key()
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    public.verify(raw, b"du lieu", PKCS1v15(), hashes.SHA256())  # raises when it does not match


def _write_pkcs12(path, issued, password: bytes) -> None:
    path.write_bytes(issued.pkcs12(password))


def test_the_configured_signer_is_built_once_and_again_when_its_key_file_changes(
        trust_store, pki, settings, tmp_path):
    key_file = tmp_path / "agency.p12"
    _write_pkcs12(key_file, trust_store.gov_signer, b"mat-khau")
    settings.SIGNATURES_SIGNER = "pkcs12"
    settings.SIGNATURES_PKCS12_PATH = str(key_file)
    settings.SIGNATURES_PKCS12_PASSWORD = "mat-khau"
    reset_configured_signer()
    try:
        with _counting(signers_module.pkcs12, "load_key_and_certificates") as opened:
            first = configured_signer()
            result_issue(result=RESULT, filename="a.pdf", signer=first)
            result_issue(result=RESULT, filename="b.pdf", signer=configured_signer())
            assert configured_signer() is first
            assert opened.call_count == 1

            # The key is replaced on disk: the next signature uses the new file.
            import os
            _write_pkcs12(key_file, pki.leaves["business"], b"mat-khau")
            stat = key_file.stat()
            os.utime(key_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
            replaced = configured_signer()
            assert replaced is not first
            assert replaced.pyhanko_signer().signing_cert.subject != \
                first.pyhanko_signer().signing_cert.subject
            assert opened.call_count == 2  # each file once
    finally:
        reset_configured_signer()


def test_papers_load_their_fonts_once_per_thread(db):
    from weasyprint.text import fonts as weasy_fonts

    papers._loaded.__dict__.pop("by_dir", None)
    with _counting(weasy_fonts, "FontConfiguration") as built:
        one = papers.paper_render(template=TEMPLATE, context={
            "result": RESULT, "place_date": "Hưng Yên", "signed_at": "", "signer_subject": "",
            "verify_url": "http://example.test/", "qr": "", "stamp_id": "stamp"},
            font_dir=FONT_DIR)
        two = papers.paper_render(template=TEMPLATE, context={
            "result": RESULT, "place_date": "Hưng Yên", "signed_at": "", "signer_subject": "",
            "verify_url": "http://example.test/", "qr": "", "stamp_id": "stamp"},
            font_dir=FONT_DIR)
    assert built.call_count == 1
    assert one.content.startswith(b"%PDF") and two.content.startswith(b"%PDF")
    fonts = PdfReader(BytesIO(one.content)).pages[0]["/Resources"]["/Font"]
    names = [str(font.get_object()["/BaseFont"]) for font in fonts.values()]
    assert names and all("Paper-Sans" in name for name in names)  # the shipped faces


def test_a_paper_s_own_stylesheet_is_parsed_once_and_lays_out_as_before(db, monkeypatch):
    import weasyprint

    context = {"result": RESULT, "place_date": "Hưng Yên", "signed_at": "", "signer_subject": "",
               "verify_url": "http://example.test/", "qr": "", "stamp_id": "stamp"}
    papers._loaded.__dict__.pop("styles", None)
    papers.paper_render(template=TEMPLATE, context=context, font_dir=FONT_DIR, locate=["stamp"])
    with _counting(weasyprint, "CSS") as parsed:
        kept = papers.paper_render(template=TEMPLATE, context=context, font_dir=FONT_DIR,
                                   locate=["stamp"])
    assert parsed.call_count == 0

    monkeypatch.setattr(papers, "_styles_apart", lambda html, *args: (html, []))
    inline = papers.paper_render(template=TEMPLATE, context=context, font_dir=FONT_DIR,
                                 locate=["stamp"])
    assert kept.placed == inline.placed and kept.pages == inline.pages
    assert [page.extract_text() for page in PdfReader(BytesIO(kept.content)).pages] == [
        page.extract_text() for page in PdfReader(BytesIO(inline.content)).pages]


def test_the_kept_stylesheets_are_bounded():
    papers._loaded.__dict__.pop("styles", None)
    for n in range(papers.STYLESHEETS_KEPT + 5):
        html, sheets = papers._styles_apart(
            f"<html><head><style>p {{ margin: {n}pt }}</style></head><body><p>x</p></body>"
            "</html>", None, None, "")
        assert "<style>" not in html and len(sheets) == 1
    assert len(papers._loaded.styles) <= papers.STYLESHEETS_KEPT


def test_loading_a_key_from_der_is_the_slow_step_avoided(pki):
    """The key object signs directly; parsing DER is what `private_key_load` does once."""
    issued = pki.leaves["business"]
    der = issued.key.private_bytes(serialization.Encoding.DER,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())
    loaded = signers_module.private_key_load(der)
    assert loaded.private_numbers() == issued.key.private_numbers()


def _room(content: bytes) -> int:
    """The hex digits reserved for the last signature of a PDF."""
    *_, last = signers_module._BYTE_RANGE.finditer(content)
    _start, before, after, _rest = map(int, last.groups())
    return after - before - 2


def test_a_signer_sizes_its_signature_once_and_every_result_still_verifies(trust_store):
    signer = Pkcs12ResultSigner(data=trust_store.gov_signer.pkcs12(b"mat-khau"),
                                password=b"mat-khau")
    with mock.patch.object(PdfSigningSession, "estimate_signature_container_size",
                           autospec=True,
                           side_effect=PdfSigningSession.estimate_signature_container_size
                           ) as sized:
        signed = [result_issue(result=RESULT, filename=f"kq-{n}.pdf", signer=signer)
                  for n in range(3)]

    # pyHanko's dry-run signature sizes the first container only; the others take its room.
    assert sized.call_count == 1
    assert len({_room(s.content) for s in signed}) == 1
    for one in signed:
        assert_round_trip(one)


def test_another_signer_or_a_timestamped_signature_is_sized_again(trust_store, pki):
    gov = Pkcs12ResultSigner(data=trust_store.gov_signer.pkcs12(b"mat-khau"),
                             password=b"mat-khau")
    other = Pkcs12ResultSigner(data=trust_store.gov_signer.pkcs12(b"mat-khau"),
                               password=b"mat-khau")
    timestamper = mock.Mock(wraps=None)
    with mock.patch.object(PdfSigningSession, "estimate_signature_container_size",
                           autospec=True,
                           side_effect=PdfSigningSession.estimate_signature_container_size
                           ) as sized:
        result_issue(result=RESULT, filename="kq-1.pdf", signer=gov)
        result_issue(result=RESULT, filename="kq-2.pdf", signer=other)
    assert sized.call_count == 2  # each signer object learns its own room

    content = result_issue(result=RESULT, filename="kq-3.pdf", signer=gov).content
    pdf_signer = mock.Mock(signer=gov.pyhanko_signer())
    pdf_signer.signature_meta.embed_validation_info = False
    pdf_signer.signature_meta.cades_signed_attr_spec = None
    pdf_signer.sign_pdf.return_value = BytesIO(content)
    signers_module.pdf_sign(content=content, pdf_signer=pdf_signer,
                            timestamper=timestamper)
    # A timestamp authority's token varies in size: pyHanko estimates it every time.
    assert pdf_signer.sign_pdf.call_args.kwargs["bytes_reserved"] is None


def test_the_room_learnt_is_the_new_signature_s_not_an_earlier_one_of_the_file(trust_store,
                                                                             plain_pdf):
    pki = trust_store
    now = clock.now()
    ec_leaf = devpki.issue(pki.ca, "Người ký P-256", uid="MST:3200123456",
                           not_before=now - timedelta(days=1), not_after=now + timedelta(days=30),
                           key=devpki.new_key(curve=ec.SECP256R1()))

    def signer_of(issued):
        return LoadedKeySigner.from_key(
            signing_cert=issued.asn1(), private_key=issued.key,
            cert_registry=pdf_cms.SimpleCertificateStore.from_certs(issued.asn1_chain()))

    def pdf_signer(signer, field):
        meta = PdfSignatureMetadata(field_name=field, md_algorithm="sha256",
                                    subfilter=fields.SigSeedSubFilter.PADES)
        return PdfSigner(meta, signer=signer)

    rsa_signer, ec_signer = signer_of(pki.leaves["business"]), signer_of(ec_leaf)
    once = signers_module.pdf_sign(content=plain_pdf, pdf_signer=pdf_signer(rsa_signer, "A"))
    twice = signers_module.pdf_sign(content=once, pdf_signer=pdf_signer(ec_signer, "B"))

    assert _room(once) != _room(twice)  # an RSA container is larger than a P-256 one
    assert signers_module._room[rsa_signer] == {("sha256", fields.SigSeedSubFilter.PADES):
                                                _room(once)}
    assert signers_module._room[ec_signer] == {("sha256", fields.SigSeedSubFilter.PADES):
                                               _room(twice)}
    report = signature_verify(content=twice, filename="hai-chu-ky.pdf")
    assert [s.intact for s in report.signatures] == [True, True]


def _signed_attributes(signer, digest: bytes, **kwargs) -> bytes:
    import asyncio

    return asyncio.run(signer.signed_attrs(digest, "sha256", **kwargs)).dump()


def test_a_signer_encodes_its_certificate_s_attribute_once_and_the_bytes_are_pyhanko_s(pki):
    """The signing-certificate-v2 attribute is encoded once per signer; the signed attributes
    are byte for byte those of pyHanko's own signer, in PAdES form and in the older form
    that carries a signing time."""
    from pyhanko.sign import attributes, signers

    issued = pki.leaves["business"]
    registry = pdf_cms.SimpleCertificateStore.from_certs(issued.asn1_chain())
    kept = LoadedKeySigner.from_key(signing_cert=issued.asn1(), private_key=issued.key,
                                    cert_registry=registry)
    plain = signers.SimpleSigner(signing_cert=issued.asn1(), signing_key=issued.asn1_key(),
                                 cert_registry=registry)
    at = clock.now().replace(microsecond=0)
    forms = [{"use_pades": True},
             {"use_pades": False,
              "attr_settings": pdf_cms.PdfCMSSignedAttributes(signing_time=at)}]
    digests = [bytes(range(32)), bytes(range(32, 64))]

    with _counting(attributes, "as_signing_certificate_v2") as built:
        ours = [_signed_attributes(kept, d, **form) for form in forms for d in digests]
    assert built.call_count == 1
    theirs = [_signed_attributes(plain, d, **form) for form in forms for d in digests]
    assert ours == theirs
    assert len(set(ours)) == 4


def test_results_signed_with_the_encoded_attribute_verify(trust_store):
    from pyhanko.sign import attributes

    signer = Pkcs12ResultSigner(data=trust_store.gov_signer.pkcs12(b"mat-khau"),
                                password=b"mat-khau")
    with _counting(attributes, "as_signing_certificate_v2") as built:
        signed = [result_issue(result=RESULT, filename=f"kq-{n}.pdf", signer=signer)
                  for n in range(2)]
    assert built.call_count == 1
    for one in signed:
        assert_round_trip(one)


def test_the_trust_material_is_parsed_once_and_again_after_any_change(
        db, pki, django_assert_num_queries):
    from signatures.models import TrustedCertificate
    from signatures.selectors import trust_material
    from signatures.truststore import trust_anchor_import

    trust_anchor_import(data=pki.root.pem, scope=TrustedCertificate.Scope.PUBLIC)
    trust_anchor_import(data=pki.ca.pem, scope=TrustedCertificate.Scope.PUBLIC)
    first = trust_material()
    with django_assert_num_queries(1):  # is it still current? one statement
        assert trust_material() is first
    assert len(first.roots[TrustedCertificate.Scope.PUBLIC]) == 1

    trust_anchor_import(data=pki.gov_root.pem, scope=TrustedCertificate.Scope.GOVERNMENT)
    added = trust_material()
    assert added is not first
    assert TrustedCertificate.Scope.GOVERNMENT in added.roots

    source, der = next(iter(pki.crls().items()))
    from signatures.truststore import revocation_record_store

    revocation_record_store(source=source, data=der)
    revoked = trust_material()
    assert revoked is not added and revoked.crls

    TrustedCertificate.objects.filter(scope=TrustedCertificate.Scope.GOVERNMENT).update(
        enabled=False, updated_at=clock.now() + timedelta(seconds=1))
    disabled = trust_material()
    assert disabled is not revoked
    assert TrustedCertificate.Scope.GOVERNMENT not in disabled.roots


def test_the_roots_of_each_set_of_scopes_are_indexed_once_per_material(trust_store):
    from signatures.models import TrustedCertificate
    from signatures.selectors import trust_material

    material = trust_material()
    public = [TrustedCertificate.Scope.PUBLIC]
    both = [TrustedCertificate.Scope.PUBLIC, TrustedCertificate.Scope.GOVERNMENT]
    manager = material.trust_manager_for(public)
    assert material.trust_manager_for(public) is manager
    assert {c.sha256 for c in manager.iter_certs()} == {
        c.sha256 for c in material.roots_for(public)}
    wider = material.trust_manager_for(both)
    assert wider is not manager
    assert {c.sha256 for c in wider.iter_certs()} == {c.sha256 for c in material.roots_for(both)}
    assert trust_store.gov_root.asn1().sha256 in {c.sha256 for c in wider.iter_certs()}
