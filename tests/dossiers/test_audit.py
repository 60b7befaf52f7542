"""The transition log: an append-only, per-dossier hash chain whose tampering is detected."""

from datetime import datetime
from io import StringIO

from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import ProtectedError

import pytest

from dossiers.models import Dossier, DossierTransition
from dossiers.services import (
    audit_verify,
    document_upload,
    dossier_accept,
    dossier_resubmit,
    dossier_return_for_completion,
    dossier_submit,
)
from dossiers.services.audit import BrokenChain, transition_digest
from dossiers.sla import VN_TZ
from portal import clock
from tests.dossiers.factories import DossierFactory

pytestmark = pytest.mark.django_db

SUBMITTED_AT = datetime(2025, 3, 3, 8, 0, tzinfo=VN_TZ)
RETURNED_AT = datetime(2025, 3, 3, 8, 30, tzinfo=VN_TZ)
RESUBMITTED_AT = datetime(2025, 3, 3, 9, 0, tzinfo=VN_TZ)
ACCEPTED_AT = datetime(2025, 3, 3, 9, 30, tzinfo=VN_TZ)
TABLE = DossierTransition._meta.db_table


def walk(dossier: Dossier, applicant, reception) -> Dossier:
    """Submit, return for completion, resubmit and accept, each at a known instant."""
    with clock.frozen_at(SUBMITTED_AT):
        dossier_submit(dossier_id=dossier.pk, actor=applicant)
    with clock.frozen_at(RETURNED_AT):
        dossier_return_for_completion(
            dossier_id=dossier.pk, actor=reception, reason="Thiếu bản vẽ mặt bằng"
        )
    with clock.frozen_at(RESUBMITTED_AT):
        dossier_resubmit(dossier_id=dossier.pk, actor=applicant)
    with clock.frozen_at(ACCEPTED_AT):
        dossier_accept(dossier_id=dossier.pk, actor=reception)
    dossier.refresh_from_db()
    return dossier


@pytest.fixture
def ready(applicant, pdf_file):
    def make() -> Dossier:
        dossier = DossierFactory(applicant=applicant)
        document_upload(
            dossier_id=dossier.pk, actor=applicant, component_code="don_de_nghi",
            uploaded_file=pdf_file(),
        )
        return dossier

    return make


@pytest.fixture
def dossier(ready, applicant, reception) -> Dossier:
    return walk(ready(), applicant, reception)


@pytest.fixture
def rows(dossier) -> list[DossierTransition]:
    return list(DossierTransition.objects.filter(dossier=dossier).order_by("id"))


def raw_sql(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=connection.ops.quote_name(TABLE)), params)


# --- the chain as written ---------------------------------------------------------------


def test_each_transition_appends_one_row_to_the_dossiers_history(
    dossier, rows, applicant, reception
):
    assert [(r.name, r.from_state, r.to_state) for r in rows] == [
        ("submit", "draft", "submitted"),
        ("return_for_completion", "submitted", "needs_completion"),
        ("resubmit", "needs_completion", "submitted"),
        ("accept", "submitted", "processing"),
    ]
    assert [r.actor for r in rows] == [applicant, reception, applicant, reception]
    assert [r.actor_label for r in rows] == [
        applicant.display_name, reception.display_name,
        applicant.display_name, reception.display_name,
    ]
    assert [r.at for r in rows] == [SUBMITTED_AT, RETURNED_AT, RESUBMITTED_AT, ACCEPTED_AT]
    assert [r.reason for r in rows] == ["", "Thiếu bản vẽ mặt bằng", "", ""]
    assert [r.clock_effect for r in rows] == ["", "", "", "start"]
    assert datetime.fromisoformat(rows[-1].details["due_at"]) == dossier.due_at


def test_each_row_carries_the_hash_of_the_previous_one(dossier, rows):
    assert rows[0].prev_hash == ""
    for previous, row in zip(rows, rows[1:], strict=False):
        assert row.prev_hash == previous.hash
    assert dossier.audit_head == rows[-1].hash


