"""The managers' indicators and their CSV exports."""

import csv
import re
from collections.abc import Iterator

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from portal import clock
from portal.api.fields import ID_MAX, ReportDateField
from portal.api.mixins import SupervisorApi

from ... import services, sla
from ...models import Dossier
from ...selectors.indicators import (
    FIGURE_LABELS,
    RATES,
    group_names,
    indicators,
    overdue_instant,
    overdue_names,
    overdue_rows,
    scope_agency_code,
)
from ._common import _validated

# --- indicators ----------------------------------------------------------------------


class IndicatorFilterSerializer(serializers.Serializer):
    agency = serializers.CharField(required=False)
    procedure = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    date_from = ReportDateField(required=False)
    date_to = ReportDateField(required=False)
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


OVERDUE_CHUNK = 5000  # rows fetched from the database, formatted and sent at a time
# What the csv writer would quote in a cell (the excel dialect: its delimiter, its quote
# character, line breaks).
_QUOTED = re.compile(r'[",\r\n]').search


class _Echo:
    """A file whose writes hand the text back: the csv writer formats, the response streams."""

    def write(self, value: str) -> str:
        return value


class _Cells(dict):
    """The CSV cells of the names by id, each quoted by the csv writer once, not once a row."""

    def __init__(self, names: dict, writer) -> None:
        super().__init__({None: ""})
        self._names = names
        self._writer = writer

    def __missing__(self, key) -> str:
        value = self[key] = _cell_text(self._writer, self._names[key])
        return value


def _cell_text(writer, value: str) -> str:
    # A row of the value and an empty cell: the writer never quotes that last one, and a lone
    # empty value is not written as "" the way a row of one empty cell is.
    return writer.writerow((value, ""))[:-3]


def _overdue_csv(rows, header: list[str], calendars: dict, now) -> Iterator[str]:
    """The CSV text of the overdue rows, as the excel dialect of the csv writer writes them:
    the cells of names and states are formatted once, a row is joined from its cells."""
    yield "\ufeff"  # so spreadsheet programs read the Vietnamese text as UTF-8
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    names = overdue_names(rows=rows)  # after the first bytes are on their way
    procedures, agencies = _Cells(names["procedures"], writer), _Cells(names["agencies"], writer)
    assignees, steps = _Cells(names["assignees"], writer), _Cells(names["steps"], writer)
    states = _Cells({value: str(label) for value, label in Dossier.State.choices}, writer)
    local = timezone.get_current_timezone()
    instant, quoted = overdue_instant, _QUOTED
    lateness: dict = {}
    chunk: list[str] = []
    for (code, procedure_id, agency_id, state, received, due, assignee_id,
         step_id) in rows.iterator(chunk_size=OVERDUE_CHUNK):
        late = lateness.get(agency_id)
        if late is None:
            late = lateness[agency_id] = sla.working_days_late_at(now, calendars[agency_id])
        due_at = instant(due)
        # The instants and the days late are digits and separators: never quoted.
        chunk.append(
            f"{_cell_text(writer, code) if quoted(code) else code},{procedures[procedure_id]},"
            f"{agencies[agency_id]},{states[state]},"
            f"{instant(received).astimezone(local).isoformat()},"
            f"{due_at.astimezone(local).isoformat()},{late(due_at):.2f},"
            f"{assignees[assignee_id]},{steps[step_id]}\r\n"
        )
        if len(chunk) >= OVERDUE_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


class OverdueFilterSerializer(serializers.Serializer):
    agency = serializers.CharField(required=False)


class OverdueCsvApi(SupervisorApi):
    """The overdue list as CSV, streamed: one query for the rows, however many there are."""

    @extend_schema(parameters=[OverdueFilterSerializer], responses={(200, "text/csv"): str})
    def get(self, request):
        now = clock.now()
        agency = _validated(OverdueFilterSerializer, request.query_params).get("agency")
        # The scope is checked and the calendars read before the first byte is sent, so a
        # filter outside the user's scope is still answered with an error status.
        code = scope_agency_code(user=request.user, agency=agency)
        rows = overdue_rows(user=request.user, agency=agency, now=now)
        calendars = services.calendars_by_agency(agency_code=code)
        header = [
            _("Mã hồ sơ"), _("Thủ tục"), _("Cơ quan"), _("Trạng thái"), _("Ngày tiếp nhận"),
            _("Ngày hẹn trả"), _("Số ngày làm việc quá hạn"), _("Người xử lý"), _("Bước xử lý"),
        ]
        response = StreamingHttpResponse(
            _overdue_csv(rows, header, calendars, now), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="ho-so-qua-han.csv"'
        return response
