"""Fees: opening a payment at the provider, applying its verified confirmations and our own
status queries, reconciling payments left pending, and fees paid at the desk.

A dossier's fee is settled once: the first money received for it is its fee (`settles_fee`,
status paid); money received after that is recorded as an overpayment to refund, never dropped
and never counted again."""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils.translation import gettext as _

from integrations.base import (
    PaymentBill,
    PaymentIntent,
    PaymentNotification,
    PaymentStatus,
    StatusQuery,
    TransactionStatus,
)
from integrations.exceptions import BadResponse, IntegrationError
from integrations.registry import get_payment_provider
from portal import clock

from ..exceptions import DossierNotFound, InvalidTransition, PaymentMismatch, PaymentNotFound
from ..models import Dossier, Payment, Procedure
from ..models.payments import REFERENCED
from .indicators import summary_count_paid_online
from .transitions import dossier_locked, prefetched_set

log = logging.getLogger(__name__)

# The provider's word for a status -> ours, and back for the platform's status query.
_OURS = {
    PaymentStatus.PAID: Payment.Status.PAID,
    PaymentStatus.FAILED: Payment.Status.FAILED,
    PaymentStatus.PENDING: Payment.Status.PENDING,
}
_THEIRS = {
    Payment.Status.PAID: PaymentStatus.PAID,
    Payment.Status.PENDING: PaymentStatus.PENDING,
    Payment.Status.FAILED: PaymentStatus.FAILED,
    # The platform's transaction went through, whatever we owe back.
    Payment.Status.OVERPAID: PaymentStatus.PAID,
    # A refund is settled outside the platform's transaction; to it the payment did not stand.
    Payment.Status.REFUNDED: PaymentStatus.FAILED,
}


@dataclass(frozen=True)
class PaymentOutcome:
    """What applying a provider's word did: `changed` is False for a repeat or a stale word."""

    payment: Payment
    changed: bool


@dataclass
class ReconcileReport:
    checked: int = 0
    paid: int = 0
    overpaid: int = 0
    failed: int = 0
    unchanged: int = 0
    errors: int = 0


def payment_bill_code(dossier: Dossier) -> str:
    """What the provider is told the payment is for: the dossier code, or a draft reference."""
    return dossier.code or f"{dossier.handling_agency.code.upper()}-NHAP-{dossier.pk}"


# Where the provider sends the applicant's browser back: a readable page of the portal, which
# asks the provider itself (API clients keep `api:dossiers:integrations:payment_return`).
RETURN_URL_NAME = "web:applicant:payment_return"

# A dossier in one of these states takes no payment: withdrawn, refused at reception, or done.
NO_PAYMENT_STATES = (Dossier.State.WITHDRAWN, Dossier.State.REJECTED, Dossier.State.RETURNED,
                     Dossier.State.RETURNED_UNANSWERED)


def _return_url(payment: Payment) -> str:
    path = reverse(RETURN_URL_NAME, args=[payment.pk])
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def payment_payable(dossier: Dossier) -> bool:
    """Whether the applicant can pay the dossier's fee online now: a fee, nothing settled it,
    and the dossier still takes a payment (reads the dossier's loaded payments)."""
    return (
        dossier.procedure.fee_vnd > 0 and dossier.state not in NO_PAYMENT_STATES
        and not any(p.settles_fee for p in dossier.payments.all())
    )


# --- opening a payment ---------------------------------------------------------------


