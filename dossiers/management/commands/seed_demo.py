import logging
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _

from dossiers.models import Dossier
from dossiers.services.demo import (
    ACCOUNTS,
    DEMO_PASSWORD,
    demo_processes_usable,
    demo_seed,
    demo_walkers,
)
from portal.roles import Role
from portal.second_factor import totp_device_confirmed

User = get_user_model()


class Command(BaseCommand):
    help = "Load the catalog, the demo accounts (one per role) and ~300 demo dossiers."

    def add_arguments(self, parser):
        parser.add_argument("--dossiers", type=int, default=300, help="how many dossiers")
        parser.add_argument("--seed", type=int, default=2025, help="random seed")
        parser.add_argument("--migrate", action="store_true",
                            help="apply the migrations first, in the same process")
        parser.add_argument("--ready-file", default="",
                            help="create this file once the accounts and the first batch are in")
        parser.add_argument("--first-batch", type=int, default=0,
                            help="how many dossiers before the ready file (0: all of them)")
        parser.add_argument("--wait-for", default="", metavar="URL",
                            help="after migrating, wait until this URL answers (the simulator "
                                 "of the portals, started at the same time)")
        parser.add_argument("--wait-seconds", type=float, default=60,
                            help="how long to wait for --wait-for before giving up")
        parser.add_argument("--processes", type=int, default=0,
                            help="how many processes walk the dossiers (0: one per core, at "
                                 "most two, when the database is shared between processes)")

    def handle(self, *args, dossiers: int, seed: int, migrate: bool, ready_file: str,
               first_batch: int, processes: int, wait_for: str, wait_seconds: float,
               **options):
        started = time.monotonic()
        if migrate:
            with _sqlite_without_sync():
                call_command("migrate", interactive=False, verbosity=0)
            self._progress(_("Cơ sở dữ liệu đã cập nhật (%(seconds).1f giây).") % {
                "seconds": time.monotonic() - started})

        if wait_for:
            _wait_for(wait_for, seconds=wait_seconds)
        if processes <= 0:
            processes = demo_walkers()
        elif processes > 1 and not demo_processes_usable():
            raise CommandError(_(
                "Chỉ chạy nhiều tiến trình khi các tiến trình dùng chung cơ sở dữ liệu (không "
                "phải SQLite trong bộ nhớ, không trong một giao dịch)."))

        def ready() -> None:
            if ready_file:
                Path(ready_file).touch()
                self._progress(_("Dữ liệu demo đã đủ để mở cổng."))

        with _quiet("weasyprint"), _sqlite_without_sync():
            summary = demo_seed(dossiers=dossiers, seed=seed, progress=self._progress,
                                first_batch=first_batch, on_first_batch=ready,
                                processes=processes)
        if not summary.skipped:
            states = ", ".join(
                f"{Dossier.State(state).label}: {count}"
                for state, count in sorted(summary.by_state.items())
            )
            self.stdout.write(_("%(count)d hồ sơ demo (%(states)s).") % {
                "count": summary.dossiers, "states": states})
        self.stdout.write(self.style.SUCCESS(_("Xong trong %(seconds)d giây.") % {
            "seconds": round(time.monotonic() - started)}))
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(
            _("Tài khoản demo, mật khẩu %(password)s:") % {"password": DEMO_PASSWORD}))
        totp_label = _("mã xác thực (TOTP):")
        for username, role, name, *_rest in ACCOUNTS:
            self.stdout.write(f"  {username:<12} {role:<14} {name}")
            if role != Role.APPLICANT:
                device = totp_device_confirmed(user=User.objects.get(username=username))
                self.stdout.write(f"  {'':<12} {totp_label} {device.config_url}")
        self.stdout.write(_(
            "Cán bộ đăng nhập bằng mật khẩu rồi mã 6 chữ số: thêm địa chỉ otpauth:// ở trên vào "
            "ứng dụng xác thực, hoặc xem mã hiện tại bằng: manage.py otp_code <tên đăng nhập>."))

    def _progress(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()


def _wait_for(url: str, *, seconds: float) -> None:
    """Wait until `url` answers (any status): the simulator starts while we migrate."""
    if not url.startswith(("http://", "https://")):
        raise CommandError(_("--wait-for cần một địa chỉ http:// hoặc https://, không phải %(url)s.")
                           % {"url": url})
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()  # noqa: S310  # nosec B310  # http(s) only
            return
        except urllib.error.HTTPError:
            return
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise CommandError(_("%(url)s không trả lời sau %(seconds)d giây (%(error)s).") % {
                    "url": url, "seconds": seconds, "error": exc}) from exc
            time.sleep(0.2)


@contextmanager
def _quiet(*loggers: str):
    """Keeps libraries' step-by-step chatter (seven lines per slip PDF) out of the progress."""
    previous = {name: logging.getLogger(name).level for name in loggers}
    for name in loggers:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        yield
    finally:
        for name, level in previous.items():
            logging.getLogger(name).setLevel(level)


@contextmanager
def _sqlite_without_sync():
    """On SQLite, the migrations' and the seeding's thousands of small commits do not each wait
    for the disk (a fresh demo database that a crash would leave half-seeded is simply made
    again); the running portal keeps the database's normal durability."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        previous = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous=OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous={int(previous)}")
