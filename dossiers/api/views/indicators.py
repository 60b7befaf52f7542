"""The managers' indicators and their CSV exports."""

import csv

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from portal import clock
from portal.api.fields import ID_MAX
from portal.api.mixins import SupervisorApi

from ... import services, sla
from ...selectors.indicators import (
    FIGURE_LABELS,
    RATES,
    group_names,
    indicators,
    overdue_list,
)
from ._common import _validated

# --- indicators ----------------------------------------------------------------------


class IndicatorFilterSerializer(serializers.Serializer):
    agency = serializers.CharField(required=False)
    procedure = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    group_by = serializers.ChoiceField(
        choices=["agency", "procedure", "channel", "month"], required=False
    )

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": "must not be before date_from"})
        return attrs


class IndicatorsApi(SupervisorApi):
    @extend_schema(parameters=[IndicatorFilterSerializer], responses=dict)
    def get(self, request):
        filters = _validated(IndicatorFilterSerializer, request.query_params)
        return Response(indicators(user=request.user, **filters))


INDICATOR_COLUMNS = [
    "received", "completed", "early", "on_time", "late", "on_time_rate", "in_progress",
    "within_time", "overdue", "paused", "withdrawn", "refused", "rejected", "fee_bearing",
    "paid_online", "online_payment_rate", "digitized", "digitization_rate",
    "results_electronic", "electronic_result_rate", "rated", "average_rating", "satisfied_rate",
]
# The first column: what the rows are, by name.
GROUP_HEADERS = {
    "agency": _("Cơ quan"), "procedure": _("Thủ tục"), "channel": _("Kênh nộp"),
    "month": _("Tháng"),
}


def _csv_response(filename: str) -> tuple[HttpResponse, csv.writer]:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # so spreadsheet programs read the Vietnamese text as UTF-8
    return response, csv.writer(response)


def _cell(row: dict, column: str):
    value = row.get(column)
    if value is None:
        return ""
    if column in RATES:
        return round(value * 100, 2)  # the header says (%)
    return value


class IndicatorsCsvApi(SupervisorApi):
    @extend_schema(parameters=[IndicatorFilterSerializer], responses={(200, "text/csv"): str})
    def get(self, request):
        filters = _validated(IndicatorFilterSerializer, request.query_params)
        filters.setdefault("group_by", "procedure")
        data = indicators(user=request.user, **filters)
        names = group_names(
            group_by=filters["group_by"], keys=[g["key"] for g in data["groups"]]
        )
        response, writer = _csv_response("chi-so.csv")
        writer.writerow([
            GROUP_HEADERS[filters["group_by"]],
            *(FIGURE_LABELS[c] for c in INDICATOR_COLUMNS),
        ])
        for row in data["groups"]:
            writer.writerow([names.get(row["key"], row["key"]),
                             *(_cell(row, c) for c in INDICATOR_COLUMNS)])
        writer.writerow([_("Tổng cộng"), *(_cell(data, c) for c in INDICATOR_COLUMNS)])
        return response


class OverdueCsvApi(SupervisorApi):
    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request):
        now = clock.now()
        dossiers = overdue_list(
            user=request.user, agency=request.query_params.get("agency"), now=now
        )
        response, writer = _csv_response("ho-so-qua-han.csv")
        writer.writerow([
            _("Mã hồ sơ"), _("Thủ tục"), _("Cơ quan"), _("Trạng thái"), _("Ngày tiếp nhận"),
            _("Ngày hẹn trả"), _("Số ngày làm việc quá hạn"), _("Người xử lý"), _("Bước xử lý"),
        ])
        calendars: dict = {}
        for d in dossiers.iterator(chunk_size=500):
            cal = calendars.get(d.handling_agency_id) or calendars.setdefault(
                d.handling_agency_id, services.calendar_for(d.handling_agency)
            )
            late = sla.working_days_late(d.due_at, now, cal)
            writer.writerow([
                d.code, d.procedure.name, d.handling_agency.name, d.get_state_display(),
                timezone.localtime(d.received_at).isoformat(),
                timezone.localtime(d.due_at).isoformat(), f"{late:.2f}",
                d.assignee.display_name if d.assignee else "",
                d.current_step.name if d.current_step else "",
            ])
        return response
