"""Benchmark of the spine: submission, the officers' queue and the indicators on demo data.

Run: .venv/bin/python bench/spine.py [--dossiers 300]
It builds a throw-away SQLite database, seeds demo dossiers through the real services, then
prints the time and SQL queries of each operation next to its baseline measured in the same
run (a bare primary-key fetch of a dossier), so the figures compare across machines.
"""

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _timed(fn, repeat: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    samples, queries = [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
        queries = len(ctx.captured_queries)
    return statistics.median(samples) * 1000, queries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=300)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ["PRIVATE_MEDIA_ROOT"] = f"{tmp}/media"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ["DJANGO_LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_DEBUG"] = "0"  # no query log growing through the seeding
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import override_settings

    call_command("migrate", verbosity=0)
    from dossiers import selectors, services
    from dossiers.models import Dossier
    from dossiers.services.demo import demo_seed
    from portal.models import User

    start = time.perf_counter()
    demo_seed(dossiers=args.dossiers)
    print(f"seeded {args.dossiers} dossiers in {time.perf_counter() - start:.1f} s")

    reception = User.objects.get(username="tiepnhan")
    manager = User.objects.get(username="quanly")
    applicant = User.objects.get(username="doanhnghiep")
    any_id = Dossier.objects.values_list("pk", flat=True).first()
    baseline, _ = _timed(lambda: Dossier.objects.get(pk=any_id), 50)
    rows = [("baseline: fetch one dossier by key", baseline, 1)]

    drafts = list(Dossier.objects.filter(state="draft", applicant=applicant)[:1])
    if drafts:
        dossier = drafts[0]
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            elapsed, queries = _timed(
                lambda: services.dossier_submit(dossier_id=dossier.pk, actor=dossier.applicant), 1)
        # The after-commit email task runs eagerly here, so its queries are counted too;
        # tests/dossiers/test_workflow.py holds the transaction alone to at most 10.
        rows.append(("submit + its email task (one run)", elapsed, queries))
    for size in (25, 100):
        elapsed, queries = _timed(
            lambda size=size: selectors.dossier_queue(user=reception, page_size=size), 20)
        rows.append((f"queue page of {size}", elapsed, queries))
    elapsed, queries = _timed(lambda: selectors.indicators(user=manager), 20)
    rows.append(("indicators, whole agency", elapsed, queries))
    elapsed, queries = _timed(lambda: selectors.indicators(user=manager, group_by="month"), 20)
    rows.append(("indicators by month", elapsed, queries))

    print(f"{'operation':<40} {'median ms':>10} {'x baseline':>11} {'queries':>8}")
    for name, ms, queries in rows:
        print(f"{name:<40} {ms:>10.2f} {ms / baseline:>11.1f} {queries:>8}")


if __name__ == "__main__":
    main()
