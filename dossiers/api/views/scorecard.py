"""The Decision 766 scorecard and the lists behind each of its counts."""

from urllib.parse import urlencode

from django.urls import reverse

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from portal.api.fields import ID_MAX, ReportDateField
from portal.api.mixins import SupervisorApi
from portal.api.schema import ErrorSerializer

from ...models import Dossier
from ...selectors.scorecard import (
    GROUP_MAX,
    PROCEDURE_SETS,
    SETS,
    scorecard,
    scorecard_scope,
    scorecard_set,
)
from ._common import _validated


class ScorecardFilterSerializer(serializers.Serializer):
    agency = serializers.CharField(
        required=False, max_length=32,
        help_text="agency code; managers and leaders of an agency read their own only, a "
                  "provincial manager (no agency) any or, without it, every agency")
    procedure = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    date_from = ReportDateField(
        required=False, help_text="first day of the period (Vietnam day); default: the first "
                                  "of date_to's month")
    date_to = ReportDateField(
        required=False, help_text="last day of the period, included; default: today")

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": "must not be before date_from"})
        return attrs


class ScorecardGroupSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=list(GROUP_MAX))
    label = serializers.CharField()
    score = serializers.FloatField(help_text="points, rounded to 0.01")
    max = serializers.IntegerField(help_text="the group's points in Decision 766")
    computed_max = serializers.IntegerField(
        help_text="the points of the group our data can award (DESIGN §5)")
    counts = serializers.DictField(
        child=serializers.FloatField(),  # integers, except the payment group's ratios
        help_text="the numbers the score is computed from, by stable name (integers; the "
                  "payment group's A, B, C are ratios from 0 to 1)")
    links = serializers.DictField(
        child=serializers.URLField(),
        help_text="for each count except the ratios, the API address listing what it counts")


class ScorecardSerializer(serializers.Serializer):
    agency = serializers.CharField(allow_null=True)
    procedure = serializers.IntegerField(allow_null=True)
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    total = serializers.FloatField(help_text="the sum of the groups' scores, 0 to 100")
    max = serializers.IntegerField()
    computed_max = serializers.IntegerField()
    groups = ScorecardGroupSerializer(many=True)


class ScorecardDossierSerializer(serializers.ModelSerializer):
    procedure = serializers.CharField(source="procedure.national_code")
    agency = serializers.CharField(source="handling_agency.code")
    state_at_end = serializers.CharField(
        allow_null=True, help_text="the state the log shows at the period's end")
    step_at_end = serializers.CharField(
        allow_null=True, help_text="the step the log shows at the period's end")

    class Meta:
        model = Dossier
        fields = ["id", "code", "procedure", "agency", "channel", "state", "state_at_end",
                  "step_at_end", "received_at", "due_at", "completed_at", "outcome"]


class ScorecardProcedureSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    national_code = serializers.CharField()
    name = serializers.CharField()
    fee_vnd = serializers.IntegerField()


class ScorecardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="invalid filter (a date, date_from after date_to, an "
                                     "unknown group or count)"),
    403: OpenApiResponse(ErrorSerializer, description="not a manager or leader, or another agency's figures"),
}


def _link_builder(request, filters: dict):
    query = urlencode({k: v.isoformat() if hasattr(v, "isoformat") else v
                       for k, v in filters.items() if v not in (None, "")})

    def link(group: str, count: str) -> str:
        path = reverse("api:dossiers:scorecard_list", kwargs={"group": group, "count": count})
        return request.build_absolute_uri(f"{path}?{query}" if query else path)

    return link


class ScorecardApi(SupervisorApi):
    """The agency's Decision 766 scorecard for a period: six groups, their scores and the
    counts behind them, each count linked to the list of what it counts."""

    @extend_schema(operation_id="v1_indicators_scorecard", parameters=[ScorecardFilterSerializer],
                   responses={200: ScorecardSerializer, **_ERRORS})
    def get(self, request):
        filters = _validated(ScorecardFilterSerializer, request.query_params)
        scope = scorecard_scope(user=request.user, **filters)
        link = _link_builder(request, {
            "agency": scope.agency, "procedure": scope.procedure,
            "date_from": scope.date_from, "date_to": scope.date_to,
        })
        # The counts keep their types (integers; A, B, C are ratios): the serializer documents
        # the shape, the selector's numbers go out as they are.
        return Response(scorecard(scope=scope, link=link))


class ScorecardListApi(SupervisorApi):
    """What one count of the scorecard counts, under the same filter, a page at a time:
    dossiers (with their state and step at the period's end), or procedures for the payment
    group's fee_procedures, procedures_paid_online and procedures_payable_online."""

    @extend_schema(
        operation_id="v1_indicators_scorecard_list",
        parameters=[ScorecardFilterSerializer],
        responses={200: inline_serializer("ScorecardListPage", {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": ScorecardDossierSerializer(many=True),
        }), **_ERRORS},
    )
    def get(self, request, group: str, count: str):
        filters = _validated(ScorecardFilterSerializer, request.query_params)
        if (group, count) not in SETS:
            raise serializers.ValidationError({"count": "unknown group or count"})
        scope = scorecard_scope(user=request.user, **filters)
        qs = scorecard_set(scope=scope, group=group, count=count)
        paginator = ScorecardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        serializer = (ScorecardProcedureSerializer if (group, count) in PROCEDURE_SETS
                      else ScorecardDossierSerializer)
        return paginator.get_paginated_response(serializer(page, many=True).data)
