"""A refusal notice handed over to the applicant is status 10 (result returned): the refusal
is the result of the dossier, and the portals count its hand-over like any other result."""

from django.db import migrations

NOTE = "Đã trả văn bản từ chối giải quyết cho người nộp"
SYSTEMS = ("national", "provincial")


def forward(apps, schema_editor):
    StatusMapping = apps.get_model("integrations", "StatusMapping")
    for system in SYSTEMS:
        StatusMapping.objects.get_or_create(
            system=system, state="refused", transition="hand_over_refusal",
            defaults={"status_code": 10, "note": NOTE},
        )


def backward(apps, schema_editor):
    StatusMapping = apps.get_model("integrations", "StatusMapping")
    StatusMapping.objects.filter(
        state="refused", transition="hand_over_refusal", status_code=10, note=NOTE
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("integrations", "0004_vietnamese_labels_timestamps")]
    operations = [migrations.RunPython(forward, backward)]
