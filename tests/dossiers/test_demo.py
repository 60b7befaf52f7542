"""Demo data: the role accounts and dossiers walked through the real services."""

from collections import Counter
from datetime import datetime
from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Sum
from django.test import Client

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from dossiers.models import (
    Agency,
    DailySummary,
    Document,
    Dossier,
    DossierTransition,
    Procedure,
    Rating,
    Result,
)
from dossiers.services import audit_verify
from dossiers.services.demo import EXTRA_APPLICANTS, demo_accounts_ensure, demo_seed
from dossiers.sla import VN_TZ
from portal.roles import Role
from signatures.models import IssuedDocument
from signatures.report import Verdict
from signatures.services import signature_verify
from signatures.signers import reset_configured_signer

User = get_user_model()
PASSWORD = "motcua-demo-2025"
# The seed walks dossiers over the six months before "now"; a fixed now keeps it repeatable.
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=VN_TZ)
ACCOUNTS = {
    "congdan": (Role.APPLICANT, ""),
    "doanhnghiep": (Role.APPLICANT, ""),
    "tiepnhan": (Role.RECEPTION, "SCT"),
    "chuyenvien": (Role.SPECIALIST, "SCT"),
    "lanhdao": (Role.LEADER, "SCT"),
    "quanly": (Role.MANAGER, "SCT"),
    "admin": (Role.ADMIN, ""),
}


@pytest.fixture
def seeded(db):
    # The agency's demo key is made with this test's data (its root trusted in this test's
    # transaction), not reused from an earlier test whose trust store was rolled back.
    reset_configured_signer()
    yield demo_seed(dossiers=40, now=NOW)
    reset_configured_signer()


# Seeding signs documents and results for real, so one seed serves every check below (run in
# order by one test; the checks that change data come last).


def _demo_seed_creates_the_role_accounts(seeded):
    assert seeded.accounts == list(ACCOUNTS)
    for username, (role, agency_code) in ACCOUNTS.items():
        user = User.objects.get(username=username)
        assert user.has_role(role), username
        assert user.agency_code == agency_code, username
        if agency_code:
            assert Agency.objects.filter(code=agency_code).exists()


def _every_demo_account_can_log_in_with_the_demo_password(seeded):
    for username in ACCOUNTS:
        assert Client().login(username=username, password=PASSWORD), username
        assert not Client().login(username=username, password="sai-mat-khau"), username


def _demo_seed_creates_dossiers_in_several_states(seeded):
    states = Counter(Dossier.objects.values_list("state", flat=True))

    assert seeded.skipped is False
    assert seeded.dossiers == Dossier.objects.count() == 40
    assert seeded.by_state == dict(states)
    assert len(states) >= 5
    assert states[Dossier.State.DRAFT] > 0
    assert sum(states[s] for s in Dossier.IN_PROGRESS_STATES) > 0
    assert states[Dossier.State.RETURNED] + states[Dossier.State.RESULT_READY] > 0


def _demo_seed_completes_dossiers_with_different_outcomes(seeded):
    completed = Dossier.objects.filter(completed_at__isnull=False)
    outcomes = set(completed.values_list("outcome", flat=True))

    assert completed.exists()
    assert len(outcomes) >= 2
    assert outcomes <= set(Dossier.Outcome.values)


def _demo_dossiers_have_an_intact_audit_chain(seeded):
    submitted = Dossier.objects.exclude(state=Dossier.State.DRAFT)

    assert audit_verify() == []
    assert submitted.exists()
    assert not submitted.filter(transitions__isnull=True).exists()
    assert DossierTransition.objects.filter(dossier__state=Dossier.State.DRAFT).count() == 0


def _demo_indicators_agree_with_the_dossiers(seeded):
    totals = DailySummary.objects.aggregate(
        **{c: Sum(c) for c in ("received", "completed", "early", "on_time", "late", "rejected",
                               "refused", "rated")}
    )
    dossiers = Dossier.objects.all()

    assert totals["received"] == dossiers.filter(received_at__isnull=False).count()
    assert totals["completed"] == dossiers.filter(completed_at__isnull=False).count()
    assert totals["early"] + totals["on_time"] + totals["late"] == totals["completed"]
    assert totals["rejected"] == dossiers.filter(state=Dossier.State.REJECTED).count()
    assert totals["refused"] == dossiers.filter(state=Dossier.State.REFUSED).count()
    assert totals["rated"] == Rating.objects.count()


