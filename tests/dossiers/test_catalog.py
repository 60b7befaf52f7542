"""The procedure catalog: loading the bundled file, idempotently and all-or-nothing."""

import copy
import json
import re
from datetime import time
from decimal import Decimal
from io import StringIO

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db.models import Sum

import pytest

from dossiers.models import Agency, DocumentComponent, Procedure, ProcessStep
from dossiers.models.catalog import AgencySeason
from dossiers.services import catalog_load, document_upload
from dossiers.services.catalog import CATALOG_FILE, CatalogError
from tests.dossiers.factories import DossierFactory

pytestmark = pytest.mark.django_db

NATIONAL_CODE = re.compile(r"^[1-3]\.\d{6}$")


@pytest.fixture(scope="module")
def catalog() -> dict:
    return json.loads(CATALOG_FILE.read_text(encoding="utf-8"))


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (Agency, Procedure, ProcessStep, DocumentComponent)
    }


def test_bundled_catalog_loads_at_least_ten_procedures(catalog):
    procedures = catalog_load()

    assert len(procedures) == len(catalog["procedures"]) >= 10
    assert Procedure.objects.count() == len(catalog["procedures"])
    assert set(Agency.objects.values_list("code", flat=True)) == {
        a["code"] for a in catalog["agencies"]
    }


def test_procedures_carry_their_national_code_where_one_is_known(catalog):
    catalog_load()

    known = [p for p in catalog["procedures"] if p.get("national_code")]
    assert known, "the bundled catalog should name at least one national code"
    for item in known:
        assert NATIONAL_CODE.match(item["national_code"]), item["national_code"]
        assert Procedure.objects.get(national_code=item["national_code"]).name == item["name"]
    assert Procedure.objects.filter(national_code="").count() == len(catalog["procedures"]) - len(
        known
    )


def test_every_procedures_step_budgets_sum_to_its_processing_time():
    catalog_load()

    for procedure in Procedure.objects.all():
        total = procedure.steps.aggregate(total=Sum("budget_days"))["total"]
        assert total == procedure.processing_days, procedure.name
        assert list(procedure.steps.values_list("order", flat=True)) == list(
            range(1, procedure.steps.count() + 1)
        )


def test_loaded_procedures_match_the_file_field_by_field(catalog):
    catalog_load()

    for item in catalog["procedures"]:
        lookup = (
            {"national_code": item["national_code"]} if item["national_code"]
            else {"name": item["name"]}
        )
        procedure = Procedure.objects.get(**lookup)
        assert procedure.agency.code == item["agency"]
        assert procedure.processing_days == Decimal(item["processing_days"])
        assert procedure.fee_vnd == (item.get("fee_vnd") or 0)
        assert procedure.fee_due == item["fee_due"]
        assert procedure.demo_assumptions == item.get("demo_assumptions", [])
        assert list(procedure.components.values_list("code", flat=True)) == [
            c["code"] for c in item["components"]
        ]
        assert list(procedure.steps.values_list("code", flat=True)) == [
            s["code"] for s in item["steps"]
        ]
        procedure.full_clean()


def test_loading_the_catalog_twice_changes_nothing():
    catalog_load()
    before = counts()
    ids = set(Procedure.objects.values_list("pk", flat=True))

    catalog_load()

    assert counts() == before
    assert set(Procedure.objects.values_list("pk", flat=True)) == ids


def test_loading_again_updates_a_procedure_in_place(catalog):
    catalog_load()
    data = copy.deepcopy(catalog)
    data["procedures"][0]["name"] = "Tên đã sửa"
    code = data["procedures"][0]["national_code"]
    pk = Procedure.objects.get(national_code=code).pk

    catalog_load(data=data)

    assert Procedure.objects.get(pk=pk).name == "Tên đã sửa"
    assert Procedure.objects.count() == len(catalog["procedures"])


def test_loading_again_while_dossiers_are_at_a_step_keeps_working(applicant):
    procedure = catalog_load()[0]
    step = procedure.steps.get(code="review")
    dossier = DossierFactory(
        procedure=procedure, applicant=applicant, processing=True, current_step=step
    )
    before = counts()

    catalog_load()

    assert counts() == before
    dossier.refresh_from_db()
    assert dossier.current_step.code == "review"


