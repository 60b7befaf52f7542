"""The calendar correction from the admin: the same preview as `retime_dossiers` (nothing
changes), then, with a required reason, the same re-timing: logged, pushed, told."""

from django.core import mail
from django.test import Client
from django.urls import reverse

import pytest

from dossiers.models import Dossier, DossierTransition, HolidayOverride, OutboundMessage
from portal import clock
from portal.roles import Role
from tests.dossiers.factories import UserFactory
from tests.dossiers.test_retime import DAY, day_off, procedure, received, vn  # noqa: F401

pytestmark = pytest.mark.django_db
URL = reverse("admin:dossiers_holidayoverride_retime")


@pytest.fixture
def administrator(admin_user):
    return admin_user


@pytest.fixture
def moved_by_day_off(procedure, applicant, reception):  # noqa: F811
    dossier = received(procedure, applicant, reception)
    Dossier.objects.filter(pk=dossier.pk).update(
        state=Dossier.State.PROCESSING)  # open, due Monday 09/03 08:00
    day_off()
    return Dossier.objects.get(pk=dossier.pk)


def test_the_preview_lists_old_and_new_due_times_and_changes_nothing(
        client, administrator, moved_by_day_off):
    client.force_login(administrator)
    logs, pushed = DossierTransition.objects.count(), OutboundMessage.objects.count()

    page = client.get(URL, {"days": "05/03/2026"})

    assert page.status_code == 200
    body = page.content.decode()
    assert moved_by_day_off.code in body
    assert "08:00 09/03/2026" in body and "08:00 10/03/2026" in body
    assert 'name="reason"' in body and "csrfmiddlewaretoken" in body
    assert Dossier.objects.get(pk=moved_by_day_off.pk).due_at == vn(2026, 3, 9, 8, 0)
    assert (DossierTransition.objects.count(), OutboundMessage.objects.count()) == (logs, pushed)


def test_applying_needs_a_reason_then_logs_pushes_and_tells(
        client, administrator, moved_by_day_off, django_capture_on_commit_callbacks):
    client.force_login(administrator)
    mail.outbox.clear()

    refused = client.post(URL, {"days": "05/03/2026", "reason": "  "})

    assert refused.status_code == 400
    assert "Vui lòng nêu lý do điều chỉnh" in refused.content.decode()
    assert 'aria-invalid="true"' in refused.content.decode()
    assert Dossier.objects.get(pk=moved_by_day_off.pk).due_at == vn(2026, 3, 9, 8, 0)

    pushed = OutboundMessage.objects.filter(dossier=moved_by_day_off).count()
    with clock.frozen_at(vn(2026, 3, 4, 10)), django_capture_on_commit_callbacks(execute=True):
        done = client.post(URL, {"days": "05/03/2026", "reason": "Nghỉ bù theo thông báo mới"})

    assert done.status_code == 200
    assert "Đã dời hạn 1 hồ sơ" in done.content.decode()
    dossier = Dossier.objects.get(pk=moved_by_day_off.pk)
    assert dossier.due_at == vn(2026, 3, 10, 8, 0)
    log = DossierTransition.objects.filter(dossier=dossier).latest("id")
    assert (log.name, log.reason, log.actor) == ("retime", "Nghỉ bù theo thông báo mới",
                                                 administrator)
    assert OutboundMessage.objects.filter(dossier=dossier).count() > pushed
    assert any(dossier.code in m.body and "10/03/2026" in m.body for m in mail.outbox)


def test_bad_days_are_named_and_nothing_is_planned(client, administrator, moved_by_day_off):
    client.force_login(administrator)
    page = client.get(URL, {"days": "31/02/2026"})
    assert page.status_code == 400
    assert "không phải là ngày hợp lệ" in page.content.decode()
    posted = client.post(URL, {"days": "hôm qua", "reason": "Nghỉ bù"})
    assert posted.status_code == 400
    assert Dossier.objects.get(pk=moved_by_day_off.pk).due_at == vn(2026, 3, 9, 8, 0)


def test_the_list_action_opens_the_preview_for_the_days_chosen(client, administrator):
    HolidayOverride.objects.create(date=DAY, kind=HolidayOverride.Kind.DAY_OFF, reason="Nghỉ")
    client.force_login(administrator)
    changelist = reverse("admin:dossiers_holidayoverride_changelist")
    assert URL in client.get(changelist).content.decode()  # the link above the list

    answer = client.post(changelist, {"action": "retime_preview",
                                      "_selected_action": [HolidayOverride.objects.get().pk]})

    assert answer.status_code == 302
    assert answer["Location"].startswith(URL) and "05%2F03%2F2026" in answer["Location"]


def test_only_administrators_and_only_with_the_csrf_token(client, agency, moved_by_day_off):
    officer = UserFactory(roles=[Role.RECEPTION], kind="staff", agency_code=agency.code,
                          is_staff=True)
    client.force_login(officer)
    assert client.get(URL, {"days": "05/03/2026"}).status_code == 403
    assert client.post(URL, {"days": "05/03/2026", "reason": "x"}).status_code == 403
    assert Client().get(URL).status_code == 302  # to the admin's sign-in

    administrator = UserFactory(roles=[Role.ADMIN], kind="staff", is_staff=True,
                                is_superuser=True)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(administrator)
    assert strict.post(URL, {"days": "05/03/2026", "reason": "Nghỉ bù"}).status_code == 403
    assert Dossier.objects.get(pk=moved_by_day_off.pk).due_at == vn(2026, 3, 9, 8, 0)
