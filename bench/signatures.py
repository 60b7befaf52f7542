"""Benchmark of signatures: our verification and signing against bare pyHanko, same run.

Run: .venv/bin/python bench/signatures.py [--repeat 30]
It builds a throw-away SQLite database and a test PKI, signs a one-page PDF once, then times
  * verification: our `signature_verify` plus the JSON report, against pyHanko's bare
    `validate_pdf_signature` with the same trust roots and CRLs (target ratio <= 1.25);
  * signing: our `result_sign` (sign plus the register of issued hashes) against pyHanko's
    bare `sign_pdf` of the same rendered page with the same already-loaded key (<= 1.5).
Rendering the result PDF is timed and printed on its own.
"""

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ["PRIVATE_MEDIA_ROOT"] = f"{tmp}/media"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ["DJANGO_LOG_LEVEL"] = "ERROR"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields, signers
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from signatures import devpki
    from signatures.results import ResultContent, result_pdf_render
    from signatures.services import (
        result_sign,
        revocation_record_store,
        signature_verify,
        trust_anchor_import,
    )
    from signatures.signers import Pkcs12ResultSigner

    now = datetime.now(UTC)
    start, end = now - timedelta(days=30), now + timedelta(days=365)
    root = devpki.make_root("Bench Root", not_before=start, not_after=end)
    ca = devpki.issue(root, "Bench CA", ca=True, crl_url="http://crl.bench/root.crl",
                      not_before=start, not_after=end)
    leaf = devpki.issue(ca, "Công ty Bench", uid="MST:0100000001", crl_url="http://crl.bench/ca",
                        not_before=start, not_after=end)
    crls = {
        "http://crl.bench/root.crl": devpki.make_crl(root, this_update=now - timedelta(hours=1),
                                                     next_update=end),
        "http://crl.bench/ca": devpki.make_crl(ca, this_update=now - timedelta(hours=1),
                                               next_update=end),
    }
    trust_anchor_import(data=root.pem, scope="government")
    trust_anchor_import(data=ca.pem, scope="government")
    for source, der in crls.items():
        revocation_record_store(source=source, data=der)

    rendered = result_pdf_render(
        result=ResultContent(agency="Sở Công Thương", title="Giấy phép", number="1/GP",
                             recipient="Công ty Bench", body=("Nội dung một trang.",),
                             place="Hà Nội", signer_title="Giám đốc", signer_name="Nguyễn A"),
        verify_url="http://127.0.0.1:8000/xac-thuc/?ma=bench", signed_at=now,
        signer_subject="Công ty Bench",
    )
    loaded = signers.SimpleSigner(
        signing_cert=leaf.asn1(), signing_key=leaf.asn1_key(),
        cert_registry=SimpleCertificateStore.from_certs(leaf.asn1_chain()),
    )
    meta = signers.PdfSignatureMetadata(field_name="Sig", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)

    def bare_sign() -> bytes:
        writer = IncrementalPdfFileWriter(BytesIO(rendered.content))
        return signers.sign_pdf(writer, meta, signer=loaded).getvalue()

    signed = bare_sign()
    ours_signer = Pkcs12ResultSigner(data=leaf.pkcs12(b"pw"), password=b"pw")
    ours_signer.pyhanko_signer()  # already loaded, like the baseline

    def ours_sign() -> None:
        result_sign(content=rendered.content, filename="kq.pdf", reference="1/GP",
                    code=secrets.token_urlsafe(12), stamp_box=rendered.stamp_box,
                    page=rendered.page, signer=ours_signer, timestamper=None)

    def bare_verify() -> None:
        vc = ValidationContext(trust_roots=[root.asn1()], other_certs=[ca.asn1()],
                               crls=list(crls.values()), allow_fetching=False,
                               revocation_mode="hard-fail")
        sig = PdfFileReader(BytesIO(signed)).embedded_signatures[0]
        status = validate_pdf_signature(sig, signer_validation_context=vc)
        assert status.bottom_line

    def ours_verify() -> None:
        result = signature_verify(content=signed, filename="kq.pdf")
        assert result.verdict == "valid", result.as_dict()
        json.dumps(result.as_dict())

    render_ms = _median_ms(lambda: result_pdf_render(
        result=ResultContent(agency="Sở", title="Giấy phép", number="1", recipient="A",
                             body=("B",), place="C", signer_title="D", signer_name="E"),
        verify_url="http://x/", signed_at=now, signer_subject="S"), args.repeat)
    rows = [
        ("verify", _median_ms(bare_verify, args.repeat), _median_ms(ours_verify, args.repeat),
         1.25),
        ("sign", _median_ms(bare_sign, args.repeat), _median_ms(ours_sign, args.repeat), 1.5),
    ]
    print(f"{'operation':<10} {'pyHanko ms':>11} {'ours ms':>9} {'ratio':>6} {'target':>7}")
    for name, bare, ours, target in rows:
        ratio = ours / bare
        flag = "ok" if ratio <= target else "OVER"
        print(f"{name:<10} {bare:>11.2f} {ours:>9.2f} {ratio:>6.2f} {target:>7.2f} {flag}")
    print(f"rendering the result PDF (WeasyPrint, DejaVu Sans, QR): {render_ms:.2f} ms")


if __name__ == "__main__":
    main()
