"""The monthly rollup of the daily indicator summary, filled from the daily rows."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import DateField, Sum
from django.db.models.functions import Cast, TruncMonth

COUNTERS = (
    "received", "completed", "early", "on_time", "late", "refused", "rejected", "withdrawn",
    "fee_bearing", "paid_online", "digitized", "results_electronic", "rated", "rating_sum",
    "satisfied",
)


def fill(apps, schema_editor):
    """The monthly rollup of the daily summary rows already there."""
    daily = apps.get_model("dossiers", "DailySummary")
    monthly = apps.get_model("dossiers", "MonthlySummary")
    rows = (
        daily.objects.using(schema_editor.connection.alias)
        .values("agency_id", "procedure_id", "channel",
                month=Cast(TruncMonth("day"), DateField()))
        .annotate(**{c: Sum(c) for c in COUNTERS})
        .order_by()
    )
    monthly.objects.using(schema_editor.connection.alias).bulk_create(
        (monthly(**row) for row in rows.iterator(chunk_size=2000)), batch_size=2000
    )


class Migration(migrations.Migration):

    dependencies = [
        ('dossiers', '0023_overdue_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='MonthlySummary',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('channel', models.CharField(choices=[('online', 'Trực tuyến'), ('counter', 'Trực tiếp'), ('post', 'Bưu chính công ích'), ('national_portal', 'Cổng DVC quốc gia'), ('provincial_portal', 'Cổng DVC tỉnh')], max_length=32, verbose_name='kênh nộp')),
                ('received', models.PositiveIntegerField(default=0, verbose_name='đã tiếp nhận')),
                ('completed', models.PositiveIntegerField(default=0, verbose_name='đã giải quyết')),
                ('early', models.PositiveIntegerField(default=0, verbose_name='trước hạn')),
                ('on_time', models.PositiveIntegerField(default=0, verbose_name='đúng hạn')),
                ('late', models.PositiveIntegerField(default=0, verbose_name='quá hạn')),
                ('refused', models.PositiveIntegerField(default=0, verbose_name='từ chối giải quyết')),
                ('rejected', models.PositiveIntegerField(default=0, verbose_name='từ chối tiếp nhận')),
                ('withdrawn', models.PositiveIntegerField(default=0, verbose_name='rút hồ sơ')),
                ('fee_bearing', models.PositiveIntegerField(default=0, verbose_name='có phí, lệ phí')),
                ('paid_online', models.PositiveIntegerField(default=0, verbose_name='thanh toán trực tuyến')),
                ('digitized', models.PositiveIntegerField(default=0, verbose_name='đã số hóa')),
                ('results_electronic', models.PositiveIntegerField(default=0, verbose_name='kết quả điện tử')),
                ('rated', models.PositiveIntegerField(default=0, verbose_name='đã đánh giá')),
                ('rating_sum', models.PositiveIntegerField(default=0, verbose_name='tổng điểm đánh giá')),
                ('satisfied', models.PositiveIntegerField(default=0, verbose_name='hài lòng')),
                ('month', models.DateField(verbose_name='tháng')),
                ('agency', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='dossiers.agency', verbose_name='cơ quan')),
                ('procedure', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='dossiers.procedure', verbose_name='thủ tục')),
            ],
            options={
                'verbose_name': 'số liệu tổng hợp tháng',
                'verbose_name_plural': 'số liệu tổng hợp tháng',
                'indexes': [models.Index(fields=['agency', 'month'], name='monthly_summary_agency_idx'), models.Index(fields=['month'], name='monthly_summary_month_idx')],
                'constraints': [models.UniqueConstraint(fields=('agency', 'procedure', 'channel', 'month'), name='monthly_summary_unique')],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
