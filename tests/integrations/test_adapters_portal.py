"""The national and provincial adapters against the simulator: every operation and fault."""

import json

import pytest

from integrations.adapters.national import NationalPortalAdapter
from integrations.base import DossierSnapshot, ResultRef
from integrations.exceptions import (
    BadResponse,
    InvalidPayload,
    PortalAuthFailed,
    PortalRejected,
    PortalUnavailable,
    TokenExpired,
)
from integrations.models import ProcedureCodeMapping, StatusMapping
from integrations.simulator import DROP, ERROR, GARBLED, TIMEOUT, sample_inbound_dossier

from .builders import DUE, RECEIVED, progress, snapshot
from .conftest import portal_config


def test_push_dossier_sends_design_fields_with_mapped_codes_and_vietnam_dates(national, simulator):
    ProcedureCodeMapping.objects.create(system="national", local_code="2.000648",
                                        remote_code="2.000648.000.00.00.H52")
    receipt = national.push_dossier(snapshot(), idempotency_key="k-1")

    assert receipt.system == "national" and receipt.dossier_code == "SCT-250303-0001"
    assert receipt.reference.startswith("NATIONAL-") and not receipt.replayed
    [delivery] = simulator.deliveries("national", "SCT-250303-0001")
    payload = delivery.payload
    assert payload["MaTTHC"] == "2.000648.000.00.00.H52"
    assert payload["TrangThaiHoSo"] == "2"  # reception: processing reached by accept
    assert payload["ThoiDiemXuLy"] == "20250303083000"
    assert delivery.at == "20250303083000"
    assert payload["NgayNopHoSo"] == "" and payload["NoiDungXuLy"] == ""
    assert payload["NgayTiepNhan"] == "20250303083000"
    assert payload["NgayHenTra"] == "20250328170000"
    assert payload["NgayTra"] == ""
    assert payload["KenhThucHien"] == "2"
    assert payload["TaiLieuNop"] == [{
        "MaThanhPhanHoSo": "don", "TepDinhKemId": "F1", "TenTepDinhKem": "don.pdf",
        "DuongDanTaiTepTin": "", "MaHash": "ab" * 32,
    }]


def test_push_progress_maps_each_state_through_the_editable_table(national, simulator):
    StatusMapping.objects.filter(system="national", state="suspended", transition="").update(
        status_code=6
    )
    national.push_dossier(snapshot(), idempotency_key="d")
    national.push_progress(progress(state="processing", transition="assign"), idempotency_key="p1")
    national.push_progress(progress(state="awaiting_supplement", minute=5), idempotency_key="p2")
    national.push_progress(progress(state="suspended", minute=9, note="Chờ ý kiến"),
                           idempotency_key="p3")
    receipt = national.push_progress(
        progress(state="returned", minute=20,
                 results=(ResultRef("R1", "Giấy chứng nhận", url="https://x.example/r1"),)),
        idempotency_key="p4",
    )

    deliveries = simulator.deliveries("national", "SCT-250303-0001")
    assert [d.status_code for d in deliveries] == ["2", "4", "5", "6", "10"]
    assert deliveries[3].payload["NoiDungXuLy"] == "Chờ ý kiến"
    assert deliveries[1].payload["ThoiDiemXuLy"] == "20250304090000"
    assert deliveries[4].payload["DanhSachGiayToKetQua"][0]["GiayToId"] == "R1"
    assert receipt.dossier_code == "SCT-250303-0001"


def test_lookup_returns_the_remote_view_or_none(national):
    assert national.lookup_dossier("SCT-NOPE") is None
    national.push_dossier(snapshot(), idempotency_key="d")
    national.push_progress(progress(state="pending_approval"), idempotency_key="p")

    remote = national.lookup_dossier("SCT-250303-0001")

    assert remote.status_code == 4 and remote.progress_count == 1
    assert remote.received_at == RECEIVED and remote.due_at == DUE
    assert remote.procedure_code == "2.000648"