def test_each_stored_hash_matches_the_row_as_read_back_from_the_database(rows):
    assert len({r.hash for r in rows}) == len(rows)
    for row in rows:
        assert len(row.hash) == 64
        assert transition_digest(row) == row.hash


def test_chains_of_different_dossiers_are_independent(dossier, ready, applicant, reception):
    second = walk(ready(), applicant, reception)

    first_rows = DossierTransition.objects.filter(dossier=second).order_by("id")
    assert first_rows[0].prev_hash == ""
    assert second.audit_head != dossier.audit_head


def test_audit_verify_finds_nothing_wrong_with_intact_chains(dossier, ready, applicant, reception):
    walk(ready(), applicant, reception)
    DossierFactory()  # a dossier with no history yet

    assert audit_verify() == []
    assert audit_verify(dossier_ids=[dossier.pk]) == []


# --- tampering is detected --------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("reason", "Hồ sơ đầy đủ"),
        ("to_state", "returned"),
        ("from_state", "draft"),
        ("name", "approve"),
        ("actor_label", "Người khác"),
        ("step", "approval"),
        ("clock_effect", "stop"),
        ("details", '{"due_at": "2030-01-01T00:00:00+00:00"}'),
        ("at", datetime(2025, 3, 2, 8, 0, tzinfo=VN_TZ)),
    ],
)
def test_raw_sql_update_of_any_logged_field_is_detected(dossier, rows, column, value):
    target = rows[1]
    if isinstance(value, datetime):
        value = connection.ops.adapt_datetimefield_value(value)

    raw_sql(f"UPDATE {{table}} SET {column} = %s WHERE id = %s", [value, target.pk])

    assert audit_verify() == [
        BrokenChain(dossier.pk, target.pk, "row content does not match its hash")
    ]


def test_raw_sql_update_of_the_actor_is_detected(dossier, rows, applicant):
    raw_sql("UPDATE {table} SET actor_id = %s WHERE id = %s", [applicant.pk, rows[1].pk])

    assert audit_verify() == [
        BrokenChain(dossier.pk, rows[1].pk, "row content does not match its hash")
    ]


def test_rewriting_a_row_together_with_its_hash_breaks_the_next_link(dossier, rows):
    forged = rows[1]
    forged.reason = "Hồ sơ đầy đủ"
    forged_hash = transition_digest(forged)

    raw_sql(
        "UPDATE {table} SET reason = %s, hash = %s WHERE id = %s",
        [forged.reason, forged_hash, forged.pk],
    )

    assert audit_verify() == [
        BrokenChain(dossier.pk, rows[2].pk, "previous hash does not match")
    ]


def test_rewriting_the_newest_row_with_its_hash_is_caught_by_the_dossiers_head(dossier, rows):
    forged = rows[-1]
    forged.reason = "Tiếp nhận sau"
    raw_sql(
        "UPDATE {table} SET reason = %s, hash = %s WHERE id = %s",
        [forged.reason, transition_digest(forged), forged.pk],
    )

    assert audit_verify() == [BrokenChain(dossier.pk, None, "newest rows are missing")]


@pytest.mark.parametrize(
    ("deleted", "flagged"),
    [(0, 1), (1, 2), (2, 3)],
    ids=["first", "second", "third"],
)
def test_raw_sql_delete_of_a_row_is_detected_at_the_next_link(dossier, rows, deleted, flagged):
    raw_sql("DELETE FROM {table} WHERE id = %s", [rows[deleted].pk])

    assert audit_verify() == [
        BrokenChain(dossier.pk, rows[flagged].pk, "previous hash does not match")
    ]


def test_raw_sql_delete_of_the_newest_row_is_detected(dossier, rows):
    raw_sql("DELETE FROM {table} WHERE id = %s", [rows[-1].pk])

    assert audit_verify() == [BrokenChain(dossier.pk, None, "newest rows are missing")]


