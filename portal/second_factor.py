"""Staff members' second factor: TOTP devices (an authenticator app) and single-use recovery
codes, both django-otp devices."""

import re
from base64 import b32encode
from io import BytesIO

from django.db import transaction

import qrcode
import qrcode.image.svg
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODE_COUNT = 10
APP_DEVICE_NAME = "Ứng dụng xác thực"
RECOVERY_DEVICE_NAME = "Mã dự phòng"
_NOT_CODE = re.compile(r"[\s-]+")


def totp_device_confirmed(*, user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def has_confirmed_device(*, user) -> bool:
    return (TOTPDevice.objects.filter(user=user, confirmed=True).exists()
            or StaticDevice.objects.filter(user=user, confirmed=True,
                                           token_set__isnull=False).exists())


@transaction.atomic
def totp_device_for_enrolment(*, user) -> TOTPDevice:
    """The unconfirmed device a user is setting up; the same one until it is confirmed, so a
    reload does not change the QR code already scanned."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)


@transaction.atomic
def totp_device_confirm(*, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the device with a code from the app; returns fresh recovery codes, or None if
    the code is wrong (or the device is throttled)."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    if not device.verify_token(normalise(code)):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    # One app per account: an older device (a lost phone) stops working.
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    return recovery_codes_issue(user=device.user)


@transaction.atomic
def recovery_codes_issue(*, user, count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """New single-use recovery codes; any earlier ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(count)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def second_factor_check(*, user, code: str):
    """The device that accepts this code (6 digits: the app; otherwise a recovery code, which
    is then used up), or None. Throttled devices accept nothing."""
    code = normalise(code)
    if not code:
        return None
    if code.isdigit() and len(code) == 6:
        candidates = TOTPDevice.objects.filter(user=user, confirmed=True)
    else:
        candidates = StaticDevice.objects.filter(user=user, confirmed=True)
    for candidate in candidates.order_by("pk"):
        with transaction.atomic():
            device = type(candidate).objects.select_for_update().get(pk=candidate.pk)
            if device.verify_token(code):
                return device
    return None


def throttled_seconds(*, user) -> int:
    """Seconds until the user's devices accept a code again after wrong ones (0: now)."""
    from django.utils import timezone

    wait = 0
    for model in (TOTPDevice, StaticDevice):
        for device in model.objects.filter(user=user, confirmed=True):
            allowed, data = device.verify_is_allowed()
            if not allowed and data and data.get("locked_until"):
                left = (data["locked_until"] - timezone.now()).total_seconds()
                wait = max(wait, int(left) + 1)
    return wait


def recovery_codes_left(*, user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def normalise(code: str) -> str:
    return _NOT_CODE.sub("", code or "").lower()


def secret_base32(device: TOTPDevice) -> str:
    """The key as the app's "enter a setup key" field wants it, in groups of four."""
    text = b32encode(device.bin_key).decode()
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def qr_svg(device: TOTPDevice) -> bytes:
    """The otpauth:// URI as a QR code (SVG with a white quiet zone)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathFillImage,
                        box_size=10, border=4)
    buffer = BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def current_code(device: TOTPDevice, *, at: float | None = None) -> str:
    """The code the app shows now (the demo's helper command and the tests use it)."""
    import time

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


@transaction.atomic
def totp_device_set(*, user, key_hex: str, name: str = APP_DEVICE_NAME) -> TOTPDevice:
    """A confirmed device with a given key (the demo's fixed, published secrets)."""
    device, _ = TOTPDevice.objects.update_or_create(
        user=user, name=name, defaults={"key": key_hex, "confirmed": True, "last_t": -1,
                                        "throttling_failure_count": 0,
                                        "throttling_failure_timestamp": None})
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    return device
