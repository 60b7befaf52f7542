from django.core.management.base import BaseCommand, CommandError

from dossiers.services import audit_verify

from .export_audit import dossier_named


class Command(BaseCommand):
    help = "Check every dossier's transition log against its hash chain."

    def add_arguments(self, parser):
        parser.add_argument("--dossier", help="check only this dossier (id or code) and print "
                                              "its head hash, to compare with an export")

    def handle(self, *args, **options):
        dossier = dossier_named(options["dossier"]) if options["dossier"] else None
        broken = audit_verify(dossier_ids=[dossier.pk] if dossier else None)
        for item in broken:
            self.stdout.write(
                f"BROKEN dossier={item.dossier_id} row={item.transition_id or '-'}: {item.problem}"
            )
        if broken:
            raise CommandError(f"{len(broken)} broken link(s) in the audit log")
        if dossier is not None:
            self.stdout.write(f"dossier={dossier.pk} head={dossier.audit_head}")
        self.stdout.write(self.style.SUCCESS("Audit log intact."))
