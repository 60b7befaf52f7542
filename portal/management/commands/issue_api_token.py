from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = ("Print the API token of an account for a script or system "
            "(header `Authorization: Token <key>`); --rotate replaces it, --revoke removes it.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--rotate", action="store_true", help="replace the existing token")
        group.add_argument("--revoke", action="store_true", help="remove the token")

    def handle(self, *args, username: str, rotate: bool, revoke: bool, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active account {username!r}.")
        if revoke or rotate:
            Token.objects.filter(user=user).delete()
        if revoke:
            self.stdout.write(f"Token of {username} revoked.")
            return
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
