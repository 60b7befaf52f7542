"""The verdict over the test PKI: each case from the issue, through the real verifier."""

from datetime import timedelta

import pytest
import time_machine

from signatures.report import Verdict
from signatures.services import signature_verify

from .pki import add_page, one_page_pdf, sign_detached, sign_pdf


def verify(content: bytes, **kw):
    return signature_verify(content=content, filename="don.pdf", **kw)


def only(result):
    assert len(result.signatures) == 1
    return result.signatures[0]


def outcome(report):
    return report.verdict, report.indication, report.sub_indication


def test_a_good_signature_is_valid_with_the_full_report(trust_store, plain_pdf):
    report = only(verify(sign_pdf(plain_pdf, trust_store.leaves["business"]),
                         expected_ids=["0101234567"]))

    assert outcome(report) == (Verdict.VALID, "TOTAL_PASSED", None)
    assert report.intact is True
    assert report.signer.name == "Công ty TNHH Ánh Dương"
    assert report.signer.organisation == "Công ty TNHH Ánh Dương"
    assert report.signer.tax_code == "0101234567"
    assert report.matches_applicant is True
    assert "CA Dịch vụ công cộng" in report.issuer
    assert "Root CA Quốc gia" in report.root and report.root_scope == "public"
    assert report.coverage == "entire_file" and report.changes_after_signing == ()
    assert report.revocation_status == "good"
    assert report.revocation_source == "crl: http://crl.test.invalid/ca.crl"
    assert report.certificate_valid_at_signing is True
    assert report.signing_time is not None and report.timestamp_time is None
    assert report.advice.reason_vi == "Chữ ký số hợp lệ."


def test_a_citizen_id_is_read_from_the_subject_serial_number(trust_store, plain_pdf):
    report = only(verify(sign_pdf(plain_pdf, trust_store.leaves["citizen"]),
                         expected_ids=["0101234567"]))

    assert report.verdict == Verdict.VALID
    assert (report.signer.citizen_id, report.signer.tax_code) == ("001085012345", "")
    assert report.matches_applicant is False


def test_a_signature_with_a_trusted_timestamp_reports_its_time(trust_store, plain_pdf):
    signed = sign_pdf(plain_pdf, trust_store.leaves["business"],
                      timestamper=trust_store.timestamper())

    report = only(verify(signed))

    assert report.verdict == Verdict.VALID
    assert report.timestamp_time is not None


@pytest.mark.parametrize(("leaf", "expected"), [
    ("expired", (Verdict.INVALID, "TOTAL_FAILED", "EXPIRED")),
    ("not_yet_valid", (Verdict.INVALID, "TOTAL_FAILED", "NOT_YET_VALID")),
    ("stranger", (Verdict.INDETERMINATE, "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND")),
    ("encipher_only", (Verdict.INVALID, "INDETERMINATE", "CHAIN_CONSTRAINTS_FAILURE")),
    ("rsa1024", (Verdict.INVALID, "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE_NO_POE")),
])
def test_certificate_problems_are_never_valid(trust_store, plain_pdf, leaf, expected):
    report = only(verify(sign_pdf(plain_pdf, trust_store.leaves[leaf])))

    assert outcome(report) == expected
    assert report.intact is True


