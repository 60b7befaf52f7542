"""A partial index's condition written into a query with its values inline, as the index has it."""

from datetime import UTC, datetime

from django.db import connection
from django.db.models import F, Q

import pytest

from dossiers.models import Dossier
from dossiers.models.dossier import QUEUE_BEFORE_RESULT, QUEUE_INDEX_STATES, RECEIVED_FOR_ANOTHER
from portal.index_conditions import IndexCondition
from tests.dossiers.factories import AgencyFactory, DossierFactory

pytestmark = pytest.mark.django_db


def _sql(qs) -> tuple[str, tuple]:
    return qs.query.sql_with_params()


def test_the_condition_is_written_with_its_values_inline():
    sql, params = _sql(Dossier.objects.filter(IndexCondition(QUEUE_BEFORE_RESULT)))
    listed = ", ".join(f"'{state}'" for state in QUEUE_INDEX_STATES)
    assert f'"dossiers_dossier"."state" IN ({listed})' in sql
    assert params == ()


def test_beside_other_filters_the_values_of_those_stay_apart():
    qs = Dossier.objects.filter(IndexCondition(QUEUE_BEFORE_RESULT & RECEIVED_FOR_ANOTHER),
                                state="processing", code="SCT-1")
    sql, params = _sql(qs)
    assert sorted(params) == ["SCT-1", "processing"]
    assert 'NOT ("dossiers_dossier"."handling_agency_id" = ' in sql


def test_the_rows_are_those_of_the_condition_as_a_filter(agency, applicant):
    other = AgencyFactory(code="tthcc")
    for state in ("draft", "submitted", "processing", "approved", "result_ready"):
        for reception in (agency, other):
            DossierFactory(applicant=applicant, handling_agency=agency, reception_agency=reception,
                           **({state: True} if state != "draft" else {}))
    for condition in (QUEUE_BEFORE_RESULT, QUEUE_BEFORE_RESULT & RECEIVED_FOR_ANOTHER,
                      Q(state="result_ready"), ~Q(handling_agency=F("reception_agency"))):
        inline = set(Dossier.objects.filter(IndexCondition(condition)).values_list("pk", flat=True))
        bound = set(Dossier.objects.filter(condition).values_list("pk", flat=True))
        assert inline == bound and bound, condition


@pytest.mark.parametrize("condition", [
    Q(code="a'b"), Q(code="50%"), Q(code="x') OR ('1'='1"), Q(code="dòng"),
    Q(code__startswith="SCT"), Q(due_at=datetime(2026, 1, 1, tzinfo=UTC)),
])
def test_a_value_that_is_not_plain_is_refused_never_written(condition):
    qs = Dossier.objects.filter(IndexCondition(condition))
    with pytest.raises(ValueError, match="inline"):
        _sql(qs)


def test_numbers_and_truth_values_are_written_as_the_database_writes_them():
    from dossiers.models import Document

    sql, params = _sql(Dossier.objects.filter(IndexCondition(Q(version=3, paused_at__isnull=True))))
    assert '"dossiers_dossier"."version" = 3' in sql
    assert '"dossiers_dossier"."paused_at" IS NULL' in sql
    assert params == ()
    current = Document.objects.filter(IndexCondition(Q(is_current__in=[True]))).order_by()
    sql, params = _sql(current)
    truth = "1" if connection.vendor == "sqlite" else "true"
    assert sql.endswith(f'WHERE "dossiers_document"."is_current" IN ({truth})')
    assert params == ()
    assert current.count() == 0  # the statement runs


def test_the_statement_runs_with_a_literal_percent_elsewhere_in_it(agency, applicant):
    DossierFactory(applicant=applicant, handling_agency=agency, processing=True,
                   code="SCT-50%")
    qs = Dossier.objects.filter(IndexCondition(QUEUE_BEFORE_RESULT), code__contains="50%")
    assert qs.count() == 1


def test_the_queue_adds_it_on_sqlite_only(agency):
    from dossiers.selectors.queues import _indexed

    qs = Dossier.objects.filter(handling_agency=agency)
    sql, _params = _sql(_indexed(qs, ["processing"]))
    written = "'processing', 'awaiting_supplement'" in sql
    assert written == (connection.vendor == "sqlite")


def test_inside_a_subquery_the_condition_names_the_subquery_s_table(agency, applicant):
    DossierFactory(applicant=applicant, handling_agency=agency, processing=True)
    DossierFactory(applicant=applicant, handling_agency=agency)  # a draft
    inner = Dossier.objects.filter(IndexCondition(QUEUE_BEFORE_RESULT)).values("pk")
    outer = Dossier.objects.filter(pk__in=inner)
    sql, _params = _sql(outer)
    assert 'U0."state" IN (' in sql
    assert list(outer.values_list("state", flat=True)) == ["processing"]
