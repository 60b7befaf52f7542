from django.core.management.base import BaseCommand

from dossiers.services.demo import ACCOUNTS, DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = "Load the catalog, the demo accounts (one per role) and ~300 demo dossiers."

    def add_arguments(self, parser):
        parser.add_argument("--dossiers", type=int, default=300, help="how many dossiers")
        parser.add_argument("--seed", type=int, default=2025, help="random seed")

    def handle(self, *args, dossiers: int, seed: int, **options):
        summary = demo_seed(dossiers=dossiers, seed=seed)
        self.stdout.write(f"{summary.procedures} procedures in the catalog.")
        if summary.skipped:
            self.stdout.write(f"{summary.dossiers} dossiers already present; none added.")
        else:
            states = ", ".join(f"{k}: {v}" for k, v in sorted(summary.by_state.items()))
            self.stdout.write(f"{summary.dossiers} demo dossiers ({states}).")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo accounts, password {DEMO_PASSWORD}:"))
        for username, role, name, *_ in ACCOUNTS:
            self.stdout.write(f"  {username:<12} {role:<14} {name}")