@transaction.atomic(durable=True)
def _payment_reserve(*, dossier_id: int, actor, provider: str) -> Payment:
    """The dossier's open payment, or a new pending one with its request key (no network)."""
    # The lock's query also says whether the dossier has any payment: a first one asks no more.
    dossier = dossier_locked(dossier_id, payments=True)
    if dossier.applicant_id != actor.pk:
        raise DossierNotFound()
    procedure = dossier.procedure
    if procedure.fee_vnd == 0:
        raise InvalidTransition(_("Thủ tục này không thu phí, lệ phí."), extra={"amount": 0})
    if dossier.state in NO_PAYMENT_STATES:
        raise InvalidTransition()
    settled = (dossier.payments.filter(settles_fee=True).first()
               if dossier.payments_exist else None)
    if settled is not None:
        settled.dossier = dossier
        return settled  # the fee is settled: nothing more to pay
    existing = (dossier.payments.filter(status=Payment.Status.PENDING).order_by("pk").first()
                if dossier.payments_exist else None)
    if existing is not None:
        if not existing.provider_reference and existing.provider != provider:
            # Opened with a provider since replaced, and never reached it: reopen with ours.
            existing.provider = provider
            existing.save(update_fields=["provider", "updated_at"])
        existing.dossier = dossier
        return existing
    mode = (
        Payment.Mode.BEFORE if procedure.fee_due == Procedure.FeeDue.SUBMISSION
        else Payment.Mode.AFTER
    )
    payment = Payment(
        dossier=dossier, amount=procedure.fee_vnd, mode=mode, channel=Payment.Channel.ONLINE,
        provider=provider, bill_code=payment_bill_code(dossier),
        request_key=f"pay-{uuid.uuid4().hex}",
    )
    payment.full_clean()
    payment.save()
    if not dossier.payments_exist:
        # The lock may have read the dossier's payments as none: they are now this one.
        prefetched_set(dossier, "payments", [payment])
    return payment


@transaction.atomic(durable=True)
def _payment_record_intent(*, payment_id: int, intent: PaymentIntent) -> Payment:
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if intent.amount != payment.amount or intent.dossier_code != payment.bill_code:
        log.error("payment %s: the provider opened %s for %s / %s, we billed %s / %s",
                  payment.pk, intent.reference, intent.dossier_code, intent.amount,
                  payment.bill_code, payment.amount)
        raise BadResponse(_("Giao dịch tạo ra không khớp với hóa đơn."))
    if payment.provider_reference:
        return payment  # a twin request recorded the same intent first
    payment.provider_reference = intent.reference[:128]
    payment.redirect_url = intent.redirect_url[:1000]
    payment.save(update_fields=["provider_reference", "redirect_url", "updated_at"])
    return payment


def payment_start(*, dossier_id: int, actor) -> Payment:
    """Open an online payment of the dossier's fee at the provider (or return the open one).

    Three steps, the middle one outside any transaction: reserve a pending row with a request
    key, ask the provider for a transaction under that key, record its reference and the URL
    the applicant is sent to. A lost answer is retried with the same key: nothing is opened twice.
    """
    provider = get_payment_provider()
    payment = _payment_reserve(dossier_id=dossier_id, actor=actor, provider=provider.identifier)
    if payment.status != Payment.Status.PENDING or payment.provider_reference:
        return payment
    dossier = payment.dossier
    procedure = dossier.procedure
    bill = PaymentBill(
        dossier_code=payment.bill_code,
        procedure_code=procedure.national_code or f"LOCAL-{procedure.pk}",
        amount=payment.amount,
        description=f"Phí, lệ phí hồ sơ {payment.bill_code}: {procedure.name}"[:255],
        payer_name=actor.display_name,
        return_url=_return_url(payment),
    )
    intent = provider.create_transaction(bill, idempotency_key=payment.request_key)
    return _payment_record_intent(payment_id=payment.pk, intent=intent)


# --- applying the provider's word ----------------------------------------------------


