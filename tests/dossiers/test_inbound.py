"""Dossiers the portals forward to us: authenticated, idempotent, filed in the same workflow."""

import json
import re
from datetime import timedelta

from django.test import override_settings
from django.urls import reverse

import pytest

from dossiers import services
from dossiers.models import Dossier, DossierTransition, InboundCall, OutboundMessage
from dossiers.models.dossier import _complete_if_filed_by_a_portal
from dossiers.services import sync
from dossiers.services.audit import audit_verify
from integrations.inbound import sign_inbound
from integrations.models import ProcedureCodeMapping
from integrations.simulator import sample_inbound_dossier
from integrations.wire import IDEMPOTENCY_HEADER
from portal import clock
from portal.models import User
from portal.roles import Role
from tests.dossiers.factories import VALID_FORM, ProcedureFactory, UserFactory
from tests.integrations.conftest import simulator  # noqa: F401 - a fixture

SECRET = "inbound-secret"


def fake_portals(*systems):
    from contextlib import ExitStack

    from integrations.adapters.fake import FakePortalAdapter
    from integrations.registry import override_portal_adapter

    stack = ExitStack()
    fakes = {s: stack.enter_context(override_portal_adapter(s, FakePortalAdapter(s)))
             for s in systems}
    return stack, fakes


@pytest.fixture(autouse=True)
def inbound_secret(settings):
    settings.INBOUND_HMAC_SECRET = SECRET
    settings.INBOUND_REPLAY_WINDOW_SECONDS = 300


@pytest.fixture
def procedure(agency):
    return ProcedureFactory(national_code="2.000004", agency=agency)