def test_pull_catalog_follows_every_page_and_maps_codes_back(national, simulator):
    simulator.portals["national"].catalog = [
        {"MaTTHC": f"1.{n:06d}", "TenTTHC": f"Thủ tục {n}", "LinhVuc": "Điện",
         "MucDo": "toan_trinh" if n % 2 else "mot_phan", "LePhi": n, "ThoiHanGiaiQuyet": "5"}
        for n in range(250)
    ]
    ProcedureCodeMapping.objects.create(system="national", local_code="LOCAL-7",
                                        remote_code="1.000007")

    entries = national.pull_catalog()

    assert len(entries) == 250
    assert [e.remote_code for e in entries[:2]] == ["1.000000", "1.000001"]
    assert entries[7].local_code == "LOCAL-7" and entries[8].local_code == "1.000008"
    assert entries[1].online_level == "full" and entries[2].online_level == "partial"
    assert entries[3].fee_vnd == 3
    catalog_calls = [r for r in simulator.received("national") if r.path == "/api/tthc"]
    assert len(catalog_calls) == 3


def test_parse_inbound_dossier_maps_the_procedure_code(national):
    ProcedureCodeMapping.objects.create(system="national", local_code="2.000004",
                                        remote_code="2.000004.000.00.00.H52")
    body = json.dumps(sample_inbound_dossier(code="G22.ABC",
                                             procedure_code="2.000004.000.00.00.H52")).encode()

    inbound = national.parse_inbound_dossier(body)

    assert inbound.remote_code == "G22.ABC" and inbound.procedure_code == "2.000004"
    assert inbound.channel == "national_portal"
    assert inbound.submitted_at.tzinfo is not None
    assert inbound.documents[0].file_id == "F1"


@pytest.mark.parametrize("body", [b"not json", b"[]", json.dumps({"MaHoSo": "X"}).encode()])
def test_parse_inbound_dossier_refuses_malformed_bodies(national, body):
    with pytest.raises(InvalidPayload):
        national.parse_inbound_dossier(body)


def test_session_token_is_reused_until_it_expires_on_our_clock(db, simulator):
    now = [1000.0]
    adapter = NationalPortalAdapter(
        portal_config(simulator, "national", token_skew=30.0), clock=lambda: now[0]
    )
    adapter.push_dossier(snapshot("A"), idempotency_key="a")
    adapter.push_dossier(snapshot("B"), idempotency_key="b")
    assert simulator.portals["national"].logins == 1

    now[0] += 300 - 30  # the simulator's tokens live 300 s; we renew 30 s early
    adapter.push_dossier(snapshot("C"), idempotency_key="c")

    assert simulator.portals["national"].logins == 2
    assert not any(r.status == 401 for r in simulator.received("national"))


def test_token_expiry_mid_batch_logs_in_again_and_continues(national, simulator):
    for n in range(10):
        if n == 5:
            simulator.expire_tokens("national")
        national.push_dossier(snapshot(f"D-{n}"), idempotency_key=f"k-{n}")

    assert simulator.portals["national"].logins == 2 and national.logins == 2
    assert simulator.portals["national"].delivery_count() == 10
    assert [r.status for r in simulator.received("national")].count(401) == 1


def test_a_token_refused_right_after_login_raises_token_expired(db, simulator):
    simulator.portals["national"].token_ttl = 0  # every token is dead on arrival
    adapter = NationalPortalAdapter(portal_config(simulator, "national"))

    with pytest.raises(TokenExpired) as caught:
        adapter.push_dossier(snapshot(), idempotency_key="k")

    assert caught.value.retryable
    assert simulator.portals["national"].delivery_count() == 0


def test_wrong_credentials_are_refused_retryable_and_call_for_an_administrator(db, simulator):
    adapter = NationalPortalAdapter(portal_config(simulator, "national", password="wrong"))

    with pytest.raises(PortalAuthFailed) as caught:
        adapter.push_dossier(snapshot(), idempotency_key="k")

    # A password rotation is not the message's fault: it goes again once the password is fixed.
    assert caught.value.retryable and caught.value.status == 401
    assert caught.value.alert == "credentials"
    assert simulator.portals["national"].delivery_count() == 0


