"""The trust store, the revocation cache and the register of documents the agency signed."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from portal.models import ConstraintsCheckedAtOnce, TimeStampedModel


class TrustedCertificate(TimeStampedModel):
    """A trust anchor or an intermediate CA certificate, in one trust scope."""

    class Role(models.TextChoices):
        ROOT = "root", _("Chứng thư gốc (trust anchor)")
        INTERMEDIATE = "intermediate", _("Chứng thư trung gian")

    class Scope(models.TextChoices):
        # Public digital signature services for citizens and businesses (national root CA).
        PUBLIC = "public", _("Công dân, doanh nghiệp")
        # The government cipher committee's root, for officials and agencies.
        GOVERNMENT = "government", _("Cơ quan nhà nước")
        TIMESTAMPING = "timestamping", _("Dịch vụ cấp dấu thời gian")

    role = models.CharField(_("vai trò"), max_length=16, choices=Role.choices)
    scope = models.CharField(_("phạm vi tin cậy"), max_length=16, choices=Scope.choices)
    subject = models.CharField(_("chủ thể"), max_length=1000)
    issuer = models.CharField(_("tổ chức cấp"), max_length=1000)
    serial_hex = models.CharField(_("số hiệu (hex)"), max_length=80)
    fingerprint_sha256 = models.CharField(_("dấu vân tay SHA-256"), max_length=64, unique=True)
    der = models.BinaryField(_("chứng thư (DER)"))
    not_before = models.DateTimeField(_("hiệu lực từ"))
    not_after = models.DateTimeField(_("hiệu lực đến"))
    enabled = models.BooleanField(_("đang dùng"), default=True)
    note = models.CharField(_("ghi chú"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("chứng thư tin cậy")
        verbose_name_plural = _("chứng thư tin cậy")
        ordering = ["scope", "role", "subject"]
        constraints = [
            models.CheckConstraint(
                condition=Q(not_after__gt=F("not_before")), name="trusted_cert_validity_order"
            ),
            models.CheckConstraint(
                condition=Q(fingerprint_sha256__regex=r"^[0-9a-f]{64}$"),
                name="trusted_cert_fingerprint_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} / {self.get_role_display()}: {self.subject}"


class RevocationRecord(TimeStampedModel):
    """A CRL or OCSP response we fetched ourselves; validation reads only these."""

    class Kind(models.TextChoices):
        CRL = "crl", "CRL"
        OCSP = "ocsp", "OCSP"

    kind = models.CharField(_("loại"), max_length=8, choices=Kind.choices)
    # The CRL's URL, or the OCSP responder URL plus the certificate serial it answers for.
    source = models.CharField(_("nguồn"), max_length=1000)
    der = models.BinaryField(_("dữ liệu (DER)"))
    sha256 = models.CharField(_("mã băm SHA-256"), max_length=64)
    this_update = models.DateTimeField(_("cập nhật lúc"))
    next_update = models.DateTimeField(_("cập nhật tiếp theo"), null=True, blank=True)
    fetched_at = models.DateTimeField(_("tải về lúc"))
    last_error = models.TextField(_("lỗi gần nhất"), blank=True)

    class Meta:
        verbose_name = _("dữ liệu thu hồi")
        verbose_name_plural = _("dữ liệu thu hồi")
        ordering = ["kind", "source"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "source"], name="revocation_one_per_source"),
            models.CheckConstraint(
                condition=Q(next_update__isnull=True) | Q(next_update__gte=F("this_update")),
                name="revocation_update_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.source}"


class IssuedDocument(ConstraintsCheckedAtOnce, TimeStampedModel):
    """A result the agency signed: its hash lets the public verifier recognise it as ours."""

    sha256 = models.CharField(_("mã băm SHA-256"), max_length=64, unique=True)
    # The code in the QR printed on the result, for the public verification page.
    code = models.CharField(_("mã xác thực"), max_length=32, unique=True)
    filename = models.CharField(_("tên tệp"), max_length=255)
    reference = models.CharField(_("số, ký hiệu"), max_length=128, blank=True)
    signer_subject = models.CharField(_("người ký"), max_length=1000)
    signer_backend = models.CharField(_("phương thức ký"), max_length=16)
    level = models.CharField(_("mức chữ ký"), max_length=8)  # PAdES baseline level: B-B or B-T
    issued_at = models.DateTimeField(_("phát hành lúc"))

    class Meta:
        verbose_name = _("văn bản đã ký phát hành")
        verbose_name_plural = _("văn bản đã ký phát hành")
        ordering = ["-issued_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="issued_document_sha256_hex"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference or self.filename} ({self.sha256[:12]})"


class DemoSigningKey(TimeStampedModel):
    """DEMO ONLY (setting DEMO_SIGNING): the demo's applicant-signing CA and the certificates it
    issued to applicants, private keys included. A real applicant signs with their own USB
    token or remote signing service; no real deployment turns this on."""

    class Kind(models.TextChoices):
        ROOT = "root", _("CA gốc thử nghiệm (demo)")
        PERSON = "person", _("Chứng thư thử nghiệm của người nộp (demo)")

    kind = models.CharField(_("loại"), max_length=8, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("người nộp"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="+",
    )
    subject = models.CharField(_("chủ thể"), max_length=1000)
    certificate_der = models.BinaryField(_("chứng thư (DER)"))
    # Unencrypted PKCS#8 (PEM): acceptable only because these keys sign nothing but demo files.
    private_key_pem = models.BinaryField(_("khóa bí mật (PEM, chỉ dùng cho demo)"))

    class Meta:
        verbose_name = _("khóa ký thử nghiệm (demo)")
        verbose_name_plural = _("khóa ký thử nghiệm (demo)")
        ordering = ["kind", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind"], condition=Q(kind="root"),
                                    name="demo_signing_one_root"),
            models.UniqueConstraint(fields=["user"], condition=Q(kind="person"),
                                    name="demo_signing_one_key_per_user"),
            models.CheckConstraint(
                condition=Q(kind="root", user__isnull=True) | Q(kind="person", user__isnull=False),
                name="demo_signing_person_has_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"
