"""Dossiers the portals forward to us: authenticated, idempotent, filed in the same workflow."""

import json
import re
from datetime import timedelta

from django.test import override_settings
from django.urls import reverse

import pytest

from dossiers import services
from dossiers.models import Dossier, DossierTransition, InboundCall, OutboundMessage
from dossiers.services.audit import audit_verify
from integrations.inbound import sign_inbound
from integrations.models import ProcedureCodeMapping
from integrations.simulator import sample_inbound_dossier
from integrations.wire import IDEMPOTENCY_HEADER
from portal import clock
from portal.models import User
from portal.roles import Role
from tests.dossiers.factories import ProcedureFactory, UserFactory
from tests.integrations.conftest import simulator  # noqa: F401 - a fixture

SECRET = "inbound-secret"


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


def test_a_forwarded_dossier_takes_the_same_workflow_as_one_filed_here(
    procedure, api_client_for, reception, settings
):
    settings.SYNC_SYSTEMS = ["national"]
    send(api_client_for(), sample_inbound_dossier(code="G22.NAT0000002"))
    dossier = Dossier.objects.get()

    accepted = services.dossier_accept(dossier_id=dossier.pk, actor=reception)

    assert accepted.state == "processing" and accepted.due_at is not None
    message = OutboundMessage.objects.get()
    assert (message.kind, message.payload["channel"], message.payload["code"]) == (
        "push_dossier", "national_portal", dossier.code)
    assert list(DossierTransition.objects.filter(dossier=dossier).values_list("name", flat=True)
                ) == ["submit", "accept"]
    assert audit_verify(dossier_ids=[dossier.pk]) == []


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
