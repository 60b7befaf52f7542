"""The demo's set-up does its costly steps once: one password hash, one parsed key per signer."""

from datetime import timedelta
from unittest import mock

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.hashers import identify_hasher

from pyhanko.sign.signers import pdf_cms

from dossiers.services import demo
from dossiers.services.demo import ACCOUNTS, DEMO_PASSWORD, demo_accounts_ensure
from portal import clock
from signatures.report import Verdict
from signatures.services import signature_verify

User = get_user_model()


def test_the_demo_password_is_hashed_once_and_every_account_signs_in_with_it(db):
    with mock.patch.object(demo, "make_password", side_effect=demo.make_password) as hashed:
        users = demo_accounts_ensure()

    assert hashed.call_count == 1
    for username, *_rest in ACCOUNTS:
        user = User.objects.get(username=username)
        identify_hasher(user.password)  # a real encoded hash of the configured hasher
        assert authenticate(username=username, password=DEMO_PASSWORD) == users[username]
        assert authenticate(username=username, password="motcua-demo-2024") is None


def test_a_changed_demo_password_is_reset_by_the_next_seed(db):
    demo_accounts_ensure()
    user = User.objects.get(username="chuyenvien")
    user.set_password("mat-khau-khac-hẳn")
    user.save()

    demo_accounts_ensure()

    assert authenticate(username="chuyenvien", password=DEMO_PASSWORD) is not None
    assert authenticate(username="chuyenvien", password="mat-khau-khac-hẳn") is None


def test_demo_signatures_sign_each_applicant_form_once_and_it_verifies(db):
    users = demo_accounts_ensure()
    now = clock.now()
    applicant, other = users["doanhnghiep"], users["congdan"]
    with mock.patch.object(demo.devpki, "issue", side_effect=demo.devpki.issue) as issued:
        signing = demo._DemoSignatures(now, applicants=[applicant, other])
    assert issued.call_count == 2  # every applicant's certificate is made before the walk
    with (mock.patch.object(pdf_cms.serialization, "load_der_private_key",
                            side_effect=pdf_cms.serialization.load_der_private_key) as reparsed,
          mock.patch.object(demo.devpki, "issue") as issued_later,
          mock.patch.object(demo, "pdf_sign", side_effect=demo.pdf_sign) as signed,
          mock.patch.object(demo.FPDF, "add_font", autospec=True,
                            side_effect=demo.FPDF.add_font) as fonts):
        with clock.frozen_at(now - timedelta(minutes=2)):
            first = signing.signed_pdf(applicant, "Đơn đề nghị cấp giấy phép")
        with clock.frozen_at(now - timedelta(minutes=1)):
            again = signing.signed_pdf(applicant, "Đơn đề nghị cấp giấy phép")
        other_form = signing.signed_pdf(applicant, "Bản kê khai cơ sở vật chất")
        other_applicant = signing.signed_pdf(other, "Đơn đề nghị cấp giấy phép")

    assert issued_later.call_count == 0
    assert reparsed.call_count == 0
    # Each form is drawn and signed once; the same signed file goes with every dossier.
    assert fonts.call_count == signed.call_count == 3
    assert again == first
    assert len({first, other_form, other_applicant}) == 3
    for content, who in ((first, applicant), (other_form, applicant), (other_applicant, other)):
        report = signature_verify(content=content, filename="don.pdf")
        assert [s.verdict for s in report.signatures] == [Verdict.VALID], [
            (s.sub_indication, s.detail) for s in report.signatures]
        assert report.signatures[0].signature_algorithm == "sha256_ecdsa"
        assert report.signatures[0].signer.identifiers == {who.tax_code or who.citizen_id}


