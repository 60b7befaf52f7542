"""A model's constraints checked in one query give Django's own errors, in the same order."""

from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import models

import pytest

from dossiers.models import Payment
from tests.dossiers.factories import DossierFactory

PAID_AT = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


def _errors(validate) -> dict | None:
    try:
        validate()
    except ValidationError as error:
        return {field: [(e.message % (e.params or {}), e.code) for e in errors]
                for field, errors in error.error_dict.items()}
    return None


def _both(payment: Payment, exclude=None) -> tuple:
    ours = _errors(lambda: payment.validate_constraints(exclude=exclude))
    djangos = _errors(lambda: models.Model.validate_constraints(payment, exclude=exclude))
    return ours, djangos


def _payment(dossier, **fields) -> Payment:
    values = {"dossier": dossier, "amount": 100_000, "mode": Payment.Mode.BEFORE,
              "channel": Payment.Channel.ONLINE, "provider": "fake"}
    return Payment(**{**values, **fields})


@pytest.fixture
def dossier(db):
    return DossierFactory()


@pytest.mark.parametrize("fields", [
    {},
    {"amount": 0},
    {"status": Payment.Status.PAID},
    {"status": Payment.Status.PAID, "paid_at": PAID_AT},
    {"status": Payment.Status.PAID, "paid_at": PAID_AT, "settles_fee": True},
    {"settles_fee": True},
    {"status": Payment.Status.OVERPAID},
    {"status": Payment.Status.OVERPAID, "paid_at": PAID_AT, "refund_reason": "fee_already_settled"},
    {"online_counted_at": PAID_AT},
    {"online_counted_at": PAID_AT, "settles_fee": True, "channel": Payment.Channel.CASH,
     "status": Payment.Status.PAID, "paid_at": PAID_AT},
    {"amount": 0, "status": Payment.Status.PAID, "online_counted_at": PAID_AT},
], ids=str)
def test_a_payment_gets_the_errors_django_would_give(dossier, fields):
    ours, djangos = _both(_payment(dossier, **fields))

    assert ours == djangos


def test_a_valid_payment_passes_and_a_broken_one_names_each_broken_constraint(dossier):
    assert _both(_payment(dossier)) == (None, None)

    ours, djangos = _both(_payment(dossier, amount=0, status=Payment.Status.OVERPAID))

    assert ours == djangos
    assert [message for message, _code in ours["__all__"]] == [
        'Constraint “payment_amount_positive” is violated.',
        'Constraint “payment_overpaid_has_paid_at_and_reason” is violated.',
    ]


def test_the_unique_constraints_under_a_condition_still_refuse_a_second_row(dossier):
    _payment(dossier, status=Payment.Status.PAID, paid_at=PAID_AT, settles_fee=True,
             provider_reference="REF-1").save()
    second = _payment(dossier, status=Payment.Status.PAID, paid_at=PAID_AT, settles_fee=True,
                      provider_reference="REF-1")

    ours, djangos = _both(second)

    assert ours == djangos
    assert len(ours["__all__"]) == 2  # one fee per dossier, one reference per provider
    # A row the conditions do not cover is not compared with the others.
    assert _both(_payment(dossier, provider_reference="")) == (None, None)


def test_an_excluded_field_leaves_out_the_constraints_that_name_it(dossier):
    payment = _payment(dossier, amount=0, status=Payment.Status.PAID)

    ours, djangos = _both(payment, exclude={"amount", "paid_at"})

    assert ours == djangos
    assert len(ours["__all__"]) == 1  # paid without settling the fee


def test_plain_conditions_are_answered_without_a_query_and_others_in_one(
        dossier, django_assert_num_queries, monkeypatch):
    payment = _payment(dossier)
    # Django's own: one query in its own savepoint per constraint, 8 x 3.
    with django_assert_num_queries(24):
        models.Model.validate_constraints(payment)
    # Every condition of a payment compares its own fields with plain values: none is asked.
    with django_assert_num_queries(0):
        payment.validate_constraints()
    # A database whose text comparisons are not known here is asked: the query and its
    # savepoint.
    monkeypatch.setattr("portal.models._PLAIN_VENDORS", frozenset())
    with django_assert_num_queries(3):
        payment.validate_constraints()


