"""Staff sign in with a password and a TOTP code; recovery codes; lockout; staff sessions end;
the API takes verified sessions and tokens, and HTTP Basic only with debug on."""

import base64
import logging
import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from portal.api.authentication import DebugBasicAuthentication
from portal.roles import Role
from portal.second_factor import current_code

from ..dossiers.factories import UserFactory
from ..second_factor import force_login_unverified, staff_device

PASSWORD = "matkhau-demo-2025"  # noqa: S105 - UserFactory's
LOGIN = "/dang-nhap/"
CODE = "/dang-nhap/ma-xac-thuc/"
ENROL = "/dang-nhap/thiet-lap-xac-thuc/"
QR = "/dang-nhap/thiet-lap-xac-thuc/ma-qr.svg"
QUEUE = "/can-bo/hang-doi/"
API_LIST = "/api/v1/dossiers/"


@pytest.fixture(autouse=True)
def _no_throttle_delay(settings):
    """django-otp makes a device wait 1, 2, 4 … s after a wrong code; the tests that check
    that wait turn it back on."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def officer_with_app(reception):
    return reception, staff_device(reception)


def password_step(client, username, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def test_api_list_url_is_the_dossier_list():
    assert reverse("api:dossiers:list") == API_LIST


# --- the pages ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [QUEUE, "/quan-ly/chi-so/", "/admin/", "/"])
def test_an_unverified_staff_session_reaches_no_page_but_the_code_step(client, reception, path):
    force_login_unverified(client, reception)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith(CODE + "?next=")


def test_an_unverified_staff_session_is_refused_by_the_admin_too(client, admin_user):
    force_login_unverified(client, admin_user)
    assert client.get("/admin/").status_code == 302
    client.force_login(admin_user)  # verified
    assert client.get("/admin/").status_code == 200


def test_applicants_have_no_second_step(client, applicant):
    response = password_step(client, applicant.username)

    assert response.status_code == 302
    assert response["Location"] == "/ho-so-cua-toi/"
    assert client.get("/ho-so-cua-toi/").status_code == 200


def test_password_then_totp_code_signs_an_officer_in(client, officer_with_app):
    user, device = officer_with_app

    response = password_step(client, user.username)
    page = client.get(response["Location"], follow=True)
    assert page.redirect_chain[-1][0].startswith(CODE)
    content = page.content.decode()
    assert "Xác thực hai lớp" in content
    assert 'autocomplete="one-time-code"' in content
    assert client.get(QUEUE).status_code == 302  # not yet

    wrong = client.post(CODE, {"code": "000000" if current_code(device) != "000000" else "111111",
                               "next": QUEUE})
    assert wrong.status_code == 400
    assert "Mã xác thực không đúng" in wrong.content.decode()
    assert 'aria-invalid="true"' in wrong.content.decode()

    right = client.post(CODE, {"code": current_code(device), "next": QUEUE})
    assert right.status_code == 302
    assert right["Location"] == QUEUE
    assert client.get(QUEUE).status_code == 200
    # The code step is done: going back there sends the officer on.
    assert client.get(CODE)["Location"] == QUEUE


def test_a_code_is_accepted_once(client, officer_with_app):
    user, device = officer_with_app
    code = current_code(device)
    password_step(client, user.username)
    assert client.post(CODE, {"code": code})["Location"] == QUEUE
    client.post("/dang-xuat/")

    password_step(client, user.username)
    assert client.post(CODE, {"code": code}).status_code == 400


def test_after_wrong_codes_the_device_makes_the_officer_wait(client, officer_with_app,
                                                            settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 30
    user, device = officer_with_app
    password_step(client, user.username)
    client.post(CODE, {"code": "999999" if current_code(device) != "999999" else "888888"})

    right_but_too_soon = client.post(CODE, {"code": current_code(device)})

    assert right_but_too_soon.status_code == 429
    assert "Vui lòng chờ" in right_but_too_soon.content.decode()
    assert client.get(QUEUE).status_code == 302


def test_the_code_step_keeps_the_page_asked_for(client, officer_with_app):
    user, device = officer_with_app
    client.get("/can-bo/hang-doi/?trang=2")
    password_step(client, user.username, **{"QUERY_STRING": "next=/can-bo/hang-doi/%3Ftrang%3D2"})
    landing = client.get("/can-bo/hang-doi/?trang=2")
    assert landing["Location"] == CODE + "?next=%2Fcan-bo%2Fhang-doi%2F%3Ftrang%3D2"

    response = client.post(CODE, {"code": current_code(device),
                                  "next": "/can-bo/hang-doi/?trang=2"})

    assert response["Location"] == "/can-bo/hang-doi/?trang=2"


def test_the_code_step_never_sends_the_officer_off_site(client, officer_with_app):
    user, device = officer_with_app
    password_step(client, user.username)

    response = client.post(CODE, {"code": current_code(device), "next": "https://evil.example/"})

    assert response["Location"] == QUEUE


# --- enrolment and recovery codes --------------------------------------------------------


def test_a_staff_member_without_an_app_enrols_one_and_gets_recovery_codes(client, specialist):
    password_step(client, specialist.username)
    assert client.get(CODE)["Location"] == ENROL

    page = client.get(ENROL)
    assert page.status_code == 200
    content = page.content.decode()
    assert "Thiết lập xác thực hai lớp" in content
    assert f'src="{QR}"' in content
    device = TOTPDevice.objects.get(user=specialist, confirmed=False)
    secret = base64.b32encode(device.bin_key).decode()
    assert " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)) in content
    assert "otpauth://" not in content  # the secret travels in the QR image and the key only

    qr = client.get(QR)
    assert qr.status_code == 200
    assert qr["Content-Type"] == "image/svg+xml"
    assert "no-store" in qr["Cache-Control"]
    assert b"<svg" in qr.content and b"<path" in qr.content
    assert client.get(ENROL).status_code == 200
    assert TOTPDevice.objects.get(user=specialist, confirmed=False).pk == device.pk  # same QR

    wrong = client.post(ENROL, {"code": "123456" if current_code(device) != "123456" else "654321"})
    assert wrong.status_code == 400
    assert "Mã chưa đúng" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=specialist, confirmed=True).exists()

    done = client.post(ENROL, {"code": current_code(device), "next": QUEUE})

    assert done.status_code == 200
    assert "no-store" in done["Cache-Control"]
    codes = done.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    for code in codes:
        assert f"<code>{code}</code>" in done.content.decode()
    assert sorted(StaticToken.objects.filter(device__user=specialist)
                  .values_list("token", flat=True)) == sorted(codes)
    assert TOTPDevice.objects.get(user=specialist).confirmed
    assert client.get(QUEUE).status_code == 200
    # Shown once: the enrolment page now sends the officer on, without the codes.
    again = client.get(ENROL, follow=True)
    assert not any(code in again.content.decode() for code in codes)
    assert client.get(QR).status_code == 302


def test_a_recovery_code_signs_in_once(client, specialist):
    from portal.second_factor import recovery_codes_issue

    staff_device(specialist)
    codes = recovery_codes_issue(user=specialist)
    password_step(client, specialist.username)

    response = client.post(CODE, {"code": codes[3].upper()[:4] + "-" + codes[3][4:]},
                           follow=True)

    assert response.redirect_chain[-1][0] == QUEUE
    assert "Còn 9 mã dự phòng" in response.content.decode()
    client.post("/dang-xuat/")
    password_step(client, specialist.username)
    assert client.post(CODE, {"code": codes[3]}).status_code == 400
    assert client.post(CODE, {"code": codes[4]})["Location"] == QUEUE


def test_the_qr_code_is_only_for_the_signed_in_staff_member(client, applicant):
    assert client.get(QR).status_code == 302  # anonymous: to the sign-in page
    client.force_login(applicant)
    assert client.get(QR)["Location"] == "/ho-so-cua-toi/"


# --- the API -----------------------------------------------------------------------------


def test_an_unverified_staff_session_gets_403_on_the_api(client, officer_with_app):
    user, _device = officer_with_app
    password_step(client, user.username)

    response = client.get(API_LIST)

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "second_factor_required"
    assert "xác thực hai lớp" in body["message"]
    assert set(body) == {"code", "message", "extra"}


def test_a_verified_staff_session_uses_the_api(client, officer_with_app):
    user, device = officer_with_app
    password_step(client, user.username)
    client.post(CODE, {"code": current_code(device)})

    assert client.get(API_LIST).status_code == 200


def test_an_applicant_session_uses_the_api_without_a_second_factor(client, applicant):
    password_step(client, applicant.username)
    assert client.get(API_LIST).status_code == 200


def test_a_token_lets_a_script_use_the_api(reception):
    out = StringIO()
    call_command("issue_api_token", reception.username, stdout=out)
    key = out.getvalue().strip()
    assert len(key) == 40

    client = APIClient()
    assert client.get(API_LIST).status_code == 403
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(API_LIST).status_code == 200

    call_command("issue_api_token", reception.username, "--rotate", stdout=StringIO())
    assert client.get(API_LIST).json()["code"] == "authentication_failed"


def _basic(username, password=PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_http_basic_is_refused_with_debug_off(reception, applicant):
    for user in (reception, applicant):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=_basic(user.username))

        response = client.get(API_LIST)

        assert response.status_code == 403
        assert response.json()["code"] == "not_authenticated"


def test_http_basic_works_with_debug_on_and_skips_the_second_factor(settings, reception):
    settings.DEBUG = True
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_AUTHENTICATION_CLASSES": [
            *settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"],
            "portal.api.authentication.DebugBasicAuthentication",
        ],
    }
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=_basic(reception.username))
    assert client.get(API_LIST).status_code == 200

    # The class itself stays off when debug is off, even if a deployment lists it.
    settings.DEBUG = False
    assert client.get(API_LIST).json()["code"] == "not_authenticated"
    assert DebugBasicAuthentication().authenticate(None) is None


@pytest.mark.parametrize(("debug", "listed"), [("0", False), ("1", True)])
def test_the_settings_list_http_basic_only_with_debug_on(debug, listed):
    env = {**os.environ, "DJANGO_DEBUG": debug, "DJANGO_SECRET_KEY": "k" * 25 + "x" * 25 + "0123"}
    code = ("import portal.settings as s; "
            "print(s.REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES'])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert ("DebugBasicAuthentication" in out) is listed
    assert "VerifiedSessionAuthentication" in out and "ApiTokenAuthentication" in out
    assert "rest_framework.authentication.BasicAuthentication" not in out


def test_http_basic_counts_failures_and_locks_with_a_stable_code(settings, applicant):
    settings.DEBUG = True
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "portal.api.authentication.DebugBasicAuthentication"],
    }
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=_basic(applicant.username, "sai"))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.get(API_LIST).json()["code"] == "authentication_failed"

    locked = client.get(API_LIST)
    assert locked.status_code == 429
    assert locked.json()["code"] == "signin_locked"
    client.credentials(HTTP_AUTHORIZATION=_basic(applicant.username))
    assert client.get(API_LIST).json()["code"] == "signin_locked"


# --- lockout -----------------------------------------------------------------------------


def test_wrong_passwords_lock_the_account_from_any_address(client, applicant, caplog):
    caplog.set_level(logging.WARNING, logger="portal.signin")
    limit = 5
    for attempt in range(limit - 1):
        response = password_step(client, applicant.username, "sai-mat-khau",
                                 REMOTE_ADDR=f"10.0.0.{attempt + 1}")
        assert response.status_code == 200
        assert "không đúng" in response.content.decode()

    locked = password_step(client, applicant.username, "sai-mat-khau", REMOTE_ADDR="10.0.0.9")

    assert locked.status_code == 429
    content = locked.content.decode()
    assert "Tạm khóa đăng nhập" in content
    assert "Đăng nhập đã bị tạm khóa" in content and "15 phút" in content
    # The right password from yet another address is refused too while the lock lasts.
    again = password_step(client, applicant.username, REMOTE_ADDR="10.0.0.10")
    assert again.status_code == 429
    assert client.get("/ho-so-cua-toi/").status_code == 302
    failures = [r.getMessage() for r in caplog.records if "sign-in failed" in r.getMessage()]
    assert len(failures) >= limit
    assert all(repr(applicant.username) in line for line in failures)
    assert any("sign-in locked" in r.getMessage() and applicant.username in r.getMessage()
               for r in caplog.records)
    assert AccessFailureLog.objects.filter(username=applicant.username).count() >= limit


def test_wrong_passwords_from_one_address_lock_that_address(client, applicant):
    for n in range(5):
        password_step(client, f"ai-do-{n}", "sai", REMOTE_ADDR="10.9.9.9")

    from_there = password_step(client, applicant.username, REMOTE_ADDR="10.9.9.9")
    assert from_there.status_code == 429
    # The account itself has no failures: from another address it signs in.
    elsewhere = password_step(client, applicant.username, REMOTE_ADDR="10.1.1.1")
    assert elsewhere.status_code == 302
    assert AccessAttempt.objects.filter(ip_address="10.9.9.9").count() >= 5


def test_wrong_codes_count_towards_the_lockout(client, officer_with_app, caplog):
    caplog.set_level(logging.WARNING, logger="portal.signin")
    user, device = officer_with_app
    wrong = "000000" if current_code(device) != "000000" else "111111"
    password_step(client, user.username)
    for _ in range(4):
        assert client.post(CODE, {"code": wrong}).status_code == 400

    locked = client.post(CODE, {"code": wrong})

    assert locked.status_code == 429
    assert "Đăng nhập đã bị tạm khóa" in locked.content.decode()
    # The half-done session is over, and the right password and code do not help for now.
    assert client.get(QUEUE)["Location"].startswith(LOGIN)
    assert password_step(client, user.username).status_code == 429
    assert any("(code)" in r.getMessage() for r in caplog.records)


def test_lockout_ends_after_the_cooloff(client, applicant, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    for _ in range(5):
        password_step(client, applicant.username, "sai")
    assert password_step(client, applicant.username).status_code == 429

    time_machine.shift(timedelta(minutes=16))

    assert password_step(client, applicant.username).status_code == 302


# --- sessions ----------------------------------------------------------------------------


def test_a_staff_session_ends_after_30_idle_minutes(client, officer_with_app, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    user, device = officer_with_app
    password_step(client, user.username)
    client.post(CODE, {"code": current_code(device)})
    time_machine.shift(timedelta(minutes=29))
    assert client.get(QUEUE).status_code == 200

    time_machine.shift(timedelta(minutes=31))
    response = client.get(QUEUE, follow=True)

    assert response.redirect_chain[0][0].startswith(LOGIN)
    assert "Phiên làm việc đã hết hạn" in response.content.decode()
    assert client.get(API_LIST).json()["code"] == "not_authenticated"


def test_an_active_staff_session_ends_after_its_maximum_lifetime(client, reception,
                                                                   time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    client.force_login(reception)
    for _ in range(12 * 3):  # a request every 20 minutes for 12 hours
        time_machine.shift(timedelta(minutes=20))
        if client.get(QUEUE).status_code != 200:
            break
    time_machine.shift(timedelta(minutes=20))

    assert client.get(QUEUE)["Location"].startswith(LOGIN)


def test_an_applicant_session_is_not_cut_after_idle_minutes(client, applicant, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    password_step(client, applicant.username)
    time_machine.shift(timedelta(hours=13))

    assert client.get("/ho-so-cua-toi/").status_code == 200


# --- the demo ----------------------------------------------------------------------------


def test_demo_staff_have_a_fixed_published_secret_and_the_code_helper_prints_it(db, settings):
    from dossiers.services.demo import demo_accounts_ensure, demo_totp_key

    users = demo_accounts_ensure()
    device = TOTPDevice.objects.get(user=users["tiepnhan"], confirmed=True)
    assert device.key == demo_totp_key("tiepnhan")
    assert not TOTPDevice.objects.filter(user=users["congdan"]).exists()
    demo_accounts_ensure()
    assert TOTPDevice.objects.filter(user=users["tiepnhan"]).count() == 1

    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("otp_code", "tiepnhan", stdout=StringIO())
    settings.DEBUG = True
    out = StringIO()
    call_command("otp_code", "tiepnhan", stdout=out)
    assert out.getvalue().strip() == current_code(device)


def test_reset_second_factor_makes_the_officer_enrol_again(client, officer_with_app):
    user, _device = officer_with_app
    call_command("reset_second_factor", user.username, stdout=StringIO())
    assert not TOTPDevice.objects.filter(user=user).exists()
    password_step(client, user.username)
    assert client.get(CODE)["Location"] == ENROL


def test_every_staff_role_needs_the_second_factor(client, agency):
    for role in Role.STAFF:
        user = UserFactory(roles=[role], kind="staff", agency_code=agency.code)
        client.post("/dang-xuat/")
        password_step(client, user.username)
        assert client.get("/")["Location"].startswith(CODE), role
