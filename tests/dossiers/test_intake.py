"""Paper dossiers at the desk or by post, reception anywhere in the province (Decree 118/2025),
the refusal notice handed over, the rating given at the desk, codes with the national agency
identifier."""

from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

import pytest

from dossiers import services
from dossiers.exceptions import InvalidFormData, InvalidTransition, TransitionForbidden
from dossiers.models import Document, Dossier, DossierTransition, OutboundMessage, Rating
from dossiers.selectors.queues import dossier_queue
from dossiers.services.intake import ApplicantIdentity, PaperScan
from integrations.selectors import status_code_for
from portal.models import User
from portal.roles import Role
from tests.conftest import PDF_BYTES
from tests.dossiers.factories import (
    VALID_FORM,
    AgencyFactory,
    DossierFactory,
    ProcedureFactory,
    UserFactory,
)

CITIZEN = ApplicantIdentity(kind="citizen", name="Lê Văn Bình", id_number="045099001234",
                            phone="0912 345 678", email="", address="12 Hùng Vương, Đông Hà")


def pdf(name="don.pdf"):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def scans():
    return [PaperScan("don_de_nghi", pdf())]


@pytest.fixture
def procedure(agency):
    return ProcedureFactory(agency=agency)


@pytest.fixture
def centre(db):
    """The provincial public administration centre: a reception point for every agency."""
    return AgencyFactory(code="ttphvhcc", name="Trung tâm Phục vụ hành chính công tỉnh")


@pytest.fixture
def centre_desk(centre):
    return UserFactory(roles=[Role.RECEPTION], kind="staff", agency_code=centre.code)


def test_a_walk_in_dossier_is_registered_scanned_and_received_at_once(reception, procedure):
    result = services.intake_register(
        actor=reception, procedure_id=procedure.pk, channel="counter", applicant=CITIZEN,
        form_data=dict(VALID_FORM), scans=scans(),
    )

    dossier = Dossier.objects.get(pk=result.dossier.pk)
    assert result.received and dossier.state == Dossier.State.PROCESSING
    assert dossier.channel == "counter" and dossier.received_at and dossier.due_at
    assert dossier.reception_agency == dossier.handling_agency == procedure.agency
    owner = dossier.applicant
    assert owner.citizen_id == "045099001234" and owner.kind == "citizen"
    assert owner.phone == "0912345678" and owner.address == "12 Hùng Vương, Đông Hà"
    assert not owner.has_usable_password() and owner.has_role(Role.APPLICANT)
    document = Document.objects.get(dossier=dossier)
    assert document.digitized and document.component.code == "don_de_nghi"
    names = list(DossierTransition.objects.filter(dossier=dossier).values_list("name", flat=True))
    assert names == ["register", "accept"]
    assert services.slip_receipt_render(dossier=dossier)[:5] == b"%PDF-"


def test_a_postal_dossier_of_a_known_business_reuses_its_account(reception, procedure, applicant):
    business = ApplicantIdentity(kind="business", name="Công ty Minh An", id_number="3200123456",
                                 phone="0233 3852 111", address="Đông Hà")
    result = services.intake_register(
        actor=reception, procedure_id=procedure.pk, channel="post", applicant=business,
        form_data=dict(VALID_FORM), scans=scans(),
    )
    assert result.dossier.applicant_id == applicant.pk
    assert result.dossier.channel == "post"
    applicant.refresh_from_db()
    assert applicant.address == "Đông Hà"  # filled in; the name the holder chose stays
    assert applicant.full_name != "Công ty Minh An"