def _money_received(payment: Payment, *, at: datetime, confirmed_by: str,
                    bank_no: str = "") -> None:
    """Record money received: the dossier's fee if nothing settled it yet, else an overpayment.

    The caller holds the dossier's row lock, so two payments arriving at once take turns here
    and only the first becomes the fee (the database refuses a second one in any case).
    """
    settled = Payment.objects.filter(dossier_id=payment.dossier_id, settles_fee=True).first()
    payment.paid_at = at
    payment.confirmed_by = confirmed_by[:32]
    if bank_no:
        payment.bank_transaction_no = bank_no[:64]
    if settled is None:
        payment.status = Payment.Status.PAID
        payment.settles_fee = True
    else:
        payment.status = Payment.Status.OVERPAID
        payment.refund_reason = Payment.RefundReason.FEE_ALREADY_SETTLED
    payment.full_clean()
    payment.save()
    if settled is not None:
        log.warning(
            "dossier %s: payment %s (%s %s) of %s received after payment %s (%s, %s) settled "
            "the fee; recorded as an overpayment to refund",
            payment.dossier_id, payment.pk, payment.channel, payment.provider_reference or "-",
            payment.amount, settled.pk, settled.channel, settled.status,
        )
        return
    # Re-read whether the dossier was received: under its lock an acceptance either saw this
    # payment paid or committed before us. Whichever comes second counts it, on the day the
    # dossier was received, the day its fee-bearing count sits on.
    dossier = Dossier.objects.only(
        "pk", "received_at", "handling_agency_id", "procedure_id", "channel"
    ).get(pk=payment.dossier_id)
    summary_count_paid_online(dossier=dossier)


def _by_reference(provider: str, reference: str):
    """The payment the provider knows by `reference` (none for an empty one). The query states
    the condition of the unique index on (provider, reference): SQLite cannot prove it from
    the bound reference and read every payment instead, and neither can a plan PostgreSQL
    makes for any value of a prepared statement."""
    return Payment.objects.filter(REFERENCED, provider=provider, provider_reference=reference)


def _locked_payment(*, provider: str, reference: str) -> Payment | None:
    """The payment, with its dossier's row locked first: every service takes the dossier
    before the payment, so a callback and an acceptance never wait on each other in a loop."""
    if not reference:
        return None
    found = _by_reference(provider, reference).values("pk", "dossier_id").first()
    if found is None:
        return None
    Dossier.objects.select_for_update().filter(pk=found["dossier_id"]).values("pk").first()
    return (
        Payment.objects.select_for_update(of=("self",))
        .select_related("dossier", "dossier__handling_agency")
        .get(pk=found["pk"])
    )


def _apply(payment: Payment, *, status: str, amount: int, dossier_code: str,
           paid_at: datetime | None, bank_no: str, source: str) -> PaymentOutcome:
    """Refuse a word that disagrees with the bill; otherwise move the status forward only."""
    wrong = [name for name, told, billed in (
        ("amount", amount, payment.amount), ("dossier_code", dossier_code, payment.bill_code),
    ) if told != billed]
    if wrong:
        log.warning(
            "payment %s (%s %s): %s refused, %s differ: billed %s for %s, told %s for %s",
            payment.pk, payment.provider, payment.provider_reference, source, ",".join(wrong),
            payment.amount, payment.bill_code, amount, dossier_code,
        )
        raise PaymentMismatch(
            _("Thông báo thanh toán không khớp với hóa đơn."),
            extra={"fields": list(wrong),
                   "expected": {"amount": payment.amount, "dossier_code": payment.bill_code},
                   "received": {"amount": amount, "dossier_code": dossier_code}},
        )
    ours = _OURS[status]
    if payment.status not in Payment.AWAITING_STATUSES:
        # Paid, overpaid or refunded: a repeat, or a word the money has already overtaken.
        return PaymentOutcome(payment, False)
    if ours == Payment.Status.PAID:
        # Pending, or failed and paid after all: the money arrived, so it is recorded.
        _money_received(payment, at=paid_at or clock.now(),
                        confirmed_by=f"{source}:{payment.provider}", bank_no=bank_no)
        return PaymentOutcome(payment, True)
    if ours == Payment.Status.FAILED and payment.status == Payment.Status.PENDING:
        payment.status = Payment.Status.FAILED
        payment.confirmed_by = f"{source}:{payment.provider}"[:32]
        payment.save(update_fields=["status", "confirmed_by", "updated_at"])
        return PaymentOutcome(payment, True)
    # A repeat, or an older word arriving after a newer one (pending after failed): no change.
    return PaymentOutcome(payment, False)


