"""The officers' queue: keyset-paginated, scoped to the officer's agency."""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal import clock

from ..exceptions import InvalidFormData
from ..models import Dossier
from .scoping import dossier_list_for

# --- the officers' queue -------------------------------------------------------------

QUEUE_FILTERS = ("state", "step", "procedure", "assignee", "due", "page_size", "cursor")


def _encode_cursor(key: datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{key.isoformat()}|{pk}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        stamp, pk = raw.rsplit("|", 1)
        key = parse_datetime(stamp)
        if key is None or timezone.is_naive(key):
            raise ValueError
        return key, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidFormData(
            "Con trỏ phân trang không hợp lệ.", extra={"errors": [{"field": "cursor"}]}
        ) from exc


@dataclass(frozen=True)
class QueuePage:
    items: list
    next_cursor: str | None


def dossier_queue(
    *, user, state: str | None = None, step: str | None = None, procedure: int | None = None,
    assignee: str | None = None, due: str | None = None, cursor: str | None = None,
    page_size: int = 25, now: datetime | None = None,
) -> QueuePage:
    """Open dossiers of the officer's agency, soonest due first, one keyset page at a time."""
    now = now or clock.now()
    qs = dossier_list_for(user=user).filter(
        state__in=[s for s in Dossier.OPEN_STATES if s != Dossier.State.DRAFT]
    )
    if state:
        if state not in Dossier.State.values:
            raise InvalidFormData(extra={"errors": [{"field": "state", "message": "unknown"}]})
        qs = qs.filter(state=state)
    if step:
        qs = qs.filter(current_step__code=step)
    if procedure:
        qs = qs.filter(procedure_id=procedure)
    if assignee == "me":
        qs = qs.filter(assignee=user)
    elif assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif assignee:
        if not str(assignee).isdigit():
            raise InvalidFormData(extra={"errors": [{"field": "assignee", "message": "invalid"}]})
        qs = qs.filter(assignee_id=int(assignee))
    if due == "overdue":
        qs = qs.overdue(now=now)
    elif due == "soon":
        qs = qs.due_soon(now=now)
    elif due:
        raise InvalidFormData(extra={"errors": [{"field": "due", "message": "overdue|soon"}]})
    qs = qs.annotate(queue_key=Coalesce("due_at", "submitted_at"))
    if cursor:
        key, pk = _decode_cursor(cursor)
        qs = qs.filter(Q(queue_key__gt=key) | Q(queue_key=key, pk__gt=pk))
    page_size = max(1, min(int(page_size), 100))
    items = list(qs.order_by("queue_key", "pk")[: page_size + 1])
    next_cursor = None
    if len(items) > page_size:
        items = items[:page_size]
        last = items[-1]
        next_cursor = _encode_cursor(last.queue_key, last.pk)
    return QueuePage(items=items, next_cursor=next_cursor)
