"""A result handed out at the desk that took the dossier, for another agency's procedure
(Decree 118/2025): that desk's reception returns it, logged with the desk, pushed to the
portals, and records the rating given there; an unrelated agency's reception cannot."""

from django.urls import reverse

import pytest

from dossiers import services
from dossiers.exceptions import DossierNotFound, TransitionForbidden
from dossiers.models import Dossier, DossierTransition, OutboundMessage, Rating
from dossiers.selectors import dossier_get_for
from integrations.selectors import status_code_for
from portal.roles import Role
from tests.dossiers.factories import AgencyFactory, DossierFactory, ProcedureFactory, UserFactory


@pytest.fixture
def centre(db):
    return AgencyFactory(code="ttphvhcc", name="Trung tâm Phục vụ hành chính công tỉnh")


@pytest.fixture
def centre_desk(centre):
    return UserFactory(roles=[Role.RECEPTION], kind="staff", agency_code=centre.code)


@pytest.fixture
def stranger_desk(db):
    other = AgencyFactory(code="sxd", name="Sở Xây dựng")
    return UserFactory(roles=[Role.RECEPTION], kind="staff", agency_code=other.code)


@pytest.fixture
def ready(agency, centre):
    """A result ready of this agency's procedure, for a dossier handed in at the centre."""
    procedure = ProcedureFactory(agency=agency)
    return DossierFactory(procedure=procedure, result_ready=True, reception_agency=centre)


def test_the_desk_that_took_the_dossier_hands_the_result_out(
        ready, centre_desk, api_client_for):
    assert dossier_get_for(user=centre_desk, dossier_id=ready.pk) == ready

    answer = api_client_for(centre_desk).post(
        reverse("api:dossiers:return_result", args=[ready.pk]), {}, format="json")

    assert answer.status_code == 200, answer.json()
    ready.refresh_from_db()
    assert ready.state == Dossier.State.RETURNED and ready.returned_at is not None
    row = DossierTransition.objects.filter(dossier=ready).latest("id")
    assert (row.name, row.actor) == ("return_result", centre_desk)
    assert row.details == {"desk": "ttphvhcc",
                           "desk_name": "Trung tâm Phục vụ hành chính công tỉnh"}
    messages = OutboundMessage.objects.filter(dossier=ready, payload__transition="return_result")
    assert {m.system for m in messages} == {"national", "provincial"}
    for message in messages:
        assert status_code_for(system=message.system, state=message.payload["state"],
                               transition="return_result") == 10
        assert message.payload["handler"]["name"] == centre_desk.display_name
        assert message.payload["handler"]["unit"] == "Trung tâm Phục vụ hành chính công tỉnh"
    # The rating the applicant gives there is recorded by that desk.
    rating = services.rating_record_at_desk(dossier_id=ready.pk, actor=centre_desk, score=5)
    assert (rating.channel, rating.recorded_by) == (Rating.Channel.DESK, centre_desk)


def test_the_handling_agencys_reception_still_may(ready, reception):
    services.dossier_return_result(dossier_id=ready.pk, actor=reception)

    row = DossierTransition.objects.filter(dossier=ready).latest("id")
    assert (row.actor, row.details["desk"]) == (reception, ready.handling_agency.code)


def test_an_unrelated_agencys_reception_neither_sees_nor_returns_it(
        ready, stranger_desk, api_client_for):
    answer = api_client_for(stranger_desk).post(
        reverse("api:dossiers:return_result", args=[ready.pk]), {}, format="json")
    assert answer.status_code == 404
    with pytest.raises(DossierNotFound):
        dossier_get_for(user=stranger_desk, dossier_id=ready.pk)
    with pytest.raises(TransitionForbidden):
        services.dossier_return_result(dossier_id=ready.pk, actor=stranger_desk)
    assert Dossier.objects.get(pk=ready.pk).state == Dossier.State.RESULT_READY


def test_only_reception_at_the_desk_the_centres_other_roles_may_not(ready, centre, api_client_for):
    clerk = UserFactory(roles=[Role.SPECIALIST], kind="staff", agency_code=centre.code)
    with pytest.raises(TransitionForbidden):
        services.dossier_return_result(dossier_id=ready.pk, actor=clerk)


def test_the_desks_officer_page_offers_the_hand_out_and_it_works(ready, centre_desk, client):
    client.force_login(centre_desk)
    page = client.get(reverse("web:officers:dossier", args=[ready.pk]))
    assert page.status_code == 200
    assert "Trả kết quả cho người nộp" in page.content.decode()

    done = client.post(reverse("web:officers:move", args=[ready.pk, "return-result"]),
                       {"version": ready.version})

    assert done.status_code == 302
    assert Dossier.objects.get(pk=ready.pk).state == Dossier.State.RETURNED


def test_an_unrelated_desk_gets_404_on_the_page_and_the_move(ready, stranger_desk, client):
    client.force_login(stranger_desk)
    assert client.get(reverse("web:officers:dossier", args=[ready.pk])).status_code == 404
    moved = client.post(reverse("web:officers:move", args=[ready.pk, "return-result"]),
                        {"version": ready.version})
    assert moved.status_code == 404
    assert Dossier.objects.get(pk=ready.pk).state == Dossier.State.RESULT_READY
