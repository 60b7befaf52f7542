"""Errors of the integrations capability: typed, each saying whether a retry may help."""

from django.utils.translation import gettext_lazy as _

from portal.exceptions import DomainError

# What an administrator must fix when an error carries an alert (the relay keeps retrying).
ALERT_CREDENTIALS = "credentials"
ALERT_UNREADABLE = "unreadable"
ALERT_CONFIGURATION = "configuration"


class IntegrationError(DomainError):
    code = "integration_error"
    http_status = 502
    default_message = _("Lỗi kết nối hệ thống bên ngoài.")
    # The outbox relay retries an error only when this is true.
    retryable = False
    # Non-empty: the cause is ours to fix (one of the ALERT_* values), not the message's.
    alert = ""


class PortalRejected(IntegrationError):
    """The remote system understood the request and refused it (4xx): retrying cannot help."""

    code = "portal_rejected"
    http_status = 502
    default_message = _("Hệ thống bên ngoài từ chối yêu cầu.")

    def __init__(self, message=None, *, status: int | None = None, extra: dict | None = None):
        self.status = status
        extra = dict(extra or {})
        if status is not None:
            extra["status"] = status
        super().__init__(message, extra=extra)


class PortalAuthFailed(IntegrationError):
    """Our credentials were refused (401 or 403): nothing was processed; retry once they are
    fixed."""

    code = "portal_auth_failed"
    http_status = 503
    default_message = _("Hệ thống bên ngoài từ chối thông tin đăng nhập.")
    retryable = True
    alert = ALERT_CREDENTIALS

    def __init__(self, message=None, *, status: int | None = None, extra: dict | None = None):
        self.status = status
        extra = dict(extra or {})
        if status is not None:
            extra["status"] = status
        super().__init__(message, extra=extra)


class PortalUnavailable(IntegrationError):
    """The remote system is down, slow or dropped the connection (5xx, 408, 429, timeout, the
    total deadline): retry later."""

    code = "portal_unavailable"
    http_status = 503
    default_message = _("Hệ thống bên ngoài tạm thời không phản hồi.")
    retryable = True


class TokenExpired(IntegrationError):
    """The session token was refused again right after a fresh login."""

    code = "portal_token_expired"
    http_status = 503
    default_message = _("Phiên làm việc với hệ thống bên ngoài đã hết hạn.")
    retryable = True
    alert = ALERT_CREDENTIALS


class BadResponse(IntegrationError):
    """An answer we cannot read or trust (a 2xx body, or a refusal that does not say why): the
    remote side may have processed the request, so it is retried under the same key."""

    code = "integration_bad_response"
    default_message = _("Hệ thống bên ngoài trả về dữ liệu không hợp lệ.")
    retryable = True
    alert = ALERT_UNREADABLE


class BadCallbackSignature(IntegrationError):
    """An inbound call whose checksum or signature does not verify."""

    code = "bad_signature"
    http_status = 401
    default_message = _("Chữ ký hoặc mã kiểm tra không hợp lệ.")


class StaleRequest(BadCallbackSignature):
    """An inbound call signed outside the replay window (an old message replayed)."""

    code = "stale_request"
    default_message = _("Yêu cầu đã quá thời hạn cho phép.")


class InvalidPayload(IntegrationError):
    """An inbound body that is authentic but malformed."""

    code = "invalid_payload"
    http_status = 400
    default_message = _("Dữ liệu gửi đến không hợp lệ.")


class MappingMissing(IntegrationError):
    """No national status code is configured for one of our states."""

    code = "status_mapping_missing"
    http_status = 500
    default_message = _("Chưa cấu hình mã trạng thái tương ứng.")
    retryable = True
    alert = ALERT_CONFIGURATION
