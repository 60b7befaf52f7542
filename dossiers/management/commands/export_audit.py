import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from dossiers.models import Dossier
from dossiers.services import audit_export


def dossier_named(value: str) -> Dossier:
    """A dossier by its number (id) or its code."""
    dossier = Dossier.objects.filter(code=value).first()
    if dossier is None and value.isdigit():
        dossier = Dossier.objects.filter(pk=int(value)).first()
    if dossier is None:
        raise CommandError(f"No dossier with id or code {value!r}.")
    return dossier


class Command(BaseCommand):
    help = ("Write one dossier's transition log and hash chain as JSON, checkable offline with "
            "tools/verify_audit_export.py.")

    def add_arguments(self, parser):
        parser.add_argument("dossier", help="the dossier's id or code")
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def handle(self, *args, **options):
        dossier = dossier_named(options["dossier"])
        text = json.dumps(audit_export(dossier=dossier), ensure_ascii=False, indent=2) + "\n"
        if not options["output"]:
            self.stdout.write(text, ending="")
            return
        Path(options["output"]).write_text(text, encoding="utf-8")
        self.stderr.write(f"Wrote {options['output']}: dossier {dossier.code or dossier.pk}, "
                          f"head {dossier.audit_head}")
