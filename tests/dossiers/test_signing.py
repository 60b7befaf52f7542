"""Signatures in the dossier flow: uploads verified, must-be-signed components enforced,
officers deciding what the verifier cannot, results signed by the agency."""

from django.urls import reverse

import pytest

from dossiers import services
from dossiers.exceptions import (
    SignatureRequired,
    SignatureReviewRequired,
    TransitionForbidden,
)
from dossiers.models import Document, DocumentComponent, Dossier, Result
from signatures.models import TrustedCertificate
from signatures.services import revocation_record_store, signature_verify, trust_anchor_import
from tests.dossiers.factories import DossierFactory, ProcedureFactory, UserFactory
from tests.signatures.pki import CA_CRL, ROOT_CRL, build_pki, one_page_pdf, sign_pdf


@pytest.fixture(scope="module")
def pki():
    return build_pki()


@pytest.fixture
def trusted(db, pki):
    scope = TrustedCertificate.Scope
    trust_anchor_import(data=pki.root.pem, scope=scope.PUBLIC)
    trust_anchor_import(data=pki.ca.pem, scope=scope.PUBLIC)
    for source, der in pki.crls().items():
        if source in (CA_CRL, ROOT_CRL):
            revocation_record_store(source=source, data=der)
    return pki


@pytest.fixture
def business(db):
    # The same tax code as the test PKI's business certificate (UID MST:0101234567).
    return UserFactory(roles=["applicant"], kind="business", tax_code="0101234567")


@pytest.fixture
def signed_dossier(business):
    procedure = ProcedureFactory()
    DocumentComponent.objects.filter(procedure=procedure, code="don_de_nghi").update(
        must_be_signed=True)
    return DossierFactory(applicant=business, procedure=procedure)


def _upload(dossier, actor, content: bytes, name: str = "don.pdf") -> Document:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return services.document_upload(
        dossier_id=dossier.pk, actor=actor, component_code="don_de_nghi",
        uploaded_file=SimpleUploadedFile(name, content),
    )


def test_a_valid_signature_is_verified_on_upload_and_lets_the_dossier_be_submitted(
    trusted, signed_dossier, business
):
    document = _upload(signed_dossier, business,
                       sign_pdf(one_page_pdf(), trusted.leaves["business"]))
    document.refresh_from_db()
    assert document.signature_verdict == "valid"
    assert document.signature_checked_at is not None
    [report] = document.signature_report["signatures"]
    assert report["matches_applicant"] is True
    assert report["signer"]["tax_code"] == "0101234567"
    d = services.dossier_submit(dossier_id=signed_dossier.pk, actor=business)
    assert d.state == Dossier.State.SUBMITTED


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda pki: one_page_pdf(), "unsigned"),
        (lambda pki: sign_pdf(one_page_pdf(), pki.leaves["business"])[:-300] + b"0" * 300,
         "invalid"),
        (lambda pki: sign_pdf(one_page_pdf(), pki.leaves["revoked_early"]), "invalid"),
    ],
    ids=["unsigned", "tampered", "revoked"],
)
def test_a_must_be_signed_component_without_a_valid_signature_blocks_submission(
    trusted, signed_dossier, business, make, problem
):
    _upload(signed_dossier, business, make(trusted))
    with pytest.raises(SignatureRequired) as exc:
        services.dossier_submit(dossier_id=signed_dossier.pk, actor=business)
    assert exc.value.extra == {"components": {"don_de_nghi": problem}}
    assert Dossier.objects.get(pk=signed_dossier.pk).state == Dossier.State.DRAFT


def test_submit_is_refused_with_422_through_the_api(trusted, signed_dossier, business,
                                                    api_client_for):
    _upload(signed_dossier, business, one_page_pdf())
    response = api_client_for(business).post(
        reverse("api:dossiers:submit", args=[signed_dossier.pk]))
    assert response.status_code == 422
    assert response.json()["code"] == "signature_required"
    assert response.json()["extra"] == {"components": {"don_de_nghi": "unsigned"}}


