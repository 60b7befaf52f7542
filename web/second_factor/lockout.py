"""What a locked-out sign-in gets: a page on /dang-nhap/, a JSON error on the API."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from portal.api.exception_handler import error_body


def cooloff_minutes() -> int:
    cooloff = settings.AXES_COOLOFF_TIME
    return max(1, round(cooloff.total_seconds() / 60)) if cooloff else 0


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: 429 with the portal's words."""
    minutes = cooloff_minutes()
    message = _(
        "Đăng nhập đã bị tạm khóa do nhập sai mật khẩu hoặc mã xác thực quá nhiều lần. "
        "Vui lòng thử lại sau %(minutes)d phút, hoặc liên hệ quản trị hệ thống để được mở khóa."
    ) % {"minutes": minutes}
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body("signin_locked", message, {"retry_after_minutes": minutes}), status=429)
    return render(request, "web/second_factor/locked.html",
                  {"title": _("Tạm khóa đăng nhập"), "message": message, "nav_links": []},
                  status=429)
