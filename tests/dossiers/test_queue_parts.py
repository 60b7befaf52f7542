"""The queue read part by part in the order of its partial indexes: the same dossiers in the
same order as one query over everything the user may see, and the indexes really used."""

import random
from datetime import timedelta

from django.db import connection
from django.db.models import F
from django.db.models.functions import Coalesce
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import pytest

from dossiers.models import Dossier, Unit
from dossiers.models.dossier import IN_PROGRESS_INDEX_STATES, QUEUE_INDEX_STATES
from dossiers.selectors.indicators import indicators
from dossiers.selectors.queues import dossier_queue, dossier_queue_counts, queue_states
from dossiers.selectors.scoping import dossier_list_for, dossier_list_parts_for
from portal.roles import Role

from .factories import AgencyFactory, DossierFactory, ProcedureFactory, UserFactory
from .sqlite_plans import sqlite_only, sqlite_plans

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the plans of PostgreSQL"
)


@pytest.fixture
def world(agency, applicant):
    """Dossiers of two agencies, some received at the other's desk, in every state, with due
    times that tie, and a unit of the first agency owning one step."""
    center = AgencyFactory(code="tthcc", name="Trung tâm Phục vụ hành chính công")
    own = ProcedureFactory(agency=agency)
    theirs = ProcedureFactory(agency=center)
    unit = Unit.objects.create(agency=agency, code="qltm", name="Phòng Quản lý thương mại")
    review = own.steps.get(code="review")
    review.unit = unit
    review.save()
    rnd = random.Random(7)
    now = timezone.now()
    traits = ["submitted", "processing", "pending_approval", "approved", "result_ready",
              "overdue"]
    for i in range(60):
        procedure = rnd.choice([own, theirs])
        reception = rnd.choice([agency, center])
        trait = rnd.choice(traits)
        due = now + timedelta(hours=rnd.choice([-30, -5, 2, 2, 8, 50]))  # ties on purpose
        kwargs = {trait: True, "procedure": procedure, "applicant": applicant,
                  "reception_agency": reception, "handling_agency": procedure.agency,
                  "channel": rnd.choice(["online", "counter"])}
        if trait == "submitted":
            kwargs["submitted_at"] = now - timedelta(hours=rnd.choice([1, 3, 3]))
        elif trait != "overdue":
            kwargs["due_at"] = due
        if procedure == own and trait == "processing" and i % 2:
            kwargs["current_step"] = review
        DossierFactory(**kwargs)
    DossierFactory(procedure=own, applicant=applicant)  # a draft
    return {"agency": agency, "center": center, "now": now}


def _users(world) -> list:
    agency, center = world["agency"], world["center"]
    staff = {"kind": "staff"}
    return [
        UserFactory(roles=[Role.RECEPTION], agency_code=agency.code, **staff),
        UserFactory(roles=[Role.RECEPTION], agency_code=center.code, **staff),
        UserFactory(roles=[Role.SPECIALIST], agency_code=agency.code, **staff),
        UserFactory(roles=[Role.SPECIALIST], agency_code=agency.code, unit_code="qltm",
                    **staff),
        UserFactory(roles=[Role.LEADER], agency_code=center.code, **staff),
        UserFactory(roles=[Role.MANAGER], agency_code=agency.code, **staff),
        UserFactory(roles=[Role.MANAGER], agency_code="", **staff),
        UserFactory(roles=[Role.ADMIN], agency_code=agency.code, **staff),
        UserFactory(roles=[Role.SPECIALIST], agency_code="", **staff),
        UserFactory(roles=[Role.APPLICANT], kind="business"),
    ]


def test_the_parts_are_disjoint_and_make_up_what_the_user_may_see(world):
    seen_somewhere = set()
    for user in _users(world):
        whole = sorted(dossier_list_for(user=user).values_list("pk", flat=True))
        parts = [list(p.values_list("pk", flat=True)) for p in dossier_list_parts_for(user=user)]
        joined = sorted(pk for part in parts for pk in part)
        assert joined == whole, user.username
        seen_somewhere.update(joined)
    # Received at the center for the agency: in both agencies' scopes, once each.
    crossed = Dossier.objects.exclude(handling_agency=F("reception_agency")).exclude(
        state=Dossier.State.DRAFT)
    assert crossed.exists()
    assert set(crossed.values_list("pk", flat=True)) <= seen_somewhere


def _reference(user, now, **filters) -> list[int]:
    """The queue as one query over what the user may see, ordered by its key: what the
    page-by-page reading must give."""
    qs = dossier_list_for(user=user).filter(state__in=queue_states(user=user))
    if filters.get("due") == "overdue":
        qs = qs.overdue(now=now)
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    if filters.get("assignee") == "none":
        qs = qs.filter(assignee__isnull=True)
    return list(qs.annotate(k=Coalesce("due_at", "submitted_at")).order_by("k", "pk")
                .values_list("pk", flat=True))


def _walk(user, now, **filters) -> list[int]:
    seen, cursor = [], None
    for _ in range(100):
        page = dossier_queue(user=user, cursor=cursor, page_size=4, now=now, **filters)
        assert len(page.items) <= 4
        seen += [d.pk for d in page.items]
        if not page.next_cursor:
            return seen
        cursor = page.next_cursor
    raise AssertionError("the cursor never ends")


