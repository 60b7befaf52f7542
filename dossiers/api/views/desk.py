"""The reception desk: paper dossiers registered at any desk of the province, the refusal notice
handed over, the rating given at the desk."""

import json

from django.urls import reverse

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from portal.api.fields import ID_MAX
from portal.api.mixins import OfficerApi
from portal.api.schema import ErrorSerializer

from ... import selectors, services
from ...exceptions import InvalidFormData
from ...models import Payment
from ...services.intake import ApplicantIdentity, PaperScan
from ..serializers import DossierSerializer
from ._common import _validated

ERROR = ErrorSerializer  # the one error shape every endpoint sends


def _errors(extra: dict) -> dict:
    return {
        403: OpenApiResponse(ERROR, description="Not a reception officer (permission_denied)."),
        404: OpenApiResponse(ERROR, description="No such dossier or procedure (not_found)."),
        **extra,
    }


class IntakeApi(OfficerApi):
    """Register a dossier handed in on paper at the desk (`counter`) or by post (`post`).

    Multipart: the applicant's identity (no account needed: found or created by citizen ID
    or tax code), the form data as a JSON object, and one file per paper component under
    `scan_<component code>` (each stored as digitized at the desk). A procedure of the
    officer's own agency is received at once (the clock starts; `receipt_url` prints form
    01); another agency's is handed over to it electronically and waits in its queue."""

    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        procedure = serializers.IntegerField(min_value=1, max_value=ID_MAX)
        # counter | post; anything else is refused by the service with the field named.
        channel = serializers.CharField(max_length=32, help_text="counter hoặc post.")
        applicant_kind = serializers.ChoiceField(choices=["citizen", "business"])
        applicant_name = serializers.CharField(max_length=255)
        id_number = serializers.CharField(max_length=14,
                                          help_text="Số CCCD (cá nhân) hoặc mã số thuế.")
        phone = serializers.CharField(max_length=20)
        email = serializers.CharField(max_length=254, required=False, default="",
                                      allow_blank=True)
        address = serializers.CharField(max_length=255)
        on_behalf_name = serializers.CharField(max_length=255, required=False, default="",
                                               allow_blank=True)
        form_data = serializers.CharField(required=False, default="{}",
                                          help_text="Tờ khai, một đối tượng JSON.")
        fee_channel = serializers.ChoiceField(
            choices=["", Payment.Channel.CASH, Payment.Channel.TRANSFER], required=False,
            default="", help_text="Phí nộp khi nộp hồ sơ: cash hoặc transfer.",
        )

    class OutputSerializer(serializers.Serializer):
        dossier = DossierSerializer()
        received = serializers.BooleanField()
        handed_over_to = serializers.CharField(allow_null=True)
        receipt_url = serializers.CharField(allow_null=True)

    @extend_schema(
        request=InputSerializer,
        responses=_errors(
            {201: OutputSerializer,
               400: OpenApiResponse(ERROR, description=(
                   "invalid_form_data: extra.errors lists each problem as {field, code, "
                   "message}; fields: channel, applicant_kind, applicant_name, id_number, "
                   "phone, email, address, form.<field>, scan_<component>, fee_channel. "
                   "Nothing is stored.")),
               409: OpenApiResponse(ERROR, description="Conflict with the dossier's state.")},
        ),
    )
    def post(self, request):
        data = _validated(self.InputSerializer, request.data)
        try:
            form_data = json.loads(data["form_data"] or "{}")
        except ValueError as exc:
            raise InvalidFormData(extra={"errors": [{
                "field": "form_data", "code": "invalid", "message": "JSON không hợp lệ."}]}
            ) from exc
        scans = [PaperScan(key.removeprefix("scan_"), upload)
                 for key, upload in request.FILES.items() if key.startswith("scan_")]
        result = services.intake_register(
            actor=request.user, procedure_id=data["procedure"], channel=data["channel"],
            applicant=ApplicantIdentity(
                kind=data["applicant_kind"], name=data["applicant_name"],
                id_number=data["id_number"], phone=data["phone"], email=data["email"],
                address=data["address"]),
            form_data=form_data, scans=scans, on_behalf_name=data["on_behalf_name"],
            fee_channel=data["fee_channel"],
        )
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=result.dossier.pk)
        receipt = (reverse("api:dossiers:receipt_slip", args=[dossier.pk])
                   if result.received else None)
        body = {"dossier": DossierSerializer(dossier).data, "received": result.received,
                "handed_over_to": result.handed_over_to.code if result.handed_over_to else None,
                "receipt_url": receipt}
        return Response(body, status=status.HTTP_201_CREATED)


class RefusalHandOverApi(OfficerApi):
    """Reception hands the refusal notice to the applicant (status 10 on the portals)."""

    @extend_schema(request=None, responses=_errors(
        {200: DossierSerializer,
           409: OpenApiResponse(ERROR, description="Not refused, or already handed over.")}))
    def post(self, request, dossier_id: int):
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        services.dossier_hand_over_refusal(dossier_id=dossier.pk, actor=request.user)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        return Response(DossierSerializer(dossier).data)


class DeskRatingApi(OfficerApi):
    """Reception records the rating the applicant gives at the desk on receiving the result."""

    class InputSerializer(serializers.Serializer):
        score = serializers.IntegerField(min_value=1, max_value=5)
        comment = serializers.CharField(required=False, default="", allow_blank=True,
                                        max_length=2000)

    class OutputSerializer(serializers.Serializer):
        score = serializers.IntegerField()
        comment = serializers.CharField()
        channel = serializers.CharField()

    @extend_schema(request=InputSerializer, responses=_errors(
        {201: OutputSerializer,
           400: OpenApiResponse(ERROR, description="validation_error: score 1 to 5."),
           409: OpenApiResponse(ERROR, description="Result not handed over, or already rated.")}))
    def post(self, request, dossier_id: int):
        data = _validated(self.InputSerializer, request.data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        rating = services.rating_record_at_desk(dossier_id=dossier.pk, actor=request.user,
                                                **data)
        return Response(self.OutputSerializer(rating).data, status=status.HTTP_201_CREATED)