def test_loading_again_keeps_components_that_documents_point_to(catalog, applicant, pdf_file):
    catalog_load()
    item = catalog["procedures"][0]
    procedure = Procedure.objects.get(national_code=item["national_code"])
    component = item["components"][0]["code"]
    dossier = DossierFactory(procedure=procedure, applicant=applicant)
    document_upload(
        dossier_id=dossier.pk, actor=applicant, component_code=component,
        uploaded_file=pdf_file(),
    )
    data = copy.deepcopy(catalog)
    data["procedures"][0]["components"] = data["procedures"][0]["components"][1:]

    catalog_load(data=data)

    assert procedure.components.filter(code=component).exists()
    assert procedure.components.count() == len(item["components"])


# --- bad data writes nothing ------------------------------------------------------------


def test_step_budgets_that_do_not_sum_to_the_processing_time_are_refused(catalog):
    data = copy.deepcopy(catalog)
    data["procedures"][1]["steps"][0]["budget_days"] = "3"

    with pytest.raises(CatalogError, match="step budgets sum to"):
        catalog_load(data=data)

    assert counts() == {"Agency": 0, "Procedure": 0, "ProcessStep": 0, "DocumentComponent": 0}


def test_a_refused_reload_leaves_the_loaded_catalog_as_it_was(catalog):
    catalog_load()
    before = counts()
    data = copy.deepcopy(catalog)
    data["procedures"][0]["name"] = "Tên sẽ không được lưu"
    data["procedures"][-1]["processing_days"] = "99"

    with pytest.raises(CatalogError):
        catalog_load(data=data)

    assert counts() == before
    assert not Procedure.objects.filter(name="Tên sẽ không được lưu").exists()


def test_an_invalid_form_schema_is_refused_and_nothing_is_written(catalog):
    data = copy.deepcopy(catalog)
    data["procedures"][-1]["form_schema"] = {"type": "không phải kiểu"}

    with pytest.raises(ValidationError) as raised:
        catalog_load(data=data)

    assert "form_schema" in raised.value.message_dict
    assert counts() == {"Agency": 0, "Procedure": 0, "ProcessStep": 0, "DocumentComponent": 0}


# --- seasonal working hours -------------------------------------------------------------

