"""An in-memory payment platform with the real message formats: for tests and the demo."""

import json
import os
import threading
from dataclasses import dataclass, replace
from datetime import datetime

from django.utils import timezone

from ..base import (
    PaymentBill,
    PaymentIntent,
    PaymentNotification,
    PaymentStatus,
    StatusQuery,
    TransactionStatus,
)
from ..exceptions import IntegrationError, PortalRejected
from ..wire import with_checksum
from . import codec

FAKE_MERCHANT_ID = "FAKE-MERCHANT"
FAKE_SECRET = "fake-payment-secret"


@dataclass(frozen=True)
class FakePaymentCall:
    operation: str
    argument: object
    idempotency_key: str | None


class FakePaymentProvider:
    """Transactions in memory; `complete()` pays one, `signed_callback()` builds its callback."""

    identifier = "fake"

    def __init__(
        self, *, merchant_id: str = FAKE_MERCHANT_ID, secret: str = FAKE_SECRET, window: int = 600
    ) -> None:
        self.merchant_id = merchant_id
        self.secret = secret
        self.window = window
        self.calls: list[FakePaymentCall] = []
        self.transactions: dict[str, TransactionStatus] = {}
        self._by_key: dict[str, PaymentIntent] = {}
        self._failures: list[IntegrationError] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    # --- test controls ---------------------------------------------------------------------

    def fail_next(self, *errors: IntegrationError) -> None:
        with self._lock:
            self._failures.extend(errors)

    def complete(
        self, reference: str, *, status: str = PaymentStatus.PAID, at: datetime | None = None
    ) -> TransactionStatus:
        """The applicant paid (or the payment failed) on the platform."""
        with self._lock:
            paid_at = (at or timezone.now()) if status == PaymentStatus.PAID else None
            done = replace(
                self.transactions[reference], status=status, paid_at=paid_at,
                bank_transaction_no=f"BANK-{reference}",
            )
            self.transactions[reference] = done
            return done

    def signed_callback(
        self, reference: str, *, sent_at: datetime | None = None, amount: int | None = None,
        dossier_code: str | None = None, secret: str | None = None,
    ) -> bytes:
        """The callback the platform would send for a transaction (fields overridable)."""
        current = self.transactions[reference]
        fields = codec.status_fields(
            replace(
                current,
                amount=current.amount if amount is None else amount,
                dossier_code=current.dossier_code if dossier_code is None else dossier_code,
            ),
            merchant_id=self.merchant_id, now=sent_at or timezone.now(),
        )
        return json.dumps(with_checksum(fields, secret or self.secret)).encode()

    # --- the Protocol ----------------------------------------------------------------------

    def _record(self, operation: str, argument, key: str | None) -> None:
        with self._lock:
            self.calls.append(FakePaymentCall(operation, argument, key))
            if self._failures:
                raise self._failures.pop(0)

    def create_transaction(self, bill: PaymentBill, *, idempotency_key: str) -> PaymentIntent:
        self._record("create_transaction", bill, idempotency_key)
        with self._lock:
            if idempotency_key in self._by_key:
                return self._by_key[idempotency_key]
            # A forked process (the demo's second walker) carries a copy of this memory: its
            # references name it, so that no two copies hand out the same one.
            owner = "" if os.getpid() == self._pid else f"{os.getpid()}-"
            reference = f"FAKE-{owner}{len(self._by_key) + 1:06d}"
            self.transactions[reference] = TransactionStatus(
                provider=self.identifier, reference=reference, dossier_code=bill.dossier_code,
                amount=bill.amount, status=PaymentStatus.PENDING,
            )
            separator = "&" if "?" in bill.return_url else "?"
            intent = PaymentIntent(
                provider=self.identifier, reference=reference,
                redirect_url=f"{bill.return_url}{separator}reference={reference}",
                dossier_code=bill.dossier_code, amount=bill.amount,
            )
            self._by_key[idempotency_key] = intent
            return intent

    def verify_callback(self, body: bytes, *, now: datetime) -> PaymentNotification:
        data = codec.read_signed(
            body, secret=self.secret, merchant_id=self.merchant_id, now=now, window=self.window
        )
        return codec.notification_from(self.identifier, data)

    def parse_status_query(self, body: bytes, *, now: datetime) -> StatusQuery:
        data = codec.read_signed(
            body, secret=self.secret, merchant_id=self.merchant_id, now=now, window=self.window
        )
        return codec.status_query_from(self.identifier, data)

    def answer_status_query(self, answer: TransactionStatus, *, now: datetime) -> bytes:
        return codec.signed_status(
            answer, merchant_id=self.merchant_id, secret=self.secret, now=now
        )

    def query_transaction(
        self, reference: str, *, idempotency_key: str | None = None
    ) -> TransactionStatus:
        self._record("query_transaction", reference, idempotency_key)
        if reference not in self.transactions:
            raise PortalRejected(status=404, extra={"code": "transaction_unknown"})
        return self.transactions[reference]
