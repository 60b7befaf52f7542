"""The editable code tables: seeded defaults, edits, per-system independence."""

from django.db import IntegrityError
from django.urls import reverse

import pytest

from integrations.defaults import DEFAULT_STATUS_CODES
from integrations.exceptions import MappingMissing
from integrations.models import ProcedureCodeMapping, StatusMapping
from integrations.selectors import local_procedure_code, remote_procedure_code, status_code_for

pytestmark = pytest.mark.django_db

# Every state of the dossier workflow (DESIGN §3), written out so a new state shows up here.
OUR_STATES = {
    "draft", "submitted", "needs_completion", "rejected", "processing", "awaiting_supplement",
    "suspended", "pending_approval", "approved", "refused", "result_ready", "returned",
    "withdrawn", "returned_unanswered",
}


@pytest.mark.parametrize("system", ["national", "provincial"])
def test_the_migration_seeds_every_default_for_both_systems(system):
    rows = {(r.state, r.transition): r.status_code
            for r in StatusMapping.objects.filter(system=system)}
    assert rows == DEFAULT_STATUS_CODES
    assert {state for state, _ in rows} == OUR_STATES


@pytest.mark.parametrize("state, transition, code", [
    ("submitted", "", 1), ("needs_completion", "", 5), ("rejected", "", 3),
    ("processing", "accept", 2), ("processing", "", 4), ("processing", "supply", 4),
    ("awaiting_supplement", "", 5), ("withdrawn", "withdraw", 7), ("suspended", "", 8),
    ("pending_approval", "", 4), ("approved", "", 4), ("refused", "", 9),
    ("result_ready", "", 9), ("returned", "", 10),
])
def test_default_codes(state, transition, code):
    assert status_code_for(system="national", state=state, transition=transition) == code


def test_an_edited_row_changes_the_code_for_that_system_only():
    StatusMapping.objects.filter(system="national", state="suspended").update(status_code=6)

    assert status_code_for(system="national", state="suspended") == 6
    assert status_code_for(system="provincial", state="suspended") == 8


def test_a_transition_row_refines_its_state():
    StatusMapping.objects.create(system="national", state="processing", transition="resume",
                                 status_code=2)
    assert status_code_for(system="national", state="processing", transition="resume") == 2
    assert status_code_for(system="national", state="processing", transition="supply") == 4


def test_without_rows_the_defaults_still_answer():
    StatusMapping.objects.all().delete()
    assert status_code_for(system="provincial", state="processing", transition="accept") == 2
    assert status_code_for(system="provincial", state="returned") == 10


def test_an_unknown_state_is_a_mapping_error_an_administrator_fixes():
    with pytest.raises(MappingMissing) as caught:
        status_code_for(system="national", state="archived")
    # Ours to fix, not the message's fault: retried and flagged, never dead on its own.
    assert caught.value.extra["state"] == "archived" and caught.value.retryable
    assert caught.value.alert == "configuration"


def test_the_seeded_return_for_completion_code_is_moved_to_supplement_requested_and_an_edited_one_stays(
    db,
):
    from importlib import import_module

    from django.apps import apps

    from integrations.models import StatusMapping

    migration = import_module("integrations.migrations.0003_needs_completion_is_supplement_requested")
    rows = StatusMapping.objects.filter(state="needs_completion", transition="")
    rows.filter(system="national").update(status_code=1, note=migration.SEEDED_NOTE)
    rows.filter(system="provincial").update(status_code=3, note="chosen by the province")

    migration.forward(apps, None)

    assert dict(rows.values_list("system", "status_code")) == {"national": 5, "provincial": 3}


def test_codes_outside_one_to_ten_are_refused_by_the_database():
    with pytest.raises(IntegrityError):
        StatusMapping.objects.create(system="national", state="x", status_code=11)


def test_procedure_codes_map_both_ways_per_system_and_default_to_themselves():
    ProcedureCodeMapping.objects.create(system="national", local_code="2.000648",
                                        remote_code="2.000648.000.00.00.H52")

    assert remote_procedure_code(system="national", code="2.000648") == "2.000648.000.00.00.H52"
    assert local_procedure_code(system="national", remote_code="2.000648.000.00.00.H52") == (
        "2.000648"
    )
    assert remote_procedure_code(system="provincial", code="2.000648") == "2.000648"
    assert local_procedure_code(system="national", remote_code="9.999") == "9.999"


def test_administrators_edit_the_tables_in_the_admin(admin_client):
    row = StatusMapping.objects.get(system="national", state="refused", transition="")
    url = reverse("admin:integrations_statusmapping_change", args=[row.pk])
    response = admin_client.post(url, {
        "system": "national", "state": "refused", "transition": "", "status_code": 10,
        "note": "Trả văn bản từ chối",
    })

    assert response.status_code == 302
    assert status_code_for(system="national", state="refused") == 10
    listing = admin_client.get(reverse("admin:integrations_procedurecodemapping_changelist"))
    assert listing.status_code == 200
