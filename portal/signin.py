"""Who must give a second factor, how long a staff session lives, and the sign-in log."""

import logging
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.utils.translation import gettext as _

from axes.backends import AxesStandaloneBackend
from axes.signals import user_locked_out

from .roles import Role

log = logging.getLogger("portal.signin")

SIGNED_IN_AT = "signin_started_at"
LAST_SEEN_AT = "signin_last_seen_at"
# The idle clock is written back at most this often, not on every request.
LAST_SEEN_RESOLUTION_SECONDS = 15


def second_factor_required(user) -> bool:
    """Every staff role, and anyone who may open the admin, signs in with a TOTP code too."""
    if not (user and user.is_authenticated):
        return False
    return bool(user.is_staff or user.is_superuser or user.has_role(*Role.STAFF))


def second_factor_verified(user) -> bool:
    """The session carries a confirmed device of this user (set by django_otp.login)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def second_factor_pending(user) -> bool:
    return second_factor_required(user) and not second_factor_verified(user)


@receiver(user_logged_in, dispatch_uid="portal.signin.session_clock")
def _start_session_clock(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is None or not second_factor_required(user):
        return
    now = time.time()
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN_AT] = now
    # The cookie and the stored session last no longer than the maximum; the middleware below
    # ends the session on time (idle or too old) and says why.
    session.set_expiry(settings.STAFF_SESSION_MAX_SECONDS)


class StaffSessionMiddleware:
    """Staff sessions end after STAFF_SESSION_IDLE_SECONDS without a request and
    STAFF_SESSION_MAX_SECONDS after sign-in; applicants keep Django's session lifetime."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and second_factor_required(user):
            self._check(request, user)
        return self.get_response(request)

    @staticmethod
    def _check(request, user) -> None:
        session = request.session
        now = time.time()
        started = session.get(SIGNED_IN_AT)
        last_seen = session.get(LAST_SEEN_AT)
        if started is None or last_seen is None:
            # A session opened before these limits existed: its clock starts now.
            session[SIGNED_IN_AT] = session[LAST_SEEN_AT] = now
            return
        idle = now - last_seen > settings.STAFF_SESSION_IDLE_SECONDS
        too_old = now - started > settings.STAFF_SESSION_MAX_SECONDS
        if idle or too_old:
            log.info("staff session of %s ended: %s", user.get_username(),
                     "idle" if idle else "maximum lifetime")
            logout(request)
            messages.info(request, _(
                "Phiên làm việc đã hết hạn do không hoạt động quá lâu. Vui lòng đăng nhập lại."
            ) if idle else _(
                "Phiên làm việc đã quá thời gian tối đa cho phép. Vui lòng đăng nhập lại."
            ))
            return
        if now - last_seen >= LAST_SEEN_RESOLUTION_SECONDS:
            session[LAST_SEEN_AT] = now


@receiver(user_login_failed, dispatch_uid="portal.signin.log_failure")
def _log_failure(sender, credentials, request=None, **kwargs) -> None:
    username = (credentials or {}).get("username", "")
    log.warning("sign-in failed for %r from %s (%s)", username, _address(request),
                (credentials or {}).get("step", "password"))


@receiver(user_locked_out, dispatch_uid="portal.signin.log_lockout")
def _log_lockout(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    log.warning("sign-in locked for %r from %s after repeated failures", username,
                ip_address or _address(request))


def _address(request) -> str:
    if request is None:
        return "?"
    from .api.throttling import client_address

    return client_address(request) or "?"


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check. Every sign-in form and API authenticator passes its request;
    a call without one (the test client's login(), the shell) has no address to count and
    goes straight to the password check."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
