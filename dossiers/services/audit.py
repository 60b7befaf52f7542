"""The transition log's hash chain: writing a link and checking whole chains."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC

from ..models import Dossier, DossierTransition


def transition_payload(row: DossierTransition) -> dict:
    """The fields a row's hash covers, as the chain hashes them (also what an export holds)."""
    return {
        "dossier": row.dossier_id,
        "name": row.name,
        "from": row.from_state,
        "to": row.to_state,
        "actor": row.actor_id,
        "actor_label": row.actor_label,
        # Normalised to UTC: the database hands the instant back in UTC whatever zone wrote it.
        "at": row.at.astimezone(UTC).isoformat(),
        "reason": row.reason,
        "step": row.step,
        "clock": row.clock_effect,
        "details": row.details,
        "prev": row.prev_hash,
    }


def transition_digest(row: DossierTransition) -> str:
    payload = transition_payload(row)
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def transition_log_append(*, dossier: Dossier, **fields) -> DossierTransition:
    """Append one row to the dossier's chain; the caller holds the dossier's row lock."""
    row = DossierTransition(dossier=dossier, prev_hash=dossier.audit_head, **fields)
    row.hash = transition_digest(row)
    row.save(force_insert=True)
    dossier.audit_head = row.hash
    return row


@dataclass(frozen=True)
class BrokenChain:
    dossier_id: int
    transition_id: int | None
    problem: str


def audit_verify(*, dossier_ids=None) -> list[BrokenChain]:
    """Every place where a dossier's log no longer matches its hash chain."""
    broken: list[BrokenChain] = []
    dossiers = Dossier.objects.all()
    if dossier_ids is not None:
        dossiers = dossiers.filter(pk__in=dossier_ids)
    heads = dict(dossiers.values_list("pk", "audit_head"))
    rows = DossierTransition.objects.filter(dossier_id__in=heads).order_by("dossier_id", "id")
    last: dict[int, str] = {}
    for row in rows.iterator(chunk_size=2000):
        prev = last.get(row.dossier_id, "")
        if row.prev_hash != prev:
            broken.append(BrokenChain(row.dossier_id, row.pk, "previous hash does not match"))
        elif transition_digest(row) != row.hash:
            broken.append(BrokenChain(row.dossier_id, row.pk, "row content does not match its hash"))
        last[row.dossier_id] = row.hash
    for dossier_id, head in heads.items():
        if last.get(dossier_id, "") != head:
            broken.append(BrokenChain(dossier_id, None, "newest rows are missing"))
    return broken
