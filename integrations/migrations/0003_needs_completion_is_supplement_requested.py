"""A dossier returned for completion before reception maps to 5 (supplement requested), not 1:
a status that did not change told the portals nothing (integrations/defaults.py)."""

from django.db import migrations

# A copy, not an import: a migration must keep meaning what it meant when it was written.
SEEDED_NOTE = "Chưa tiếp nhận, chờ hoàn thiện"
NOTE = "Chưa tiếp nhận, yêu cầu hoàn thiện hồ sơ (mẫu 02)"


def forward(apps, schema_editor):
    StatusMapping = apps.get_model("integrations", "StatusMapping")
    # Only rows as they were seeded: a code an administrator chose stays.
    StatusMapping.objects.filter(
        state="needs_completion", transition="", status_code=1, note=SEEDED_NOTE
    ).update(status_code=5, note=NOTE)


def backward(apps, schema_editor):
    StatusMapping = apps.get_model("integrations", "StatusMapping")
    StatusMapping.objects.filter(
        state="needs_completion", transition="", status_code=5, note=NOTE
    ).update(status_code=1, note=SEEDED_NOTE)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0002_seed_status_mapping")]
    operations = [migrations.RunPython(forward, backward)]
