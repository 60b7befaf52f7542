"""Recompute the monthly rollup of the indicators from the daily summary: every month, or the
months named with --month."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from dossiers.services.indicators import summary_monthly_rebuild


def _month(value: str) -> date:
    try:
        return date.fromisoformat(f"{value}-01")
    except ValueError:
        raise CommandError(f"Tháng không hợp lệ: {value!r} (cần dạng YYYY-MM)") from None


class Command(BaseCommand):
    help = (
        "Recompute the monthly rollup the indicators read from the daily summary rows: every "
        "month, or only those named with --month. Changes made meanwhile wait and are counted."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--month", action="append", type=_month,
                            help="a month to recompute, YYYY-MM (repeat for several)")

    def handle(self, *args, **options) -> None:
        written = summary_monthly_rebuild(months=options["month"])
        self.stdout.write(f"Đã tính lại {written} dòng số liệu tháng.")
