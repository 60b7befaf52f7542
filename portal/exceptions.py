"""The one error vocabulary: every domain error has a stable code and an HTTP status."""

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "domain_error"
    http_status = 400
    default_message = _("Yêu cầu không hợp lệ.")

    def __init__(self, message: Any = None, *, extra: dict | None = None) -> None:
        self.message = message if message is not None else self.default_message
        self.extra = extra or {}
        super().__init__(str(self.message))


class NotFound(DomainError):
    code = "not_found"
    http_status = 404
    default_message = _("Không tìm thấy.")


class Conflict(DomainError):
    code = "conflict"
    http_status = 409
    default_message = _("Xung đột với trạng thái hiện tại.")


class PermissionDenied(DomainError):
    code = "permission_denied"
    http_status = 403
    default_message = _("Bạn không có quyền thực hiện thao tác này.")


class Unprocessable(DomainError):
    code = "unprocessable"
    http_status = 422
    default_message = _("Không thể xử lý yêu cầu.")
