"""Form-schema errors speak Vietnamese and name the field by its title, in the model and the API."""

from django.urls import reverse

import pytest

from dossiers.models import Procedure

from .factories import DossierFactory, ProcedureFactory

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["company", "capital"],
    "properties": {
        "company": {"type": "string", "minLength": 1, "maxLength": 20,
                    "title": "Tên doanh nghiệp"},
        "code": {"type": "string", "minLength": 3, "pattern": "^[0-9]+$", "title": "Mã số"},
        "capital": {"type": "integer", "minimum": 1, "maximum": 1000, "title": "Vốn điều lệ"},
        "area": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 10.5,
                 "title": "Diện tích"},
        "email": {"type": "string", "format": "email", "title": "Email"},
        "day": {"type": "string", "format": "date", "title": "Ngày bắt đầu"},
        "reason": {"type": "string", "enum": ["Bị mất", "Bị hỏng"], "title": "Lý do"},
        "agree": {"type": "boolean", "title": "Cam kết"},
        "items": {"type": "array", "minItems": 1, "maxItems": 2, "uniqueItems": True,
                  "items": {"type": "string", "minLength": 1}, "title": "Hóa chất"},
        "step": {"type": "integer", "multipleOf": 5, "title": "Bước"},
        "fixed": {"const": "x", "title": "Cố định"},
        "untitled": {"type": "string", "not": {"const": "no"}},
    },
}
VALID = {"company": "Công ty A", "capital": 10}


@pytest.fixture
def procedure(db) -> Procedure:
    return ProcedureFactory(form_schema=SCHEMA)


def only_error(procedure: Procedure, **changes) -> dict:
    errors = procedure.form_errors({**VALID, **changes})
    assert len(errors) == 1, errors
    return errors[0]


def test_a_missing_required_field_is_named_by_its_title_and_pointed_at(procedure):
    errors = procedure.form_errors({})

    assert errors == [
        {"field": "capital", "code": "required",
         "message": "Trường «Vốn điều lệ» là bắt buộc."},
        {"field": "company", "code": "required",
         "message": "Trường «Tên doanh nghiệp» là bắt buộc."},
    ]


@pytest.mark.parametrize(
    ("changes", "field", "code", "message"),
    [
        ({"capital": "abc"}, "capital", "type", "«Vốn điều lệ» phải là số nguyên."),
        ({"capital": 1.5}, "capital", "type", "«Vốn điều lệ» phải là số nguyên."),
        ({"area": "rộng"}, "area", "type", "«Diện tích» phải là số."),
        ({"company": 12}, "company", "type", "«Tên doanh nghiệp» phải là chuỗi ký tự."),
        ({"agree": "có"}, "agree", "type", "«Cam kết» phải là giá trị có hoặc không."),
        ({"company": ""}, "company", "minLength", "Trường «Tên doanh nghiệp» không được để trống."),
        ({"code": "12"}, "code", "minLength", "«Mã số» phải có ít nhất 3 ký tự."),
        ({"company": "x" * 21}, "company", "maxLength",
         "«Tên doanh nghiệp» chỉ được có tối đa 20 ký tự."),
        ({"code": "12a"}, "code", "pattern", "«Mã số» không đúng định dạng."),
        ({"email": "khong-phai-email"}, "email", "format",
         "«Email» không đúng định dạng thư điện tử."),
        ({"day": "2025-02-30"}, "day", "format",
         "«Ngày bắt đầu» không phải là một ngày hợp lệ (năm-tháng-ngày, ví dụ 2025-03-31)."),
        ({"capital": 0}, "capital", "minimum", "«Vốn điều lệ» phải lớn hơn hoặc bằng 1."),
        ({"capital": 1001}, "capital", "maximum", "«Vốn điều lệ» phải nhỏ hơn hoặc bằng 1000."),
        ({"area": 0}, "area", "exclusiveMinimum", "«Diện tích» phải lớn hơn 0."),
        ({"area": 11}, "area", "exclusiveMaximum", "«Diện tích» phải nhỏ hơn 10,5."),
        ({"reason": "Khác"}, "reason", "enum",
         "«Lý do» phải là một trong các giá trị: Bị mất; Bị hỏng."),
        ({"items": []}, "items", "minItems", "«Hóa chất» phải có ít nhất một mục."),
        ({"items": ["a", "b", "c"]}, "items", "maxItems", "«Hóa chất» chỉ được có tối đa 2 mục."),
        ({"items": ["a", "a"]}, "items", "uniqueItems",
         "Các mục của «Hóa chất» không được trùng nhau."),
        ({"items": ["a", ""]}, "items/1", "minLength",
         "Trường «Hóa chất, mục 2» không được để trống."),
        ({"step": 7}, "step", "multipleOf", "«Bước» phải là bội số của 5."),
        ({"fixed": "y"}, "fixed", "const", "«Cố định» phải có giá trị x."),
        ({"ghi_chu": "x"}, "", "additionalProperties", "Biểu mẫu không có trường «ghi_chu»."),
    ],
)
def test_each_keyword_has_its_vietnamese_message(procedure, changes, field, code, message):
    assert only_error(procedure, **changes) == {"field": field, "code": code, "message": message}


def test_an_unknown_keyword_gets_a_generic_message_naming_the_field_by_its_key(procedure):
    assert only_error(procedure, untitled="no") == {
        "field": "untitled", "code": "not", "message": "«untitled» không hợp lệ.",
    }


def test_a_form_that_is_not_an_object_says_so_in_vietnamese(procedure):
    errors = procedure.form_errors(["không", "phải", "đối", "tượng"])

    assert [(e["field"], e["code"]) for e in errors] == [("", "type")]
    assert errors[0]["message"].startswith("Dữ liệu tờ khai phải là một đối tượng JSON")


def test_no_english_from_the_validator_reaches_the_messages(procedure):
    errors = procedure.form_errors({"capital": "abc", "email": "x", "ghi_chu": 1, "area": -1})

    for error in errors:
        for english in ("is not", "required property", "does not match", "not allowed"):
            assert english not in error["message"]


def test_the_api_returns_the_vietnamese_messages(procedure, applicant, api_client_for):
    dossier = DossierFactory(applicant=applicant, procedure=procedure, form_data=dict(VALID))

    response = api_client_for(applicant).put(
        reverse("api:dossiers:form", args=[dossier.pk]),
        {"form_data": {"company": "Công ty A", "capital": "mười"}}, format="json",
    )

    assert response.status_code == 400
    assert response.json()["extra"]["errors"] == [
        {"field": "capital", "code": "type", "message": "«Vốn điều lệ» phải là số nguyên."},
    ]


def test_a_draft_may_leave_required_fields_empty_but_not_break_the_others(
    procedure, applicant, api_client_for
):
    client = api_client_for(applicant)
    created = client.post(reverse("api:dossiers:create"),
                          {"procedure_id": procedure.pk, "form_data": {}}, format="json")
    assert created.status_code == 201

    refused = client.post(reverse("api:dossiers:create"),
                          {"procedure_id": procedure.pk, "form_data": {"email": "khong-phai-email"}},
                          format="json")
    assert refused.status_code == 400
    assert [e["message"] for e in refused.json()["extra"]["errors"]] == [
        "«Email» không đúng định dạng thư điện tử."
    ]
