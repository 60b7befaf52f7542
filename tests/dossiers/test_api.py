"""The REST API: the applicant's journey, the officer's moves, and bad input that changes nothing."""

from django.urls import reverse

import pytest

from dossiers.models import Document, Dossier, DossierTransition, IdempotencyRecord
from tests.conftest import PNG_BYTES
from tests.dossiers.factories import VALID_FORM, DossierFactory, ProcedureFactory


def url(name: str, *args) -> str:
    return reverse(f"api:dossiers:{name}", args=args)


def _state(dossier: Dossier) -> tuple:
    d = Dossier.objects.get(pk=dossier.pk)
    return (d.state, d.version, d.code, d.form_data, d.documents.count(),
            DossierTransition.objects.filter(dossier=d).count())


@pytest.fixture
def ready(applicant, api_client_for, pdf_file):
    """A complete draft, its documents uploaded through the API."""
    dossier = DossierFactory(applicant=applicant)
    response = api_client_for(applicant).post(
        url("upload", dossier.pk), {"component": "don_de_nghi", "file": pdf_file()},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    return dossier


def test_a_business_files_and_follows_a_dossier_through_the_api(
    applicant, reception, specialist, leader, api_client_for, pdf_file
):
    procedure = ProcedureFactory()
    client = api_client_for(applicant)
    response = client.post(url("create"), {"procedure_id": procedure.pk, "form_data": VALID_FORM},
                           format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["state"], body["code"], body["version"]) == ("draft", None, 1)
    dossier_id = body["id"]
    response = client.put(url("form", dossier_id),
                          {"form_data": {**VALID_FORM, "capacity_m3": 25}, "version": 1},
                          format="json")
    assert response.status_code == 200
    assert response.json()["form_data"]["capacity_m3"] == 25
    upload = client.post(url("upload", dossier_id), {"component": "don_de_nghi",
                                                     "file": pdf_file()}, format="multipart")
    assert upload.status_code == 201
    assert upload.json()["content_type"] == "application/pdf"
    submitted = client.post(url("submit", dossier_id), {}, format="json")
    assert submitted.status_code == 200
    code, secret = submitted.json()["code"], submitted.json()["lookup_secret"]
    assert code.startswith("SCT-")

    assert api_client_for(reception).post(url("accept", dossier_id)).status_code == 200
    officer = api_client_for(specialist)
    assert officer.post(url("claim", dossier_id)).status_code == 200
    response = officer.post(url("request_supplement", dossier_id), {"reason": "Bổ sung bản vẽ"},
                            format="json")
    assert response.json()["state"] == "awaiting_supplement"
    again = client.post(url("upload", dossier_id), {"component": "don_de_nghi",
                                                    "file": pdf_file("don-v2.pdf")},
                        format="multipart")
    assert again.json()["version"] == 2
    assert client.post(url("supply", dossier_id)).json()["state"] == "processing"
    assert officer.post(url("propose", dossier_id)).json()["state"] == "pending_approval"
    boss = api_client_for(leader)
    assert boss.post(url("approve", dossier_id)).json()["state"] == "approved"
    response = boss.post(url("issue_result", dossier_id), {"number": "7/GP-SCT"}, format="json")
    assert response.json()["state"] == "result_ready"
    assert api_client_for(reception).post(url("return_result", dossier_id)).status_code == 200

    timeline = client.get(url("timeline", dossier_id)).json()
    assert [row["name"] for row in timeline] == [
        "submit", "accept", "request_supplement", "supply", "propose", "approve",
        "issue_result", "return_result",
    ]
    result = client.get(url("result", dossier_id)).json()
    assert result["number"] == "7/GP-SCT"
    lookup = api_client_for().get(url("lookup"), {"code": code, "secret": secret})
    assert lookup.status_code == 200
    assert lookup.json()["state"] == "returned"
    assert "applicant" not in lookup.json() and "form_data" not in lookup.json()
    assert client.post(url("rate", dossier_id), {"score": 5}, format="json").status_code == 201


def test_unknown_procedure_is_a_404_and_creates_nothing(applicant, api_client_for):
    response = api_client_for(applicant).post(url("create"), {"procedure_id": 999999},
                                              format="json")
    assert response.status_code == 404
    assert response.json() == {"code": "procedure_not_found",
                               "message": "Không tìm thấy thủ tục hành chính.",
                               "extra": {"procedure_id": 999999}}
    assert not Dossier.objects.exists()


def test_form_data_against_its_schema_is_a_400_and_creates_nothing(applicant, api_client_for):
    procedure = ProcedureFactory()
    response = api_client_for(applicant).post(
        url("create"), {"procedure_id": procedure.pk,
                        "form_data": {"tax_code": "12AB", "unknown": 1}}, format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_form_data"
    assert {e["field"] for e in body["extra"]["errors"]} == {"", "tax_code"}
    assert not Dossier.objects.exists()


def test_form_data_that_is_not_an_object_is_a_400(applicant, api_client_for):
    procedure = ProcedureFactory()
    response = api_client_for(applicant).post(
        url("create"), {"procedure_id": procedure.pk, "form_data": [1, 2]}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_form_data"


def test_missing_mandatory_component_is_a_422_and_changes_nothing(applicant, api_client_for):
    dossier = DossierFactory(applicant=applicant)
    before = _state(dossier)
    response = api_client_for(applicant).post(url("submit", dossier.pk))
    assert response.status_code == 422
    assert response.json() == {"code": "missing_documents",
                               "message": "Hồ sơ còn thiếu thành phần bắt buộc.",
                               "extra": {"components": ["don_de_nghi"]}}
    assert _state(dossier) == before


def test_wrong_file_type_by_content_is_a_415_and_stores_nothing(applicant, api_client_for,
                                                                pdf_file):
    dossier = DossierFactory(applicant=applicant)
    before = _state(dossier)
    response = api_client_for(applicant).post(
        url("upload", dossier.pk),
        {"component": "don_de_nghi", "file": pdf_file("scan.pdf", PNG_BYTES)}, format="multipart",
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_file_type"
    assert response.json()["extra"] == {"detected": "image/png", "accepted": ["application/pdf"]}
    assert _state(dossier) == before


def test_oversized_file_is_a_413_and_stores_nothing(applicant, api_client_for, pdf_file, settings):
    settings.UPLOAD_MAX_FILE_BYTES = 100
    dossier = DossierFactory(applicant=applicant)
    before = _state(dossier)
    response = api_client_for(applicant).post(
        url("upload", dossier.pk),
        {"component": "don_de_nghi", "file": pdf_file(content=b"%PDF-1.4\n" + b"0" * 200)},
        format="multipart",
    )
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert _state(dossier) == before


def test_empty_file_is_a_400_and_stores_nothing(applicant, api_client_for, pdf_file):
    dossier = DossierFactory(applicant=applicant)
    before = _state(dossier)
    response = api_client_for(applicant).post(
        url("upload", dossier.pk), {"component": "don_de_nghi", "file": pdf_file(content=b"")},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "empty_file"
    assert _state(dossier) == before


def test_transition_from_the_wrong_state_is_a_409(applicant, reception, api_client_for):
    dossier = DossierFactory(applicant=applicant, processing=True)
    before = _state(dossier)
    response = api_client_for(reception).post(url("accept", dossier.pk))
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["extra"] == {"state": "processing", "transition": "accept"}
    assert _state(dossier) == before


def test_wrong_role_is_a_403_and_changes_nothing(applicant, specialist, api_client_for):
    dossier = DossierFactory(applicant=applicant, submitted=True)
    before = _state(dossier)
    response = api_client_for(specialist).post(url("accept", dossier.pk))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert _state(dossier) == before


def test_officer_cannot_submit_for_applicant(reception, applicant, api_client_for, ready):
    response = api_client_for(reception).post(url("submit", ready.pk))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("method", "name", "data"),
    [
        ("get", "detail", None), ("get", "timeline", None), ("get", "documents", None),
        ("post", "submit", {}), ("post", "withdraw", {"reason": "x"}),
        ("put", "form", {"form_data": VALID_FORM}), ("post", "pay", {}),
    ],
)
def test_another_applicants_dossier_is_a_404(method, name, data, ready, other_applicant,
                                            api_client_for):
    before = _state(ready)
    response = getattr(api_client_for(other_applicant), method)(url(name, ready.pk), data,
                                                                format="json")
    assert response.status_code == 404
    assert response.json() == {"code": "dossier_not_found", "message": "Không tìm thấy hồ sơ.",
                               "extra": {}}
    assert _state(ready) == before


def test_withdrawing_a_completed_dossier_is_a_409(applicant, api_client_for):
    dossier = DossierFactory(applicant=applicant, result_ready=True)
    before = _state(dossier)
    response = api_client_for(applicant).post(url("withdraw", dossier.pk),
                                              {"reason": "Không cần nữa"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert _state(dossier) == before


def test_withdraw_without_reason_is_a_400(applicant, api_client_for):
    dossier = DossierFactory(applicant=applicant, processing=True)
    response = api_client_for(applicant).post(url("withdraw", dossier.pk))
    assert response.status_code == 400
    assert response.json()["code"] == "reason_required"


def test_double_submit_is_a_409_and_keeps_the_first_code(applicant, api_client_for, ready):
    client = api_client_for(applicant)
    first = client.post(url("submit", ready.pk))
    assert first.status_code == 200
    after_first = _state(ready)
    second = client.post(url("submit", ready.pk))
    assert second.status_code == 409
    assert second.json()["code"] == "invalid_transition"
    assert _state(ready) == after_first


def test_stale_version_is_a_409_and_changes_nothing(applicant, reception, api_client_for):
    dossier = DossierFactory(applicant=applicant, submitted=True)
    before = _state(dossier)
    response = api_client_for(reception).post(url("accept", dossier.pk),
                                              {"version": dossier.version + 5}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "code": "stale_version",
        "message": "Hồ sơ vừa được người khác cập nhật; vui lòng tải lại.",
        "extra": {"current_version": dossier.version},
    }
    assert _state(dossier) == before


def test_lookup_with_a_wrong_secret_is_a_404_that_says_nothing_about_the_code(db, api_client_for):
    dossier = DossierFactory(submitted=True)
    client = api_client_for()
    wrong = client.get(url("lookup"), {"code": dossier.code, "secret": "nope"})
    unknown = client.get(url("lookup"), {"code": "SCT-000000-9999", "secret": "nope"})
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()
    right = client.get(url("lookup"), {"code": dossier.code, "secret": dossier.lookup_secret})
    assert right.status_code == 200


def test_lookup_without_parameters_is_a_400(api_client_for):
    response = api_client_for().get(url("lookup"))
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_submit_with_the_same_idempotency_key_replays_the_first_answer(applicant, api_client_for,
                                                                        ready):
    client = api_client_for(applicant)
    first = client.post(url("submit", ready.pk), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(url("submit", ready.pk), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert DossierTransition.objects.filter(dossier=ready, name="submit").count() == 1


def test_the_same_idempotency_key_with_another_body_is_a_422(applicant, api_client_for, ready):
    client = api_client_for(applicant)
    client.post(url("submit", ready.pk), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    after_first = _state(ready)
    other = client.post(url("submit", ready.pk), {"version": 1}, format="json",
                        HTTP_IDEMPOTENCY_KEY="k-2")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert _state(ready) == after_first
    assert IdempotencyRecord.objects.count() == 1


def test_a_failed_submit_is_replayed_with_the_same_error(applicant, api_client_for):
    dossier = DossierFactory(applicant=applicant)
    client = api_client_for(applicant)
    first = client.post(url("submit", dossier.pk), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    again = client.post(url("submit", dossier.pk), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert first.status_code == again.status_code == 422
    assert first.json() == again.json()


def test_anonymous_users_cannot_create_dossiers(api_client_for):
    response = api_client_for().post(url("create"), {"procedure_id": 1}, format="json")
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


def test_the_catalog_is_public(db, api_client_for):
    procedure = ProcedureFactory()
    response = api_client_for().get(url("procedures"))
    assert response.status_code == 200
    [item] = response.json()
    assert item["national_code"] == procedure.national_code
    assert [c["code"] for c in item["components"]] == ["don_de_nghi", "ban_ve"]
    assert [s["code"] for s in item["steps"]] == ["reception", "review", "approval", "result"]


def test_officers_see_their_agencys_dossiers_and_applicants_their_own(
    applicant, other_applicant, reception, api_client_for
):
    mine = DossierFactory(applicant=applicant, submitted=True)
    DossierFactory(applicant=other_applicant, submitted=True)
    DossierFactory(applicant=applicant)  # a draft: never shown to officers
    own = [d["id"] for d in api_client_for(applicant).get(url("list")).json()["results"]]
    assert mine.pk in own and len(own) == 2
    seen = api_client_for(reception).get(url("list")).json()["results"]
    assert len(seen) == 2 and all(d["state"] == "submitted" for d in seen)
    assert all("lookup_secret" not in d for d in seen)


def test_reception_can_upload_a_digitized_copy_at_the_counter(applicant, reception,
                                                              api_client_for, pdf_file):
    dossier = DossierFactory(applicant=applicant, submitted=True)
    response = api_client_for(reception).post(
        url("upload", dossier.pk),
        {"component": "don_de_nghi", "file": pdf_file(), "digitized": True}, format="multipart",
    )
    assert response.status_code == 201
    assert Document.objects.get(dossier=dossier).digitized is True


def test_an_administrator_does_not_read_dossier_contents(applicant, api_client_for):
    from portal.roles import Role
    from tests.dossiers.factories import UserFactory

    dossier = DossierFactory(applicant=applicant, submitted=True)
    admin = UserFactory(roles=[Role.ADMIN], kind="staff")
    response = api_client_for(admin).get(url("detail", dossier.pk))
    assert response.status_code == 404
    assert api_client_for(admin).get(url("list")).json() == {"results": [], "next_cursor": None}


def test_the_receipt_and_appointment_slip_is_a_pdf_once_received(
    applicant, reception, other_applicant, api_client_for, ready
):
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    client = api_client_for(applicant)
    client.post(url("submit", ready.pk))
    early = client.get(url("receipt_slip", ready.pk))
    assert early.status_code == 409
    assert early.json()["code"] == "invalid_transition"
    api_client_for(reception).post(url("accept", ready.pk))
    response = client.get(url("receipt_slip", ready.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfFileReader(BytesIO(response.content))
    assert len(reader.root["/Pages"]["/Kids"]) == 1
    assert "Giấy tiếp nhận" in str(reader.trailer_view["/Info"]["/Title"])
    assert api_client_for(reception).get(url("receipt_slip", ready.pk)).status_code == 200
    assert api_client_for(other_applicant).get(url("receipt_slip", ready.pk)).status_code == 404


# --- the dossier list: filters and pages ---------------------------------------------


def _listed(client, **params) -> list[int]:
    response = client.get(url("list"), params)
    assert response.status_code == 200, response.json()
    return [d["id"] for d in response.json()["results"]]


@pytest.fixture
def listed(agency, applicant):
    """Dossiers of the agency in several states and due times, and one of another agency."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.dossiers.factories import AgencyFactory

    now = timezone.now()
    procedure = ProcedureFactory(agency=agency)
    other_procedure = ProcedureFactory(agency=agency)
    foreign = ProcedureFactory(agency=AgencyFactory(code="sxd", name="Sở Xây dựng"))
    return {
        "submitted": DossierFactory(procedure=procedure, applicant=applicant, submitted=True,
                                    code="SCT-250303-0001"),
        "processing": DossierFactory(procedure=procedure, applicant=applicant, processing=True,
                                     code="SCT-250303-0002", due_at=now + timedelta(days=3)),
        "overdue": DossierFactory(procedure=other_procedure, applicant=applicant, overdue=True,
                                  code="SCT-250304-0003", due_at=now - timedelta(days=2)),
        "ready": DossierFactory(procedure=procedure, applicant=applicant, result_ready=True,
                                code="SCT-250304-0004", due_at=now + timedelta(days=10)),
        "foreign": DossierFactory(procedure=foreign, applicant=applicant, processing=True,
                                  code="SXD-250304-0001"),
        "other_procedure": other_procedure,
        "now": now,
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (lambda d: {"state": "processing"}, ["processing", "overdue"]),
        (lambda d: {"procedure": d["other_procedure"].pk}, ["overdue"]),
        (lambda d: {"overdue": "true"}, ["overdue"]),
        (lambda d: {"overdue": "false"}, ["submitted", "processing", "ready"]),
        (lambda d: {"due_before": d["now"].isoformat()}, ["overdue"]),
        (lambda d: {"due_after": d["now"].isoformat()}, ["processing", "ready"]),
        (lambda d: {"due_after": d["now"].isoformat(),
                    "due_before": (d["now"] + __import__("datetime").timedelta(days=5)).isoformat()},
         ["processing"]),
        (lambda d: {"code": "250304"}, ["overdue", "ready"]),
        (lambda d: {"agency": "sct", "state": "result_ready"}, ["ready"]),
        (lambda d: {"agency": "sxd"}, []),
    ],
    ids=["state", "procedure", "overdue", "not-overdue", "due-before", "due-after",
         "due-between", "code", "agency-and-state", "other-agency"],
)
def test_the_dossier_list_applies_its_filters(api_client_for, reception, listed, params,
                                              expected):
    seen = _listed(api_client_for(reception), **params(listed))

    assert sorted(seen) == sorted(listed[name].pk for name in expected)


def test_an_applicant_filters_only_their_own_dossiers(api_client_for, applicant, listed):
    seen = _listed(api_client_for(applicant), agency="sxd")

    assert seen == [listed["foreign"].pk]


def test_the_dossier_list_pages_past_two_hundred_with_a_cursor(api_client_for, reception,
                                                              agency, applicant):
    procedure = ProcedureFactory(agency=agency)
    made = {DossierFactory(procedure=procedure, applicant=applicant, submitted=True).pk
            for _ in range(205)}
    client = api_client_for(reception)

    seen, cursor, pages = [], None, 0
    while True:
        response = client.get(url("list"), {"page_size": 200, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        seen += [d["id"] for d in response.json()["results"]]
        cursor = response.json()["next_cursor"]
        pages += 1
        if cursor is None:
            break
        assert pages < 5, "the cursor does not advance"

    assert pages == 2
    assert len(seen) == len(set(seen)) == 205
    assert set(seen) == made
    assert seen == sorted(seen, reverse=True)  # newest first, created in id order


def test_the_dossier_list_keeps_its_filters_across_pages(api_client_for, reception, agency,
                                                        applicant):
    procedure = ProcedureFactory(agency=agency)
    wanted = {DossierFactory(procedure=procedure, applicant=applicant, processing=True).pk
              for _ in range(5)}
    for _ in range(4):
        DossierFactory(procedure=procedure, applicant=applicant, submitted=True)
    client = api_client_for(reception)

    first = client.get(url("list"), {"state": "processing", "page_size": 3}).json()
    second = client.get(url("list"), {"state": "processing", "page_size": 3,
                                      "cursor": first["next_cursor"]}).json()

    assert {d["id"] for d in first["results"] + second["results"]} == wanted
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [({"state": "lost"}, "state"), ({"due_before": "yesterday"}, "due_before"),
     ({"page_size": 0}, "page_size"), ({"overdue": "maybe"}, "overdue")],
)
def test_a_bad_list_filter_is_a_400(api_client_for, reception, params, field):
    response = api_client_for(reception).get(url("list"), params)

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["extra"]["fields"]) == [field]


def test_a_bad_list_cursor_is_a_400(api_client_for, reception):
    response = api_client_for(reception).get(url("list"), {"cursor": "not-a-cursor"})

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_form_data", "message": "Con trỏ phân trang không hợp lệ.",
        "extra": {"errors": [{"field": "cursor"}]},
    }


def test_the_dossier_list_query_count_does_not_grow_with_the_page_size(
    api_client_for, reception, agency, applicant
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    procedure = ProcedureFactory(agency=agency)
    for _ in range(30):
        DossierFactory(procedure=procedure, applicant=applicant, processing=True)
    client = api_client_for(reception)
    client.get(url("list"), {"page_size": 1})  # warm the caches that are not per page

    with CaptureQueriesContext(connection) as small:
        assert len(client.get(url("list"), {"page_size": 3}).json()["results"]) == 3
    with CaptureQueriesContext(connection) as large:
        assert len(client.get(url("list"), {"page_size": 30}).json()["results"]) == 30

    assert len(small.captured_queries) == len(large.captured_queries)