def test_raw_sql_delete_of_the_whole_history_is_detected(dossier):
    raw_sql("DELETE FROM {table} WHERE dossier_id = %s", [dossier.pk])

    assert audit_verify() == [BrokenChain(dossier.pk, None, "newest rows are missing")]


def test_audit_verify_can_be_limited_to_some_dossiers(dossier, rows, ready, applicant, reception):
    intact = walk(ready(), applicant, reception)
    raw_sql("UPDATE {table} SET reason = %s WHERE id = %s", ["sửa", rows[0].pk])

    assert audit_verify(dossier_ids=[intact.pk]) == []
    assert [b.dossier_id for b in audit_verify()] == [dossier.pk]


# --- the ORM refuses to edit or delete ----------------------------------------------------


def test_saving_an_existing_row_again_is_refused(rows):
    row = DossierTransition.objects.get(pk=rows[1].pk)
    row.reason = "Sửa lý do"

    with pytest.raises(ValidationError):
        row.save()

    assert DossierTransition.objects.get(pk=row.pk).reason == rows[1].reason
    assert audit_verify() == []


def test_deleting_a_row_through_the_model_is_refused(rows):
    with pytest.raises(ValidationError):
        rows[0].delete()

    assert DossierTransition.objects.filter(pk=rows[0].pk).exists()
    assert audit_verify() == []


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda d: DossierTransition.objects.update(reason="x"), id="manager-update"),
        pytest.param(lambda d: DossierTransition.objects.delete(), id="manager-delete"),
        pytest.param(
            lambda d: DossierTransition.objects.filter(dossier=d).update(reason="x"),
            id="filtered-update",
        ),
        pytest.param(lambda d: DossierTransition.objects.all().delete(), id="queryset-delete"),
        pytest.param(lambda d: d.transitions.update(reason="x"), id="related-update"),
        pytest.param(lambda d: d.transitions.all().delete(), id="related-delete"),
        pytest.param(
            lambda d: DossierTransition.objects.bulk_update(
                [DossierTransition(pk=t.pk, reason="x") for t in d.transitions.all()],
                ["reason"],
            ),
            id="bulk-update",
        ),
    ],
)
def test_bulk_edits_and_deletes_of_the_log_are_refused(dossier, rows, operation):
    # bulk_update opens its own atomic block; the savepoint keeps the test's transaction usable.
    with pytest.raises(ValidationError), transaction.atomic():
        operation(dossier)

    assert list(DossierTransition.objects.filter(dossier=dossier).order_by("id")) == rows
    assert [r.reason for r in DossierTransition.objects.order_by("id")] == [
        r.reason for r in rows
    ]
    assert audit_verify() == []


def test_a_dossier_with_history_cannot_be_deleted(dossier):
    with pytest.raises(ProtectedError):
        dossier.delete()

    assert audit_verify() == []


# --- the management command -------------------------------------------------------------


def test_verify_audit_command_reports_an_intact_log(dossier):
    out = StringIO()

    call_command("verify_audit", stdout=out)

    assert "Audit log intact." in out.getvalue()
    assert "BROKEN" not in out.getvalue()


def test_verify_audit_command_fails_and_names_the_broken_rows(dossier, rows):
    raw_sql("UPDATE {table} SET reason = %s WHERE id = %s", ["sửa", rows[2].pk])
    out = StringIO()

    with pytest.raises(CommandError, match="1 broken link"):
        call_command("verify_audit", stdout=out)

    assert f"BROKEN dossier={dossier.pk} row={rows[2].pk}" in out.getvalue()


def test_verify_audit_command_fails_when_the_dossiers_head_is_moved(dossier):
    Dossier.objects.filter(pk=dossier.pk).update(audit_head="")
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("verify_audit", stdout=out)

    assert f"BROKEN dossier={dossier.pk} row=-: newest rows are missing" in out.getvalue()
