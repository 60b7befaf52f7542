"""Seed the status mapping for both portals (see integrations/defaults.py for the reasons)."""

from django.db import migrations

# A copy, not an import: a migration must keep meaning what it meant when it was written.
DEFAULTS = [
    ("draft", "", 1, "Không đồng bộ: hồ sơ chưa nộp"),
    ("submitted", "", 1, ""),
    ("needs_completion", "", 1, "Chưa tiếp nhận, chờ hoàn thiện"),
    ("rejected", "", 3, ""),
    ("processing", "accept", 2, "Thời điểm tiếp nhận"),
    ("processing", "", 4, ""),
    ("awaiting_supplement", "", 5, ""),
    ("suspended", "", 8, ""),
    ("pending_approval", "", 4, ""),
    ("approved", "", 4, ""),
    ("refused", "", 9, "Kết quả là văn bản từ chối"),
    ("result_ready", "", 9, ""),
    ("returned", "", 10, ""),
    ("withdrawn", "", 7, ""),
]
SYSTEMS = ["national", "provincial"]


def seed(apps, schema_editor):
    StatusMapping = apps.get_model("integrations", "StatusMapping")
    for system in SYSTEMS:
        for state, transition, code, note in DEFAULTS:
            StatusMapping.objects.get_or_create(
                system=system, state=state, transition=transition,
                defaults={"status_code": code, "note": note},
            )


def unseed(apps, schema_editor):
    StatusMapping = apps.get_model("integrations", "StatusMapping")
    StatusMapping.objects.filter(system__in=SYSTEMS).delete()


class Migration(migrations.Migration):
    dependencies = [("integrations", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