def test_a_408_is_retryable_and_nothing_was_processed(national, simulator):
    simulator.configure_faults("national", error_status=408)
    national.login()
    simulator.fail_next("national", ERROR)

    with pytest.raises(PortalUnavailable) as caught:
        national.push_dossier(snapshot(), idempotency_key="d")

    assert caught.value.retryable and caught.value.extra["status"] == 408
    assert not caught.value.alert
    assert national.push_dossier(snapshot(), idempotency_key="d").replayed is False


def test_an_unreadable_answer_after_processing_is_retried_and_answered_from_memory(
    national, simulator
):
    national.login()
    simulator.fail_next("national", GARBLED)

    with pytest.raises(BadResponse) as caught:
        national.push_dossier(snapshot(), idempotency_key="d")
    assert caught.value.retryable and caught.value.alert == "unreadable"

    receipt = national.push_dossier(snapshot(), idempotency_key="d")

    assert receipt.replayed
    assert len(simulator.deliveries("national", "SCT-250303-0001")) == 1


@pytest.mark.parametrize("missing", ["at", "received_at", "due_at"])
def test_the_portal_refuses_a_dossier_push_without_the_times_of_its_change(
    national, simulator, missing
):
    # ThoiDiemXuLy always; a received dossier (2) also its reception and appointment.
    with pytest.raises(PortalRejected) as caught:
        national.push_dossier(snapshot(**{missing: None}), idempotency_key="d")
    assert caught.value.status == 400 and caught.value.extra["code"] == "missing_field"
    assert simulator.portals["national"].delivery_count() == 0


def test_5xx_is_portal_unavailable_and_nothing_was_processed(national, simulator):
    national.push_dossier(snapshot(), idempotency_key="d")
    simulator.fail_next("national", ERROR)

    with pytest.raises(PortalUnavailable) as caught:
        national.push_progress(progress(), idempotency_key="p")
    assert caught.value.retryable and caught.value.extra["status"] == 503
    assert len(simulator.deliveries("national", "SCT-250303-0001")) == 1

    national.push_progress(progress(), idempotency_key="p")
    assert len(simulator.deliveries("national", "SCT-250303-0001")) == 2


def test_4xx_is_portal_rejected_and_not_retryable(national):
    with pytest.raises(PortalRejected) as caught:
        national.push_progress(progress(code="NEVER-PUSHED"), idempotency_key="p")

    assert not caught.value.retryable
    assert caught.value.status == 404 and caught.value.extra["code"] == "dossier_unknown"


def test_reusing_a_key_for_a_different_message_is_rejected(national):
    national.push_dossier(snapshot("A"), idempotency_key="same")

    with pytest.raises(PortalRejected) as caught:
        national.push_dossier(snapshot("B"), idempotency_key="same")

    assert caught.value.status == 422


@pytest.mark.parametrize("fault", [TIMEOUT, DROP])
def test_retry_after_a_processed_but_unanswered_request_is_counted_once(national, simulator, fault):
    national.push_dossier(snapshot(), idempotency_key="d")
    simulator.fail_next("national", fault)

    with pytest.raises(PortalUnavailable) as caught:
        national.push_progress(progress(state="suspended"), idempotency_key="p-1")
    assert caught.value.extra["reason"] == ("timeout" if fault == TIMEOUT else "connection")
    # The portal did process it before going silent.
    assert len(simulator.deliveries("national", "SCT-250303-0001")) == 2

    receipt = national.push_progress(progress(state="suspended"), idempotency_key="p-1")

    assert receipt.replayed
    deliveries = simulator.deliveries("national", "SCT-250303-0001")
    assert [d.status_code for d in deliveries] == ["2", "8"]
    attempts = [r for r in simulator.received("national") if r.idempotency_key == "p-1"]
    assert [(r.fault, r.replayed) for r in attempts] == [(fault, False), ("", True)]


