"""Endpoints the remote systems call (inbound dossiers, payment callbacks and status queries),
each authenticated by its signature only, and the browser's return from the payment page."""

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.utils.translation import gettext as _

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from integrations.exceptions import BadCallbackSignature, InvalidPayload
from integrations.http import load_inbound_config
from integrations.inbound import verify_inbound
from integrations.registry import get_payment_provider, get_portal_adapter
from integrations.wire import (
    IDEMPOTENCY_HEADER,
    INBOUND_SIGNATURE_HEADER,
    INBOUND_TIMESTAMP_HEADER,
    REPLAYED_HEADER,
)
from portal import clock
from portal.api.mixins import ApplicantApi, PublicApi

from ...services.inbound import inbound_call_lookup, inbound_dossier_receive, inbound_fingerprint
from ...services.payments import (
    payment_answer_status,
    payment_apply_notification,
    payment_refresh_for,
)
from .applicant import PaymentStartApi

MAX_KEY_LENGTH = 128


class _SignedApi(PublicApi):
    """No session, no CSRF, no parsing: the raw body is checked before anything reads it."""

    parser_classes: list = []
    error_statuses = (401,)  # a missing, wrong or stale signature


class InboundDossierApi(_SignedApi):
    """A portal forwards a dossier an applicant submitted there (HMAC over timestamp and body)."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        code = serializers.CharField()
        external_code = serializers.CharField()
        state = serializers.CharField()
        channel = serializers.CharField()
        procedure_code = serializers.CharField()

    @extend_schema(
        request={"application/json": dict}, responses={201: OutputSerializer, 200: OutputSerializer},
        parameters=[OpenApiParameter(h, str, OpenApiParameter.HEADER, required=True) for h in
                    (INBOUND_TIMESTAMP_HEADER, INBOUND_SIGNATURE_HEADER, IDEMPOTENCY_HEADER)],
    )
    def post(self, request, system: str):
        body = request.body
        try:
            config = load_inbound_config()
        except ImproperlyConfigured as exc:  # no shared secret: every call is refused
            raise BadCallbackSignature(extra={"reason": "no_secret"}) from exc
        verify_inbound(
            body, request.headers.get(INBOUND_TIMESTAMP_HEADER, ""),
            request.headers.get(INBOUND_SIGNATURE_HEADER, ""), secret=config.secret,
            now=clock.now(), window=config.window,
        )
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            raise InvalidPayload(_("Thiếu hoặc sai khóa Idempotency-Key."),
                                 extra={"header": IDEMPOTENCY_HEADER})
        fingerprint = inbound_fingerprint(body)
        record = inbound_call_lookup(source=system, key=key, fingerprint=fingerprint)
        if record is not None:
            return Response(record.response_body, status=record.response_status,
                            headers={REPLAYED_HEADER: "true"})
        inbound = get_portal_adapter(system).parse_inbound_dossier(body)
        answer = inbound_dossier_receive(inbound=inbound, key=key, fingerprint=fingerprint)
        return Response(answer.body, status=answer.status,
                        headers={REPLAYED_HEADER: "true"} if answer.replayed else {})


class PaymentCallbackApi(_SignedApi):
    """The payment platform confirms a transaction (checksum over the fields, replay window)."""

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        reference = serializers.CharField()
        status = serializers.CharField()
        changed = serializers.BooleanField()

    @extend_schema(request={"application/json": dict}, responses=OutputSerializer)
    def post(self, request):
        notification = get_payment_provider().verify_callback(request.body, now=clock.now())
        outcome = payment_apply_notification(notification=notification)
        return Response(self.OutputSerializer({
            "code": "ok", "reference": outcome.payment.provider_reference,
            "status": outcome.payment.status, "changed": outcome.changed,
        }).data)


class PaymentStatusQueryApi(_SignedApi):
    """The payment platform asks how a transaction stands here; the answer is signed."""

    @extend_schema(request={"application/json": dict}, responses={(200, "application/json"): dict})
    def post(self, request):
        provider = get_payment_provider()
        query = provider.parse_status_query(request.body, now=clock.now())
        answer = payment_answer_status(query=query)
        return HttpResponse(provider.answer_status_query(answer, now=clock.now()),
                            content_type="application/json", status=status.HTTP_200_OK)


class PaymentReturnApi(ApplicantApi):
    """The applicant's browser back from the payment page: we ask the provider ourselves."""

    error_statuses = (502, 503)

    @extend_schema(responses=PaymentStartApi.OutputSerializer)
    def get(self, request, payment_id: int):
        outcome = payment_refresh_for(user=request.user, payment_id=payment_id)
        return Response(PaymentStartApi.OutputSerializer(outcome.payment).data)