def test_the_ready_file_appears_after_the_first_batch_and_the_rest_follow(db, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    from dossiers.models import Dossier

    ready = tmp_path / "ready"
    seen = {}
    real_walk = demo._Walker.walk

    def walk(self, *args, **kwargs):
        seen.setdefault(ready.exists(), Dossier.objects.count())
        return real_walk(self, *args, **kwargs)

    out = StringIO()
    with mock.patch.object(demo._Walker, "walk", walk):
        call_command("seed_demo", "--dossiers", "6", "--first-batch", "4",
                     "--ready-file", str(ready), stdout=out)

    assert ready.exists()
    assert seen == {False: 0, True: 4}  # absent for the first four, there for the fifth
    assert Dossier.objects.count() == 6
    assert "Dữ liệu demo đã đủ để mở cổng." in out.getvalue()

    # A second run finds the dossiers and is ready at once.
    ready.unlink()
    call_command("seed_demo", "--dossiers", "6", "--first-batch", "4",
                 "--ready-file", str(ready), stdout=StringIO())
    assert ready.exists() and Dossier.objects.count() == 6


def test_seed_demo_can_migrate_first_in_the_same_process(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    with mock.patch("dossiers.management.commands.seed_demo.call_command") as called:
        call_command("seed_demo", "--migrate", "--dossiers", "0", stdout=out)

    called.assert_called_once_with("migrate", interactive=False, verbosity=0)
    assert "Cơ sở dữ liệu đã cập nhật" in out.getvalue().splitlines()[0]
    assert User.objects.filter(username="tiepnhan").exists()


def test_the_walker_reads_each_agencys_calendar_once(db):
    from dossiers.services import calendars
    from dossiers.services.demo import demo_seed
    from signatures.signers import reset_configured_signer

    reset_configured_signer()
    with mock.patch.object(demo, "calendar_for", side_effect=calendars.calendar_for) as read:
        try:
            summary = demo_seed(dossiers=8)
        finally:
            reset_configured_signer()

    assert summary.dossiers == 8
    agencies = {call.args[0].pk for call in read.call_args_list}
    assert read.call_count == len(agencies) >= 1


def test_a_form_signed_by_one_walker_is_read_by_the_others_not_signed_again(db):
    users = demo_accounts_ensure()
    applicant = users["doanhnghiep"]
    signing = demo._DemoSignatures(clock.now(), applicants=[applicant],
                                   titles=["Đơn đề nghị cấp giấy phép"])
    first = signing.signed_pdf(applicant, "Đơn đề nghị cấp giấy phép")
    # Another walker is a fork: the same folder, its own memory of what it signed.
    signing._signed.clear()
    with mock.patch.object(demo, "pdf_sign") as signed:
        again = signing.signed_pdf(applicant, "Đơn đề nghị cấp giấy phép")
    assert signed.call_count == 0 and again == first
    import os
    assert [name for name in os.listdir(signing._shared) if name.endswith(".part")] == []


def test_forms_are_drawn_with_the_walk_s_letters_and_any_other_title_still_prints(db):
    from io import BytesIO

    from pypdf import PdfReader

    users = demo_accounts_ensure()
    applicant = users["congdan"]
    signing = demo._DemoSignatures(clock.now(), applicants=[applicant],
                                   titles=["Bản sao Giấy chứng nhận đủ điều kiện"])
    with mock.patch.object(demo, "_form_font", side_effect=demo._form_font) as fonts:
        known = signing._page(applicant, "Bản sao Giấy chứng nhận đủ điều kiện")
        other = signing._page(applicant, "Tờ khai ưu đãi – mẫu số 03 (bổ sung)")
    cut, fallback = (call.args[0] for call in fonts.call_args_list)
    assert cut == signing._letters and fallback == frozenset()  # the Vietnamese letters
    for content, title in ((known, "Bản sao Giấy chứng nhận đủ điều kiện"),
                           (other, "Tờ khai ưu đãi – mẫu số 03 (bổ sung)")):
        text = PdfReader(BytesIO(content)).pages[0].extract_text()
        assert title in text and applicant.display_name in text
