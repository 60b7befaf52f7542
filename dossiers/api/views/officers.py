"""The officers' side: queue, claim and assign, the apology slip; the public lookup."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from portal import clock
from portal.api.fields import ID_MAX
from portal.api.mixins import OfficerApi, PublicApi
from portal.api.throttling import ClientRateThrottle

from ... import selectors, services
from ...models import ApologySlip, Dossier
from ...selectors.queues import dossier_queue_rows
from ..serializers import DocumentSerializer, DossierSerializer, queue_rows_data
from ._common import _validated

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
        version = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)

    @extend_schema(request=InputSerializer, responses=DossierSerializer)
    def post(self, request, dossier_id: int):
        data = _validated(self.InputSerializer, request.data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        services.dossier_claim(dossier_id=dossier.pk, actor=request.user, **data)
        return Response(DossierSerializer(
            selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)).data)


class DossierAssignApi(OfficerApi):
    class InputSerializer(serializers.Serializer):
        assignee_id = serializers.IntegerField(min_value=1, max_value=ID_MAX)
        version = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)

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
        procedure = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
        assignee = serializers.CharField(required=False)
        due = serializers.ChoiceField(choices=["overdue", "soon"], required=False)
        code = serializers.CharField(required=False, max_length=64,
                                     help_text="part of the dossier code")
        cursor = serializers.CharField(required=False)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=100,
                                             default=25)

    class PageSerializer(serializers.Serializer):
        results = DossierSerializer(many=True)
        next_cursor = serializers.CharField(allow_null=True)

    @extend_schema(parameters=[FilterSerializer], responses=PageSerializer)
    def get(self, request):
        filters = _validated(self.FilterSerializer, request.query_params)
        now = clock.now()
        page = dossier_queue_rows(user=request.user, now=now, **filters)
        return Response({
            "results": queue_rows_data(page.items, now=now),
            "next_cursor": page.next_cursor,
        })


# --- public lookup -------------------------------------------------------------------


class LookupThrottle(ClientRateThrottle):
    scope = "lookup"


class DossierLookupApi(PublicApi):
    throttle_classes = [LookupThrottle]

    class FilterSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=64)
        secret = serializers.CharField(max_length=64)

    class OutputSerializer(serializers.Serializer):
        """What anyone holding the code and the secret may know of a dossier."""

        code = serializers.CharField()
        procedure = serializers.CharField()
        state = serializers.ChoiceField(choices=Dossier.State.choices)
        state_label = serializers.CharField()
        submitted_at = serializers.DateTimeField(allow_null=True)
        received_at = serializers.DateTimeField(allow_null=True)
        due_at = serializers.DateTimeField(allow_null=True)
        new_appointment_at = serializers.DateTimeField(allow_null=True)
        completed_at = serializers.DateTimeField(allow_null=True)
        returned_at = serializers.DateTimeField(allow_null=True)
        outcome = serializers.CharField(allow_blank=True)

    @extend_schema(parameters=[FilterSerializer], responses=OutputSerializer)
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


class DocumentSignatureDecisionApi(OfficerApi):
    """An officer accepts or refuses a signature the verifier could not settle."""

    class InputSerializer(serializers.Serializer):
        accept = serializers.BooleanField()
        note = serializers.CharField(max_length=2000)

    @extend_schema(request=InputSerializer, responses=DocumentSerializer)
    def post(self, request, document_id: int):
        data = _validated(self.InputSerializer, request.data)
        document = selectors.document_get_for(user=request.user, document_id=document_id)
        document = services.document_signature_decide(
            document_id=document.pk, actor=request.user, **data
        )
        return Response(DocumentSerializer(document).data)
