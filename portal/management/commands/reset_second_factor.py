from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = ("Remove a staff account's authenticator app and recovery codes (a lost phone): "
            "at the next sign-in they enrol a new app.")

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account {username!r}.")
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        self.stdout.write(f"{username}: second factor removed; they enrol again at sign-in.")
