"""Fees: starting a payment and applying the provider's confirmation."""

import secrets

from django.db import transaction
from django.utils.translation import gettext as _

from portal import clock

from ..exceptions import DossierNotFound, InvalidTransition, PaymentMismatch
from ..models import Dossier, Payment, Procedure
from .indicators import summary_add
from .workflow import _locked


@transaction.atomic(durable=True)
def payment_start(*, dossier_id: int, actor) -> Payment:
    """Open an online payment of the dossier's fee (or return the one already open)."""
    dossier = _locked(dossier_id)
    if dossier.applicant_id != actor.pk:
        raise DossierNotFound()
    procedure = dossier.procedure
    if procedure.fee_vnd == 0:
        raise InvalidTransition(_("Thủ tục này không thu phí, lệ phí."), extra={"amount": 0})
    if dossier.state in (Dossier.State.WITHDRAWN, Dossier.State.REJECTED, Dossier.State.RETURNED):
        raise InvalidTransition()
    existing = dossier.payments.exclude(status=Payment.Status.FAILED).first()
    if existing is not None:
        return existing
    mode = (
        Payment.Mode.BEFORE if procedure.fee_due == Procedure.FeeDue.SUBMISSION
        else Payment.Mode.AFTER
    )
    return Payment.objects.create(
        dossier=dossier, amount=procedure.fee_vnd, mode=mode, channel=Payment.Channel.ONLINE,
        provider="fake", provider_reference=f"FAKE-{secrets.token_hex(8).upper()}",
    )


@transaction.atomic(durable=True)
def payment_confirm(
    *, provider: str, provider_reference: str, amount: int, confirmed_by: str
) -> Payment:
    """Mark a payment paid on a verified confirmation; a repeat changes nothing."""
    payment = (
        Payment.objects.select_for_update().select_related("dossier")
        .filter(provider=provider, provider_reference=provider_reference)
        .first()
    )
    if payment is None:
        raise PaymentMismatch(_("Không có giao dịch tương ứng."))
    if payment.amount != amount:
        raise PaymentMismatch(
            _("Số tiền không khớp với giao dịch."),
            extra={"expected": payment.amount, "received": amount},
        )
    if payment.status == Payment.Status.PAID:
        return payment
    payment.status = Payment.Status.PAID
    payment.paid_at = clock.now()
    payment.confirmed_by = confirmed_by
    payment.full_clean()
    payment.save()
    dossier = payment.dossier
    if payment.channel == Payment.Channel.ONLINE and dossier.received_at is not None:
        # Paid before acceptance it was counted there; paid later it counts on the day the
        # dossier was received, the day its fee-bearing count sits on.
        summary_add(dossier=dossier, at=dossier.received_at, paid_online=1)
    return payment


@transaction.atomic(durable=True)
def payment_record_at_counter(*, dossier_id: int, actor, channel: str) -> Payment:
    """Reception records a fee paid in cash or by transfer at the desk."""
    dossier = _locked(dossier_id)
    if not (actor.is_officer and actor.agency_code == dossier.handling_agency.code):
        raise DossierNotFound()
    if channel not in (Payment.Channel.CASH, Payment.Channel.TRANSFER):
        raise PaymentMismatch(_("Hình thức nộp tại quầy không hợp lệ."))
    procedure = dossier.procedure
    if procedure.fee_vnd == 0:
        raise InvalidTransition(_("Thủ tục này không thu phí, lệ phí."))
    if dossier.payments.filter(status=Payment.Status.PAID).exists():
        raise InvalidTransition(_("Hồ sơ đã nộp phí, lệ phí."))
    return Payment.objects.create(
        dossier=dossier, amount=procedure.fee_vnd, channel=channel, status=Payment.Status.PAID,
        mode=Payment.Mode.BEFORE if procedure.fee_due == "submission" else Payment.Mode.AFTER,
        paid_at=clock.now(), confirmed_by=f"officer:{actor.pk}",
    )
