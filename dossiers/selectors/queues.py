"""The officers' queue and the dossier list: keyset-paginated, scoped to what the user may see."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    Q,
    QuerySet,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal import clock
from portal.index_conditions import within_partial_index
from portal.roles import Role

from ..exceptions import InvalidFormData
from ..models import Dossier
from ..models.dossier import QUEUE_BEFORE_RESULT, QUEUE_RESULT_READY
from .scoping import dossier_list_for, dossier_list_parts_for

# --- the officers' queue -------------------------------------------------------------

QUEUE_FILTERS = ("state", "step", "procedure", "assignee", "due", "code", "page_size", "cursor")


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


def queue_states(*, user) -> list[str]:
    """The states a dossier waits in for this officer: every open state after submission, and
    for reception also the results waiting to be handed out (`return_result`)."""
    states = [s for s in Dossier.OPEN_STATES if s != Dossier.State.DRAFT]
    if user.has_role(Role.RECEPTION):
        states.append(Dossier.State.RESULT_READY)
    return states


def _flags(now: datetime) -> dict:
    """`overdue_now` and `due_soon_now` on each row, by the same rules as the named filters
    `DossierQuerySet.overdue()` and `.due_soon()`."""
    running = Q(state__in=Dossier.IN_PROGRESS_STATES, paused_at__isnull=True)
    return {
        "overdue_now": ExpressionWrapper(running & Q(due_at__lt=now),
                                         output_field=BooleanField()),
        "due_soon_now": ExpressionWrapper(
            running & Q(due_soon_at__lte=now, due_at__gte=now), output_field=BooleanField()
        ),
    }


def _queue_base(
    qs: QuerySet, *, user, states: list[str], step: str | None, procedure: int | None,
    assignee: str | None, due: str | None, code: str | None, now: datetime,
) -> QuerySet:
    """The dossiers of `qs` (one part of what the user may see) in `states` (some of the
    queue's) under every other filter. Each state list is written once: a second list on the
    same column makes PostgreSQL misjudge how many rows match and leave the queue's index."""
    if due:
        if due not in ("overdue", "soon"):
            raise InvalidFormData(
                extra={"errors": [{"field": "due", "message": "overdue|soon"}]})
        # `overdue()` and `due_soon()` keep the states whose clock runs themselves.
        states = [s for s in states if s in Dossier.IN_PROGRESS_STATES]
        if not states:
            return qs.none()
        if set(states) != set(Dossier.IN_PROGRESS_STATES):
            qs = qs.filter(state__in=states)
    else:
        qs = qs.filter(state__in=states)
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
    if code and code.strip():
        qs = qs.filter(code__icontains=code.strip())
    return qs


def _keyset_page(qs: QuerySet, key: str, *, cursor: str | None, page_size: int, most: int,
                 newest_first: bool = False) -> QueuePage:
    """One page ordered by (key, pk), after the row the cursor names; no offset is ever read."""
    after = "lt" if newest_first else "gt"
    if cursor:
        value, pk = _decode_cursor(cursor)
        qs = qs.filter(Q(**{f"{key}__{after}": value}) | Q(**{key: value, f"pk__{after}": pk}))
    page_size = max(1, min(int(page_size), most))
    order = (f"-{key}", "-pk") if newest_first else (key, "pk")
    items = list(qs.order_by(*order)[: page_size + 1])
    next_cursor = None
    if len(items) > page_size:
        items = items[:page_size]
        next_cursor = _encode_cursor(getattr(items[-1], key), items[-1].pk)
    return QueuePage(items=items, next_cursor=next_cursor)


def queue_key() -> Coalesce:
    """The queue's order: due time, or the submission time while no due time is set; the
    partial indexes `dossier_queue_handling_idx` and `dossier_queue_reception_idx` hold it."""
    return Coalesce("due_at", "submitted_at")


def _state_groups(user, state: str | None) -> list[list[str]]:
    """The queue's states (or the one asked for) in the groups its partial indexes cover:
    the states before the result, then the results waiting to be handed out."""
    states = [s for s in queue_states(user=user) if not state or s == state]
    before = [s for s in states if s != Dossier.State.RESULT_READY]
    ready = [s for s in states if s == Dossier.State.RESULT_READY]
    return [group for group in (before, ready) if group]


def _indexed(qs: QuerySet, group: list[str]) -> QuerySet:
    """The read of one group of states, stating its partial indexes' condition as they write it
    (on SQLite, `portal.index_conditions`): the part is then read from its index in order, not
    every dossier of the agency read and sorted. The group's states are among the condition's."""
    ready = group == [Dossier.State.RESULT_READY]
    return within_partial_index(qs, QUEUE_RESULT_READY if ready else QUEUE_BEFORE_RESULT)


def _queue_reads(
    *, user, state: str | None, step: str | None, procedure: int | None,
    assignee: str | None, due: str | None, code: str | None, cursor: str | None,
    page_size: int, now: datetime,
) -> list[QuerySet]:
    """The keys (`queue_key`, pk) of each part of the user's scope (`dossier_list_parts_for`),
    each read in the order of its index and no further than one page after the cursor; the
    page is the first rows of their merge."""
    if state and state not in Dossier.State.values:
        raise InvalidFormData(extra={"errors": [{"field": "state", "message": "unknown"}]})
    after = _decode_cursor(cursor) if cursor else None
    parts = [
        _indexed(_queue_base(part, user=user, states=group, step=step, procedure=procedure,
                             assignee=assignee, due=due, code=code, now=now), group)
        for part in dossier_list_parts_for(user=user)
        for group in _state_groups(user, state)
    ]
    reads = []
    for qs in parts:
        qs = qs.annotate(queue_key=queue_key())
        if after:
            value, pk = after
            # The `>=` bound lets the index start at the cursor; the OR breaks the tie.
            qs = qs.filter(Q(queue_key__gte=value),
                           Q(queue_key__gt=value) | Q(queue_key=value, pk__gt=pk))
        # The keys alone, from one table: a join per related row would cost more to plan
        # than the index costs to read.
        reads.append(qs.order_by("queue_key", "pk").values_list("queue_key", "pk")[: page_size + 1])
    return reads


def _merged(keys: list[tuple], now: datetime) -> list[tuple]:
    return sorted(keys, key=lambda k: (k[0] is None, k[0] or now, k[1]))


def _queue_keys(*, now: datetime, page_size: int, **filters) -> tuple[list[int], str | None]:
    """The ids of the queue's page, in order, and the cursor of the next page."""
    reads = _queue_reads(now=now, page_size=page_size, **filters)
    if len(reads) > 1 and connection.features.supports_slicing_ordering_in_compound:
        # One round trip: each part keeps its own ORDER BY and LIMIT inside the UNION ALL
        # (PostgreSQL); SQLite allows no LIMIT there and reads the parts one by one.
        reads = [reads[0].union(*reads[1:], all=True)]
    keys = _merged([key for read in reads for key in read], now)
    next_cursor = None
    if len(keys) > page_size:
        keys = keys[:page_size]
        next_cursor = _encode_cursor(*keys[-1])
    return [pk for _, pk in keys], next_cursor


def dossier_queue(
    *, user, state: str | None = None, step: str | None = None, procedure: int | None = None,
    assignee: str | None = None, due: str | None = None, code: str | None = None,
    cursor: str | None = None, page_size: int = 25, now: datetime | None = None,
) -> QueuePage:
    """Dossiers waiting for the officer's agency, soonest due first, one keyset page at a time;
    each row carries `overdue_now` and `due_soon_now`."""
    now = now or clock.now()
    ids, next_cursor = _queue_keys(user=user, state=state, step=step, procedure=procedure,
                                   assignee=assignee, due=due, code=code, cursor=cursor,
                                   page_size=max(1, min(int(page_size), 100)), now=now)
    # The page's rows with what the queue shows of them (procedure, step, people, payments).
    found = Dossier.objects.filter(pk__in=ids).select_related(
        "procedure", "current_step", "assignee", "applicant"
    ).prefetch_related("payments").annotate(queue_key=queue_key(), **_flags(now)).in_bulk()
    return QueuePage(items=[found[pk] for pk in ids if pk in found], next_cursor=next_cursor)


# The columns of a queue row as the API lists it (`dossiers.api.serializers.queue_rows_data`).
QUEUE_ROW_COLUMNS = (
    "id", "code", "procedure_id", "procedure__national_code", "procedure__name", "channel",
    "state", "version", "form_data", "on_behalf_name", "submitted_at", "received_at", "due_at",
    "new_appointment_at", "completed_at", "returned_at", "outcome", "current_step__code",
    "step_due_at", "assignee_id", "reason", "paused_at", "created_at",
)
QUEUE_PAYMENT_COLUMNS = (
    "id", "amount", "channel", "status", "settles_fee", "refund_reason", "provider_reference",
    "paid_at",
)


# The SQL of a page's keys (PostgreSQL) by the shape of the request: who asks, the filters,
# the page size and whether a cursor is given. What changes from one request to the next (the
# time, the cursor's key) stays a parameter, found by marker values when the SQL is first built:
# building and compiling the parts' querysets costs more than the database takes to read them.
_KEYS_SQL: dict[tuple, tuple] = {}
_KEYS_SQL_MOST = 1024
_MARK_NOW = datetime(1900, 1, 1, 0, 0, 0, 424242, tzinfo=UTC)
_MARK_AFTER = datetime(1900, 1, 2, 0, 0, 0, 424242, tzinfo=UTC)
_MARK_PK = -424242


def _mark(param) -> str | None:
    if isinstance(param, datetime):
        return {_MARK_NOW: "now", _MARK_AFTER: "after"}.get(param)
    if type(param) is int and param == _MARK_PK:
        return "pk"
    return None


def _page_keys_sql(*, user, cursor: str | None, page_size: int, now: datetime,
                   **filters) -> tuple[str, list] | None:
    """The UNION ALL of the parts' key reads as SQL and parameters, or None when the filters
    leave no state of the queue."""
    after = _decode_cursor(cursor) if cursor else None
    shape = (connection.alias, user.pk, user.agency_code, user.unit_code, user.roles,
             tuple(sorted(filters.items())), page_size, after is not None)
    built = _KEYS_SQL.get(shape)
    if built is None:
        marked = _encode_cursor(_MARK_AFTER, _MARK_PK) if after else None
        reads = [read for read in _queue_reads(user=user, cursor=marked, page_size=page_size,
                                               now=_MARK_NOW, **filters)
                 if not read.query.is_empty()]
        if reads:
            keys = reads[0].union(*reads[1:], all=True) if len(reads) > 1 else reads[0]
            sql, params = keys.query.sql_with_params()
            slots = tuple((i, name) for i, p in enumerate(params) if (name := _mark(p)))
            built = (sql, tuple(params), slots)
        else:
            built = (None, (), ())
        if len(_KEYS_SQL) >= _KEYS_SQL_MOST:
            _KEYS_SQL.clear()
        _KEYS_SQL[shape] = built
    sql, params, slots = built
    if sql is None:
        return None
    values = {"now": now, "after": after[0] if after else None,
              "pk": after[1] if after else None}
    params = list(params)
    for i, name in slots:
        params[i] = values[name]
    return sql, params


def _rows_of(page) -> QuerySet:
    """The dossiers of `page` with their payments joined (a row per payment; few have more
    than one), rather than a second round trip for the payments."""
    paid = [f"payments__{column}" for column in QUEUE_PAYMENT_COLUMNS]
    return Dossier.objects.filter(pk__in=page).order_by().values(
        *QUEUE_ROW_COLUMNS, *paid, queue_key=queue_key())


# The rows' SQL with a hole for the page's keys, built once per database: the same text for
# every request (PostgreSQL).
_ROWS_SQL: dict[str, str] = {}
_ROWS_HOLE = "SELECT 424242"


def _joined_rows(page) -> list[dict]:
    if not isinstance(page, RawSQL):
        return list(_rows_of(page))
    template = _ROWS_SQL.get(connection.alias)
    if template is None:
        # A constant marker, replaced below by the keys' SQL that Django compiled with its
        # parameters apart.
        template, params = _rows_of(RawSQL(_ROWS_HOLE, ())).query.sql_with_params()  # nosec B611
        if params or template.count(_ROWS_HOLE) != 1:
            raise RuntimeError("the queue rows' SQL has parameters of its own")
        _ROWS_SQL[connection.alias] = template
    with connection.cursor() as cursor:
        cursor.execute(template.replace(_ROWS_HOLE, page.sql), page.params)
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    for row in rows:  # jsonb comes as text, as Django reads it; the field decodes it
        if isinstance(row["form_data"], str):
            row["form_data"] = json.loads(row["form_data"])
    return rows


def dossier_queue_rows(
    *, user, state: str | None = None, step: str | None = None, procedure: int | None = None,
    assignee: str | None = None, due: str | None = None, code: str | None = None,
    cursor: str | None = None, page_size: int = 25, now: datetime | None = None,
) -> QueuePage:
    """`dossier_queue` as plain rows (`QUEUE_ROW_COLUMNS`, with `payments`: rows of
    `QUEUE_PAYMENT_COLUMNS` by id) for the API, which lists them without building models."""
    now = now or clock.now()
    page_size = max(1, min(int(page_size), 100))
    filters = {"state": state, "step": step, "procedure": procedure, "assignee": assignee,
               "due": due, "code": code}
    if connection.features.supports_slicing_ordering_in_compound:
        # PostgreSQL: the whole page in one round trip, the parts' keys (each by its own index,
        # ORDER BY and LIMIT, under UNION ALL) merged inside the query that reads the rows.
        keys = _page_keys_sql(user=user, cursor=cursor, page_size=page_size, now=now, **filters)
        if keys is None:  # no state of the queue left under the filters
            return QueuePage(items=[], next_cursor=None)
        sql, params = keys
        # `sql` is Django's compiled query; every value stays in `params`.
        page = RawSQL(f'SELECT "pk" FROM ({sql}) AS "queue_keys" '  # nosec B611 B608
                      'ORDER BY "queue_key", "pk" LIMIT %s', (*params, page_size + 1))
    else:
        reads = _queue_reads(user=user, cursor=cursor, page_size=page_size, now=now, **filters)
        page = [pk for _, pk in _merged([key for read in reads for key in read], now)]
        page = page[: page_size + 1]
    found: dict[int, dict] = {}
    for joined in _joined_rows(page):
        row = found.get(joined["id"])
        if row is None:
            row = found[joined["id"]] = {c: joined[c] for c in (*QUEUE_ROW_COLUMNS, "queue_key")}
            row["payments"] = []
        if joined["payments__id"] is not None:
            row["payments"].append({c: joined[f"payments__{c}"] for c in QUEUE_PAYMENT_COLUMNS})
    for row in found.values():
        row["payments"].sort(key=lambda p: p["id"])
    order = _merged([(row["queue_key"], pk) for pk, row in found.items()], now)
    next_cursor = None
    if len(order) > page_size:
        order = order[:page_size]
        next_cursor = _encode_cursor(*order[-1])
    return QueuePage(items=[found[pk] for _, pk in order], next_cursor=next_cursor)


def dossier_queue_counts(
    *, user, step: str | None = None, procedure: int | None = None,
    assignee: str | None = None, due: str | None = None, code: str | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """How many dossiers of the queue wait in each of its states, under the other filters;
    every state of the officer's queue is named, with 0 when none wait there."""
    now = now or clock.now()
    counts = dict.fromkeys(queue_states(user=user), 0)
    for part in dossier_list_parts_for(user=user):
        qs = _queue_base(part, user=user, states=queue_states(user=user), step=step, procedure=procedure,
                         assignee=assignee, due=due, code=code, now=now)
        for state, n in qs.order_by().values_list("state").annotate(n=Count("pk")):
            counts[state] += n
    return counts


# --- the dossier list ----------------------------------------------------------------

LIST_FILTERS = ("state", "procedure", "agency", "overdue", "due_before", "due_after", "code",
                "page_size", "cursor")


def dossier_list_page(
    *, user, state: str | None = None, procedure: int | None = None, agency: str | None = None,
    overdue: bool | None = None, due_before: datetime | None = None,
    due_after: datetime | None = None, code: str | None = None, cursor: str | None = None,
    page_size: int = 50, now: datetime | None = None,
) -> QueuePage:
    """The dossiers the user may see, newest first, filtered, one keyset page at a time."""
    now = now or clock.now()
    qs = dossier_list_for(user=user)
    if state:
        if state not in Dossier.State.values:
            raise InvalidFormData(extra={"errors": [{"field": "state", "message": "unknown"}]})
        qs = qs.filter(state=state)
    if procedure:
        qs = qs.filter(procedure_id=procedure)
    if agency:
        qs = qs.filter(handling_agency__code=agency)
    if overdue is True:
        qs = qs.overdue(now=now)
    elif overdue is False:
        qs = qs.exclude(pk__in=Dossier.objects.overdue(now=now).values("pk"))
    if due_before:
        qs = qs.filter(due_at__lt=due_before)
    if due_after:
        qs = qs.filter(due_at__gte=due_after)
    if code and code.strip():
        qs = qs.filter(code__icontains=code.strip())
    return _keyset_page(qs, "created_at", cursor=cursor, page_size=page_size, most=200,
                        newest_first=True)


# --- work distribution ---------------------------------------------------------------


def dossier_assignable_officers(*, dossier: Dossier) -> QuerySet:
    """Active officers of the dossier's handling agency a leader may hand it to: those of the
    current step's role (for a specialist's step owned by a unit, of that unit), or every
    officer when the dossier has no current step."""
    from django.contrib.auth import get_user_model

    roles = (dossier.current_step.role,) if dossier.current_step_id else Role.OFFICERS
    officers = get_user_model().objects.filter(
        is_active=True, agency_code=dossier.handling_agency.code, groups__name__in=roles
    )
    unit = dossier.current_unit
    if unit is not None and dossier.current_step.role == Role.SPECIALIST:
        officers = officers.filter(unit_code=unit.code)  # the unit that owns the step
    return officers.distinct().order_by("full_name", "username")
