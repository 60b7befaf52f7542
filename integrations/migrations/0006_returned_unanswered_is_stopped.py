"""A dossier returned because the supplement asked for never came is status 8 (stopped):
processing ended without a decision; the applicant did not withdraw it and no result exists."""

from django.db import migrations

NOTE = "Trả lại hồ sơ do quá hạn bổ sung mà người nộp không bổ sung"
SYSTEMS = ("national", "provincial")


def forward(apps, schema_editor):
    StatusMapping = apps.get_model("integrations", "StatusMapping")
    for system in SYSTEMS:
        StatusMapping.objects.get_or_create(
            system=system, state="returned_unanswered", transition="",
            defaults={"status_code": 8, "note": NOTE},
        )


def backward(apps, schema_editor):
    StatusMapping = apps.get_model("integrations", "StatusMapping")
    StatusMapping.objects.filter(
        state="returned_unanswered", transition="", status_code=8, note=NOTE
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("integrations", "0005_refusal_handed_over_is_returned")]
    operations = [migrations.RunPython(forward, backward)]
