from django.db import migrations

from dossiers.models.catalog import form_schema_ordered


def record_order(apps, schema_editor):
    """Each procedure's form keeps its field order beside the fields (on PostgreSQL the order
    read back is jsonb's; loading the catalog again restores the author's)."""
    Procedure = apps.get_model("dossiers", "Procedure")
    for procedure in Procedure.objects.exclude(form_schema={}).only("id", "form_schema"):
        ordered = form_schema_ordered(procedure.form_schema)
        if ordered != procedure.form_schema:
            Procedure.objects.filter(pk=procedure.pk).update(form_schema=ordered)


class Migration(migrations.Migration):
    dependencies = [("dossiers", "0013_vietnamese_labels_timestamps")]

    operations = [migrations.RunPython(record_order, migrations.RunPython.noop)]