def test_an_expired_certificate_is_indeterminate_when_the_signer_claims_no_time(
        trust_store, plain_pdf):
    pki = trust_store
    with time_machine.travel(pki.now - timedelta(days=20), tick=False):
        signed = sign_pdf(plain_pdf, pki.leaves["expired"])
    # Claimed inside the validity period, but the certificate has expired since and no
    # timestamp proves when the signature was made.
    report = only(verify(signed))

    assert outcome(report) == (Verdict.INDETERMINATE, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE")
    assert report.manual_review is True


def test_sha1_is_refused_by_the_crypto_policy(trust_store, plain_pdf):
    report = only(verify(sign_pdf(plain_pdf, trust_store.leaves["business"], md="sha1")))

    assert report.verdict == Verdict.INVALID
    assert report.sub_indication == "CRYPTO_CONSTRAINTS_FAILURE_NO_POE"
    assert report.digest_algorithm == "sha1"


def test_revoked_before_signing_without_timestamp_is_invalid(trust_store, plain_pdf):
    report = only(verify(sign_pdf(plain_pdf, trust_store.leaves["revoked_early"])))

    assert outcome(report) == (Verdict.INVALID, "TOTAL_FAILED", "REVOKED")
    assert report.revocation_status == "revoked"
    assert report.revocation_time == trust_store.revoked_at["revoked_early"]


def test_revoked_before_signing_with_timestamp_is_invalid(trust_store, plain_pdf):
    signed = sign_pdf(plain_pdf, trust_store.leaves["revoked_early"],
                      timestamper=trust_store.timestamper())

    assert outcome(only(verify(signed))) == (Verdict.INVALID, "TOTAL_FAILED", "REVOKED")


def test_revoked_after_signing_without_timestamp_needs_an_officer(trust_store, plain_pdf):
    pki = trust_store
    with time_machine.travel(pki.now - timedelta(days=3), tick=False):
        signed = sign_pdf(plain_pdf, pki.leaves["revoked_late"])

    report = only(verify(signed))

    assert outcome(report) == (Verdict.INDETERMINATE, "INDETERMINATE", "REVOKED_NO_POE")
    assert report.manual_review is True


def test_revoked_after_a_timestamped_signature_stays_valid(trust_store, plain_pdf):
    pki = trust_store
    signed_at = pki.now - timedelta(days=3)
    with time_machine.travel(signed_at, tick=False):
        signed = sign_pdf(plain_pdf, pki.leaves["revoked_late"],
                          timestamper=pki.timestamper(at=signed_at))

    report = only(verify(signed))

    assert outcome(report) == (Verdict.VALID, "TOTAL_PASSED", None)
    assert report.timestamp_time == signed_at
    assert report.revocation_status == "revoked"


def test_missing_revocation_data_is_indeterminate_try_later(trust_store, plain_pdf):
    from signatures.models import RevocationRecord

    RevocationRecord.objects.filter(source__endswith="/ca.crl").delete()

    report = only(verify(sign_pdf(plain_pdf, trust_store.leaves["business"])))

    assert report.verdict == Verdict.INDETERMINATE
    assert report.revocation_status == "unknown"


def test_a_page_added_after_signing_is_invalid(trust_store, plain_pdf):
    signed = add_page(sign_pdf(plain_pdf, trust_store.leaves["business"]))

    report = only(verify(signed))

    assert outcome(report) == (Verdict.INVALID, "TOTAL_FAILED", "FORMAT_FAILURE")
    assert report.intact is True and report.coverage == "entire_revision"
    assert report.changes_after_signing


def test_a_second_signature_keeps_both_valid(trust_store, plain_pdf):
    pki = trust_store
    once = sign_pdf(plain_pdf, pki.leaves["business"])
    twice = sign_pdf(once, pki.leaves["citizen"], field="Signature2")

    result = verify(twice)

    assert [r.verdict for r in result.signatures] == [Verdict.VALID, Verdict.VALID]
    first, second = result.signatures
    assert first.coverage == "entire_revision"
    assert first.changes_after_signing == ("signatures added: Signature2",)
    assert second.coverage == "entire_file"
    assert result.verdict == Verdict.VALID


def test_content_overwritten_after_signing_is_a_hash_failure(trust_store):
    pdf = one_page_pdf("Số tiền: 1000000 đồng")
    signed = sign_pdf(pdf, trust_store.leaves["business"])
    start = signed.index(b"stream\n") + len(b"stream\n")
    tampered = signed[:start + 5] + bytes([signed[start + 5] ^ 0x01]) + signed[start + 6:]

    report = only(verify(tampered))

    assert report.verdict == Verdict.INVALID
    assert report.intact is False
    assert report.sub_indication == "HASH_FAILURE"


def test_a_truncated_signed_file_is_invalid(trust_store, plain_pdf):
    signed = sign_pdf(plain_pdf, trust_store.leaves["business"])

    cut_tail = verify(signed[:-400])
    cut_half = verify(signed[: len(signed) // 2])

    assert cut_tail.verdict == Verdict.INVALID and not cut_tail.readable
    assert cut_tail.signatures[0].sub_indication == "FORMAT_FAILURE"
    assert cut_tail.signatures[0].advice.reason_en.startswith("The file or its signature")
    # Cut before the signature: nothing left to report as signed, and never valid.
    assert cut_half.verdict is None and not cut_half.readable


def test_a_pdf_without_signature_has_no_report(trust_store, plain_pdf):
    result = verify(plain_pdf)

    assert result.signatures == () and result.verdict is None and result.readable


def test_garbage_named_pdf_is_refused(trust_store):
    from signatures.exceptions import UnsupportedFormat

    with pytest.raises(UnsupportedFormat):
        verify(b"\x00garbage that only has a .pdf name" * 20)


def test_a_detached_cms_over_its_file_is_valid(trust_store):
    data = "Tờ khai đăng ký".encode() * 50
    report = only(signature_verify(content=data, filename="to-khai.xml",
                                   detached=sign_detached(data, trust_store.leaves["business"])))

    assert outcome(report) == (Verdict.VALID, "TOTAL_PASSED", None)
    assert report.kind == "cms" and report.signer.tax_code == "0101234567"


def test_a_detached_cms_over_another_file_is_a_hash_failure(trust_store):
    p7s = sign_detached(b"the real file", trust_store.leaves["business"])

    report = only(signature_verify(content=b"another file", filename="x", detached=p7s))

    assert outcome(report) == (Verdict.INVALID, "TOTAL_FAILED", "HASH_FAILURE")


def test_a_broken_detached_cms_is_a_format_failure(trust_store):
    p7s = sign_detached(b"data", trust_store.leaves["business"])

    report = only(signature_verify(content=b"data", filename="x", detached=p7s[:40]))

    assert outcome(report) == (Verdict.INVALID, "TOTAL_FAILED", "FORMAT_FAILURE")


def test_an_exception_inside_the_verifier_means_manual_review(trust_store, plain_pdf,
                                                               monkeypatch):
    from signatures.verifiers import pades

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pades, "validate_pdf_signature", explode)

    report = only(verify(sign_pdf(plain_pdf, trust_store.leaves["business"])))

    assert outcome(report) == (Verdict.INDETERMINATE, "INDETERMINATE", "GENERIC")
    assert report.manual_review is True


def test_the_government_root_is_kept_apart_from_the_public_one(trust_store, plain_pdf):
    signed = sign_pdf(plain_pdf, trust_store.gov_signer)

    everyone = only(verify(signed))
    public_only = only(verify(signed, scopes=["public"]))

    assert (everyone.verdict, everyone.root_scope) == (Verdict.VALID, "government")
    assert public_only.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"


def test_the_os_trust_store_is_never_used(db, pki, plain_pdf):
    report = only(verify(sign_pdf(plain_pdf, pki.leaves["business"])))

    assert report.verdict == Verdict.INDETERMINATE
    assert report.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
