"""The queue API lists plain rows: the same JSON as `DossierSerializer` writes, in as many
queries whatever the page holds."""

import json
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

import pytest
from rest_framework.renderers import JSONRenderer

from dossiers.api.serializers import DossierSerializer
from dossiers.models import Dossier, Payment
from dossiers.selectors.queues import dossier_queue, dossier_queue_rows

from .factories import DossierFactory, ProcedureFactory

pytestmark = pytest.mark.django_db
QUEUE = "api:dossiers:queue"


@pytest.fixture
def procedure(agency):
    return ProcedureFactory(agency=agency)


@pytest.fixture
def page(procedure, applicant, specialist):
    """Dossiers in several states, with and without a step, an assignee, a paused clock and
    payments (one settled, one refunded, one pending), some on a due time in UTC."""
    review = procedure.steps.get(code="review")
    now = timezone.now()
    paid = DossierFactory(processing=True, procedure=procedure, applicant=applicant,
                          current_step=review, assignee=specialist, on_behalf_name="Lê Văn Ba",
                          reason="Bổ sung giấy phép", due_at=datetime(2031, 5, 4, 1, 0, tzinfo=UTC))
    Payment.objects.create(dossier=paid, amount=1_200_000, mode="before", channel="online",
                           provider="fake", status=Payment.Status.PAID, paid_at=now,
                           settles_fee=True, provider_reference="GD-001")
    Payment.objects.create(dossier=paid, amount=1_200_000, mode="before", channel="online",
                           provider="fake", status=Payment.Status.REFUNDED, paid_at=now,
                           refund_reason=Payment.RefundReason.FEE_ALREADY_SETTLED)
    waiting = DossierFactory(submitted=True, procedure=procedure, applicant=applicant)
    Payment.objects.create(dossier=waiting, amount=50_000, mode="before", channel="cash",
                           provider="fake")
    DossierFactory(overdue=True, procedure=procedure, applicant=applicant)
    DossierFactory(pending_approval=True, procedure=procedure, applicant=applicant,
                   due_at=now + timedelta(hours=3))
    paused = DossierFactory(overdue=True, procedure=procedure, applicant=applicant)
    Dossier.objects.filter(pk=paused.pk).update(paused_at=now)
    return [paid, waiting, paused]


def _as_serialized(ids: list[int]) -> list[dict]:
    dossiers = Dossier.objects.in_bulk(ids)
    data = DossierSerializer([dossiers[pk] for pk in ids], many=True).data
    return json.loads(JSONRenderer().render(data))


@pytest.mark.parametrize("language", ["vi", "en"])
def test_queue_rows_are_the_dossier_serializer_s_json(api_client_for, specialist, page,
                                                       language):
    response = api_client_for(specialist).get(reverse(QUEUE), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    results = response.json()["results"]
    ids = [row["id"] for row in results]
    assert len(ids) == 5 and {d.pk for d in page} <= set(ids)
    with translation.override(language):
        assert results == _as_serialized(ids)
    payments = next(row for row in results if row["id"] == page[0].pk)["payments"]
    assert [p["status"] for p in payments] == ["paid", "refunded"]


def test_queue_rows_walk_the_same_pages_as_the_queue(specialist, page, procedure, applicant):
    for _ in range(8):
        DossierFactory(processing=True, procedure=procedure, applicant=applicant)
    now = timezone.now()
    # Twice over: the second walk reads the SQL kept from the first (PostgreSQL), with this
    # walk's time and cursors in it.
    for filters in [{}, {"due": "overdue"}, {"due": "soon"}, {"state": "processing"},
                    {"assignee": "me"}, {"assignee": "none"}, {"code": "SCT"}] * 2:
        now += timedelta(seconds=1)
        cursor, walked = None, []
        while True:
            rows = dossier_queue_rows(user=specialist, cursor=cursor, page_size=3, now=now,
                                      **filters)
            models = dossier_queue(user=specialist, cursor=cursor, page_size=3, now=now,
                                   **filters)
            assert [r["id"] for r in rows.items] == [d.pk for d in models.items]
            assert rows.next_cursor == models.next_cursor
            walked += [r["id"] for r in rows.items]
            if not rows.next_cursor:
                break
            cursor = rows.next_cursor
        assert len(walked) == len(set(walked)), filters


def test_a_queue_page_is_one_query_on_postgresql_and_parts_plus_one_on_sqlite(
        specialist, page):
    assert specialist.roles  # read once per request, before the view
    with CaptureQueriesContext(connection) as ctx:
        rows = dossier_queue_rows(user=specialist)
    assert len(rows.items) == 5
    # SQLite allows no LIMIT inside a UNION: the two parts of the scope are read apart.
    assert len(ctx.captured_queries) == (1 if connection.vendor == "postgresql" else 3)


@pytest.mark.parametrize("filters", [
    {"state": "result_ready", "due": "overdue"},  # reception's results have no running clock
    {"state": "submitted", "due": "overdue"},
    {"state": "returned"},  # not a state of the queue
])
def test_filters_that_leave_no_state_of_the_queue_give_an_empty_page(
        api_client_for, reception, specialist, page, filters):
    for user in (reception, specialist):
        response = api_client_for(user).get(reverse(QUEUE), filters)
        assert response.status_code == 200, response.content
        assert response.json() == {"results": [], "next_cursor": None}
        assert dossier_queue(user=user, **filters).items == []


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_change_s_answer_is_the_serializers_json_for_officers_and_the_owner(
    page, procedure, applicant, language
):
    from dossiers.api.serializers import DossierOwnerSerializer, dossier_data

    everyone = [*page, DossierFactory(procedure=procedure, applicant=applicant),
                DossierFactory(result_ready=True, procedure=procedure, applicant=applicant)]
    render = JSONRenderer().render
    with translation.override(language):
        for dossier in Dossier.objects.filter(pk__in=[d.pk for d in everyone]):
            for owner, serializer in ((False, DossierSerializer),
                                      (True, DossierOwnerSerializer)):
                expected = json.loads(render(serializer(dossier).data))
                assert json.loads(render(dossier_data(dossier, owner=owner))) == expected
                assert list(dossier_data(dossier, owner=owner)) == list(expected)
