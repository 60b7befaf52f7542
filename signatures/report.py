"""The verification report: frozen dataclasses, the signer's identity and the plain-words advice."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum

from asn1crypto import x509 as asn1_x509


class Verdict(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    INDETERMINATE = "indeterminate"


class Indication(StrEnum):
    """ETSI EN 319 102-1 main indications, spelled as the standard does."""

    TOTAL_PASSED = "TOTAL_PASSED"
    TOTAL_FAILED = "TOTAL_FAILED"
    INDETERMINATE = "INDETERMINATE"


@dataclass(frozen=True)
class Advice:
    """One line for the applicant, in Vietnamese and English: what is wrong and what to do."""

    reason_vi: str
    reason_en: str
    action_vi: str
    action_en: str


ADVICE: dict[str, Advice] = {
    "ok": Advice(
        "Chữ ký số hợp lệ.", "The digital signature is valid.",
        "Không cần làm gì thêm.", "Nothing to do.",
    ),
    "hash_failure": Advice(
        "Nội dung tệp đã bị thay đổi sau khi ký.",
        "The file was changed after it was signed.",
        "Ký lại bản gốc chưa chỉnh sửa rồi nộp lại.",
        "Sign the unmodified original again and resubmit it.",
    ),
    "not_der": Advice(
        "Chữ ký được tạo sai chuẩn mã hóa (thuộc tính ký không theo DER).",
        "The signature is not encoded correctly (signed attributes are not DER).",
        "Ký lại bằng phần mềm ký số được cấp phép.",
        "Sign again with licensed signing software.",
    ),
    "sig_crypto": Advice(
        "Giá trị chữ ký không khớp với chứng thư số.",
        "The signature value does not match the certificate.",
        "Ký lại tệp bằng chứng thư số của bạn.",
        "Sign the file again with your certificate.",
    ),
    "format": Advice(
        "Tệp hoặc chữ ký bị hỏng, không đúng cấu trúc.",
        "The file or its signature is damaged or malformed.",
        "Xuất lại tệp PDF, ký lại và nộp lại.",
        "Export the PDF again, sign it and resubmit.",
    ),
    "partial_coverage": Advice(
        "Chữ ký không bao phủ toàn bộ tệp.",
        "The signature does not cover the whole file.",
        "Ký lại bản cuối cùng của tệp.",
        "Sign the final version of the file.",
    ),
    "modified": Advice(
        "Tệp đã bị sửa đổi sau khi ký (thêm trang, đổi nội dung hoặc trường biểu mẫu).",
        "The file was modified after signing (pages, content or form fields changed).",
        "Hoàn thiện nội dung trước, ký sau cùng rồi nộp lại.",
        "Finish all edits first, sign last, then resubmit.",
    ),
    "annotations": Advice(
        "Sau khi ký, tệp có thêm ghi chú hoặc chú thích; cán bộ sẽ xem xét.",
        "Annotations were added after signing; an officer will review them.",
        "Nếu có thể, nộp bản đã ký không kèm ghi chú.",
        "If possible, submit the signed file without added annotations.",
    ),
    "weak_crypto": Advice(
        "Chữ ký dùng thuật toán hoặc khóa yếu (SHA-1, RSA dưới 2048 bit, EC dưới 256 bit).",
        "The signature uses a weak algorithm or key (SHA-1, RSA < 2048 bits, EC < 256 bits).",
        "Ký lại bằng chứng thư số và phần mềm dùng SHA-256 trở lên.",
        "Sign again with a certificate and software using SHA-256 or stronger.",
    ),
    "key_usage": Advice(
        "Chứng thư số không được cấp cho mục đích ký.",
        "The certificate is not issued for signing.",
        "Dùng chứng thư số ký (chữ ký số cá nhân hoặc tổ chức) để ký lại.",
        "Sign again with a signing certificate.",
    ),
    "untrusted": Advice(
        "Chứng thư số không do tổ chức cung cấp dịch vụ chứng thực được công nhận cấp.",
        "The certificate was not issued by a recognised certification authority.",
        "Ký bằng chứng thư số của tổ chức chứng thực được cấp phép tại Việt Nam.",
        "Sign with a certificate from a licensed Vietnamese certification authority.",
    ),
    "revoked": Advice(
        "Chứng thư số đã bị thu hồi trước thời điểm ký.",
        "The certificate had been revoked before the signature was made.",
        "Ký lại bằng chứng thư số còn hiệu lực.",
        "Sign again with a certificate that is in force.",
    ),
    "revoked_no_poe": Advice(
        "Chứng thư số đã bị thu hồi và không chứng minh được chữ ký có trước đó; cán bộ sẽ xem xét.",
        "The certificate is revoked and nothing proves the signature came first; "
        "an officer will review it.",
        "Ký lại bằng chứng thư số còn hiệu lực, có dấu thời gian.",
        "Sign again with a valid certificate, with a timestamp.",
    ),
    "expired": Advice(
        "Chứng thư số đã hết hạn tại thời điểm ký.",
        "The certificate had expired when the signature was made.",
        "Gia hạn chứng thư số và ký lại.",
        "Renew the certificate and sign again.",
    ),
    "not_yet_valid": Advice(
        "Chứng thư số chưa có hiệu lực tại thời điểm ký.",
        "The certificate was not yet valid when the signature was made.",
        "Kiểm tra đồng hồ máy tính và ký lại khi chứng thư có hiệu lực.",
        "Check the computer clock and sign again once the certificate is valid.",
    ),
    "out_of_bounds": Advice(
        "Chứng thư số đã hết hạn và chữ ký không có dấu thời gian; cán bộ sẽ xem xét.",
        "The certificate has expired and the signature has no timestamp; "
        "an officer will review it.",
        "Ký lại bằng chứng thư số còn hiệu lực.",
        "Sign again with a certificate that is in force.",
    ),
    "try_later": Advice(
        "Chưa kiểm tra được tình trạng thu hồi của chứng thư số; cán bộ sẽ xem xét.",
        "The certificate's revocation status could not be checked yet; "
        "an officer will review it.",
        "Không cần làm gì; nếu được yêu cầu, nộp lại sau.",
        "Nothing to do now; resubmit later if asked.",
    ),
    "no_signing_cert": Advice(
        "Chữ ký không kèm chứng thư số của người ký.",
        "The signature does not include the signer's certificate.",
        "Ký lại, chọn tùy chọn đính kèm chứng thư số.",
        "Sign again with the option to include the certificate.",
    ),
    "ambiguous": Advice(
        "Chữ ký chứa nhiều người ký, không xác định được người ký; cán bộ sẽ xem xét.",
        "The signature holds several signers and is ambiguous; an officer will review it.",
        "Ký lại bằng một chữ ký cho mỗi người ký.",
        "Sign again with one signature per signer.",
    ),
    "manual_review": Advice(
        "Không kiểm tra tự động được chữ ký; cán bộ sẽ xem xét.",
        "The signature could not be checked automatically; an officer will review it.",
        "Không cần làm gì; cán bộ có thể liên hệ nếu cần.",
        "Nothing to do; an officer may contact you.",
    ),
    "signer_not_applicant": Advice(
        "Chứng thư số của người ký không mang mã số thuế hoặc số CCCD của người nộp hồ sơ; "
        "cán bộ sẽ xem xét trước khi tiếp nhận.",
        "The signer's certificate carries neither the applicant's tax code nor citizen ID; "
        "an officer will review it before acceptance.",
        "Ký bằng chứng thư số của chính người nộp hồ sơ, hoặc chờ cán bộ quyết định.",
        "Sign with the applicant's own certificate, or wait for the officer's decision.",
    ),
}

# Why a verified file waits for an officer's recorded decision before acceptance.
REVIEW_INDETERMINATE = "indeterminate"
REVIEW_SIGNER_NOT_APPLICANT = "signer_not_applicant"
_REVIEW_ADVICE = {REVIEW_INDETERMINATE: "manual_review",
                  REVIEW_SIGNER_NOT_APPLICANT: "signer_not_applicant"}


def review_reasons(*, verdict: str | None, report: dict | None) -> list[str]:
    """What an officer must decide on a stored verification: an indeterminate verdict, or a
    signature (not invalid) whose certificate carries neither of the applicant's identifiers.
    Read from the report's signatures, so reports stored before this rule count too."""
    reasons = []
    if verdict == Verdict.INDETERMINATE:
        reasons.append(REVIEW_INDETERMINATE)
    signatures = (report or {}).get("signatures") or []
    if verdict in (Verdict.VALID, Verdict.INDETERMINATE) and any(
        s.get("matches_applicant") is False for s in signatures
    ):
        reasons.append(REVIEW_SIGNER_NOT_APPLICANT)
    return reasons