def _answers_both_ways(payment: Payment, exclude=None) -> tuple[dict, dict]:
    from django.db import connection

    from portal import models as kernel

    constraints = payment.get_constraints()
    ours = kernel._answers_in_python(payment, constraints, exclude=exclude, using="default")
    saved = kernel._PLAIN_VENDORS
    kernel._PLAIN_VENDORS = frozenset()
    try:
        theirs = payment._constraint_answers(constraints, exclude=exclude, using="default")
    finally:
        kernel._PLAIN_VENDORS = saved
    assert ours is not None and theirs is not None, connection.vendor
    names = {id(c): c.name for _m, cs in constraints for c in cs}

    def plain(answers):
        return {names[key]: None if value is None else bool(value)
                for key, value in answers.items()}

    return plain(ours), plain(theirs)


ROWS = [
    {}, {"amount": 0}, {"amount": None}, {"status": Payment.Status.PAID},
    {"status": "paid", "paid_at": PAID_AT}, {"status": "paid", "settles_fee": True},
    {"settles_fee": True, "status": Payment.Status.REFUNDED}, {"settles_fee": None},
    {"status": "overpaid", "paid_at": PAID_AT}, {"status": "overpaid", "refund_reason": "x"},
    {"status": None}, {"online_counted_at": PAID_AT, "settles_fee": True, "channel": "cash"},
    {"online_counted_at": PAID_AT, "settles_fee": True}, {"provider_reference": "REF"},
    {"provider_reference": None}, {"channel": None, "online_counted_at": PAID_AT,
                                   "settles_fee": True},
]


@pytest.mark.parametrize("fields", ROWS, ids=str)
def test_each_condition_answered_here_is_what_the_database_answers(dossier, fields):
    payment = _payment(dossier, **fields)

    ours, theirs = _answers_both_ways(payment)

    assert ours == theirs
    # Without the excluded fields, the conditions naming them are answered by neither.
    ours, theirs = _answers_both_ways(payment, exclude={"status", "dossier"})
    assert ours == theirs
    assert "paid_has_paid_at" not in ours


def test_a_condition_that_is_not_plain_is_asked_of_the_database(dossier):
    from django.db.models import F, Q

    from portal import models as kernel

    payment = _payment(dossier, paid_at=PAID_AT)
    for condition in (Q(amount__gt=F("amount")), Q(provider__startswith="f"),
                      Q(provider__gt="a"), Q(dossier__code="X"), Q(paid_at__gt=1),
                      Q(amount=0.5) | Q(amount__in=[]), Q(checked_at__year=2025),
                      Q(paid_at__date__gte=PAID_AT.date()), Q(status__in=["paid", None])):
        with pytest.raises(kernel._NotPlain):
            kernel._condition_answer(payment, condition, exclude=None)


def test_a_database_error_falls_back_to_djangos_checks(dossier, monkeypatch, caplog):
    from django.db.models.sql.compiler import SQLCompiler

    real = SQLCompiler.execute_sql
    calls = []

    def failing_once(self, *args, **kwargs):
        if not calls and any(a.startswith("_constraint_") for a in self.query.annotations):
            calls.append(1)
            from django.db import DatabaseError
            raise DatabaseError("boom")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "execute_sql", failing_once)
    monkeypatch.setattr("portal.models._PLAIN_VENDORS", frozenset())  # ask the database

    ours = _errors(lambda: _payment(dossier, amount=0).validate_constraints())

    assert calls == [1]
    assert ours == {"__all__": [(m, c) for m, c in _errors(
        lambda: models.Model.validate_constraints(_payment(dossier, amount=0)))["__all__"]]}
    assert "not checked at once" in caplog.text


def test_a_row_the_condition_covers_is_compared_with_the_others_alone(
        dossier, django_assert_num_queries):
    """A conditional unique constraint that applies to the row asks only for another row
    with the same values under the condition (Django asks again about the whole row)."""
    saved = _payment(dossier, status=Payment.Status.PAID, paid_at=PAID_AT, settles_fee=True,
                     provider_reference="REF-1")
    saved.save()
    # The stored row itself is no clash, for us as for Django.
    assert _both(saved) == (None, None)
    saved.provider_reference = "REF-2"
    assert _both(saved) == (None, None)

    second = _payment(dossier, status=Payment.Status.PAID, paid_at=PAID_AT, settles_fee=True,
                      provider_reference="REF-2")
    ours, djangos = _both(second)
    assert ours == djangos and len(ours["__all__"]) == 1  # the dossier's fee is settled

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        _errors(second.validate_constraints)
    asked = [q["sql"] for q in captured.captured_queries
             if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))]
    # The conditions answered without the database, then one EXISTS per conditional unique
    # constraint that applies (one fee per dossier, one reference per provider), each with
    # the values of its own fields only.
    assert len(asked) == 2, asked
    for sql in asked:
        assert "100000" not in sql and "EXISTS" not in sql.split(" FROM ")[0], sql