@transaction.atomic(durable=True)
def payment_apply_notification(*, notification: PaymentNotification) -> PaymentOutcome:
    """Apply a callback whose checksum and age the provider verified; repeats change nothing."""
    payment = _locked_payment(provider=notification.provider, reference=notification.reference)
    if payment is None:
        log.warning("payment callback for unknown transaction %s %s",
                    notification.provider, notification.reference)
        raise PaymentMismatch(_("Không có giao dịch tương ứng."),
                              extra={"fields": ["reference"]})
    return _apply(
        payment, status=notification.status, amount=notification.amount,
        dossier_code=notification.dossier_code, paid_at=notification.paid_at,
        bank_no=notification.bank_transaction_no, source="callback",
    )


@transaction.atomic(durable=True)
def _payment_apply_status(*, payment_id: int, answer: TransactionStatus) -> PaymentOutcome:
    payment = _locked_payment(provider=answer.provider, reference=answer.reference)
    if payment is None or payment.pk != payment_id:
        raise PaymentMismatch(_("Không có giao dịch tương ứng."), extra={"fields": ["reference"]})
    return _apply(
        payment, status=answer.status, amount=answer.amount, dossier_code=answer.dossier_code,
        paid_at=answer.paid_at, bank_no=answer.bank_transaction_no, source="query",
    )


def payment_refresh(*, payment_id: int) -> PaymentOutcome:
    """Ask the provider about a pending payment (outside any transaction) and apply its answer."""
    payment = Payment.objects.select_related("dossier").get(pk=payment_id)
    provider = get_payment_provider()
    if (payment.status != Payment.Status.PENDING or not payment.provider_reference
            or payment.provider != provider.identifier):
        return PaymentOutcome(payment, False)
    answer = provider.query_transaction(
        payment.provider_reference, idempotency_key=f"{payment.request_key}-q-{uuid.uuid4().hex}"
    )
    Payment.objects.filter(pk=payment.pk).update(checked_at=clock.now())
    return _payment_apply_status(payment_id=payment.pk, answer=answer)


def payment_refresh_for(*, user, payment_id: int, reference: str | None = None) -> PaymentOutcome:
    """The browser came back from the provider: ask the provider, never take the browser's word.

    A `reference` the browser brings back must name this payment's transaction; one that does
    not is refused (PaymentMismatch) before anything is asked or changed."""
    payment = Payment.objects.filter(pk=payment_id, dossier__applicant_id=user.pk).first()
    if payment is None:
        raise PaymentNotFound()
    if reference is not None and reference != payment.provider_reference:
        log.warning("payment %s: the browser returned with another reference", payment.pk)
        raise PaymentMismatch(
            _("Thông tin giao dịch trả về không khớp với khoản thanh toán."),
            extra={"fields": ["reference"], "dossier_id": payment.dossier_id},
        )
    try:
        return payment_refresh(payment_id=payment.pk)
    except (IntegrationError, PaymentMismatch) as exc:
        # The provider is slow or disagrees: the payment stays as it is; reconciliation retries.
        log.warning("payment %s: query on return failed: %s", payment.pk, exc.code)
        return PaymentOutcome(payment, False)


