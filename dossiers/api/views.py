"""HTTP for dossiers: one APIView per action, each validate / select / call / serialize."""

import csv
import inspect

from django.http import FileResponse, HttpResponse
from django.utils import timezone

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle

from portal import clock
from portal.api.mixins import (
    ApplicantApi,
    AuthenticatedApi,
    OfficerApi,
    PublicApi,
    SupervisorApi,
)
from portal.api.permissions import IsApplicant

from .. import selectors, services
from ..exceptions import InvalidFormData
from ..models import ApologySlip, Dossier, Result
from .serializers import (
    DocumentSerializer,
    DossierOwnerSerializer,
    DossierSerializer,
    ProcedureSerializer,
    TransitionSerializer,
)


def _serialize(dossier: Dossier, user) -> dict:
    cls = DossierOwnerSerializer if dossier.applicant_id == user.pk else DossierSerializer
    return cls(dossier).data


def _validated(serializer_cls, data) -> dict:
    serializer = serializer_cls(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- catalog -------------------------------------------------------------------------


class ProcedureListApi(PublicApi):
    @extend_schema(responses=ProcedureSerializer(many=True))
    def get(self, request):
        procedures = selectors.procedure_list(
            sector=request.query_params.get("sector"), search=request.query_params.get("q")
        )
        return Response(ProcedureSerializer(procedures, many=True).data)


class ProcedureDetailApi(PublicApi):
    @extend_schema(responses=ProcedureSerializer)
    def get(self, request, procedure_id: int):
        procedure = selectors.procedure_list().filter(pk=procedure_id).first()
        if procedure is None:
            from ..exceptions import ProcedureNotFound

            raise ProcedureNotFound()
        return Response(ProcedureSerializer(procedure).data)


# --- the applicant's dossiers --------------------------------------------------------


class DossierListApi(AuthenticatedApi):
    @extend_schema(responses=DossierSerializer(many=True))
    def get(self, request):
        dossiers = selectors.dossier_list_for(user=request.user)[:200]
        return Response([_serialize(d, request.user) for d in dossiers])


class DossierCreateApi(ApplicantApi):
    class InputSerializer(serializers.Serializer):
        procedure_id = serializers.IntegerField()
        form_data = serializers.JSONField(required=False, default=dict)
        on_behalf_name = serializers.CharField(required=False, default="", allow_blank=True,
                                               max_length=255)

    @extend_schema(request=InputSerializer, responses={201: DossierOwnerSerializer})
    def post(self, request):
        data = _validated(self.InputSerializer, request.data)
        dossier = services.dossier_create(actor=request.user, **data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier.pk)
        return Response(_serialize(dossier, request.user), status=status.HTTP_201_CREATED)


class DossierDetailApi(AuthenticatedApi):
    @extend_schema(responses=DossierSerializer)
    def get(self, request, dossier_id: int):
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        body = _serialize(dossier, request.user)
        body["documents"] = DocumentSerializer(
            selectors.dossier_documents(dossier=dossier), many=True
        ).data
        return Response(body)


class DossierFormUpdateApi(ApplicantApi):
    class InputSerializer(serializers.Serializer):
        form_data = serializers.JSONField()
        version = serializers.IntegerField(required=False)

    @extend_schema(request=InputSerializer, responses=DossierOwnerSerializer)
    def put(self, request, dossier_id: int):
        data = _validated(self.InputSerializer, request.data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        services.dossier_update_form(dossier_id=dossier.pk, actor=request.user, **data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        return Response(_serialize(dossier, request.user))


class DocumentUploadApi(AuthenticatedApi):
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        component = serializers.CharField(max_length=64)
        file = serializers.FileField(allow_empty_file=True)
        digitized = serializers.BooleanField(required=False, default=False)

    @extend_schema(request=InputSerializer, responses={201: DocumentSerializer})
    def post(self, request, dossier_id: int):
        data = _validated(self.InputSerializer, request.data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        document = services.document_upload(
            dossier_id=dossier.pk, actor=request.user, component_code=data["component"],
            uploaded_file=data["file"], digitized=data["digitized"],
        )
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class DocumentListApi(AuthenticatedApi):
    @extend_schema(responses=DocumentSerializer(many=True))
    def get(self, request, dossier_id: int):
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        documents = selectors.dossier_documents(dossier=dossier, all_versions=True)
        return Response(DocumentSerializer(documents, many=True).data)


class DocumentDownloadApi(AuthenticatedApi):
    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, document_id: int):
        document = selectors.document_get_for(user=request.user, document_id=document_id)
        response = FileResponse(
            document.file.open("rb"), as_attachment=True, filename=document.original_name,
            content_type=document.content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response


class DossierTimelineApi(AuthenticatedApi):
    @extend_schema(responses=TransitionSerializer(many=True))
    def get(self, request, dossier_id: int):
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        history = selectors.dossier_history(dossier=dossier)
        return Response(TransitionSerializer(history, many=True).data)


class DossierResultApi(AuthenticatedApi):
    @extend_schema(responses=dict)
    def get(self, request, dossier_id: int):
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        result = Result.objects.filter(dossier=dossier).first()
        if result is None:
            from ..exceptions import DossierNotFound

            raise DossierNotFound("Hồ sơ chưa có kết quả.")
        return Response({
            "kind": result.kind, "number": result.number, "issued_at": result.issued_at,
            "electronic": result.electronic, "signed": result.signed, "sha256": result.sha256,
            "outcome": dossier.outcome,
        })


class PaymentStartApi(ApplicantApi):
    @extend_schema(request=None, responses={201: dict})
    def post(self, request, dossier_id: int):
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        payment = services.payment_start(dossier_id=dossier.pk, actor=request.user)
        # The fake provider settles at once through the same confirmation path a signed
        # callback takes; a real provider redirects the applicant and calls back.
        if payment.provider == "fake" and payment.status == "pending":
            payment = services.payment_confirm(
                provider=payment.provider, provider_reference=payment.provider_reference,
                amount=payment.amount, confirmed_by="provider:fake",
            )
        return Response(
            {"id": payment.pk, "amount": payment.amount, "status": payment.status,
             "provider": payment.provider, "provider_reference": payment.provider_reference},
            status=status.HTTP_201_CREATED,
        )


class RatingCreateApi(ApplicantApi):
    class InputSerializer(serializers.Serializer):
        score = serializers.IntegerField(min_value=1, max_value=5)
        comment = serializers.CharField(required=False, default="", allow_blank=True,
                                        max_length=2000)

    @extend_schema(request=InputSerializer, responses={201: dict})
    def post(self, request, dossier_id: int):
        data = _validated(self.InputSerializer, request.data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        rating = services.rating_create(dossier_id=dossier.pk, actor=request.user, **data)
        return Response({"score": rating.score, "comment": rating.comment},
                        status=status.HTTP_201_CREATED)


# --- transitions ---------------------------------------------------------------------


class _TransitionApi(AuthenticatedApi):
    """Base of the one-view-per-transition endpoints; subclasses name their service."""

    service = None

    class InputSerializer(serializers.Serializer):
        version = serializers.IntegerField(required=False)
        reason = serializers.CharField(required=False, default="", allow_blank=True,
                                       max_length=4000)

    def call(self, request, dossier: Dossier, data: dict) -> Dossier:
        kwargs = {"version": data.get("version")}
        if "reason" in inspect.signature(self.service).parameters:
            kwargs["reason"] = data.get("reason", "")
        return self.service(dossier_id=dossier.pk, actor=request.user, **kwargs)

    @extend_schema(request=InputSerializer, responses=DossierSerializer)
    def post(self, request, dossier_id: int):
        data = _validated(self.InputSerializer, request.data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        dossier = self.call(request, dossier, data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier.pk)
        return Response(_serialize(dossier, request.user))


def _transition_api(name: str, service, *, base=_TransitionApi):
    return type(
        f"Dossier{name.title().replace('_', '')}Api", (base,),
        {"service": staticmethod(service), "__doc__": service.__doc__},
    )


class DossierSubmitApi(_TransitionApi):
    """Submit a draft; honours an Idempotency-Key header."""

    permission_classes = [*AuthenticatedApi.permission_classes, IsApplicant]
    service = staticmethod(services.dossier_submit)

    @extend_schema(request=_TransitionApi.InputSerializer, responses=DossierOwnerSerializer)
    def post(self, request, dossier_id: int):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return super().post(request, dossier_id)
        if len(key) > 255:
            raise InvalidFormData("Idempotency-Key quá dài.")
        scope = f"submit:{dossier_id}"
        fingerprint = services.request_fingerprint(scope=scope, body=request.data)
        record = services.idempotency_lookup(
            user=request.user, key=key, scope=scope, fingerprint=fingerprint
        )
        if record is not None:
            return Response(record.response_body, status=record.response_status,
                            headers={"Idempotent-Replayed": "true"})
        response = super().post(request, dossier_id)
        services.idempotency_store(
            user=request.user, key=key, scope=scope, fingerprint=fingerprint,
            status=response.status_code, body=response.data,
        )
        return response


DossierResubmitApi = _transition_api("resubmit", services.dossier_resubmit)
DossierReturnForCompletionApi = _transition_api(
    "return_for_completion", services.dossier_return_for_completion
)
DossierRefuseAtReceptionApi = _transition_api(
    "refuse_at_reception", services.dossier_refuse_at_reception
)
DossierAcceptApi = _transition_api("accept", services.dossier_accept)
DossierRequestSupplementApi = _transition_api(
    "request_supplement", services.dossier_request_supplement
)
DossierSupplyApi = _transition_api("supply", services.dossier_supply)
DossierSuspendApi = _transition_api("suspend", services.dossier_suspend)
DossierResumeApi = _transition_api("resume", services.dossier_resume)
DossierProposeApi = _transition_api("propose", services.dossier_propose)
DossierSendBackApi = _transition_api("send_back", services.dossier_send_back)
DossierApproveApi = _transition_api("approve", services.dossier_approve)
DossierRefuseApi = _transition_api("refuse", services.dossier_refuse)
DossierReturnResultApi = _transition_api("return_result", services.dossier_return_result)
DossierWithdrawApi = _transition_api("withdraw", services.dossier_withdraw)


class DossierIssueResultApi(_TransitionApi):
    service = staticmethod(services.dossier_issue_result)

    class InputSerializer(_TransitionApi.InputSerializer):
        kind = serializers.ChoiceField(choices=Result.Kind.choices, default=Result.Kind.LICENCE)
        number = serializers.CharField(required=False, default="", allow_blank=True,
                                       max_length=64)

    @extend_schema(request=InputSerializer, responses=DossierSerializer)
    def post(self, request, dossier_id: int):
        return super().post(request, dossier_id)

    def call(self, request, dossier, data):
        return services.dossier_issue_result(
            dossier_id=dossier.pk, actor=request.user, kind=data["kind"],
            number=data["number"], version=data.get("version"),
        )


# --- officers ------------------------------------------------------------------------


class ApologyDraftApi(OfficerApi):
    """The specialist drafts the apology and new-appointment slip (form 04)."""

    class InputSerializer(serializers.Serializer):
        new_appointment_at = serializers.DateTimeField()
        reason = serializers.CharField(max_length=4000)

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = ApologySlip
            fields = ["status", "original_due_at", "new_appointment_at", "reason",
                      "drafted_by", "approved_by", "approved_at"]

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request, dossier_id: int):
        data = _validated(self.InputSerializer, request.data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        slip = services.apology_draft(dossier_id=dossier.pk, actor=request.user, **data)
        return Response(self.OutputSerializer(slip).data, status=status.HTTP_201_CREATED)


class ApologyApproveApi(OfficerApi):
    """A leader approves the slip; the applicant is told the new appointment."""

    @extend_schema(request=None, responses=ApologyDraftApi.OutputSerializer)
    def post(self, request, dossier_id: int):
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        slip = services.apology_approve(dossier_id=dossier.pk, actor=request.user)
        return Response(ApologyDraftApi.OutputSerializer(slip).data)



class DossierClaimApi(OfficerApi):
    class InputSerializer(serializers.Serializer):
        version = serializers.IntegerField(required=False)

    @extend_schema(request=InputSerializer, responses=DossierSerializer)
    def post(self, request, dossier_id: int):
        data = _validated(self.InputSerializer, request.data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        services.dossier_claim(dossier_id=dossier.pk, actor=request.user, **data)
        return Response(DossierSerializer(
            selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)).data)


class DossierAssignApi(OfficerApi):
    class InputSerializer(serializers.Serializer):
        assignee_id = serializers.IntegerField()
        version = serializers.IntegerField(required=False)

    @extend_schema(request=InputSerializer, responses=DossierSerializer)
    def post(self, request, dossier_id: int):
        data = _validated(self.InputSerializer, request.data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        services.dossier_assign(dossier_id=dossier.pk, actor=request.user, **data)
        return Response(DossierSerializer(
            selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)).data)


class QueueApi(OfficerApi):
    class FilterSerializer(serializers.Serializer):
        state = serializers.CharField(required=False)
        step = serializers.CharField(required=False)
        procedure = serializers.IntegerField(required=False)
        assignee = serializers.CharField(required=False)
        due = serializers.ChoiceField(choices=["overdue", "soon"], required=False)
        cursor = serializers.CharField(required=False)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=100,
                                             default=25)

    @extend_schema(parameters=[FilterSerializer], responses=dict)
    def get(self, request):
        filters = _validated(self.FilterSerializer, request.query_params)
        page = selectors.dossier_queue(user=request.user, **filters)
        return Response({
            "results": DossierSerializer(page.items, many=True).data,
            "next_cursor": page.next_cursor,
        })


# --- public lookup -------------------------------------------------------------------


class LookupThrottle(AnonRateThrottle):
    scope = "lookup"


class DossierLookupApi(PublicApi):
    throttle_classes = [LookupThrottle]

    class FilterSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=64)
        secret = serializers.CharField(max_length=64)

    @extend_schema(parameters=[FilterSerializer], responses=dict)
    def get(self, request):
        data = _validated(self.FilterSerializer, request.query_params)
        dossier = selectors.dossier_lookup(**data)
        return Response({
            "code": dossier.code, "procedure": dossier.procedure.name,
            "state": dossier.state, "state_label": dossier.get_state_display(),
            "submitted_at": dossier.submitted_at, "received_at": dossier.received_at,
            "due_at": dossier.due_at, "new_appointment_at": dossier.new_appointment_at,
            "completed_at": dossier.completed_at, "returned_at": dossier.returned_at,
            "outcome": dossier.outcome,
        })


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
            late = cal.working_minutes_between(d.due_at, now) / cal.minutes_per_day
            writer.writerow([
                d.code, d.procedure.name, d.handling_agency.code, d.state,
                timezone.localtime(d.received_at).isoformat(),
                timezone.localtime(d.due_at).isoformat(), f"{late:.2f}",
                d.assignee.display_name if d.assignee else "",
                d.current_step.code if d.current_step else "",
            ])
        return response
