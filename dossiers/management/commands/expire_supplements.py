"""Close the supplement requests whose reply deadline has passed (the beat task does it every
quarter hour; this command does it on demand)."""

from django.core.management.base import BaseCommand

from dossiers.services.supplements import supplement_expire_due


class Command(BaseCommand):
    help = "Close the supplement requests whose reply deadline has passed."

    def handle(self, *args, **options):
        closed = supplement_expire_due()
        self.stdout.write(f"{len(closed)}")
