"""The second step of a staff member's sign-in: the code of their authenticator app or a
recovery code; and, for an account without an app yet, its enrolment."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

import django_otp
from axes.handlers.proxy import AxesProxyHandler
from django_otp.plugins.otp_static.models import StaticDevice

from portal import second_factor as factor
from portal.signin import second_factor_required, second_factor_verified

from ..access import home_for
from .forms import CodeForm
from .lockout import lockout_response

_STEP = "code"


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return home_for(request.user)


def _guard(request):
    """None when the request may use the second step; otherwise where it goes instead."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not second_factor_required(user) or second_factor_verified(user):
        return redirect(_next(request))
    return None


def _locked(request):
    return AxesProxyHandler.is_locked(request, {"username": request.user.get_username()})


def _end_locked(request):
    logout(request)
    return lockout_response(request)


def _failed(request):
    """A wrong code counts against the account and the address like a wrong password."""
    user_login_failed.send(
        sender=__name__, request=request,
        credentials={"username": request.user.get_username(), "step": _STEP},
    )
    return bool(getattr(request, "axes_locked_out", False))


def _page(request, template: str, context: dict, status: int = 200):
    context = {"next": _next(request), "nav_links": [], **context}
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request):
    if (other := _guard(request)) is not None:
        return other
    user = request.user
    if not factor.has_confirmed_device(user=user):
        return redirect(_with_query(reverse("web:second_factor_enrol"), request))
    if _locked(request):
        return _end_locked(request)
    help_text = _("6 chữ số trong ứng dụng xác thực trên điện thoại của bạn, hoặc một mã dự "
                  "phòng (8 ký tự) nếu không có điện thoại bên cạnh.")
    form = CodeForm(request.POST or None, help_text=help_text)
    status = 200
    if request.method == "POST" and form.is_valid():
        wait = factor.throttled_seconds(user=user)
        if wait:
            form.add_error("code", ngettext(
                "Bạn vừa nhập sai mã. Vui lòng chờ %(seconds)d giây rồi thử lại.",
                "Bạn vừa nhập sai mã. Vui lòng chờ %(seconds)d giây rồi thử lại.", wait,
            ) % {"seconds": wait})
            status = 429
        elif (device := factor.second_factor_check(user=user, code=form.cleaned_data["code"])):
            django_otp.login(request, device)
            request.session.cycle_key()
            if isinstance(device, StaticDevice):
                left = factor.recovery_codes_left(user=user)
                messages.warning(request, ngettext(
                    "Bạn đã đăng nhập bằng một mã dự phòng; mã đó không dùng lại được. Còn "
                    "%(count)d mã dự phòng.",
                    "Bạn đã đăng nhập bằng một mã dự phòng; mã đó không dùng lại được. Còn "
                    "%(count)d mã dự phòng.", left) % {"count": left})
            return redirect(_next(request))
        else:
            if _failed(request):
                return _end_locked(request)
            form.add_error("code", _("Mã xác thực không đúng hoặc đã hết hạn. Vui lòng nhập "
                                     "mã đang hiển thị trong ứng dụng."))
            status = 400
    return _page(request, "web/second_factor/verify.html",
                 {"title": _("Xác thực hai lớp"), "form": form}, status)


@never_cache
@require_http_methods(["GET", "POST"])
def enrol(request):
    if (other := _guard(request)) is not None:
        return other
    user = request.user
    if factor.has_confirmed_device(user=user):
        return redirect(_with_query(reverse("web:second_factor"), request))
    if _locked(request):
        return _end_locked(request)
    device = factor.totp_device_for_enrolment(user=user)
    form = CodeForm(request.POST or None,
                    help_text=_("Mã gồm 6 chữ số, đổi sau mỗi 30 giây."))
    status = 200
    if request.method == "POST" and form.is_valid():
        codes = factor.totp_device_confirm(device=device, code=form.cleaned_data["code"])
        if codes is not None:
            device.refresh_from_db()
            django_otp.login(request, device)
            request.session.cycle_key()
            return _page(request, "web/second_factor/recovery_codes.html",
                         {"title": _("Mã dự phòng"), "codes": codes})
        if _failed(request):
            return _end_locked(request)
        wait = factor.throttled_seconds(user=user)
        form.add_error("code", _("Mã chưa đúng. Kiểm tra giờ trên điện thoại đã chính xác, "
                                 "rồi nhập mã đang hiển thị trong ứng dụng.") if not wait else
                       _("Mã chưa đúng. Vui lòng chờ %(seconds)d giây rồi thử lại.")
                       % {"seconds": wait})
        status = 400
    return _page(request, "web/second_factor/enrol.html", {
        "title": _("Thiết lập xác thực hai lớp"), "form": form,
        "secret": factor.secret_base32(device),
    }, status)


@never_cache
@require_GET
def enrol_qr(request):
    """The QR code of the device being set up, only for its owner, never cached."""
    if (other := _guard(request)) is not None:
        return other
    if factor.has_confirmed_device(user=request.user):
        return HttpResponse(status=404)
    device = factor.totp_device_for_enrolment(user=request.user)
    response = HttpResponse(factor.qr_svg(device), content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"
    return response


def _with_query(url: str, request) -> str:
    query = request.GET.urlencode()
    return f"{url}?{query}" if query else url