def send(client, payload: dict | bytes, *, system="national", key="key-1", secret=SECRET,
         at=None, headers: dict | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signed = sign_inbound(body, secret=secret, at=at or clock.now())
    all_headers = {**signed, IDEMPOTENCY_HEADER: key, **(headers or {})}
    return client.post(
        reverse(f"api:dossiers:integrations:{system}_dossier"), data=body,
        content_type="application/json", headers=all_headers,
    )


def nothing_written() -> bool:
    return not (Dossier.objects.exists() or InboundCall.objects.exists()
                or DossierTransition.objects.exists())


def test_a_signed_dossier_from_the_national_portal_is_filed_as_submitted(
    procedure, api_client_for
):
    payload = sample_inbound_dossier(code="G22.NAT0000001")

    response = send(api_client_for(), payload)

    dossier = Dossier.objects.get()
    assert response.status_code == 201
    assert response.json() == {
        "id": dossier.pk, "code": dossier.code, "external_code": "G22.NAT0000001",
        "state": "submitted", "channel": "national_portal", "procedure_code": "2.000004",
    }
    assert re.fullmatch(r"SCT-\d{6}-0001", dossier.code)
    assert (dossier.state, dossier.channel, dossier.procedure_id) == (
        "submitted", "national_portal", procedure.pk)
    assert dossier.form_data == payload["DuLieuBieuMau"]
    assert dossier.external_documents == [
        {"component_code": "don", "file_id": "F1", "name": "don.pdf", "url": "", "sha256": ""}
    ]
    [row] = DossierTransition.objects.filter(dossier=dossier)
    assert (row.name, row.from_state, row.to_state, row.actor_id, row.actor_label) == (
        "submit", "draft", "submitted", dossier.applicant_id, "Cổng DVC quốc gia")
    assert row.details["external_code"] == "G22.NAT0000001"
    assert audit_verify(dossier_ids=[dossier.pk]) == []


def test_the_applicant_account_is_made_from_the_tax_code_and_cannot_log_in(
    procedure, api_client_for
):
    send(api_client_for(), sample_inbound_dossier())
    applicant = Dossier.objects.get().applicant
    assert (applicant.username, applicant.tax_code, applicant.kind) == (
        "mst-3200123456", "3200123456", "business")
    assert applicant.full_name == "Công ty TNHH Thương mại Minh An"
    assert applicant.email == "lienhe@minhan.example.vn"
    assert not applicant.has_usable_password()
    assert applicant.has_role(Role.APPLICANT)


def test_an_existing_applicant_is_found_by_citizen_id(procedure, api_client_for):
    citizen = UserFactory(roles=[Role.APPLICANT], citizen_id="045090001234")
    payload = {**sample_inbound_dossier(), "SoGiayToChuHoSo": "045090001234"}
    send(api_client_for(), payload)
    assert Dossier.objects.get().applicant_id == citizen.pk
    assert User.objects.count() == 1


def test_a_repeat_of_the_call_returns_the_first_answer_and_changes_nothing(
    procedure, api_client_for
):
    payload = sample_inbound_dossier()
    first = send(api_client_for(), payload)

    again = send(api_client_for(), payload)

    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Dossier.objects.count() == 1 and DossierTransition.objects.count() == 1
    assert InboundCall.objects.get().response_body == first.json()


def test_the_same_key_with_another_body_is_a_422(procedure, api_client_for):
    send(api_client_for(), sample_inbound_dossier())
    response = send(api_client_for(), sample_inbound_dossier())
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Dossier.objects.count() == 1


def test_the_same_remote_dossier_under_a_new_key_is_the_dossier_already_filed(
    procedure, api_client_for
):
    payload = sample_inbound_dossier()
    first = send(api_client_for(), payload, key="k-1")
    second = send(api_client_for(), payload, key="k-2")
    assert (second.status_code, second.json()) == (200, first.json())
    assert Dossier.objects.count() == 1 and InboundCall.objects.count() == 2


@pytest.mark.parametrize("fault", ["secret", "body", "missing", "stale", "unset"])
def test_a_call_that_does_not_authenticate_is_a_401_and_writes_nothing(
    procedure, api_client_for, settings, fault
):
    payload = sample_inbound_dossier()
    kwargs: dict = {}
    if fault == "secret":
        kwargs["secret"] = "guessed"
    elif fault == "stale":
        kwargs["at"] = clock.now() - timedelta(minutes=6)
    elif fault == "unset":
        settings.INBOUND_HMAC_SECRET = ""
    client = api_client_for()
    if fault == "body":
        body = json.dumps(payload).encode()
        signed = sign_inbound(body, secret=SECRET, at=clock.now())
        response = client.post(
            reverse("api:dossiers:integrations:national_dossier"), data=body + b" ",
            content_type="application/json", headers={**signed, IDEMPOTENCY_HEADER: "k"},
        )
    elif fault == "missing":
        response = client.post(reverse("api:dossiers:integrations:national_dossier"),
                               data=json.dumps(payload), content_type="application/json",
                               headers={IDEMPOTENCY_HEADER: "k"})
    else:
        response = send(client, payload, **kwargs)

    assert response.status_code == 401
    assert response.json()["code"] == ("stale_request" if fault == "stale" else "bad_signature")
    assert nothing_written()


def test_a_call_without_an_idempotency_key_is_a_400(procedure, api_client_for):
    response = send(api_client_for(), sample_inbound_dossier(), key="")
    assert response.status_code == 400
    assert response.json()["extra"] == {"header": "Idempotency-Key"}
    assert nothing_written()


def test_a_signed_but_malformed_dossier_is_a_400_and_a_fixed_resend_is_filed(
    procedure, api_client_for
):
    payload = sample_inbound_dossier()
    broken = {**payload, "NgayNopHoSo": "hôm qua"}

    response = send(api_client_for(), broken)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_payload"
    assert response.json()["extra"] == {"field": "NgayNopHoSo"}
    assert nothing_written()
    assert send(api_client_for(), payload).status_code == 201


def test_an_unknown_procedure_is_a_422_with_a_clear_code_and_writes_nothing(
    procedure, api_client_for
):
    payload = sample_inbound_dossier(procedure_code="9.999999")
    response = send(api_client_for(), payload)
    assert response.status_code == 422
    assert response.json() == {
        "code": "procedure_unknown",
        "message": "Thủ tục của hồ sơ không có trong danh mục đang áp dụng.",
        "extra": {"procedure_code": "9.999999", "remote_procedure_code": "9.999999"},
    }
    assert nothing_written()


@pytest.mark.parametrize("system", ["national", "provincial"])
def test_the_procedure_is_resolved_through_the_code_mapping(procedure, api_client_for, system):
    ProcedureCodeMapping.objects.create(system=system, local_code="2.000004",
                                        remote_code="2.000004.000.00.00.H52")
    payload = sample_inbound_dossier(procedure_code="2.000004.000.00.00.H52")
    prefix = system.upper()
    portal = {f"{prefix}_PORTAL_URL": "http://127.0.0.1:9/portal",
              f"{prefix}_PORTAL_USERNAME": "u", f"{prefix}_PORTAL_PASSWORD": "p"}
    with override_settings(**portal):  # the HTTP adapter reads the mapping table
        response = send(api_client_for(), payload, system=system)
    assert response.status_code == 201, response.json()
    dossier = Dossier.objects.get()
    assert (dossier.procedure_id, dossier.channel) == (procedure.pk, f"{system}_portal")
    assert DossierTransition.objects.get().details["remote_procedure_code"] == (
        "2.000004.000.00.00.H52")


def complete_payload(code: str) -> dict:
    """A forwarded dossier whose form matches the procedure's schema (its papers still here)."""
    return {**sample_inbound_dossier(code=code), "DuLieuBieuMau": dict(VALID_FORM)}


def test_a_forwarded_dossier_is_synced_back_under_the_portal_code_and_not_echoed_to_it(
    procedure, api_client_for, reception, settings, pdf_file
):
    settings.SYNC_SYSTEMS = ["national", "provincial"]
    send(api_client_for(), complete_payload("G22.NAT0000002"))
    dossier = Dossier.objects.get()
    services.document_upload(dossier_id=dossier.pk, actor=reception,
                             component_code="don_de_nghi", uploaded_file=pdf_file())

    accepted = services.dossier_accept(dossier_id=dossier.pk, actor=reception)

    assert accepted.state == "processing" and accepted.due_at is not None
    messages = list(OutboundMessage.objects.order_by("id").values_list(
        "system", "kind", "payload__transition"))
    # The national portal sent it: it hears of the reception, not of its own submission.
    assert messages == [("provincial", "push_dossier", "submit"),
                        ("national", "push_dossier", "accept"),
                        ("provincial", "push_dossier", "accept")]
    stack, fakes = fake_portals("national", "provincial")
    with stack:
        assert sync.outbox_relay().sent == 3
    for system in ("national", "provincial"):
        assert {c.argument.code for c in fakes[system].calls} == {"G22.NAT0000002"}
    assert list(DossierTransition.objects.filter(dossier=dossier).values_list("name", flat=True)
                ) == ["submit", "accept"]
    assert audit_verify(dossier_ids=[dossier.pk]) == []


def test_an_incomplete_forwarded_dossier_shows_what_it_lacks_on_its_timeline(
    procedure, api_client_for
):
    send(api_client_for(), sample_inbound_dossier())

    row = DossierTransition.objects.get()
    assert row.details["incomplete"] == {
        "form": [  # sorted by field and message, whatever order the database keeps keys in
            {"field": "", "message": "Biểu mẫu không có trường «ten_chuong_trinh», "
                                     "«thoi_gian»."},
            {"field": "applicant_name", "message": "Trường «Tên tổ chức» là bắt buộc."},
            {"field": "tax_code", "message": "Trường «MST» là bắt buộc."},
        ],
        "missing_components": ["don_de_nghi"],
    }


def test_a_forwarded_dossier_whose_form_does_not_match_can_only_be_returned_for_completion(
    procedure, api_client_for, reception, pdf_file
):
    send(api_client_for(), sample_inbound_dossier())
    dossier = Dossier.objects.get()
    client = api_client_for(reception)
    upload = client.post(reverse("api:dossiers:upload", args=[dossier.pk]),
                         {"component": "don_de_nghi", "file": pdf_file()}, format="multipart")
    assert upload.status_code == 201, upload.json()

    refused = client.post(reverse("api:dossiers:accept", args=[dossier.pk]))
    returned = client.post(reverse("api:dossiers:return_for_completion", args=[dossier.pk]),
                           {"reason": "Tờ khai không đúng mẫu"})

    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_form_data")
    assert returned.status_code == 200 and returned.json()["state"] == "needs_completion"


def test_a_forwarded_dossier_without_its_papers_is_accepted_once_reception_takes_them(
    procedure, api_client_for, reception, pdf_file
):
    send(api_client_for(), complete_payload("G22.NAT0000003"))
    dossier = Dossier.objects.get()
    client = api_client_for(reception)

    refused = client.post(reverse("api:dossiers:accept", args=[dossier.pk]))
    dossier.refresh_from_db()
    assert (refused.status_code, refused.json()["code"]) == (422, "missing_documents")
    assert refused.json()["extra"] == {"components": ["don_de_nghi"]}
    assert dossier.state == "submitted"

    upload = client.post(reverse("api:dossiers:upload", args=[dossier.pk]),
                         {"component": "don_de_nghi", "file": pdf_file()}, format="multipart")
    accepted = client.post(reverse("api:dossiers:accept", args=[dossier.pk]))

    assert upload.status_code == 201
    assert accepted.status_code == 200 and accepted.json()["state"] == "processing"


def test_a_forwarded_dossier_owing_its_fee_is_accepted_once_the_fee_is_taken_at_the_desk(
    agency, api_client_for, reception, pdf_file
):
    """The same checks as a submission here, the fee included: otherwise the dossier would be
    accepted unpaid and then stuck at its first supplement, which checks the fee again."""
    ProcedureFactory(national_code="2.000004", agency=agency, fee_at_submission=True)
    send(api_client_for(), complete_payload("G22.NAT0000005"))
    dossier = Dossier.objects.get()
    client = api_client_for(reception)
    client.post(reverse("api:dossiers:upload", args=[dossier.pk]),
                {"component": "don_de_nghi", "file": pdf_file()}, format="multipart")

    refused = client.post(reverse("api:dossiers:accept", args=[dossier.pk]))
    assert (refused.status_code, refused.json()["code"]) == (402, "payment_required")

    services.payment_record_at_counter(dossier_id=dossier.pk, actor=reception, channel="cash")
    accepted = client.post(reverse("api:dossiers:accept", args=[dossier.pk]))
    assert accepted.status_code == 200, accepted.json()


def test_the_completeness_check_at_reception_is_only_for_dossiers_filed_by_a_portal():
    # Submitted here, `submit` checked it; nothing is read again (no database here).
    assert _complete_if_filed_by_a_portal(Dossier(form_data={"x": 1}, external_code=None))


def test_forwarded_dossiers_share_the_daily_counter_with_ours(procedure, api_client_for):
    send(api_client_for(), sample_inbound_dossier(), key="a")
    send(api_client_for(), sample_inbound_dossier(), key="b")
    codes = sorted(Dossier.objects.values_list("code", flat=True))
    assert [c[-4:] for c in codes] == ["0001", "0002"]
    assert len({c[:-4] for c in codes}) == 1


def test_a_dossier_sent_by_the_simulated_portal_is_filed_once_over_http(
    simulator, live_server, transactional_db, agency  # noqa: F811
):
    ProcedureFactory(national_code="2.000004", agency=agency)
    url = live_server.url + reverse("api:dossiers:integrations:provincial_dossier")
    payload = sample_inbound_dossier(code="G22.PRV0000001")
    portal = simulator.portals["provincial"]

    first = portal.send_inbound_dossier(url, secret=SECRET, payload=payload, idempotency_key="p-1")
    again = portal.send_inbound_dossier(url, secret=SECRET, payload=payload, idempotency_key="p-1")
    forged = portal.send_inbound_dossier(url, secret="guessed", payload=payload)

    assert (first[0], again[0], forged[0]) == (201, 201, 401)
    assert json.loads(again[1]) == json.loads(first[1])
    dossier = Dossier.objects.get()
    assert (dossier.external_code, dossier.channel) == ("G22.PRV0000001", "provincial_portal")
