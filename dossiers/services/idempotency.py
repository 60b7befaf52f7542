"""Idempotency-Key handling: the same key and body replay the first answer."""

import hashlib
import json

from django.db import IntegrityError, transaction

from ..exceptions import IdempotencyKeyReused
from ..models import IdempotencyRecord


def request_fingerprint(*, scope: str, body) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{scope}\n{canonical}".encode()).hexdigest()


def idempotency_lookup(*, user, key: str, scope: str, fingerprint: str) -> IdempotencyRecord | None:
    """The stored answer for this key, or None; a key reused for another request is refused."""
    record = IdempotencyRecord.objects.filter(user=user, key=key).first()
    if record is None:
        return None
    if record.scope != scope or record.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    return record


def idempotency_store(
    *, user, key: str, scope: str, fingerprint: str, status: int, body
) -> None:
    """Remember the first answer; a concurrent twin that stored first wins."""
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                user=user, key=key, scope=scope, request_hash=fingerprint,
                response_status=status, response_body=body,
            )
    except IntegrityError:
        pass
