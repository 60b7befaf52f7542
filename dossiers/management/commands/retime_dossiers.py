"""Re-time open dossiers after days off were corrected: a preview first, then --apply."""

from datetime import date

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dossiers.services.retime import retime_apply, retime_plan


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Ngày không hợp lệ: {value!r} (cần dạng YYYY-MM-DD)") from None


def _when(value) -> str:
    return timezone.localtime(value).strftime("%H:%M %d/%m/%Y") if value else "—"


class Command(BaseCommand):
    help = (
        "After the days named with --day were corrected (a day off added or removed in the "
        "admin, or the holidays package fixed): lists the open dossiers whose due time moves, "
        "those whose history does not give their due time, and the completed dossiers whose "
        "outcome would have changed. With --apply and --reason, moves them: each change is "
        "logged on the dossier's timeline, pushed to the portals and told to the applicant."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--day", action="append", required=True, type=_day,
                            help="a corrected day, YYYY-MM-DD (repeat for several)")
        parser.add_argument("--apply", action="store_true", help="move the dossiers listed")
        parser.add_argument("--reason", default="", help="the reason, shown on each timeline")
        parser.add_argument("--actor", default="", help="the administrator's username")

    def handle(self, *args, **options) -> None:
        days = options["day"]
        try:
            if options["apply"]:
                actor = None
                if options["actor"]:
                    actor = get_user_model().objects.filter(username=options["actor"]).first()
                    if actor is None:
                        raise CommandError(f"Không có tài khoản {options['actor']!r}.")
                plan = retime_apply(days=days, actor=actor, reason=options["reason"])
            else:
                plan = retime_plan(days=days)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        out = self.stdout
        verb = "Đã dời" if options["apply"] else "Sẽ dời"
        out.write(f"{verb} hạn {len(plan.moves)} hồ sơ đang giải quyết:")
        for move in plan.moves:
            out.write(f"  {move.code}: {_when(move.due_at)} → {_when(move.new_due_at)}")
        if plan.unrebuilt:
            out.write(f"{len(plan.unrebuilt)} hồ sơ không tính lại được từ lịch sử "
                      "(cần cán bộ xem xét, không thay đổi):")
            for item in plan.unrebuilt:
                out.write(f"  {item.code}: hạn ghi nhận {_when(item.due_at)}")
        out.write(f"{len(plan.outcomes)} hồ sơ đã hoàn thành sẽ có kết quả khác "
                  "(giữ nguyên kết quả đã ghi):")
        for item in plan.outcomes:
            out.write(f"  {item.code}: {item.outcome} → {item.new_outcome} "
                      f"(hạn {_when(item.due_at)} → {_when(item.new_due_at)}, "
                      f"hoàn thành {_when(item.completed_at)})")
        if not options["apply"] and plan.moves:
            out.write("Chạy lại với --apply --reason \"...\" để dời hạn các hồ sơ trên.")
