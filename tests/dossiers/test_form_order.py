"""The form's fields keep the order their author wrote them in, whatever the database."""

import pytest

from dossiers.models import Procedure, form_properties
from dossiers.models.catalog import FORM_ORDER_KEY, form_schema_ordered

from .factories import ProcedureFactory

pytestmark = pytest.mark.django_db

SCHEMA = {
    "type": "object",
    "properties": {
        "tax_code": {"type": "string", "title": "Mã số thuế"},
        "applicant_name": {"type": "string", "title": "Tên"},
        "phone": {"type": "string", "title": "Điện thoại"},
        "a": {"type": "string", "title": "A"},
    },
}


def test_saving_records_the_authors_order_and_reading_follows_it():
    procedure = ProcedureFactory(form_schema=SCHEMA)
    stored = Procedure.objects.get(pk=procedure.pk).form_schema
    assert stored[FORM_ORDER_KEY] == ["tax_code", "applicant_name", "phone", "a"]
    assert [name for name, _ in form_properties(stored)] == stored[FORM_ORDER_KEY]


def test_the_order_wins_over_the_objects_own_key_order():
    # What PostgreSQL gives back: jsonb puts shorter keys first.
    reordered = {
        "type": "object",
        FORM_ORDER_KEY: ["tax_code", "applicant_name", "phone", "a"],
        "properties": {k: SCHEMA["properties"][k] for k in ("a", "phone", "tax_code", "applicant_name")},
    }
    assert [n for n, _ in form_properties(reordered)] == ["tax_code", "applicant_name", "phone", "a"]


def test_fields_added_or_removed_later_keep_the_rest_in_place():
    schema = {**SCHEMA, FORM_ORDER_KEY: ["phone", "gone", "tax_code"]}
    ordered = form_schema_ordered(schema)
    assert ordered[FORM_ORDER_KEY] == ["phone", "tax_code", "applicant_name", "a"]


def test_a_schema_without_fields_carries_no_order():
    assert FORM_ORDER_KEY not in form_schema_ordered({"type": "object", FORM_ORDER_KEY: ["x"]})
    assert form_properties({}) == []