def _demo_signed_forms_and_results_verify(seeded):
    signed = Document.objects.filter(component__must_be_signed=True)
    results = list(Result.objects.exclude(file="").exclude(sha256="")[:3])

    assert signed.exists()
    assert set(signed.values_list("signature_verdict", flat=True)) == {Document.Verdict.VALID}
    assert results
    for result in results:
        with result.file.open("rb") as handle:
            content = handle.read()
        report = signature_verify(content=content, filename="kq.pdf")
        assert report.issued_by_us is True
        assert IssuedDocument.objects.filter(sha256=result.sha256).exists()
        assert [s.verdict for s in report.signatures] == [Verdict.VALID]


def _demo_seed_flags_the_overdue_dossiers(seeded):
    overdue = Dossier.objects.overdue(now=NOW)

    assert not overdue.filter(overdue_notified_at__isnull=True).exists()


def _a_second_demo_seed_adds_nothing(seeded):
    before = (
        Dossier.objects.count(), DossierTransition.objects.count(), User.objects.count(),
        list(DailySummary.objects.order_by("pk").values()),
    )

    lines = []

    again = demo_seed(dossiers=40, now=NOW, progress=lines.append)

    assert again.skipped is True
    assert lines[-1] == "Hồ sơ demo: đã có 40 hồ sơ, không thêm hồ sơ mới"
    assert again.dossiers == 40
    assert (
        Dossier.objects.count(), DossierTransition.objects.count(), User.objects.count(),
        list(DailySummary.objects.order_by("pk").values()),
    ) == before


def _demo_accounts_ensure_resets_a_changed_password(seeded):
    user = User.objects.get(username="quanly")
    user.set_password("mat-khau-moi-2025")
    user.save()

    demo_accounts_ensure()

    assert Client().login(username="quanly", password=PASSWORD)
    assert User.objects.filter(username="quanly").count() == 1


def test_seed_demo_command_prints_its_progress_and_the_accounts(db):
    out = StringIO()

    call_command("seed_demo", "--dossiers", "20", stdout=out)

    output = out.getvalue()
    lines = output.splitlines()
    assert Dossier.objects.count() == 20
    procedures, agencies = Procedure.objects.count(), Agency.objects.count()
    assert procedures > 0
    assert lines[0] == f"Danh mục thủ tục: {procedures} thủ tục, {agencies} cơ quan"
    others = len(EXTRA_APPLICANTS)
    assert lines[1] == (f"Tài khoản demo: {len(ACCOUNTS) + others} ({len(ACCOUNTS)} theo vai trò, "
                        f"{others} doanh nghiệp mẫu)")
    # One line about every tenth of the dossiers, in order, up to the last.
    progress = [line for line in lines if line.startswith("Hồ sơ demo: ")]
    assert progress == [f"Hồ sơ demo: {n}/20 ({n * 5}%)" for n in range(2, 21, 2)]
    overdue = Dossier.objects.filter(overdue_notified_at__isnull=False).count()
    assert f"Hồ sơ quá hạn đã báo cho cán bộ: {overdue}" in lines
    states = Counter(Dossier.objects.values_list("state", flat=True))
    by_state = ", ".join(f"{Dossier.State(s).label}: {n}" for s, n in sorted(states.items()))
    assert f"20 hồ sơ demo ({by_state})." in lines
    assert any(line.startswith("Xong trong ") and line.endswith(" giây.") for line in lines)
    assert PASSWORD in output
    for username, (role, _) in ACCOUNTS.items():
        assert any(
            line.split()[:2] == [username, role] for line in output.splitlines()
        ), username
        # Each staff account's authenticator URI is printed beside it; applicants have none.
        device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
        if role == Role.APPLICANT:
            assert device is None, username
        else:
            assert device.config_url.startswith("otpauth://totp/")
            assert f"mã xác thực (TOTP): {device.config_url}" in output, username


def test_the_demo_seed_builds_a_complete_demo(seeded):
    _demo_seed_creates_the_role_accounts(seeded)
    _every_demo_account_can_log_in_with_the_demo_password(seeded)
    _demo_seed_creates_dossiers_in_several_states(seeded)
    _demo_seed_completes_dossiers_with_different_outcomes(seeded)
    _demo_dossiers_have_an_intact_audit_chain(seeded)
    _demo_indicators_agree_with_the_dossiers(seeded)
    _demo_signed_forms_and_results_verify(seeded)
    _demo_seed_flags_the_overdue_dossiers(seeded)
    _a_second_demo_seed_adds_nothing(seeded)
    _demo_accounts_ensure_resets_a_changed_password(seeded)
