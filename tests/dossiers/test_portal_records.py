"""Complete records for the portals, checked over HTTP by the simulator, which refuses any
record with a field the portal needs left empty."""

from datetime import UTC, datetime, timedelta

import pytest

from dossiers import services
from dossiers.models import OutboundMessage
from dossiers.services import review, sync
from integrations.exceptions import PortalRejected
from tests.dossiers.factories import VALID_FORM, ProcedureFactory
from tests.dossiers.test_intake import CITIZEN, scans
from tests.dossiers.test_sync_faults import relay_until_settled, wired  # noqa: F401
from tests.integrations.builders import progress, snapshot
from tests.integrations.conftest import (  # noqa: F401 - fixtures
    national,
    simulator,
)

HANDLER = ("NguoiXuLy", "ChucDanh", "PhongBanXuLy")
STEP = ("NgayBatDau", "NgayKetThucTheoQuyDinh")


def all_sent():
    assert not OutboundMessage.objects.exclude(status="sent").values_list("last_error", flat=True)


def test_every_record_of_a_desk_dossier_is_complete(wired, agency, reception, specialist, leader):  # noqa: F811
    agency.national_code = "000.00.28.G22"
    agency.save()
    specialist.title = "Chuyên viên chính"
    specialist.save()
    procedure = ProcedureFactory(agency=agency, fee_before_result=True)
    dossier = services.intake_register(
        actor=reception, procedure_id=procedure.pk, channel="counter", applicant=CITIZEN,
        form_data=dict(VALID_FORM), scans=scans(),
    ).dossier
    review.dossier_propose(dossier_id=dossier.pk, actor=specialist)
    review.dossier_refuse(dossier_id=dossier.pk, actor=leader, reason="Không đủ điều kiện")
    services.dossier_hand_over_refusal(dossier_id=dossier.pk, actor=reception)

    relay_until_settled()

    all_sent()
    deliveries = wired.deliveries("national", dossier.code)
    assert [d.status_code for d in deliveries] == ["1", "2", "4", "9", "10"]
    register, accept, propose, refuse, handed = (d.payload for d in deliveries)
    for record in (register, accept):
        assert record["KenhThucHien"] == "1"
        assert record["SoDienThoai"] == "0912345678" and record["Email"] == ""
        assert record["TrichYeuHoSo"].startswith(procedure.name)
        assert record["MaDonViXuLy"] == "000.00.28.G22"
        assert record["DonViXuLy"] == agency.name
        assert record["DanhSachLePhi"] == [
            {"TenPhiLePhi": sync.FEE_NAME, "MucPhi": 500_000, "LoaiPhiLePhi": "fee"}]
        assert record["NguoiXuLy"] == reception.display_name
        assert record["ChucDanh"] == "Cán bộ tiếp nhận và trả kết quả"
        assert record["PhongBanXuLy"] == agency.name
    assert accept["NgayBatDau"] == accept["NgayTiepNhan"]  # the first step starts at reception
    assert accept["NgayKetThucTheoQuyDinh"]
    assert (propose["NguoiXuLy"], propose["ChucDanh"]) == (specialist.display_name,
                                                          "Chuyên viên chính")
    assert (refuse["NguoiXuLy"], refuse["ChucDanh"]) == (leader.display_name, "Lãnh đạo")
    for record in (propose, refuse, handed):
        assert all(record[key] for key in (*HANDLER, *STEP, "DonViXuLy"))
    # Each step has its own legal end: review (3 days) then approval (1 day).
    assert propose["NgayKetThucTheoQuyDinh"] < accept["NgayKetThucTheoQuyDinh"]


def test_the_new_appointment_of_an_approved_apology_is_pushed(
    wired, agency, reception, specialist, leader, frozen  # noqa: F811
):
    procedure = ProcedureFactory(agency=agency)
    with frozen(datetime(2025, 3, 3, 2, 0, tzinfo=UTC)):
        dossier = services.intake_register(
            actor=reception, procedure_id=procedure.pk, channel="post", applicant=CITIZEN,
            form_data=dict(VALID_FORM), scans=scans(),
        ).dossier
        dossier.refresh_from_db()
        new = dossier.due_at + timedelta(days=3)
        services.apology_draft(dossier_id=dossier.pk, actor=specialist,
                               new_appointment_at=new, reason="Chờ ý kiến liên ngành")
        services.apology_approve(dossier_id=dossier.pk, actor=leader)

    relay_until_settled()

    all_sent()
    last = wired.deliveries("national", dossier.code)[-1]
    assert last.kind == "progress"
    assert last.payload["NgayHenTraMoi"] == new.astimezone(
        sync_vn()).strftime("%Y%m%d%H%M%S")
    assert last.payload["NoiDungXuLy"] == "Chờ ý kiến liên ngành"
    assert last.payload["NguoiXuLy"] == leader.display_name


def sync_vn():
    from integrations.wire import VN_TZ

    return VN_TZ


@pytest.mark.parametrize("field", ["handler_name", "handler_title", "department",
                                   "step_started_at", "step_due_at", "agency_name"])
def test_the_portal_refuses_a_progress_record_with_an_empty_field(national, field):  # noqa: F811
    national.push_dossier(snapshot("S-1"), idempotency_key="k1")
    with pytest.raises(PortalRejected) as caught:
        national.push_progress(progress("S-1", **{field: None if "_at" in field else ""}),
                               idempotency_key="k2")
    wire = {"handler_name": "NguoiXuLy", "handler_title": "ChucDanh",
            "department": "PhongBanXuLy", "step_started_at": "NgayBatDau",
            "step_due_at": "NgayKetThucTheoQuyDinh", "agency_name": "DonViXuLy"}[field]
    assert caught.value.extra["message"] == f"Thiếu trường {wire}."


@pytest.mark.parametrize("changes", [
    {"summary": ""}, {"agency_name": ""}, {"agency_code": ""}, {"handler_name": ""},
    {"handler_title": ""}, {"department": ""}, {"step_started_at": None},
    {"step_due_at": None}, {"applicant_email": "", "applicant_phone": ""},
])
def test_the_portal_refuses_a_dossier_record_with_an_empty_field(national, changes):  # noqa: F811
    with pytest.raises(PortalRejected) as caught:
        national.push_dossier(snapshot("S-2", **changes), idempotency_key="k3")
    assert caught.value.extra["code"] == "missing_field"


def test_a_free_procedure_sends_an_empty_fee_list_and_a_bad_fee_is_refused(national):  # noqa: F811
    assert national.push_dossier(snapshot("S-3", fees=()), idempotency_key="k4").reference
    from integrations.base import Fee

    with pytest.raises(PortalRejected):
        national.push_dossier(snapshot("S-4", fees=(Fee("", 1000),)), idempotency_key="k5")