# Vietnamese CAs put identifiers in the subject UID or serialNumber as "PREFIX:value".
_ID_PATTERN = re.compile(r"^\s*(MST|CCCD|CMND|HC|MNS)\s*[:\-]\s*([0-9A-Za-z\-]+)\s*$", re.I)


@dataclass(frozen=True)
class SignerIdentity:
    name: str
    organisation: str
    tax_code: str
    citizen_id: str
    subject: str
    serial_hex: str
    fingerprint_sha256: str

    @property
    def identifiers(self) -> set[str]:
        return {value for value in (self.tax_code, self.citizen_id) if value}


def _values(subject: asn1_x509.Name, *names: str) -> list[str]:
    found = []
    for rdn in subject.chosen:
        for attr in rdn:
            type_ = attr["type"]
            if type_.native in names or type_.dotted in names:
                value = attr["value"].native
                found.append(str(value))
    return found


def identity_from_certificate(cert: asn1_x509.Certificate) -> SignerIdentity:
    """Name, organisation and MST / CCCD as Vietnamese CAs put them in the subject."""
    subject = cert.subject
    tax_code = citizen_id = ""
    for raw in _values(subject, "user_id", "0.9.2342.19200300.100.1.1", "serial_number"):
        for part in raw.split(","):
            match = _ID_PATTERN.match(part)
            if not match:
                continue
            prefix, value = match.group(1).upper(), match.group(2)
            if prefix in ("MST", "MNS") and not tax_code:
                tax_code = value
            elif prefix in ("CCCD", "CMND", "HC") and not citizen_id:
                citizen_id = value
    names = _values(subject, "common_name")
    organisations = _values(subject, "organization_name")
    return SignerIdentity(
        name=names[0] if names else "",
        organisation=organisations[0] if organisations else "",
        tax_code=tax_code,
        citizen_id=citizen_id,
        subject=subject.human_friendly,
        serial_hex=format(cert.serial_number, "x"),
        fingerprint_sha256=cert.sha256.hex(),
    )


