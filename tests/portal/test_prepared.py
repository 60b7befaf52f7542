"""A query compiled once answers what the queryset itself answers, for any values."""

from django.db import transaction
from django.db.models import Exists, OuterRef

import pytest

from dossiers.exceptions import DossierNotFound
from dossiers.models import Dossier, Payment
from dossiers.services.transitions import dossier_locked
from portal.prepared import Prepared
from tests.dossiers.factories import DossierFactory

pytestmark = pytest.mark.django_db

RELATED = ("procedure", "handling_agency", "reception_agency", "applicant", "current_step")


def fields_of(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def orm_locked(pk: int) -> Dossier:
    return (Dossier.objects.select_related(*RELATED)
            .annotate(payments_exist=Exists(Payment.objects.filter(dossier=OuterRef("pk"))))
            .get(pk=pk))


def test_the_lock_reads_each_dossier_and_its_relations_as_the_queryset_does(applicant):
    dossiers = [DossierFactory(applicant=applicant), DossierFactory(submitted=True),
                DossierFactory(processing=True)]
    for dossier in dossiers:
        expected = orm_locked(dossier.pk)
        with transaction.atomic():
            got = dossier_locked(dossier.pk, payments=True)
        assert fields_of(got) == fields_of(expected)
        assert got.payments_exist == expected.payments_exist
        for name in RELATED:
            theirs, ours = getattr(expected, name), getattr(got, name)
            assert (ours is None) == (theirs is None)
            if ours is not None:
                assert fields_of(ours) == fields_of(theirs)
        assert got._state.adding is False and got._state.db == "default"


def test_the_lock_keeps_another_applicants_dossier_and_unknown_ids_out(applicant,
                                                                       other_applicant):
    mine = DossierFactory(applicant=applicant)
    with transaction.atomic():
        assert dossier_locked(mine.pk, applicant=applicant).pk == mine.pk
        for pk, who in [(mine.pk, other_applicant), (mine.pk + 1000, applicant),
                        (0, None), (-1, None), (2**63, None), (10**30, None), ("x", None)]:
            with pytest.raises(DossierNotFound):
                dossier_locked(pk, applicant=who)


def test_a_saved_dossier_read_by_the_lock_saves_like_any_other(applicant):
    dossier = DossierFactory(applicant=applicant)
    with transaction.atomic():
        locked = dossier_locked(dossier.pk)
        locked.on_behalf_name = "Nguyễn Thị Thu"
        locked.save()
    dossier.refresh_from_db()
    assert dossier.on_behalf_name == "Nguyễn Thị Thu"


def test_each_shape_is_compiled_apart_and_values_go_where_their_markers_were(applicant):
    one = DossierFactory(submitted=True, applicant=applicant)
    two = DossierFactory(submitted=True, applicant=applicant)
    assert one.code and two.code
    built = []

    def build(*, shape, pk, code):
        built.append(shape)
        qs = Dossier.objects.filter(pk=pk)
        return qs.exclude(code=code) if shape == "excluding" else qs

    prepared = Prepared(build, pk=int, code=str)
    for _ in range(2):
        assert [d.pk for d in prepared.rows(pk=one.pk, code="")] == [one.pk]
        assert [d.pk for d in prepared.rows(pk=two.pk, code=one.code, shape="excluding")] == [
            two.pk]
        assert prepared.rows(pk=two.pk, code=two.code, shape="excluding") == []
    assert built == [(), "excluding"]


def test_a_value_written_into_the_sql_is_refused_not_answered_wrong():
    def build(*, shape, pk):
        return Dossier.objects.extra(where=[f"id <> {int(pk)}"])  # noqa: S610

    with pytest.raises(RuntimeError, match="written into the SQL"):
        Prepared(build, pk=int).rows(pk=1)


def test_values_must_match_the_declared_ones():
    prepared = Prepared(lambda *, shape, pk: Dossier.objects.filter(pk=pk), pk=int)
    with pytest.raises(TypeError):
        prepared.rows(pk=1, extra=2)
    with pytest.raises(TypeError):
        prepared.rows()
    with pytest.raises(TypeError):
        Prepared(lambda *, shape, at: Dossier.objects.filter(due_at=at), at=float).rows(at=1.0)
