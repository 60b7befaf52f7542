"""Units (phòng chuyên môn): a specialist placed in a unit sees that unit's dossiers and those
assigned to them; reception, leaders and a specialist in no unit see the agency's."""

from django.core.exceptions import ValidationError
from django.urls import reverse

import pytest

from dossiers.exceptions import DossierNotFound
from dossiers.models import Unit
from dossiers.selectors import dossier_list_for
from dossiers.selectors.queues import dossier_assignable_officers, dossier_queue
from dossiers.services.queue import dossier_claim
from portal.roles import Role

from .factories import AgencyFactory, DossierFactory, ProcedureFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def units(agency):
    return (Unit.objects.create(agency=agency, code="qltm", name="Phòng Quản lý thương mại"),
            Unit.objects.create(agency=agency, code="qlcn", name="Phòng Quản lý công nghiệp"))


def _on_review(agency, unit, **kwargs):
    procedure = ProcedureFactory(agency=agency)
    review = procedure.steps.get(code="review")
    review.unit = unit
    review.save()
    return DossierFactory(processing=True, procedure=procedure, current_step=review, **kwargs)


@pytest.fixture
def world(agency, units):
    trade, industry = units
    return {
        "trade": _on_review(agency, trade),
        "industry": _on_review(agency, industry),
        "shared": _on_review(agency, None),
    }


def _specialist(agency, unit_code=""):
    return UserFactory(roles=[Role.SPECIALIST], kind="staff", agency_code=agency.code,
                       unit_code=unit_code)


def _seen(user) -> set[int]:
    return set(dossier_list_for(user=user).values_list("pk", flat=True))


def test_a_specialist_of_a_unit_sees_that_units_dossiers_only(agency, world):
    trade_specialist = _specialist(agency, "qltm")

    assert _seen(trade_specialist) == {world["trade"].pk}
    assert world["trade"].current_unit.code == "qltm"


def test_a_specialist_also_sees_what_is_assigned_to_them_from_another_unit(agency, world):
    trade_specialist = _specialist(agency, "qltm")
    world["industry"].assignee = trade_specialist
    world["industry"].save()

    assert _seen(trade_specialist) == {world["trade"].pk, world["industry"].pk}


def test_reception_leaders_and_a_specialist_in_no_unit_see_the_agency(agency, world, reception,
                                                                    leader, specialist):
    everything = {d.pk for d in world.values()}

    assert _seen(reception) == everything
    assert _seen(leader) == everything
    assert _seen(specialist) == everything  # the fixture's specialist belongs to no unit


def test_a_unit_of_the_same_code_in_another_agency_opens_nothing(agency, world):
    other = AgencyFactory(code="sxd", name="Sở Xây dựng")
    Unit.objects.create(agency=other, code="qltm", name="Phòng Quản lý thương mại")
    stranger = _specialist(other, "qltm")

    assert _seen(stranger) == set()


def test_the_queue_follows_the_unit(agency, world):
    trade_specialist = _specialist(agency, "qltm")

    page = dossier_queue(user=trade_specialist)

    assert [d.pk for d in page.items] == [world["trade"].pk]


def test_the_api_answers_404_for_another_units_dossier(agency, world, api_client_for):
    client = api_client_for(_specialist(agency, "qltm"))

    own = client.get(reverse("api:dossiers:detail", args=[world["trade"].pk]))
    other = client.get(reverse("api:dossiers:detail", args=[world["industry"].pk]))
    claim = client.post(reverse("api:dossiers:claim", args=[world["industry"].pk]))

    assert own.status_code == 200
    assert other.status_code == 404
    assert claim.status_code == 404


def test_the_claim_service_refuses_another_units_dossier(agency, world):
    trade_specialist = _specialist(agency, "qltm")

    with pytest.raises(DossierNotFound):
        dossier_claim(dossier_id=world["industry"].pk, actor=trade_specialist)
    claimed = dossier_claim(dossier_id=world["trade"].pk, actor=trade_specialist)

    assert claimed.assignee == trade_specialist


def test_a_leader_hands_a_units_step_to_that_units_specialists(agency, world, leader):
    trade_specialist = _specialist(agency, "qltm")
    industry_specialist = _specialist(agency, "qlcn")
    unplaced = _specialist(agency)

    trade = set(dossier_assignable_officers(dossier=world["trade"]))
    shared = set(dossier_assignable_officers(dossier=world["shared"]))

    assert trade == {trade_specialist}
    assert shared == {trade_specialist, industry_specialist, unplaced}


def test_a_step_takes_only_a_unit_of_the_procedures_agency(agency, units):
    other = AgencyFactory(code="sxd", name="Sở Xây dựng")
    step = ProcedureFactory(agency=other).steps.get(code="review")
    step.unit = units[0]

    with pytest.raises(ValidationError) as caught:
        step.full_clean()

    assert "unit" in caught.value.message_dict


def test_the_demo_gives_the_agency_two_units_and_the_specialist_one(db):
    from dossiers.services.catalog import catalog_load
    from dossiers.services.demo import DEMO_UNITS, demo_accounts_ensure, demo_units_ensure

    catalog_load()
    users = demo_accounts_ensure()
    units = demo_units_ensure()

    users["chuyenvien"].refresh_from_db()
    assert sorted(units) == ["qlcn", "qltm"]
    assert users["chuyenvien"].unit_code == "qltm"
    assert Unit.objects.filter(agency__code="SCT").count() == 2
    assert set(units["qlcn"].steps.values_list("procedure__sector", flat=True)) <= set(
        DEMO_UNITS["qlcn"][1]
    )
    assert units["qltm"].steps.exists() and units["qlcn"].steps.exists()
