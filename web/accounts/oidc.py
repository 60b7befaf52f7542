"""Sign-in through the electronic identity provider (OpenID Connect, mozilla-django-oidc).

Every way the round trip can fail (the person cancels, the state does not match, the provider
is down or refuses the code, a staff account) ends on /dang-nhap/ with a message saying so.
"""

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _

import jwt
import requests
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from portal.identity import SESSION_ACTING_PERSON, IdentityRefused, oidc_enabled

from ..access import home_for

logger = logging.getLogger(__name__)


def _unreachable(request):
    messages.error(request, _("Không kết nối được hệ thống định danh điện tử. Vui lòng thử lại "
                              "sau ít phút hoặc đăng nhập bằng tên đăng nhập và mật khẩu."))
    return redirect("web:login")


class IdentityStartView(OIDCAuthenticationRequestView):
    """GET: off to the provider's sign-in page with state, nonce and the PKCE challenge."""

    def dispatch(self, request, *args, **kwargs):
        if not oidc_enabled():
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        # A provider that is down would leave the person on a browser error page: ask first
        # (its key set, needed for the answer anyway) and stay on /dang-nhap/ when it fails.
        try:
            response = requests.get(settings.OIDC_OP_JWKS_ENDPOINT, timeout=settings.OIDC_TIMEOUT)
            response.raise_for_status()
        except requests.RequestException as exc:
            logger.warning("electronic identity: the provider is unreachable: %s", exc)
            return _unreachable(request)
        return super().get(request)


class IdentityCallbackView(OIDCAuthenticationCallbackView):
    """GET: the provider sends the person back here with a code (or an error)."""

    def dispatch(self, request, *args, **kwargs):
        if not oidc_enabled():
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    @property
    def success_url(self):
        next_url = self.request.session.get("oidc_login_next")
        return next_url or home_for(self.user)

    def fail(self, message):
        messages.error(self.request, message)
        return redirect("web:login")

    def login_failure(self):
        return self.fail(_("Đăng nhập bằng tài khoản định danh điện tử không thành công. "
                           "Vui lòng thử lại."))

    def login_success(self):
        acting = getattr(self.user, "acting_person", None)
        response = super().login_success()
        if acting:
            self.request.session[SESSION_ACTING_PERSON] = acting
        else:
            self.request.session.pop(SESSION_ACTING_PERSON, None)
        return response

    def get(self, request):
        error = request.GET.get("error")
        state = request.GET.get("state")
        states = request.session.get("oidc_states")
        if error:
            # Forget the state (no replay), as the library does.
            if isinstance(states, dict) and states.pop(state, None) is not None:
                request.session.modified = True
            if error == "access_denied":
                messages.warning(request, _("Bạn đã hủy đăng nhập bằng tài khoản định danh điện "
                                            "tử."))
                return redirect("web:login")
            logger.warning("electronic identity: the provider answered error=%s", error[:64])
            return self.fail(_("Hệ thống định danh điện tử từ chối yêu cầu đăng nhập (mã lỗi: "
                               "%(code)s). Vui lòng thử lại.") % {"code": error[:64]})
        if not request.GET.get("code") or not state or not isinstance(states, dict) \
                or state not in states:
            logger.warning("electronic identity: callback with an unknown or missing state")
            return self.fail(_("Phiên đăng nhập bằng tài khoản định danh điện tử đã hết hạn hoặc "
                               "không hợp lệ. Vui lòng bấm đăng nhập lại."))
        try:
            return super().get(request)
        except IdentityRefused as refused:
            return self.fail(refused.message)
        except requests.HTTPError as exc:
            logger.warning("electronic identity: the provider refused the exchange: %s", exc)
            if exc.response is not None and exc.response.status_code >= 500:
                return _unreachable(request)
            return self.fail(_("Hệ thống định danh điện tử không xác nhận lần đăng nhập này. "
                               "Vui lòng đăng nhập lại từ đầu."))
        except requests.RequestException as exc:
            logger.warning("electronic identity: the provider did not answer: %s", exc)
            return _unreachable(request)
        except (SuspiciousOperation, jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
            logger.warning("electronic identity: answer refused: %s", exc)
            return self.fail(_("Thông tin xác thực nhận được từ hệ thống định danh điện tử không "
                               "hợp lệ. Vui lòng đăng nhập lại từ đầu."))


start_view = IdentityStartView.as_view()
callback_view = IdentityCallbackView.as_view()
