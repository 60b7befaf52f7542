"""Errors of the dossier domain, each with a stable code."""

from django.utils.translation import gettext_lazy as _

from portal.exceptions import Conflict, DomainError, NotFound, PermissionDenied, Unprocessable


class DossierNotFound(NotFound):
    code = "dossier_not_found"
    default_message = _("Không tìm thấy hồ sơ.")


class ProcedureNotFound(NotFound):
    code = "procedure_not_found"
    default_message = _("Không tìm thấy thủ tục hành chính.")


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_message = _("Thao tác không hợp lệ ở trạng thái hiện tại của hồ sơ.")


class StaleVersion(Conflict):
    code = "stale_version"
    default_message = _("Hồ sơ vừa được người khác cập nhật; vui lòng tải lại.")


class TransitionForbidden(PermissionDenied):
    code = "permission_denied"


class InvalidFormData(DomainError):
    code = "invalid_form_data"
    http_status = 400
    default_message = _("Dữ liệu tờ khai không hợp lệ.")


class MissingDocuments(Unprocessable):
    code = "missing_documents"
    default_message = _("Hồ sơ còn thiếu thành phần bắt buộc.")


class SignatureRequired(Unprocessable):
    code = "signature_required"
    default_message = _("Thành phần hồ sơ phải được ký số hợp lệ.")


class SignatureReviewRequired(Conflict):
    code = "signature_review_required"
    default_message = _(
        "Chữ ký số của thành phần hồ sơ chưa xác định được; cán bộ cần quyết định trước khi "
        "tiếp nhận."
    )


class PaymentRequired(Unprocessable):
    code = "payment_required"
    http_status = 402
    default_message = _("Hồ sơ phải nộp phí, lệ phí trước khi nộp.")


class PaymentMismatch(Unprocessable):
    code = "payment_mismatch"


class ReasonRequired(DomainError):
    code = "reason_required"
    http_status = 400
    default_message = _("Vui lòng nêu lý do.")


class DeadlinePassed(Unprocessable):
    code = "deadline_passed"


class InvalidDocument(DomainError):
    code = "invalid_document"
    http_status = 400


class EmptyFile(InvalidDocument):
    code = "empty_file"
    default_message = _("Tệp tải lên rỗng.")


class FileTooLarge(DomainError):
    code = "file_too_large"
    http_status = 413
    default_message = _("Tệp vượt quá dung lượng cho phép.")


class UnsupportedFileType(DomainError):
    code = "unsupported_file_type"
    http_status = 415
    default_message = _("Định dạng tệp không được chấp nhận cho thành phần này.")


class ActiveContentRefused(InvalidDocument):
    code = "active_content"
    default_message = _("Tệp PDF chứa mã thực thi (JavaScript, lệnh khởi chạy) không được chấp nhận.")


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"
    default_message = _("Khóa Idempotency-Key đã được dùng cho một yêu cầu khác.")


class LookupNotFound(NotFound):
    code = "not_found"
    default_message = _("Không tìm thấy hồ sơ với mã và mã tra cứu đã nhập.")


class ApologyNotAllowed(Conflict):
    code = "apology_not_allowed"
    default_message = _("Không thể lập phiếu xin lỗi và hẹn lại cho hồ sơ này.")


class SupplementNotAllowed(Conflict):
    code = "supplement_limit_reached"
    default_message = _(
        "Hồ sơ đã được yêu cầu bổ sung đủ số lần thủ tục cho phép: không yêu cầu bổ sung thêm."
    )


class SupplementNotLapsed(Conflict):
    code = "supplement_not_lapsed"
    default_message = _(
        "Hồ sơ chưa quá hạn bổ sung: chỉ trả lại hoặc từ chối khi hạn bổ sung đã qua mà "
        "người nộp chưa bổ sung."
    )


class SupplementExpiryOtherAction(Conflict):
    code = "supplement_expiry_other_action"
    default_message = _(
        "Thủ tục quy định cách xử lý khác khi quá hạn bổ sung hồ sơ."
    )


class ApologyWindowClosed(ApologyNotAllowed):
    code = "apology_window_closed"
    default_message = _("Đã quá thời hạn lập hoặc duyệt phiếu xin lỗi và hẹn lại.")


class InboundProcedureUnknown(Unprocessable):
    code = "procedure_unknown"
    default_message = _("Thủ tục của hồ sơ không có trong danh mục đang áp dụng.")


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    default_message = _("Không tìm thấy giao dịch thanh toán.")


class StepsRemaining(Conflict):
    code = "steps_remaining"
    default_message = _("Còn bước xử lý chưa hoàn thành: chuyển hồ sơ sang bước tiếp theo trước.")


class InvalidPdf(InvalidDocument):
    code = "invalid_pdf"
    default_message = _("Tệp không đọc được như một tệp PDF hợp lệ; vui lòng xuất lại tệp PDF.")


class PdfTooComplex(InvalidDocument):
    code = "pdf_too_complex"
    default_message = _(
        "Tệp PDF vượt quá giới hạn kiểm tra (dung lượng giải nén, số đối tượng, độ lồng nhau "
        "hoặc thời gian); vui lòng xuất lại tệp PDF đơn giản hơn."
    )


class PdfUnsupported(InvalidDocument):
    code = "pdf_unsupported"
    default_message = _(
        "Tệp PDF được mã hóa hoặc dùng bộ lọc nén không được hỗ trợ; vui lòng xuất lại tệp PDF "
        "không đặt mật khẩu."
    )


class CalendarWithoutWorkingDays(Conflict):
    code = "calendar_without_working_days"
    default_message = _(
        "Lịch làm việc của cơ quan không có ngày làm việc nào trong cả một năm: không tính được "
        "thời hạn. Quản trị viên cần kiểm tra ngày nghỉ và giờ làm việc."
    )


class ScorecardForbidden(PermissionDenied):
    code = "permission_denied"
    default_message = _("Không có quyền xem bảng điểm của cơ quan này.")
