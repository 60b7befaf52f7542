from datetime import timedelta

from django.core.management.base import BaseCommand

from dossiers.services.orphans import stored_files_sweep


class Command(BaseCommand):
    help = ("Delete stored document and result files that no row names (left by a process "
            "killed between writing a file and committing its row).")

    def add_arguments(self, parser):
        parser.add_argument("--older-than-minutes", type=int, default=60,
                            help="only files last written this long ago (default 60)")
        parser.add_argument("--dry-run", action="store_true", help="list, delete nothing")

    def handle(self, *args, **options):
        names = stored_files_sweep(older_than=timedelta(minutes=options["older_than_minutes"]),
                                   dry_run=options["dry_run"])
        verb = "would delete" if options["dry_run"] else "deleted"
        for name in names:
            self.stdout.write(f"{verb} {name}")
        self.stdout.write(f"{len(names)} orphan file(s) {verb}.")
