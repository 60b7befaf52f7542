from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.second_factor import current_code, totp_device_confirmed


class Command(BaseCommand):
    help = ("Print the current 6-digit sign-in code of a staff account (demo only: refused "
            "while DJANGO_DEBUG is off).")

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        if not settings.DEBUG:
            raise CommandError("otp_code works only with DJANGO_DEBUG on (the demo); real "
                               "accounts read their code in their authenticator app.")
        user = get_user_model().objects.filter(username=username).first()
        device = totp_device_confirmed(user=user) if user else None
        if device is None:
            raise CommandError(f"{username!r} has no confirmed authenticator device.")
        self.stdout.write(current_code(device))
