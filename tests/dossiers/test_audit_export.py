"""The offline-verifiable export of one dossier's history, and the standalone verifier."""

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

from django.core.management import call_command
from django.urls import reverse

import pytest

from dossiers.models import PersonalDataAccess
from dossiers.services import audit_export, audit_verify, document_upload
from portal.roles import Role
from tests.dossiers.factories import AgencyFactory, DossierFactory, ProcedureFactory, UserFactory

from .test_audit import walk

pytestmark = pytest.mark.django_db

VERIFIER = Path(__file__).resolve().parents[2] / "tools" / "verify_audit_export.py"


@pytest.fixture
def dossier(agency, applicant, reception, pdf_file):
    dossier = DossierFactory(applicant=applicant, procedure=ProcedureFactory(agency=agency))
    document_upload(dossier_id=dossier.pk, actor=applicant, component_code="don_de_nghi",
                    uploaded_file=pdf_file())
    return walk(dossier, applicant, reception)


def _verify(path: Path, *extra: str) -> subprocess.CompletedProcess:
    """The verifier as anyone runs it: a separate interpreter, no Django settings around."""
    return subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, "-I", str(VERIFIER), str(path), *extra],
        capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin"},
    )


def _export_file(tmp_path: Path, dossier) -> Path:
    path = tmp_path / "export.json"
    call_command("export_audit", str(dossier.pk), output=str(path), stderr=StringIO())
    return path


def _tampered(path: Path, change) -> Path:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    out = path.with_name("tampered.json")
    out.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return out


def test_the_verifier_imports_nothing_but_the_standard_library():
    source = VERIFIER.read_text(encoding="utf-8")
    imported = {line.split()[1].split(".")[0] for line in source.splitlines()
                if line.startswith(("import ", "from "))}

    assert imported <= {"argparse", "hashlib", "json", "sys"}


def test_an_intact_export_verifies(tmp_path, dossier):
    path = _export_file(tmp_path, dossier)
    export = json.loads(path.read_text(encoding="utf-8"))

    result = _verify(path)

    assert len(export["rows"]) == 4
    assert [r["name"] for r in export["rows"]] == [
        "submit", "return_for_completion", "resubmit", "accept"]
    assert export["rows"][1]["reason"] == "Thiếu bản vẽ mặt bằng"
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"OK: dossier {dossier.code}, 4 rows intact")
    assert dossier.audit_head in result.stdout


def test_verify_audit_and_the_export_agree_on_the_head(tmp_path, dossier):
    path = _export_file(tmp_path, dossier)
    out = StringIO()

    call_command("verify_audit", dossier=dossier.code, stdout=out)

    head = json.loads(path.read_text(encoding="utf-8"))["head"]
    assert f"dossier={dossier.pk} head={head}" in out.getvalue()
    assert head == dossier.audit_head == audit_export(dossier=dossier)["rows"][-1]["hash"]
    assert audit_verify(dossier_ids=[dossier.pk]) == []
    assert _verify(path, "--head", head).returncode == 0
    wrong = _verify(path, "--head", "0" * 64)
    assert wrong.returncode == 1 and "not at the expected" in wrong.stdout


def _change_reason(data):
    data["rows"][1]["reason"] = "Đủ hồ sơ"


def _change_time(data):
    data["rows"][2]["at"] = data["rows"][2]["at"].replace("T0", "T1", 1)


def _remove_middle(data):
    del data["rows"][1]


def _remove_last(data):
    del data["rows"][-1]


def _reorder(data):
    data["rows"][1], data["rows"][2] = data["rows"][2], data["rows"][1]


def _rehash_changed_row(data):
    """A forger who changes a row and recomputes its own hash still breaks the next link."""
    import hashlib

    row = data["rows"][1]
    row["reason"] = "Đủ hồ sơ"
    payload = {k: v for k, v in row.items() if k not in ("id", "hash")}
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    row["hash"] = hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.parametrize(("change", "row", "words"), [
    (_change_reason, "row 2 ", "content does not match"),
    (_change_time, "row 3 ", "content does not match"),
    (_remove_middle, "row 2 ", "previous hash does not match"),
    (_remove_last, "head:", "newest rows are missing"),
    (_reorder, "row 2 ", "previous hash does not match"),
    (_rehash_changed_row, "row 3 ", "previous hash does not match"),
], ids=["changed-reason", "changed-time", "removed", "removed-last", "reordered", "rehashed"])
def test_a_tampered_export_fails_naming_the_first_broken_row(tmp_path, dossier, change, row,
                                                             words):
    path = _tampered(_export_file(tmp_path, dossier), change)

    result = _verify(path)

    assert result.returncode == 1
    assert result.stdout.startswith(f"BROKEN: {row}")
    assert words in result.stdout


def test_a_file_that_is_no_export_is_an_error(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"rows": []}', encoding="utf-8")

    result = _verify(path)

    assert result.returncode == 2
    assert "not an audit export" in result.stderr


def test_officers_of_the_agency_download_the_export(tmp_path, api_client_for, dossier, leader):
    response = api_client_for(leader).get(reverse("api:dossiers:audit_export",
                                                  args=[dossier.pk]))

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="nhat-ky-{dossier.code}.json"'
    path = tmp_path / "api.json"
    path.write_bytes(response.content)
    assert _verify(path, "--head", dossier.audit_head).returncode == 0
    assert PersonalDataAccess.objects.filter(user=leader, dossier=dossier,
                                             what="history").count() == 1


def test_others_get_no_export(api_client_for, dossier, applicant, manager):
    other = AgencyFactory(code="sxd", name="Sở Xây dựng")
    stranger = UserFactory(roles=[Role.LEADER], kind="staff", agency_code=other.code)
    url = reverse("api:dossiers:audit_export", args=[dossier.pk])

    assert api_client_for(stranger).get(url).status_code == 404
    assert api_client_for(applicant).get(url).status_code == 403
    assert api_client_for(manager).get(url).status_code == 403
    assert api_client_for().get(url).status_code in (401, 403)