def payment_reconcile(*, older_than: timedelta | None = None, limit: int = 200) -> ReconcileReport:
    """Settle payments pending longer than `older_than` (the callback that never came)."""
    if older_than is None:
        older_than = timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS)
    provider = get_payment_provider()
    ids = list(
        Payment.objects.filter(
            status=Payment.Status.PENDING, provider=provider.identifier,
            created_at__lte=clock.now() - older_than,
        ).exclude(provider_reference="")
        .order_by(F("checked_at").asc(nulls_first=True), "created_at")
        .values_list("pk", flat=True)[:limit]
    )
    report = ReconcileReport()
    for payment_id in ids:
        report.checked += 1
        try:
            outcome = payment_refresh(payment_id=payment_id)
        except (IntegrationError, PaymentMismatch) as exc:
            # Logged with the reason; the payment stays pending for a person or the next round.
            log.warning("reconciling payment %s failed: %s %s", payment_id, exc.code, exc.extra)
            report.errors += 1
            continue
        status = outcome.payment.status
        if outcome.changed and status == Payment.Status.PAID:
            report.paid += 1
        elif outcome.changed and status == Payment.Status.OVERPAID:
            report.overpaid += 1
        elif outcome.changed and status == Payment.Status.FAILED:
            report.failed += 1
        else:
            report.unchanged += 1
    return report


def payment_answer_status(*, query: StatusQuery) -> TransactionStatus:
    """Our answer to the platform asking about a transaction it verified the checksum of."""
    payment = _by_reference(query.provider, query.reference).first()
    if payment is None:
        raise PaymentNotFound(extra={"reference": query.reference})
    if query.dossier_code and query.dossier_code != payment.bill_code:
        log.warning("status query for %s names %s, billed for %s",
                    query.reference, query.dossier_code, payment.bill_code)
        raise PaymentMismatch(extra={"fields": ["dossier_code"]})
    return TransactionStatus(
        provider=payment.provider, reference=payment.provider_reference,
        dossier_code=payment.bill_code, amount=payment.amount, status=_THEIRS[payment.status],
        paid_at=payment.paid_at if payment.status == Payment.Status.PAID else None,
        bank_transaction_no=payment.bank_transaction_no,
    )


# --- confirmations outside the provider flow -----------------------------------------


@transaction.atomic(durable=True)
def payment_confirm(
    *, provider: str, provider_reference: str, amount: int, confirmed_by: str
) -> Payment:
    """Record the money of a payment confirmed elsewhere (the fee, or an overpayment when the
    fee was settled already); a payment no longer awaiting money stays as it is."""
    payment = _locked_payment(provider=provider, reference=provider_reference)
    if payment is None:
        raise PaymentMismatch(_("Không có giao dịch tương ứng."))
    if payment.amount != amount:
        raise PaymentMismatch(
            _("Số tiền không khớp với giao dịch."),
            extra={"expected": payment.amount, "received": amount},
        )
    if payment.status not in Payment.AWAITING_STATUSES:
        return payment
    _money_received(payment, at=clock.now(), confirmed_by=confirmed_by)
    return payment


@transaction.atomic(durable=True)
def payment_record_at_counter(*, dossier_id: int, actor, channel: str) -> Payment:
    """Reception records a fee paid in cash or by transfer at the desk.

    Refused once the fee is settled; an online payment still pending stays open, and its money,
    should it arrive too, is an overpayment to refund.
    """
    dossier = dossier_locked(dossier_id)
    if not (actor.is_officer and actor.agency_code == dossier.handling_agency.code):
        raise DossierNotFound()
    if channel not in (Payment.Channel.CASH, Payment.Channel.TRANSFER):
        raise PaymentMismatch(_("Hình thức nộp tại quầy không hợp lệ."))
    procedure = dossier.procedure
    if procedure.fee_vnd == 0:
        raise InvalidTransition(_("Thủ tục này không thu phí, lệ phí."))
    settled = dossier.payments.filter(settles_fee=True).first()
    if settled is not None:
        raise InvalidTransition(
            _("Hồ sơ đã nộp phí, lệ phí."),
            extra={"payment_id": settled.pk, "status": settled.status},
        )
    payment = Payment(
        dossier=dossier, amount=procedure.fee_vnd, channel=channel,
        mode=Payment.Mode.BEFORE if procedure.fee_due == "submission" else Payment.Mode.AFTER,
    )
    _money_received(payment, at=clock.now(), confirmed_by=f"officer:{actor.pk}")
    return payment