def test_bad_input_changes_nothing_and_names_each_field(reception, procedure):
    wrong = ApplicantIdentity(kind="citizen", name="", id_number="123", phone="12",
                              email="khong-phai-email", address="")
    users, dossiers = User.objects.count(), Dossier.objects.count()

    with pytest.raises(InvalidFormData) as caught:
        services.intake_register(
            actor=reception, procedure_id=procedure.pk, channel="online", applicant=wrong,
            form_data={"tax_code": "x"},
            scans=[PaperScan("ban_ve", SimpleUploadedFile("a.txt", b"hello"))],
        )

    fields = {e["field"] for e in caught.value.extra["errors"]}
    assert {"channel", "applicant_name", "id_number", "phone", "email", "address",
            "scan_ban_ve", "scan_don_de_nghi", "form.tax_code"} <= fields
    assert (User.objects.count(), Dossier.objects.count()) == (users, dossiers)


def test_only_reception_registers(specialist, procedure):
    from dossiers.exceptions import TransitionForbidden

    with pytest.raises(TransitionForbidden):
        services.intake_register(actor=specialist, procedure_id=procedure.pk, channel="counter",
                                 applicant=CITIZEN, form_data=dict(VALID_FORM), scans=scans())


def test_a_fee_due_at_submission_is_collected_at_the_desk(reception, agency):
    procedure = ProcedureFactory(agency=agency, fee_at_submission=True)
    with pytest.raises(InvalidFormData) as caught:
        services.intake_register(actor=reception, procedure_id=procedure.pk, channel="counter",
                                 applicant=CITIZEN, form_data=dict(VALID_FORM), scans=scans())
    assert [e["field"] for e in caught.value.extra["errors"]] == ["fee_channel"]

    result = services.intake_register(
        actor=reception, procedure_id=procedure.pk, channel="counter", applicant=CITIZEN,
        form_data=dict(VALID_FORM), scans=scans(), fee_channel="cash",
    )
    assert result.received and result.dossier.fee_paid


# --- Decree 118/2025: reception anywhere in the province -------------------------------------


def test_a_desk_of_another_agency_files_and_hands_over(
    centre_desk, centre, reception, procedure, frozen
):
    registered_at = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # Monday 09:00 in Hà Nội
    with frozen(registered_at):
        result = services.intake_register(
            actor=centre_desk, procedure_id=procedure.pk, channel="counter", applicant=CITIZEN,
            form_data=dict(VALID_FORM), scans=scans(),
        )
    dossier = Dossier.objects.get(pk=result.dossier.pk)
    assert not result.received and result.handed_over_to == procedure.agency
    assert dossier.state == Dossier.State.SUBMITTED and dossier.received_at is None
    assert dossier.reception_agency == centre and dossier.handling_agency == procedure.agency
    hand_over = DossierTransition.objects.get(dossier=dossier, name="hand_over")
    assert hand_over.actor == centre_desk
    assert hand_over.details["from_agency"] == "ttphvhcc"
    assert hand_over.details["to_agency"] == procedure.agency.code
    assert hand_over.details["documents"][0]["digitized"] is True

    # The handling agency's reception sees it waiting; the centre's desk cannot receive it.
    page = dossier_queue(user=reception, state="submitted")
    assert [d.pk for d in page.items] == [dossier.pk]
    from dossiers.exceptions import TransitionForbidden

    with pytest.raises(TransitionForbidden):
        services.dossier_accept(dossier_id=dossier.pk, actor=centre_desk)

    # The clock starts when the handling agency receives the dossier (DESIGN §4).
    accepted_at = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)  # 14:00 the same day
    with frozen(accepted_at):
        services.dossier_accept(dossier_id=dossier.pk, actor=reception)
    dossier.refresh_from_db()
    assert dossier.received_at == accepted_at and dossier.submitted_at == registered_at
    assert dossier.due_at > accepted_at


def test_hand_over_happens_once_and_only_between_agencies(reception, procedure, centre_desk):
    result = services.intake_register(actor=centre_desk, procedure_id=procedure.pk,
                                      channel="post", applicant=CITIZEN,
                                      form_data=dict(VALID_FORM), scans=scans())
    with pytest.raises(InvalidFormData):
        services.dossier_hand_over(dossier_id=result.dossier.pk, actor=centre_desk)
    own = DossierFactory(procedure=procedure, submitted=True)
    with pytest.raises(InvalidFormData):
        services.dossier_hand_over(dossier_id=own.pk, actor=reception)


