"""An in-memory portal: records every call, replays repeated keys, fails on request."""

import threading
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from ..base import (
    CatalogEntry,
    DossierSnapshot,
    InboundDossier,
    PortalReceipt,
    ProgressUpdate,
    RemoteDossier,
)
from ..defaults import DefaultCodeBook
from ..exceptions import IntegrationError, PortalRejected
from ..scores import PublishedScorecard, sample_scores
from . import portal_wire


@dataclass(frozen=True)
class FakeCall:
    operation: str
    argument: Any
    idempotency_key: str | None


@dataclass
class _Held:
    snapshot: DossierSnapshot
    updates: list[ProgressUpdate] = field(default_factory=list)


class FakePortalAdapter:
    """The default portal adapter: nothing leaves the process."""

    identifier = "fake"

    def __init__(self, system: str, *, catalog: tuple[CatalogEntry, ...] = ()) -> None:
        self.system = system
        self.catalog = catalog
        self.calls: list[FakeCall] = []
        self.codes = DefaultCodeBook()
        self._answers: dict[str, PortalReceipt] = {}
        self._dossiers: dict[str, _Held] = {}
        self._failures: list[IntegrationError] = []
        self.published: dict[tuple[str, str, str], dict[str, float]] = {}
        self._lock = threading.Lock()

    # --- test controls ---------------------------------------------------------------------

    def fail_next(self, *errors: IntegrationError) -> None:
        """The next calls raise these errors, in order, before doing anything."""
        with self._lock:
            self._failures.extend(errors)

    def calls_of(self, operation: str) -> list[FakeCall]:
        return [c for c in self.calls if c.operation == operation]

    def deliveries(self, code: str) -> list[str]:
        """The states delivered for one dossier, in order, each key counted once."""
        held = self._dossiers.get(code)
        if held is None:
            return []
        return [held.snapshot.state] + [u.state for u in held.updates]

    # --- the Protocol ----------------------------------------------------------------------

    def _record(self, operation: str, argument, key: str | None) -> PortalReceipt | None:
        with self._lock:
            self.calls.append(FakeCall(operation, argument, key))
            if self._failures:
                raise self._failures.pop(0)
            if key is not None and key in self._answers:
                first = self._answers[key]
                return PortalReceipt(
                    system=first.system, dossier_code=first.dossier_code,
                    reference=first.reference, accepted_at=first.accepted_at, replayed=True,
                )
        return None

    def _receipt(self, code: str, key: str) -> PortalReceipt:
        with self._lock:
            receipt = PortalReceipt(
                system=self.system, dossier_code=code, reference=f"FAKE-{len(self._answers) + 1}",
                accepted_at=timezone.now(),
            )
            self._answers[key] = receipt
            return receipt

    def push_dossier(self, dossier: DossierSnapshot, *, idempotency_key: str) -> PortalReceipt:
        replayed = self._record("push_dossier", dossier, idempotency_key)
        if replayed is not None:
            return replayed
        with self._lock:
            held = self._dossiers.get(dossier.code)
            if held is None:
                self._dossiers[dossier.code] = _Held(dossier)
            else:
                held.snapshot = dossier
        return self._receipt(dossier.code, idempotency_key)

    def push_progress(self, update: ProgressUpdate, *, idempotency_key: str) -> PortalReceipt:
        replayed = self._record("push_progress", update, idempotency_key)
        if replayed is not None:
            return replayed
        with self._lock:
            held = self._dossiers.get(update.dossier_code)
            if held is None:
                raise PortalRejected(status=404, extra={"code": "dossier_unknown"})
            held.updates.append(update)
        return self._receipt(update.dossier_code, idempotency_key)

    def lookup_dossier(
        self, code: str, *, idempotency_key: str | None = None
    ) -> RemoteDossier | None:
        self._record("lookup_dossier", code, idempotency_key)
        held = self._dossiers.get(code)
        if held is None:
            return None
        last = held.updates[-1] if held.updates else held.snapshot
        return RemoteDossier(
            system=self.system, code=code, procedure_code=held.snapshot.procedure_code,
            status_code=self.codes.status_code(last.state, last.transition),
            received_at=held.snapshot.received_at,
            due_at=(held.updates[-1].due_at if held.updates else None) or held.snapshot.due_at,
            progress_count=len(held.updates),
        )

    def pull_catalog(self, *, idempotency_key: str | None = None) -> tuple[CatalogEntry, ...]:
        self._record("pull_catalog", None, idempotency_key)
        return self.catalog

    def publish_scores(self, agency: str, date_from, date_to, scores: dict[str, float]) -> None:
        """Publish these scores for the agency and period instead of the sample ones."""
        self.published[(agency, str(date_from), str(date_to))] = dict(scores)

    def pull_scorecard(
        self, agency_code: str, date_from, date_to, *, idempotency_key: str | None = None
    ) -> PublishedScorecard:
        self._record("pull_scorecard", (agency_code, date_from, date_to), idempotency_key)
        scores = self.published.get((agency_code, str(date_from), str(date_to)))
        if scores is None:
            scores = sample_scores(agency_code, date_from, date_to)
        return PublishedScorecard(
            system=self.system, agency_code=agency_code, date_from=date_from, date_to=date_to,
            total=round(sum(scores.values()), 2), groups=dict(scores),
        )

    def parse_inbound_dossier(self, body: bytes) -> InboundDossier:
        return portal_wire.inbound_from(self.system, body, self.codes)