@dataclass(frozen=True)
class SignatureReport:
    index: int
    field_name: str
    kind: str  # "pades" or "cms"
    verdict: Verdict
    indication: str
    sub_indication: str | None
    intact: bool | None  # the covered bytes hash to what was signed
    manual_review: bool
    advice: Advice
    signer: SignerIdentity | None = None
    matches_applicant: bool | None = None
    issuer: str = ""
    root: str = ""
    root_scope: str = ""
    signing_time: datetime | None = None  # as the signer claims it
    timestamp_time: datetime | None = None  # from a trusted timestamp token
    certificate_valid_from: datetime | None = None
    certificate_valid_to: datetime | None = None
    certificate_valid_at_signing: bool | None = None
    revocation_status: str = "unknown"  # good / revoked / unknown
    revocation_source: str = ""
    revocation_time: datetime | None = None
    coverage: str = "unknown"  # entire_file / entire_revision / partial / unknown
    modification_level: str | None = None
    changes_after_signing: tuple[str, ...] = field(default=())
    digest_algorithm: str = ""
    signature_algorithm: str = ""
    detail: str = ""

    def as_dict(self) -> dict:
        data = asdict(self)
        data["verdict"] = str(self.verdict)
        data["changes_after_signing"] = list(self.changes_after_signing)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        return data


@dataclass(frozen=True)
class VerificationResult:
    filename: str
    sha256: str
    kind: str  # "pdf" or "cms"
    signatures: tuple[SignatureReport, ...]
    issued_by_us: bool = False
    readable: bool = True

    @property
    def verdict(self) -> Verdict | None:
        """The whole file: valid only when every signature is; None when nothing is signed."""
        if not self.signatures:
            return None
        verdicts = {s.verdict for s in self.signatures}
        if Verdict.INVALID in verdicts:
            return Verdict.INVALID
        if Verdict.INDETERMINATE in verdicts:
            return Verdict.INDETERMINATE
        return Verdict.VALID

    @property
    def signers(self) -> tuple[SignerIdentity, ...]:
        return tuple(s.signer for s in self.signatures if s.signer is not None)

    def as_dict(self) -> dict:
        signatures = [s.as_dict() for s in self.signatures]
        verdict = str(self.verdict) if self.verdict else None
        reasons = review_reasons(verdict=verdict, report={"signatures": signatures})
        return {
            "filename": self.filename,
            "sha256": self.sha256,
            "kind": self.kind,
            "readable": self.readable,
            "verdict": verdict,
            "issued_by_us": self.issued_by_us,
            "signatures": signatures,
            "review": [{"reason": r, **asdict(ADVICE[_REVIEW_ADVICE[r]])} for r in reasons],
        }
