"""How API clients prove who they are: the pages' session (staff with their second factor),
a token for scripts and systems, and HTTP Basic for local scripts while DJANGO_DEBUG is on."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from axes.handlers.proxy import AxesProxyHandler
from rest_framework import exceptions, status
from rest_framework.authentication import (
    BasicAuthentication,
    SessionAuthentication,
    TokenAuthentication,
)

from portal.signin import second_factor_pending


class SecondFactorRequired(exceptions.APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "second_factor_required"
    default_detail = _(
        "Tài khoản cán bộ phải xác thực hai lớp: nhập mã xác thực tại trang đăng nhập trước "
        "khi dùng API, hoặc dùng mã truy cập (token) cấp cho ứng dụng."
    )


class SignInLocked(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "signin_locked"
    default_detail = _(
        "Tài khoản hoặc địa chỉ này đã bị tạm khóa đăng nhập do nhập sai nhiều lần. "
        "Vui lòng thử lại sau."
    )


class VerifiedSessionAuthentication(SessionAuthentication):
    """The pages' session; a staff session counts only once its second factor is verified."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and second_factor_pending(result[0]):
            raise SecondFactorRequired()
        return result


class ApiTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, issued by `manage.py issue_api_token` or the admin."""


class DebugBasicAuthentication(BasicAuthentication):
    """Username and password on every request: only while DJANGO_DEBUG is on (local scripts
    against the demo), and then without the second factor. Settings list it only then; the
    check here keeps it off even if a deployment lists it by mistake."""

    def authenticate(self, request):
        if not settings.DEBUG:
            return None
        return super().authenticate(request)

    def authenticate_credentials(self, userid, password, request=None):
        credentials = {"username": userid}
        django_request = getattr(request, "_request", request)
        if request is not None and AxesProxyHandler.is_locked(django_request, credentials):
            raise SignInLocked()
        try:
            return super().authenticate_credentials(userid, password, request)
        except exceptions.AuthenticationFailed:
            if request is not None and getattr(request, "axes_locked_out", False):
                raise SignInLocked() from None
            raise
