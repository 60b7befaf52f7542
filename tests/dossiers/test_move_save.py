"""A move writes the dossier's columns it changed (with the JSON ones and updated_at), and
the row as stored is the dossier as the move left it."""

import re
from datetime import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

import pytest

from dossiers import services
from dossiers.models import Dossier
from dossiers.services.transitions import changed_columns
from dossiers.sla import VN_TZ
from portal import clock
from tests.dossiers.factories import DossierFactory

TABLE = Dossier._meta.db_table


def _updated_columns(captured) -> list[set[str]]:
    """The columns each UPDATE of the dossier table sets."""
    found = []
    for query in captured:
        sql = query["sql"]
        if not re.match(rf'UPDATE "?{TABLE}"? SET', sql):
            continue
        assignments = sql.split(" SET ", 1)[1].rsplit(" WHERE ", 1)[0]
        found.append(set(re.findall(r'"?(\w+)"? = ', assignments)))
    return found


def _stored(dossier: Dossier) -> dict:
    fresh = Dossier.objects.get(pk=dossier.pk)
    return {f.attname: getattr(fresh, f.attname) for f in Dossier._meta.concrete_fields}


def _held(dossier: Dossier) -> dict:
    return {f.attname: getattr(dossier, f.attname) for f in Dossier._meta.concrete_fields}


@pytest.fixture
def draft(applicant, pdf_file):
    dossier = DossierFactory(applicant=applicant, on_behalf_name="Nguyễn Văn Bình")
    services.document_upload(dossier_id=dossier.pk, actor=applicant,
                             component_code="don_de_nghi", uploaded_file=pdf_file())
    return dossier


def test_a_move_updates_the_columns_it_changed_and_stores_the_dossier_as_it_left_it(
        draft, applicant, reception):
    moves = [
        (datetime(2025, 3, 3, 7, 50, tzinfo=VN_TZ), services.dossier_submit,
         {"actor": applicant}, {"state", "code", "version", "submitted_at", "audit_head"}),
        (datetime(2025, 3, 3, 7, 55, tzinfo=VN_TZ), services.dossier_return_for_completion,
         {"actor": reception, "reason": "Thiếu chữ ký của người đại diện."},
         {"state", "version", "reason", "audit_head"}),
        (datetime(2025, 3, 3, 7, 58, tzinfo=VN_TZ), services.dossier_resubmit,
         {"actor": applicant}, {"state", "version", "audit_head"}),
        (datetime(2025, 3, 3, 8, 0, tzinfo=VN_TZ), services.dossier_accept,
         {"actor": reception}, {"state", "version", "received_at", "due_at", "audit_head"}),
    ]
    for moment, service, kwargs, expected in moves:
        with clock.frozen_at(moment), CaptureQueriesContext(connection) as captured:
            dossier = service(dossier_id=draft.pk, **kwargs)
        updates = _updated_columns(captured.captured_queries)
        assert updates, service.__name__
        move_update = max(updates, key=len)
        # What the move changed, the JSON columns and the time stamp; nothing it left alone.
        assert expected <= move_update, (service.__name__, expected - move_update)
        assert {"form_data", "external_documents", "updated_at"} <= move_update
        assert not move_update & {"lookup_secret", "applicant_id", "procedure_id", "channel",
                                  "on_behalf_name", "created_at"}, service.__name__
        assert _stored(dossier) == _held(dossier), service.__name__


def test_a_dossier_not_read_under_its_lock_is_saved_whole(draft):
    dossier = Dossier.objects.get(pk=draft.pk)
    assert changed_columns(dossier) is None


def test_a_change_made_in_place_to_the_form_is_saved_with_the_move(draft, applicant,
                                                                    monkeypatch):
    from dossiers.services import transitions

    real = transitions.step_history_record

    def touching(*, dossier, **kwargs):
        dossier.form_data["ghi_chu"] = "Sửa trong lúc chuyển bước"
        return real(dossier=dossier, **kwargs)

    monkeypatch.setattr(transitions, "step_history_record", touching)
    with clock.frozen_at(datetime(2025, 3, 3, 7, 50, tzinfo=VN_TZ)):
        services.dossier_submit(dossier_id=draft.pk, actor=applicant)
    assert Dossier.objects.get(pk=draft.pk).form_data["ghi_chu"] == "Sửa trong lúc chuyển bước"