SUMMER = {"name": "Giờ làm việc mùa hè", "start_day": 1, "start_month": 5, "end_day": 30,
          "end_month": 9, "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}
WINTER = {"name": "Giờ làm việc mùa đông", "start_day": 1, "start_month": 10, "end_day": 30,
          "end_month": 4, "sessions": [["07:30", "11:30"], ["13:00", "16:30"]]}


def with_seasons(catalog: dict, seasons) -> dict:
    data = copy.deepcopy(catalog)
    data["agencies"][0]["seasons"] = seasons
    return data


def season_rows(catalog) -> list[tuple]:
    return list(
        AgencySeason.objects.filter(agency__code=catalog["agencies"][0]["code"])
        .order_by("name")
        .values_list("pk", "name", "start_day", "start_month", "end_day", "end_month",
                     "morning_start", "afternoon_end")
    )


def test_an_agencys_seasons_are_loaded_from_the_catalog(catalog):
    catalog_load(data=with_seasons(catalog, [SUMMER, WINTER]))

    rows = season_rows(catalog)
    assert [row[1:] for row in rows] == [
        ("Giờ làm việc mùa hè", 1, 5, 30, 9, time(7, 0), time(17, 0)),
        ("Giờ làm việc mùa đông", 1, 10, 30, 4, time(7, 30), time(16, 30)),
    ]


def test_reloading_seasons_updates_them_by_name_and_drops_the_ones_left_out(catalog):
    catalog_load(data=with_seasons(catalog, [SUMMER, WINTER]))
    summer_pk = season_rows(catalog)[0][0]

    catalog_load(data=with_seasons(catalog, [{**SUMMER, "end_day": 15, "end_month": 10}]))
    assert [row[:6] for row in season_rows(catalog)] == [
        (summer_pk, "Giờ làm việc mùa hè", 1, 5, 15, 10)
    ]

    catalog_load(data=catalog)  # no "seasons" key: what the administrators set stays
    assert len(season_rows(catalog)) == 1
    catalog_load(data=with_seasons(catalog, []))
    assert season_rows(catalog) == []


@pytest.mark.parametrize(
    ("seasons", "error"),
    [
        ([SUMMER, {**WINTER, "start_day": 30, "start_month": 9}], CatalogError),
        ([SUMMER, {**WINTER, "name": SUMMER["name"]}], CatalogError),
        ([{**SUMMER, "sessions": [["07:00", "11:30"]]}], CatalogError),
        ([{k: v for k, v in SUMMER.items() if k != "end_day"}], CatalogError),
        ("Mùa hè", CatalogError),
        ([{**SUMMER, "end_day": 31, "end_month": 4}], ValidationError),
        ([{**SUMMER, "sessions": [["07:00", "13:45"], ["13:30", "17:00"]]}], ValidationError),
        ([{**SUMMER, "sessions": [["07:00", "25:00"], ["13:30", "17:00"]]}], ValidationError),
    ],
)
def test_bad_seasons_are_refused_and_nothing_is_written(catalog, seasons, error):
    with pytest.raises(error):
        catalog_load(data=with_seasons(catalog, seasons))

    assert counts()["Agency"] == 0
    assert not AgencySeason.objects.exists()


# --- the management command -------------------------------------------------------------


def test_load_catalog_command_loads_the_bundled_file(catalog):
    out = StringIO()

    call_command("load_catalog", stdout=out)

    assert f"{len(catalog['procedures'])} procedures loaded." in out.getvalue()
    assert Procedure.objects.count() == len(catalog["procedures"])


def test_load_catalog_command_loads_a_given_file(catalog, tmp_path):
    data = copy.deepcopy(catalog)
    data["procedures"] = data["procedures"][:2]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = StringIO()

    call_command("load_catalog", str(path), stdout=out)

    assert "2 procedures loaded." in out.getvalue()
    assert set(Procedure.objects.values_list("name", flat=True)) == {
        p["name"] for p in data["procedures"]
    }


# --- the form schema --------------------------------------------------------------------


@pytest.fixture
def station_procedure(catalog) -> Procedure:
    catalog_load()
    return Procedure.objects.get(national_code="2.000648")


VALID_STATION_FORM = {
    "applicant_name": "Công ty TNHH Xăng dầu Đông Hà",
    "tax_code": "3200123456",
    "address": "12 Lê Duẩn, Đông Hà",
    "station_address": "Km 5 Quốc lộ 9",
    "tank_capacity_m3": 75,
}


def test_form_errors_is_empty_for_valid_data(station_procedure):
    assert station_procedure.form_errors(VALID_STATION_FORM) == []


def test_form_errors_names_every_missing_required_field(station_procedure):
    errors = station_procedure.form_errors({"applicant_name": "Công ty A"})

    assert [(e["field"], e["code"]) for e in errors] == [
        ("address", "required"), ("station_address", "required"),
        ("tank_capacity_m3", "required"), ("tax_code", "required"),
    ]
    assert errors[-1]["message"] == "Trường «Mã số thuế» là bắt buộc."


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tax_code", "32001"),
        ("tax_code", 3200123456),
        ("phone", "123"),
        ("tank_capacity_m3", 0),
        ("applicant_name", ""),
    ],
)
def test_form_errors_points_at_the_field_that_breaks_the_schema(station_procedure, field, value):
    errors = station_procedure.form_errors({**VALID_STATION_FORM, field: value})

    assert [e["field"] for e in errors] == [field]
    assert errors[0]["message"]


def test_form_errors_refuses_fields_the_schema_does_not_know(station_procedure):
    errors = station_procedure.form_errors({**VALID_STATION_FORM, "ghi_chu": "x"})

    assert len(errors) == 1
    assert "ghi_chu" in errors[0]["message"]


def test_form_errors_checks_date_formats(catalog):
    catalog_load()
    procedure = Procedure.objects.get(national_code="2.000004")
    form = {
        "applicant_name": "Công ty A", "tax_code": "3200123456", "address": "Đông Hà",
        "promotion_start": "2025-02-30", "promotion_end": "2025-03-31",
        "total_prize_value_vnd": 1_000_000,
    }

    errors = procedure.form_errors(form)

    assert [e["field"] for e in errors] == ["promotion_start"]
    assert procedure.form_errors({**form, "promotion_start": "2025-03-01"}) == []


def test_form_errors_reports_a_non_object_as_one_error(station_procedure):
    errors = station_procedure.form_errors(["không", "phải", "đối tượng"])

    assert [e["field"] for e in errors] == [""]
