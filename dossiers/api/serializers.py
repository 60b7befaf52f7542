"""Output shapes shared by several API views."""

import copy

from django.db.models import prefetch_related_objects
from django.utils import timezone

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal import clock

from ..models import (
    Document,
    DocumentComponent,
    Dossier,
    DossierTransition,
    Payment,
    Procedure,
    ProcessStep,
)


@extend_schema_field({
    "type": "object",
    "additionalProperties": True,
    "description": "The procedure's form: an object valid against the procedure's "
                   "`form_schema` (GET /api/v1/procedures/{procedure_id}/); a draft may be "
                   "incomplete, submitting checks it in full.",
})
class FormDataField(serializers.JSONField):
    """A dossier's form data, documented as the object it must be (the services check it
    against the procedure's form schema and answer invalid_form_data otherwise)."""


class ComponentSerializer(serializers.ModelSerializer):
    class Meta:
        model = DocumentComponent
        fields = ["code", "name", "mandatory", "must_be_signed", "accepted_types"]


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProcessStep
        fields = ["order", "code", "name", "role", "budget_days"]


class ProcedureSerializer(serializers.ModelSerializer):
    agency = serializers.CharField(source="agency.code")
    components = ComponentSerializer(many=True)
    steps = StepSerializer(many=True)

    class Meta:
        model = Procedure
        fields = [
            "id", "national_code", "name", "name_en", "sector", "agency", "online_level",
            "processing_days", "duration_kind", "fee_vnd", "fee_due", "supplement_clock",
            "legal_basis", "demo_assumptions", "form_schema", "components", "steps",
        ]


class DocumentSerializer(serializers.ModelSerializer):
    component = serializers.CharField(source="component.code")

    class Meta:
        model = Document
        fields = [
            "id", "component", "version", "original_name", "sha256", "size", "content_type",
            "is_current", "signature_verdict", "signature_report", "signature_checked_at",
            "signature_decision", "signature_decided_at", "digitized", "created_at",
        ]


class PaymentSerializer(serializers.ModelSerializer):
    """A payment as reception sees it on the dossier: the fee, and any overpayment to refund."""

    # Plain strings in the schema: `channel` and `status` already name other enums there.
    channel = serializers.CharField(help_text=" | ".join(Payment.Channel.values))
    status = serializers.CharField(help_text=" | ".join(Payment.Status.values))
    status_label = serializers.CharField(source="get_status_display")
    refund_reason_label = serializers.CharField(source="get_refund_reason_display")

    class Meta:
        model = Payment
        fields = ["id", "amount", "channel", "status", "status_label", "settles_fee",
                  "refund_reason", "refund_reason_label", "provider_reference", "paid_at"]


class _DossierListSerializer(serializers.ListSerializer):
    def to_representation(self, data):
        # One query for the payments of the whole page, however the caller fetched it.
        items = list(data.all() if hasattr(data, "all") else data)
        prefetch_related_objects(items, "payments")
        return super().to_representation(items)


class FieldsBuiltOnce:
    """A ModelSerializer that reads its model's fields once per class, not on every instance:
    each instance gets copies of the fields built the first time (a read-only output shape,
    so nothing of the instance or its context goes into them)."""

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built")
        if built is None:
            built = super().get_fields()
            cls._fields_built = built
        return copy.deepcopy(built)


class DossierSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    procedure = serializers.SerializerMethodField()
    state_label = serializers.CharField(source="get_state_display")
    current_step = serializers.CharField(source="current_step.code", default=None,
                                         allow_null=True)
    assignee = serializers.IntegerField(source="assignee_id", allow_null=True)
    form_data = FormDataField()
    is_overdue = serializers.SerializerMethodField()
    payments = serializers.SerializerMethodField()

    class Meta:
        model = Dossier
        list_serializer_class = _DossierListSerializer
        fields = [
            "id", "code", "procedure", "channel", "state", "state_label", "version",
            "form_data", "on_behalf_name", "submitted_at", "received_at", "due_at",
            "new_appointment_at", "completed_at", "returned_at", "outcome", "current_step",
            "step_due_at", "assignee", "reason", "is_overdue", "payments", "created_at",
        ]

    def get_procedure(self, obj: Dossier) -> dict:
        return {"id": obj.procedure_id, "national_code": obj.procedure.national_code,
                "name": obj.procedure.name}

    @extend_schema_field(PaymentSerializer(many=True))
    def get_payments(self, obj: Dossier) -> list:
        # Sorted here so a prefetched `payments` serves the list views without more queries.
        rows = sorted(obj.payments.all(), key=lambda p: p.pk)
        return PaymentSerializer(rows, many=True).data

    def get_is_overdue(self, obj: Dossier) -> bool:
        return bool(
            obj.state in Dossier.IN_PROGRESS_STATES and obj.paused_at is None
            and obj.due_at and obj.due_at < clock.now()
        )


