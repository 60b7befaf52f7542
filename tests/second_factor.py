"""Staff sessions in tests: `force_login` of an officer, manager or administrator gives a
session that has passed the second factor, as a real sign-in at /dang-nhap/ would after the
code; tests of the second step itself ask for the bare session with `force_login_unverified`."""

from django.test import Client

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.signin import second_factor_required

_force_login = Client.force_login


def staff_device(user) -> TOTPDevice:
    """The user's confirmed authenticator device (one is made if they have none)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="test", confirmed=True)


def force_login_verified(self, user, backend=None) -> None:
    _force_login(self, user, backend)
    if second_factor_required(user):
        session = self.session
        session[DEVICE_ID_SESSION_KEY] = staff_device(user).persistent_id
        session.save()


def force_login_unverified(client, user, backend=None) -> None:
    """Password given, code not yet: what a staff member has between the two steps."""
    _force_login(client, user, backend)
