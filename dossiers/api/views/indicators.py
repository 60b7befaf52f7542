"""The managers' indicators and their CSV exports."""

import csv

from django.http import HttpResponse
from django.utils import timezone

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from portal import clock
from portal.api.mixins import SupervisorApi

from ... import selectors, services, sla
from ._common import _validated

# --- indicators ----------------------------------------------------------------------


class IndicatorFilterSerializer(serializers.Serializer):
    agency = serializers.CharField(required=False)
    procedure = serializers.IntegerField(required=False)
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
        return Response(selectors.indicators(user=request.user, **filters))


INDICATOR_COLUMNS = [
    "key", "received", "completed", "early", "on_time", "late", "on_time_rate", "in_progress",
    "within_time", "overdue", "paused", "withdrawn", "refused", "rejected", "fee_bearing",
    "paid_online", "online_payment_rate", "digitized", "digitization_rate",
    "results_electronic", "electronic_result_rate", "rated", "average_rating", "satisfied_rate",
]


def _csv_response(filename: str) -> tuple[HttpResponse, csv.writer]:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # so spreadsheet programs read the Vietnamese text as UTF-8
    return response, csv.writer(response)


class IndicatorsCsvApi(SupervisorApi):
    @extend_schema(parameters=[IndicatorFilterSerializer], responses={(200, "text/csv"): str})
    def get(self, request):
        filters = _validated(IndicatorFilterSerializer, request.query_params)
        filters.setdefault("group_by", "procedure")
        data = selectors.indicators(user=request.user, **filters)
        response, writer = _csv_response("chi-so.csv")
        writer.writerow(INDICATOR_COLUMNS)
        for row in [*data["groups"], {**data, "key": "total"}]:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in INDICATOR_COLUMNS])
        return response


class OverdueCsvApi(SupervisorApi):
    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request):
        now = clock.now()
        dossiers = selectors.overdue_list(
            user=request.user, agency=request.query_params.get("agency"), now=now
        )
        response, writer = _csv_response("ho-so-qua-han.csv")
        writer.writerow(["code", "procedure", "agency", "state", "received_at", "due_at",
                         "working_days_late", "assignee", "step"])
        calendars: dict = {}
        for d in dossiers.iterator(chunk_size=500):
            cal = calendars.get(d.handling_agency_id) or calendars.setdefault(
                d.handling_agency_id, services.calendar_for(d.handling_agency)
            )
            late = sla.working_days_late(d.due_at, now, cal)
            writer.writerow([
                d.code, d.procedure.name, d.handling_agency.code, d.state,
                timezone.localtime(d.received_at).isoformat(),
                timezone.localtime(d.due_at).isoformat(), f"{late:.2f}",
                d.assignee.display_name if d.assignee else "",
                d.current_step.code if d.current_step else "",
            ])
        return response
