"""The test PKI, built at run time, and helpers that sign and tamper with PDFs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO

from cryptography.hazmat.primitives import hashes
from fpdf import FPDF
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signatures import devpki
from signatures.devpki import Issued
from signatures.results import FONT_DIR

CA_CRL = "http://crl.test.invalid/ca.crl"
ROOT_CRL = "http://crl.test.invalid/root.crl"


@dataclass
class TestPki:
    now: datetime
    root: Issued
    ca: Issued
    gov_root: Issued
    gov_signer: Issued
    tsa_root: Issued
    tsa: Issued
    stranger_root: Issued
    leaves: dict[str, Issued]
    revoked_at: dict[str, datetime]

    def crls(self) -> dict[str, bytes]:
        """The revocation data our cache holds: one CRL per CA."""
        ca_revoked = [(self.leaves[n].cert, when) for n, when in self.revoked_at.items()]
        this_update = self.now - timedelta(minutes=10)
        next_update = self.now + timedelta(days=7)
        return {
            CA_CRL: devpki.make_crl(self.ca, this_update=this_update, next_update=next_update,
                                    revoked=ca_revoked),
            ROOT_CRL: devpki.make_crl(self.root, this_update=this_update,
                                      next_update=next_update),
            "http://crl.test.invalid/gov.crl": devpki.make_crl(
                self.gov_root, this_update=this_update, next_update=next_update),
            "http://crl.test.invalid/tsa.crl": devpki.make_crl(
                self.tsa_root, this_update=this_update, next_update=next_update),
        }

    def timestamper(self, at: datetime | None = None) -> DummyTimeStamper:
        return DummyTimeStamper(
            tsa_cert=self.tsa.asn1(), tsa_key=self.tsa.asn1_key(),
            certs_to_embed=SimpleCertificateStore.from_certs(self.tsa.asn1_chain()),
            fixed_dt=at,
        )


def build_pki() -> TestPki:
    now = datetime.now(UTC).replace(microsecond=0)
    long_ago, far = now - timedelta(days=365), now + timedelta(days=3650)
    root = devpki.make_root("Root CA Quốc gia (thử nghiệm)", not_before=long_ago, not_after=far)
    ca = devpki.issue(root, "CA Dịch vụ công cộng (thử nghiệm)", ca=True, crl_url=ROOT_CRL,
                      not_before=long_ago, not_after=far)
    gov_root = devpki.make_root("Root CA Chính phủ (thử nghiệm)", not_before=long_ago,
                                not_after=far)
    gov_signer = devpki.issue(gov_root, "Sở Công Thương (thử nghiệm)", uid="MNS:1234567",
                              not_before=long_ago, not_after=far)
    tsa_root = devpki.make_root("Root TSA (thử nghiệm)", not_before=long_ago, not_after=far)
    tsa = devpki.issue_tsa(tsa_root, "TSA (thử nghiệm)", not_before=long_ago, not_after=far)
    stranger_root = devpki.make_root("Unknown Root", not_before=long_ago, not_after=far)

    key = devpki.new_key()  # one key for the leaves keeps the set-up fast
    recent = now - timedelta(days=30)

    def leaf(name, *, issuer=ca, not_before=recent, not_after=now + timedelta(days=365), **kw):
        return devpki.issue(issuer, name, key=kw.pop("key", key), not_before=not_before,
                            not_after=not_after, crl_url=CA_CRL if issuer is ca else None, **kw)

    leaves = {
        "business": leaf("Công ty TNHH Ánh Dương", organisation="Công ty TNHH Ánh Dương",
                         uid="MST:0101234567"),
        "citizen": leaf("Nguyễn Thị Hoa", serial_number="CCCD:001085012345"),
        "expired": leaf("Hết Hạn", not_before=now - timedelta(days=400),
                        not_after=now - timedelta(days=10)),
        "not_yet_valid": leaf("Chưa Hiệu Lực", not_before=now + timedelta(days=10),
                              not_after=now + timedelta(days=400)),
        "revoked_early": leaf("Thu Hồi Trước"),
        "revoked_late": leaf("Thu Hồi Sau"),
        "encipher_only": leaf("Sai Mục Đích", key_usage={"key_encipherment"}),
        "stranger": leaf("Người Lạ", issuer=stranger_root),
        "rsa1024": leaf("Khóa Yếu", key=devpki.new_key(size=1024)),
        "sha1_cert": leaf("Chứng Thư SHA1", hash_algorithm=hashes.SHA256()),
    }
    revoked_at = {
        "revoked_early": now - timedelta(days=5),
        "revoked_late": now - timedelta(days=1),
    }
    return TestPki(now=now, root=root, ca=ca, gov_root=gov_root, gov_signer=gov_signer,
                   tsa_root=tsa_root, tsa=tsa, stranger_root=stranger_root, leaves=leaves,
                   revoked_at=revoked_at)


def one_page_pdf(text: str = "Đơn đề nghị cấp giấy phép — Công ty TNHH Ánh Dương") -> bytes:
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", "", 12)
    pdf.multi_cell(0, 16, text)
    return bytes(pdf.output())


def simple_signer(issued: Issued) -> signers.SimpleSigner:
    return signers.SimpleSigner(
        signing_cert=issued.asn1(), signing_key=issued.asn1_key(),
        cert_registry=SimpleCertificateStore.from_certs(issued.asn1_chain()),
    )


def sign_pdf(pdf: bytes, issued: Issued, *, md: str = "sha256", timestamper=None,
             field: str = "Signature1") -> bytes:
    meta = signers.PdfSignatureMetadata(
        field_name=field, md_algorithm=md, subfilter=fields.SigSeedSubFilter.PADES,
    )
    out = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)), meta,
                           signer=simple_signer(issued), timestamper=timestamper)
    return out.getvalue()


def sign_detached(data: bytes, issued: Issued) -> bytes:
    signed = asyncio.run(simple_signer(issued).async_sign_general_data(
        data, "sha256", detached=True))
    return signed.dump()


def add_page(pdf: bytes) -> bytes:
    """An incremental update that appends a page after signing."""
    from pyhanko.pdf_utils import generic

    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    contents = writer.add_object(generic.StreamObject(stream_data=b"BT 72 720 Td ET"))
    page = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Page"),
        generic.NameObject("/MediaBox"): generic.ArrayObject(
            [generic.NumberObject(n) for n in (0, 0, 595, 842)]),
        generic.NameObject("/Contents"): contents,
    })
    writer.insert_page(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