def test_flaky_portal_with_bounded_retries_delivers_every_change_once_in_order(national, simulator):
    simulator.configure_faults("national", error_rate=0.25, drop_rate=0.15, seed=7)
    states = ["processing", "awaiting_supplement", "processing", "pending_approval", "approved",
              "result_ready", "returned"]
    failures = 0
    for n in range(12):
        code = f"F-{n:02d}"
        messages = [("d", snapshot(code))] + [
            (f"p{i}", progress(code=code, state=s, minute=i)) for i, s in enumerate(states)
        ]
        for suffix, message in messages:
            for _attempt in range(30):
                try:
                    if isinstance(message, DossierSnapshot):
                        national.push_dossier(message, idempotency_key=f"{code}-{suffix}")
                    else:
                        national.push_progress(message, idempotency_key=f"{code}-{suffix}")
                    break
                except PortalUnavailable:
                    failures += 1
            else:
                pytest.fail(f"{code}-{suffix} never got through")

    assert failures > 10  # the faults did happen
    for n in range(12):
        deliveries = simulator.deliveries("national", f"F-{n:02d}")
        assert [d.status_code for d in deliveries] == ["2", "4", "5", "4", "4", "4", "9", "10"]
        assert len({d.idempotency_key for d in deliveries}) == 8


def test_portal_down_then_back_delivers_the_backlog_once_in_order(national, simulator):
    simulator.set_down("national")
    backlog = []
    for n in range(20):
        code = f"B-{n:02d}"
        backlog.append((f"{code}-d", snapshot(code)))
        backlog += [(f"{code}-p{i}", progress(code=code, state=s, minute=i))
                    for i, s in enumerate(["suspended", "processing", "withdrawn"])]
    for key, message in backlog[:10]:
        with pytest.raises(PortalUnavailable):
            national.push_dossier(message, idempotency_key=key) if isinstance(
                message, DossierSnapshot) else national.push_progress(message, idempotency_key=key)

    simulator.set_down("national", False)
    for key, message in backlog:
        if isinstance(message, DossierSnapshot):
            national.push_dossier(message, idempotency_key=key)
        else:
            national.push_progress(message, idempotency_key=key)

    assert simulator.portals["national"].delivery_count() == 80
    for n in range(20):
        codes = [d.status_code for d in simulator.deliveries("national", f"B-{n:02d}")]
        assert codes == ["2", "8", "4", "7"]


def test_provincial_adapter_has_its_own_credentials_and_mapping(provincial, national, simulator):
    StatusMapping.objects.filter(
        system="provincial", state="processing", transition="accept"
    ).update(status_code=4)
    provincial.push_dossier(snapshot(), idempotency_key="k")
    national.push_dossier(snapshot(), idempotency_key="k")

    assert simulator.deliveries("provincial", "SCT-250303-0001")[0].status_code == "4"
    assert simulator.deliveries("national", "SCT-250303-0001")[0].status_code == "2"
    assert provincial.identifier == "provincial"
    with pytest.raises(PortalAuthFailed):
        NationalPortalAdapter(portal_config(simulator, "national", base_url=simulator.url_for(
            "provincial"))).login()


@pytest.mark.parametrize("status", [400, 404, 422, 423])
def test_any_refused_login_is_about_our_credentials_never_final(db, simulator, monkeypatch,
                                                                 status):
    """A locked account or a login endpoint that answers 4xx with a reason must not kill the
    message waiting to go: it is retried and an administrator is called."""
    import requests

    from integrations.adapters import portal_http

    def refused(session, method, url, **kwargs):
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps({"code": "LOCKED", "message": "Tài khoản bị khóa"}).encode()
        response.headers["Content-Type"] = "application/json"
        return response

    monkeypatch.setattr(portal_http, "send", refused)
    adapter = NationalPortalAdapter(portal_config(simulator, "national"))

    with pytest.raises(PortalAuthFailed) as caught:
        adapter.push_dossier(snapshot(), idempotency_key="k")

    assert caught.value.retryable and caught.value.alert == "credentials"
    assert caught.value.status == status