def test_an_indeterminate_signature_goes_to_an_officer_who_is_recorded(
    trusted, signed_dossier, business, reception, api_client_for
):
    document = _upload(signed_dossier, business,
                       sign_pdf(one_page_pdf(), trusted.leaves["stranger"]))
    document.refresh_from_db()
    assert document.signature_verdict == "indeterminate"
    services.dossier_submit(dossier_id=signed_dossier.pk, actor=business)
    with pytest.raises(SignatureReviewRequired) as exc:
        services.dossier_accept(dossier_id=signed_dossier.pk, actor=reception)
    assert exc.value.extra == {"components": ["don_de_nghi"]}

    url = reverse("api:dossiers:signature_decision", args=[document.pk])
    assert api_client_for(business).post(url, {"accept": True, "note": "x"}).status_code == 403
    response = api_client_for(reception).post(
        url, {"accept": True, "note": "Đối chiếu bản giấy có chữ ký tươi"}, format="json")
    assert response.status_code == 200
    assert response.json()["signature_decision"] == "accepted"
    document.refresh_from_db()
    assert (document.signature_decided_by, document.signature_decision_note) == (
        reception, "Đối chiếu bản giấy có chữ ký tươi")
    d = services.dossier_accept(dossier_id=signed_dossier.pk, actor=reception)
    assert d.state == Dossier.State.PROCESSING


def test_unreviewed_signatures_read_without_the_dossier_s_documents_take_one_query(
    trusted, signed_dossier, business, django_assert_num_queries
):
    _upload(signed_dossier, business, sign_pdf(one_page_pdf(), trusted.leaves["stranger"]))
    _upload(signed_dossier, business, sign_pdf(one_page_pdf(), trusted.leaves["stranger"]))
    fresh = Dossier.objects.get(pk=signed_dossier.pk)

    with django_assert_num_queries(1):  # the current documents with their components
        assert fresh.signatures_unreviewed == ["don_de_nghi"]