_STATE_LABELS = dict(Dossier.State.choices)
_PAYMENT_STATUS_LABELS = dict(Payment.Status.choices)
_REFUND_REASON_LABELS = dict(Payment.RefundReason.choices)


def _stamp(value, zone) -> str | None:
    """A date and time as DRF's DateTimeField writes it (ISO 8601 in the current zone)."""
    if not value:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def queue_rows_data(rows: list[dict], *, now) -> list[dict]:
    """The queue's rows (`dossiers.selectors.queues.dossier_queue_rows`) exactly as
    `DossierSerializer` writes a dossier, without building a model or a serializer field per
    value (the queue is the officers' busiest call)."""
    zone = timezone.get_current_timezone()
    in_progress = Dossier.IN_PROGRESS_STATES
    return [{
        "id": row["id"],
        "code": row["code"],
        "procedure": {"id": row["procedure_id"], "national_code": row["procedure__national_code"],
                      "name": row["procedure__name"]},
        "channel": row["channel"],
        "state": row["state"],
        "state_label": str(_STATE_LABELS.get(row["state"], row["state"])),
        "version": row["version"],
        "form_data": row["form_data"],
        "on_behalf_name": row["on_behalf_name"],
        "submitted_at": _stamp(row["submitted_at"], zone),
        "received_at": _stamp(row["received_at"], zone),
        "due_at": _stamp(row["due_at"], zone),
        "new_appointment_at": _stamp(row["new_appointment_at"], zone),
        "completed_at": _stamp(row["completed_at"], zone),
        "returned_at": _stamp(row["returned_at"], zone),
        "outcome": row["outcome"],
        "current_step": row["current_step__code"],
        "step_due_at": _stamp(row["step_due_at"], zone),
        "assignee": row["assignee_id"],
        "reason": row["reason"],
        "is_overdue": bool(row["state"] in in_progress and row["paused_at"] is None
                           and row["due_at"] and row["due_at"] < now),
        "payments": [{
            "id": p["id"],
            "amount": p["amount"],
            "channel": p["channel"],
            "status": p["status"],
            "status_label": str(_PAYMENT_STATUS_LABELS.get(p["status"], p["status"])),
            "settles_fee": p["settles_fee"],
            "refund_reason": p["refund_reason"],
            "refund_reason_label": str(_REFUND_REASON_LABELS.get(p["refund_reason"],
                                                                 p["refund_reason"])),
            "provider_reference": p["provider_reference"],
            "paid_at": _stamp(p["paid_at"], zone),
        } for p in row["payments"]],
        "created_at": _stamp(row["created_at"], zone),
    } for row in rows]


def dossier_data(dossier: Dossier, *, owner: bool = False) -> dict:
    """A dossier as `DossierSerializer` (with `owner`: `DossierOwnerSerializer`) writes it, from
    the model as the services leave it (procedure, current step and payments read), without a
    serializer field per value: every change over the API answers with it."""
    step = dossier.current_step if dossier.current_step_id else None
    payments = sorted(dossier.payments.all(), key=lambda p: p.pk)
    row = {
        "id": dossier.pk, "code": dossier.code, "procedure_id": dossier.procedure_id,
        "procedure__national_code": dossier.procedure.national_code,
        "procedure__name": dossier.procedure.name, "channel": dossier.channel,
        "state": dossier.state, "version": dossier.version, "form_data": dossier.form_data,
        "on_behalf_name": dossier.on_behalf_name, "submitted_at": dossier.submitted_at,
        "received_at": dossier.received_at, "due_at": dossier.due_at,
        "new_appointment_at": dossier.new_appointment_at, "completed_at": dossier.completed_at,
        "returned_at": dossier.returned_at, "outcome": dossier.outcome,
        "current_step__code": step.code if step else None, "step_due_at": dossier.step_due_at,
        "assignee_id": dossier.assignee_id, "reason": dossier.reason,
        "paused_at": dossier.paused_at, "created_at": dossier.created_at,
        "payments": [{
            "id": p.pk, "amount": p.amount, "channel": p.channel, "status": p.status,
            "settles_fee": p.settles_fee, "refund_reason": p.refund_reason,
            "provider_reference": p.provider_reference, "paid_at": p.paid_at,
        } for p in payments],
    }
    data = queue_rows_data([row], now=clock.now())[0]
    if owner:
        data["lookup_secret"] = dossier.lookup_secret
    return data


class DossierOwnerSerializer(DossierSerializer):
    """What the applicant sees of their own dossier, with the lookup secret."""

    class Meta(DossierSerializer.Meta):
        fields = [*DossierSerializer.Meta.fields, "lookup_secret"]


class TransitionSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")

    class Meta:
        model = DossierTransition
        fields = ["id", "name", "from_state", "to_state", "actor", "at", "reason", "step",
                  "clock_effect", "details"]
