import json

from django.core.management.base import BaseCommand

from dossiers.services import catalog_load


class Command(BaseCommand):
    help = "Load agencies and procedures from a catalog JSON file (the bundled one by default)."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="catalog JSON file")

    def handle(self, *args, file=None, **options):
        data = None
        if file:
            with open(file, encoding="utf-8") as fh:
                data = json.load(fh)
        procedures = catalog_load(data=data)
        self.stdout.write(self.style.SUCCESS(f"{len(procedures)} procedures loaded."))