def test_a_signature_an_officer_refused_keeps_the_dossier_from_acceptance(
    trusted, signed_dossier, business, reception, api_client_for
):
    document = _upload(signed_dossier, business,
                       sign_pdf(one_page_pdf(), trusted.leaves["stranger"]))
    services.dossier_submit(dossier_id=signed_dossier.pk, actor=business)
    services.document_signature_decide(document_id=document.pk, actor=reception, accept=False,
                                       note="Chữ ký không phải của người nộp")

    response = api_client_for(reception).post(
        reverse("api:dossiers:accept", args=[signed_dossier.pk]), {}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "signature_review_required"
    signed_dossier.refresh_from_db()
    assert signed_dossier.state == Dossier.State.SUBMITTED


def test_only_indeterminate_signatures_take_a_decision(trusted, signed_dossier, business,
                                                        reception, api_client_for):
    document = _upload(signed_dossier, business,
                       sign_pdf(one_page_pdf(), trusted.leaves["business"]))
    services.dossier_submit(dossier_id=signed_dossier.pk, actor=business)
    response = api_client_for(reception).post(
        reverse("api:dossiers:signature_decision", args=[document.pk]),
        {"accept": False, "note": "Không"}, format="json")
    assert response.status_code == 409
    assert Document.objects.get(pk=document.pk).signature_decision == ""
    # The applicant's own valid signature needs no decision: reception accepts at once.
    assert services.dossier_accept(dossier_id=signed_dossier.pk, actor=reception).state == (
        Dossier.State.PROCESSING)


def test_a_manager_cannot_decide(trusted, signed_dossier, business, manager):
    document = _upload(signed_dossier, business,
                       sign_pdf(one_page_pdf(), trusted.leaves["stranger"]))
    with pytest.raises(TransitionForbidden):
        services.document_signature_decide(document_id=document.pk, actor=manager,
                                           accept=True, note="Ok")


def test_a_large_file_is_verified_by_a_worker_after_commit(
    trusted, signed_dossier, business, settings, django_capture_on_commit_callbacks
):
    settings.SIGNATURES_INLINE_MAX_BYTES = 100
    content = sign_pdf(one_page_pdf(), trusted.leaves["business"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        document = _upload(signed_dossier, business, content)
    document.refresh_from_db()
    assert document.signature_checked_at is None
    with pytest.raises(SignatureRequired) as exc:  # not verified yet
        services.dossier_submit(dossier_id=signed_dossier.pk, actor=business)
    assert exc.value.extra == {"components": {"don_de_nghi": "pending"}}
    for callback in callbacks:
        callback()
    document.refresh_from_db()
    assert document.signature_verdict == "valid"


def test_a_verification_whose_task_was_lost_is_queued_again_by_the_sweep(
    trusted, signed_dossier, business, settings, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from dossiers.tasks import verify_pending_signatures
    from portal import clock

    settings.SIGNATURES_INLINE_MAX_BYTES = 100
    content = sign_pdf(one_page_pdf(), trusted.leaves["business"])
    with django_capture_on_commit_callbacks(execute=False):  # the broker lost the task
        document = _upload(signed_dossier, business, content)

    assert verify_pending_signatures.delay().get() == 0  # too fresh: its task may be running
    with clock.frozen_at(clock.now() + timedelta(minutes=11)):
        assert verify_pending_signatures.delay().get() == 1
    document.refresh_from_db()
    assert document.signature_verdict == "valid"
    with clock.frozen_at(clock.now() + timedelta(minutes=11)):
        assert verify_pending_signatures.delay().get() == 0


@pytest.fixture
def fresh_signer():
    """The demo signer puts its root into the trust store when it is built; the store is
    rolled back after each test, so build it again inside this one."""
    from signatures.signers import reset_configured_signer

    reset_configured_signer()
    yield
    reset_configured_signer()


def test_issued_results_are_signed_by_the_agency_and_recognised_as_ours(
    db, applicant, leader, api_client_for, fresh_signer
):
    dossier = DossierFactory(applicant=applicant, approved=True)
    d = services.dossier_issue_result(dossier_id=dossier.pk, actor=leader, number="9/GP-SCT")
    result = Result.objects.get(dossier=d)
    assert result.signed and result.file
    with result.file.open("rb") as handle:
        content = handle.read()
    verified = signature_verify(content=content, filename="kq.pdf")
    assert verified.issued_by_us is True
    assert str(verified.verdict) == "valid"
    tampered = bytearray(content)
    tampered[len(content) // 3] ^= 0x01
    again = signature_verify(content=bytes(tampered), filename="kq.pdf")
    assert again.issued_by_us is False and str(again.verdict) != "valid"

    response = api_client_for(applicant).get(
        reverse("api:dossiers:result_file", args=[dossier.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert api_client_for(applicant).get(
        reverse("api:dossiers:result", args=[dossier.pk])).json()["signed"] is True


def test_a_refusal_notice_is_signed_too(db, applicant, leader):
    dossier = DossierFactory(applicant=applicant, pending_approval=True)
    d = services.dossier_refuse(dossier_id=dossier.pk, actor=leader, reason="Không đủ điều kiện")
    result = Result.objects.get(dossier=d)
    assert (result.kind, result.signed) == ("refusal", True)


def test_a_paper_result_is_not_signed(db, applicant, leader):
    dossier = DossierFactory(applicant=applicant, approved=True)
    services.dossier_issue_result(dossier_id=dossier.pk, actor=leader, electronic=False)
    result = Result.objects.get(dossier=dossier)
    assert (result.signed, bool(result.file)) == (False, False)


def test_nothing_is_signed_for_a_dossier_that_cannot_take_the_transition(db, applicant, leader):
    from dossiers.exceptions import InvalidTransition
    from signatures.models import IssuedDocument

    dossier = DossierFactory(applicant=applicant, processing=True)
    with pytest.raises(InvalidTransition):
        services.dossier_issue_result(dossier_id=dossier.pk, actor=leader)
    assert not IssuedDocument.objects.exists()


def test_a_signature_waiting_for_revocation_data_is_settled_by_the_recheck(
    db, business, settings
):
    from datetime import UTC, datetime, timedelta

    from dossiers.services.signing import documents_recheck_revocation
    from signatures import devpki

    now = datetime.now(UTC)
    root = devpki.make_root("Root OCSP", not_before=now - timedelta(days=9),
                            not_after=now + timedelta(days=99))
    leaf = devpki.issue(root, "Công ty TNHH Ánh Dương", uid="MST:0101234567",
                        not_before=now - timedelta(days=8), not_after=now + timedelta(days=98),
                        ocsp_url="http://ocsp.test.invalid/r")
    trust_anchor_import(data=root.pem, scope=TrustedCertificate.Scope.PUBLIC)
    settings.SIGNATURES_REVOCATION_HOSTS = ["ocsp.test.invalid"]
    procedure = ProcedureFactory()
    DocumentComponent.objects.filter(procedure=procedure, code="don_de_nghi").update(
        must_be_signed=True)
    dossier = DossierFactory(applicant=business, procedure=procedure)
    document = _upload(dossier, business, sign_pdf(one_page_pdf(), leaf))
    document.refresh_from_db()
    assert document.signature_verdict == "indeterminate"

    asked = []

    def responder(url: str, body: bytes) -> bytes:
        asked.append(url)
        return devpki.make_ocsp_response(root, leaf.cert, this_update=now - timedelta(minutes=1),
                                         next_update=now + timedelta(days=1))

    assert documents_recheck_revocation(post=responder) == [document.pk]
    document.refresh_from_db()
    assert (document.signature_verdict, asked) == ("valid", ["http://ocsp.test.invalid/r"])
    assert documents_recheck_revocation(post=responder) == []  # settled: nothing to do


def test_the_applicant_gets_the_result_only_once_a_fee_due_before_it_is_paid(
    db, applicant, leader, reception, api_client_for
):
    dossier = DossierFactory(applicant=applicant, approved=True,
                             procedure=ProcedureFactory(fee_before_result=True))
    services.dossier_issue_result(dossier_id=dossier.pk, actor=leader, number="3/GP-SCT")
    client = api_client_for(applicant)
    for name in ("result", "result_file"):
        response = client.get(reverse(f"api:dossiers:{name}", args=[dossier.pk]))
        assert response.status_code == 402, name
        assert response.json()["code"] == "payment_required"
    # The officers may see it; once the fee is paid, so may the applicant.
    assert api_client_for(reception).get(
        reverse("api:dossiers:result", args=[dossier.pk])).status_code == 200
    services.payment_record_at_counter(dossier_id=dossier.pk, actor=reception, channel="cash")
    assert client.get(reverse("api:dossiers:result_file", args=[dossier.pk])).status_code == 200


def test_a_failed_issue_leaves_no_signed_record_behind(db, applicant, leader):
    from dossiers.exceptions import StaleVersion
    from signatures.models import IssuedDocument

    dossier = DossierFactory(applicant=applicant, approved=True)
    with pytest.raises(StaleVersion):
        services.dossier_issue_result(dossier_id=dossier.pk, actor=leader,
                                      version=dossier.version + 5)
    assert not IssuedDocument.objects.exists()


def test_a_transition_failing_after_signing_discards_the_signed_record(db, applicant, leader,
                                                                        monkeypatch):
    from dossiers.exceptions import InvalidTransition
    from dossiers.services import review
    from signatures.models import IssuedDocument

    dossier = DossierFactory(applicant=applicant, approved=True)

    def lost_race(**kwargs):
        raise InvalidTransition()

    monkeypatch.setattr(review, "_issue_result", lost_race)
    with pytest.raises(InvalidTransition):
        services.dossier_issue_result(dossier_id=dossier.pk, actor=leader)
    assert not IssuedDocument.objects.exists()
    assert not Result.objects.exists()


# --- the signer is not the applicant -------------------------------------------------------


def test_a_valid_signature_by_someone_else_waits_for_an_officers_recorded_decision(
    trusted, signed_dossier, business, reception, api_client_for
):
    # The citizen's certificate (CCCD 001085012345) on the business's dossier (MST 0101234567).
    document = _upload(signed_dossier, business,
                       sign_pdf(one_page_pdf(), trusted.leaves["citizen"]))
    document.refresh_from_db()
    assert document.signature_verdict == "valid"
    [report] = document.signature_report["signatures"]
    assert report["matches_applicant"] is False
    [review] = document.signature_report["review"]
    assert review["reason"] == "signer_not_applicant"
    assert review["reason_vi"].startswith("Chứng thư số của người ký không mang mã số thuế")
    services.dossier_submit(dossier_id=signed_dossier.pk, actor=business)

    client = api_client_for(reception)
    accept = reverse("api:dossiers:accept", args=[signed_dossier.pk])
    response = client.post(accept, {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "signature_review_required"
    assert response.json()["extra"] == {"components": ["don_de_nghi"]}

    decided = client.post(reverse("api:dossiers:signature_decision", args=[document.pk]),
                          {"accept": True, "note": "Giấy ủy quyền ký thay có trong hồ sơ"},
                          format="json")
    assert decided.status_code == 200
    assert client.post(accept, {}, format="json").status_code == 200
    document.refresh_from_db()
    assert (document.signature_decision, document.signature_decided_by) == ("accepted",
                                                                            reception)


def test_an_applicant_without_identifiers_matches_no_signer(trusted, reception):
    applicant = UserFactory(roles=["applicant"], kind="citizen", tax_code="", citizen_id="")
    procedure = ProcedureFactory()
    DocumentComponent.objects.filter(procedure=procedure, code="don_de_nghi").update(
        must_be_signed=True)
    dossier = DossierFactory(applicant=applicant, procedure=procedure)
    _upload(dossier, applicant, sign_pdf(one_page_pdf(), trusted.leaves["citizen"]))
    services.dossier_submit(dossier_id=dossier.pk, actor=applicant)

    with pytest.raises(SignatureReviewRequired):
        services.dossier_accept(dossier_id=dossier.pk, actor=reception)


# --- the submission checks at supply and resubmit ----------------------------------------------


@pytest.fixture
def received(trusted, signed_dossier, business, reception):
    _upload(signed_dossier, business, sign_pdf(one_page_pdf(), trusted.leaves["business"]))
    services.dossier_submit(dossier_id=signed_dossier.pk, actor=business)
    return services.dossier_accept(dossier_id=signed_dossier.pk, actor=reception)


def test_a_supplement_that_replaces_a_signed_component_with_an_unsigned_file_cannot_be_supplied(
    received, business, specialist, api_client_for, trusted
):
    services.dossier_request_supplement(dossier_id=received.pk, actor=specialist,
                                        reason="Bổ sung đơn đề nghị bản mới")
    _upload(received, business, one_page_pdf("Đơn đề nghị — bản bổ sung, chưa ký"))
    client = api_client_for(business)
    supply = reverse("api:dossiers:supply", args=[received.pk])

    response = client.post(supply, {}, format="json")

    assert response.status_code == 422
    assert response.json()["code"] == "signature_required"
    assert response.json()["extra"] == {"components": {"don_de_nghi": "unsigned"}}
    assert Dossier.objects.get(pk=received.pk).state == Dossier.State.AWAITING_SUPPLEMENT
    _upload(received, business, sign_pdf(one_page_pdf("Bản bổ sung"), trusted.leaves["business"]))
    assert client.post(supply, {}, format="json").status_code == 200
    assert Dossier.objects.get(pk=received.pk).state == Dossier.State.PROCESSING


def test_a_dossier_returned_for_completion_cannot_be_resubmitted_with_an_unsigned_file(
    trusted, signed_dossier, business, reception, api_client_for
):
    _upload(signed_dossier, business, sign_pdf(one_page_pdf(), trusted.leaves["business"]))
    services.dossier_submit(dossier_id=signed_dossier.pk, actor=business)
    services.dossier_return_for_completion(dossier_id=signed_dossier.pk, actor=reception,
                                           reason="Thiếu trang 2")
    _upload(signed_dossier, business, one_page_pdf("Bản hoàn thiện, chưa ký"))

    response = api_client_for(business).post(
        reverse("api:dossiers:resubmit", args=[signed_dossier.pk]), {}, format="json")

    assert response.status_code == 422
    assert response.json()["code"] == "signature_required"
    assert response.json()["extra"] == {"components": {"don_de_nghi": "unsigned"}}
    assert Dossier.objects.get(pk=signed_dossier.pk).state == Dossier.State.NEEDS_COMPLETION


def test_a_result_pdf_we_issue_passes_the_upload_scanner(db, applicant, leader, fresh_signer):
    from dossiers.pdfscan import pdf_scan

    dossier = DossierFactory(applicant=applicant, approved=True)
    services.dossier_issue_result(dossier_id=dossier.pk, actor=leader, number="7/GP-SCT")
    with Result.objects.get(dossier=dossier).file.open("rb") as handle:
        content = handle.read()

    assert pdf_scan(content).revisions == 2


def test_a_result_is_written_from_the_read_that_checked_the_move(
    db, applicant, leader, fresh_signer
):
    """Before the lock, the dossier is read once: the move's check and the paper use it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    dossier = DossierFactory(applicant=applicant, approved=True)
    with CaptureQueriesContext(connection) as seen:
        services.dossier_issue_result(dossier_id=dossier.pk, actor=leader, number="4/GP-SCT")
    sqls = [q["sql"] for q in seen.captured_queries]
    first_lock = next(i for i, sql in enumerate(sqls)
                      if sql.startswith(("BEGIN", "SAVEPOINT")) or "FOR UPDATE" in sql)
    before = [sql for sql in sqls[:first_lock] if 'FROM "dossiers_dossier"' in sql]
    assert len(before) == 1, before
    result = Result.objects.get(dossier=dossier)
    assert result.signed and result.number == "4/GP-SCT"
