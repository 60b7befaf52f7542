"""Every file of the shared third-party corpus against its manifest (integrity, never valid)."""

import json
from pathlib import Path

import pytest

from signatures.report import Verdict
from signatures.services import signature_verify

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "pdf-signatures"
MANIFEST = CORPUS / "manifest.json"
ENTRIES = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else []

pytestmark = pytest.mark.skipif(
    not MANIFEST.exists(), reason=f"the shared signature corpus is not at {CORPUS}"
)


def _id(entry) -> str:
    return entry["file"].rsplit("/", 1)[-1]


def test_the_manifest_lists_every_pdf_of_the_corpus():
    on_disk = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.pdf")}
    assert on_disk == {e["file"] for e in ENTRIES}


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e["expect"] == "intact"], ids=_id)
def test_intact_files_pass_integrity_for_every_signature(db, entry):
    result = signature_verify(content=(CORPUS / entry["file"]).read_bytes(), filename="x.pdf")

    assert result.signatures, "an intact file must have signatures"
    for report in result.signatures:
        assert report.intact is True, (report.field_name, report.sub_indication, report.detail)
        assert report.coverage in ("entire_file", "entire_revision")
        assert report.verdict != Verdict.INVALID or report.sub_indication not in (
            "HASH_FAILURE", "SIG_CRYPTO_FAILURE", "FORMAT_FAILURE")


@pytest.mark.parametrize(
    "entry", [e for e in ENTRIES if e["expect"] in ("reject", "manual_review")], ids=_id
)
def test_rejected_and_doubtful_files_are_never_valid(db, entry):
    result = signature_verify(content=(CORPUS / entry["file"]).read_bytes(), filename="x.pdf")

    assert result.verdict != Verdict.VALID
    if entry["expect"] == "reject":
        # An untrusted signer alone must not be what keeps an attack file from being valid:
        # each of these files has a signature that fails on integrity or structure.
        assert any(
            r.verdict == Verdict.INVALID or r.manual_review for r in result.signatures
        ) or not result.signatures, [(r.field_name, r.sub_indication) for r in result.signatures]


def test_the_shadow_replace_attack_is_invalid_despite_pyhanko_calling_it_form_filling(db):
    content = (CORPUS / "dss/validation/dss-2236/replace.pdf").read_bytes()

    report = signature_verify(content=content, filename="x.pdf").signatures[0]

    assert report.modification_level == "form_filling"
    assert (report.verdict, report.sub_indication) == (Verdict.INVALID, "FORMAT_FAILURE")


@pytest.mark.parametrize("name", [
    "Signature-P-IT_ADO-1_HASH_FAILURE_ECDSA.pdf", "Signature-P-SK-1_HASH_FAILURE.pdf",
])
def test_non_der_signed_attributes_are_a_hash_failure(db, name):
    content = (CORPUS / "dss/validation/dss-818" / name).read_bytes()

    reports = signature_verify(content=content, filename="x.pdf").signatures

    assert reports[0].verdict == Verdict.INVALID
    assert reports[0].sub_indication == "HASH_FAILURE"


def test_a_sha1_signature_is_refused_by_the_crypto_policy(db):
    content = (CORPUS / "dss/validation/DSS-1683.pdf").read_bytes()

    report = signature_verify(content=content, filename="x.pdf").signatures[0]

    assert report.intact is True
    assert report.verdict == Verdict.INVALID
    assert report.sub_indication == "CRYPTO_CONSTRAINTS_FAILURE_NO_POE"