@pytest.mark.parametrize("filters", [{}, {"due": "overdue"}, {"state": "result_ready"},
                                     {"state": "processing"}, {"assignee": "none"}])
def test_every_page_follows_the_order_of_the_single_query(world, filters):
    now = world["now"]
    checked = 0
    for user in _users(world)[:5]:
        expected = _reference(user, now, **filters)
        assert _walk(user, now, **filters) == expected, user.username
        checked += len(expected)
    assert checked > 10  # the data really exercises the pages


def test_the_counts_add_up_the_parts(world):
    now = world["now"]
    for user in _users(world)[:5]:
        qs = dossier_list_for(user=user).filter(state__in=queue_states(user=user))
        expected = {s: qs.filter(state=s).count() for s in queue_states(user=user)}
        assert dossier_queue_counts(user=user, now=now) == expected, user.username


def test_a_dossier_received_for_another_agency_waits_in_the_receiving_desk_queue(world):
    center_desk = _users(world)[1]
    received_here = Dossier.objects.filter(
        reception_agency=world["center"], handling_agency=world["agency"],
        state__in=queue_states(user=center_desk))
    assert received_here.exists()
    walked = set(_walk(center_desk, world["now"]))
    assert set(received_here.values_list("pk", flat=True)) <= walked


def test_a_page_costs_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    reception = _users(world)[0]
    assert reception.has_role(Role.RECEPTION)  # roles are read once per request, before
    # 2 parts x 2 groups of states for reception, the page's rows, their payments.
    with django_assert_max_num_queries(6):
        page = dossier_queue(user=reception, page_size=25, now=world["now"])
    with CaptureQueriesContext(connection) as ctx:
        [(d.procedure.name, d.assignee_id and d.assignee.display_name, d.applicant.display_name,
          d.current_step_id and d.current_step.code, list(d.payments.all()))
         for d in page.items]
    assert len(ctx.captured_queries) == 0
    assert page.items


def test_the_index_conditions_cover_the_queue_states():
    open_after_submission = [s for s in Dossier.OPEN_STATES if s != Dossier.State.DRAFT]
    assert list(QUEUE_INDEX_STATES) == [str(s) for s in open_after_submission]
    assert list(IN_PROGRESS_INDEX_STATES) == [str(s) for s in Dossier.IN_PROGRESS_STATES]


@pytest.mark.parametrize("group_by", ["agency", "procedure", "channel"])
def test_grouped_totals_equal_the_totals_read_directly(world, group_by):
    manager = UserFactory(roles=[Role.MANAGER], kind="staff", agency_code="")
    now = world["now"]
    direct = indicators(user=manager, now=now)
    grouped = indicators(user=manager, group_by=group_by, now=now)
    groups = grouped.pop("groups")
    assert grouped == direct
    assert direct["in_progress"] > 0 and len(groups) >= 2


# --- the plans on PostgreSQL -----------------------------------------------------------


def _plans(fn) -> str:
    """EXPLAIN of every SELECT `fn` runs, with the planner told that sorting and scanning
    whole tables is dear (the test tables are tiny; at scale the costs say so themselves)."""
    with CaptureQueriesContext(connection) as ctx:
        fn()
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        for query in ctx.captured_queries:
            # The parts' reads come as one UNION ALL of parenthesised SELECTs.
            if query["sql"].lstrip("(").startswith("SELECT") and "dossiers_dossier" in query["sql"]:
                cursor.execute("EXPLAIN " + query["sql"])
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
        cursor.execute("RESET ALL")
    return "\n----\n".join(plans)


@postgres_only
def test_the_queue_walks_its_partial_indexes(world):
    reception = _users(world)[1]
    plans = _plans(lambda: dossier_queue(user=reception, now=world["now"]))
    for index in ("dossier_queue_handling_idx", "dossier_queue_reception_idx",
                  "dossier_ready_handling_idx", "dossier_ready_reception_idx"):
        assert index in plans, plans
    page = dossier_queue(user=reception, page_size=3, now=world["now"])
    plans = _plans(lambda: dossier_queue(user=reception, cursor=page.next_cursor,
                                         due="overdue", now=world["now"]))
    assert "dossier_queue_handling_idx" in plans
    assert "COALESCE(due_at, submitted_at) >=" in plans  # the cursor bounds the index scan


# --- the plans on SQLite ----------------------------------------------------------------


@sqlite_only
def test_on_sqlite_each_part_is_read_from_its_partial_index_in_order(world):
    reception = _users(world)[1]
    assert reception.has_role(Role.RECEPTION)
    for filters in ({}, {"due": "overdue"}, {"state": "processing"}):
        plans = sqlite_plans(lambda f=filters: dossier_queue(user=reception, now=world["now"],
                                                             **f), table="dossiers_dossier")
        reads = [plan for plan in plans if "_idx" in plan or "SCAN" in plan]
        used = " ".join(reads)
        expected = ["dossier_queue_handling_idx", "dossier_queue_reception_idx"]
        if not filters:
            expected += ["dossier_ready_handling_idx", "dossier_ready_reception_idx"]
        for index in expected:
            assert f"USING INDEX {index}" in used, (filters, plans)
        # Read in the index's order: no part sorts its rows, none scans the table.
        for plan in reads:
            if "queue_" in plan or "ready_" in plan:
                assert "TEMP B-TREE" not in plan, (filters, plan)
            assert "SCAN dossiers_dossier" not in plan, (filters, plan)
