"""manage.py import_trust_anchors FILE... : PEM or DER certificates into the trust store."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from signatures.exceptions import InvalidCertificate
from signatures.models import TrustedCertificate
from signatures.services import trust_anchor_import


class Command(BaseCommand):
    help = "Import CA certificates (PEM bundles or DER) into the trust store; prints fingerprints."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+")
        parser.add_argument(
            "--scope", default=TrustedCertificate.Scope.PUBLIC,
            choices=TrustedCertificate.Scope.values,
            help="public (citizens, businesses), government (officials) or timestamping",
        )
        parser.add_argument("--note", default="")

    def handle(self, *args, files, scope, note, **options):
        for name in files:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{name}: no such file")
            try:
                rows = trust_anchor_import(data=path.read_bytes(), scope=scope, note=note)
            except InvalidCertificate as exc:
                raise CommandError(f"{name}: {exc.message} {exc.extra}") from exc
            for row in rows:
                self.stdout.write(
                    f"{row.fingerprint_sha256}  {row.role:<12} {row.scope:<12} {row.subject}"
                )