# --- the refusal notice handed over, and the rating given at the desk ------------------------


def refused(procedure):
    return DossierFactory(procedure=procedure, processing=True, state=Dossier.State.REFUSED,
                          completed_at=datetime(2025, 3, 5, 3, 0, tzinfo=UTC), outcome="early")


def test_a_refusal_handed_over_reaches_status_10(reception, procedure):
    dossier = refused(procedure)
    services.dossier_hand_over_refusal(dossier_id=dossier.pk, actor=reception)

    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.REFUSED and dossier.returned_at is not None
    row = DossierTransition.objects.get(dossier=dossier, name="hand_over_refusal")
    messages = OutboundMessage.objects.filter(dossier=dossier, payload__transition=row.name)
    assert {m.system for m in messages} == {"national", "provincial"}
    for message in messages:
        assert message.kind == OutboundMessage.Kind.PUSH_PROGRESS
        assert status_code_for(system=message.system, state=message.payload["state"],
                               transition=message.payload["transition"]) == 10
    with pytest.raises(InvalidTransition):
        services.dossier_hand_over_refusal(dossier_id=dossier.pk, actor=reception)


def test_reception_records_the_rating_given_at_the_desk(reception, procedure, specialist):
    dossier = DossierFactory(procedure=procedure, result_ready=True,
                             state=Dossier.State.RETURNED)
    dossier.returned_at = dossier.completed_at
    dossier.save()
    with pytest.raises(TransitionForbidden):  # the agency's specialist: not the desk's work
        services.rating_record_at_desk(dossier_id=dossier.pk, actor=specialist, score=5)

    rating = services.rating_record_at_desk(dossier_id=dossier.pk, actor=reception, score=2,
                                            comment=" Chờ lâu ")
    assert (rating.channel, rating.recorded_by, rating.comment) == (
        Rating.Channel.DESK, reception, "Chờ lâu")
    with pytest.raises(InvalidTransition):
        services.rating_record_at_desk(dossier_id=dossier.pk, actor=reception, score=4)
    with pytest.raises(InvalidTransition):  # nor online afterwards
        services.rating_create(dossier_id=dossier.pk, actor=dossier.applicant, score=4)


def test_no_rating_before_the_result_is_handed_over(reception, procedure):
    waiting = DossierFactory(procedure=procedure, result_ready=True)
    with pytest.raises(InvalidTransition):
        services.rating_record_at_desk(dossier_id=waiting.pk, actor=reception, score=5)
    dossier = refused(procedure)
    services.dossier_hand_over_refusal(dossier_id=dossier.pk, actor=reception)
    assert services.rating_record_at_desk(dossier_id=dossier.pk, actor=reception, score=3)


# --- codes with the national agency identifier ------------------------------------------------


def test_dossier_codes_can_carry_the_national_agency_identifier(reception, agency, procedure):
    agency.national_code = "000.00.28.G22"
    agency.dossier_code_pattern = "{national}-{yymmdd}-{seq:04}"
    agency.full_clean()
    agency.save()

    result = services.intake_register(actor=reception, procedure_id=procedure.pk,
                                      channel="counter", applicant=CITIZEN,
                                      form_data=dict(VALID_FORM), scans=scans())
    assert result.dossier.code.startswith("000.00.28.G22-")
    assert result.dossier.code.endswith("-0001")


@pytest.mark.parametrize(("national", "pattern", "field"), [
    ("", "{national}-{seq:04}", "national_code"),
    ("G22", "{agency}-{seq:04}", "national_code"),
    ("000.00.28.g22", "{agency}-{seq:04}", "national_code"),
])
def test_the_national_identifier_is_validated(agency, national, pattern, field):
    agency.national_code, agency.dossier_code_pattern = national, pattern
    with pytest.raises(ValidationError) as caught:
        agency.full_clean()
    assert field in caught.value.message_dict
