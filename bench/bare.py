"""The same-run baseline of the submission figure: a bare DRF create endpoint with 3 inserts
(a draft dossier, one log row, one closed clock interval), no business rules."""

import secrets

from django.db import transaction
from django.utils import timezone

from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dossiers.models import ClockInterval, Dossier, DossierTransition, Procedure


class BareCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        procedure_id = serializers.IntegerField()
        form_data = serializers.JSONField(required=False, default=dict)

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        procedure_id = data.validated_data["procedure_id"]
        agency_id = Procedure.objects.values_list("agency_id", flat=True).get(pk=procedure_id)
        now = timezone.now()
        with transaction.atomic():
            dossier = Dossier.objects.create(
                procedure_id=procedure_id, applicant=request.user, reception_agency_id=agency_id,
                handling_agency_id=agency_id, form_data=data.validated_data["form_data"],
            )
            DossierTransition.objects.create(
                dossier=dossier, name="bench", from_state="", to_state="draft",
                actor=request.user, at=now, hash=secrets.token_hex(32),
            )
            ClockInterval.objects.create(
                dossier=dossier, kind="supplement", policy="restart", started_at=now, ended_at=now,
            )
        return Response({"id": dossier.pk, "state": dossier.state}, status=status.HTTP_201_CREATED)
