"""Errors of the signatures capability."""

from django.utils.translation import gettext_lazy as _

from portal.exceptions import DomainError, Unprocessable


class UnsupportedFormat(DomainError):
    code = "unsupported_format"
    http_status = 400
    default_message = _("Tệp không phải là PDF hoặc chữ ký CMS/PKCS#7.")


class SignatureInvalid(Unprocessable):
    code = "signature_invalid"
    default_message = _("Chữ ký số không hợp lệ.")


class TrustAnchorMissing(DomainError):
    code = "trust_anchor_missing"
    http_status = 503
    default_message = _("Chưa cấu hình chứng thư gốc tin cậy.")


class InvalidCertificate(DomainError):
    code = "invalid_certificate"
    http_status = 400
    default_message = _("Không đọc được chứng thư số (PEM hoặc DER).")


class SignerNotConfigured(DomainError):
    code = "signer_not_configured"
    http_status = 503
    default_message = _("Chưa cấu hình khóa ký của cơ quan.")


class SigningFailed(DomainError):
    code = "signing_failed"
    http_status = 502
    default_message = _("Không ký được văn bản.")


class RevocationHostNotAllowed(DomainError):
    code = "revocation_host_not_allowed"
    http_status = 400
    default_message = _("Máy chủ thu hồi không nằm trong danh sách cho phép.")


class UploadTooLarge(DomainError):
    code = "file_too_large"
    http_status = 413
    default_message = _("Tệp vượt quá dung lượng cho phép.")
