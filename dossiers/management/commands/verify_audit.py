from django.core.management.base import BaseCommand, CommandError

from dossiers.services import audit_verify


class Command(BaseCommand):
    help = "Check every dossier's transition log against its hash chain."

    def handle(self, *args, **options):
        broken = audit_verify()
        for item in broken:
            self.stdout.write(
                f"BROKEN dossier={item.dossier_id} row={item.transition_id or '-'}: {item.problem}"
            )
        if broken:
            raise CommandError(f"{len(broken)} broken link(s) in the audit log")
        self.stdout.write(self.style.SUCCESS("Audit log intact."))
