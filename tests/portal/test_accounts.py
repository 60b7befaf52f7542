"""The signed-in account read through the shared cache (portal.accounts): what a request costs
once it is cached, and every change that must take effect on the next request."""

from datetime import timedelta

from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import pytest
import time_machine
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import accounts
from portal.models import User
from portal.roles import Role
from tests.dossiers.factories import DossierFactory, ProcedureFactory, UserFactory

pytestmark = pytest.mark.django_db
QUEUE = reverse("api:dossiers:queue")
ACCOUNT_TABLES = ("portal_user", "auth_group", "otp_totp", "otp_static", "django_session")


@pytest.fixture
def shared_cache():
    """Scale mode: sessions and accounts in the shared cache (the locmem cache stands for
    Redis within one process)."""
    cache.clear()
    with override_settings(SIGNIN_CACHE_SECONDS=60,
                           SESSION_ENGINE="django.contrib.sessions.backends.cached_db"):
        yield
    cache.clear()


@pytest.fixture
def queue(agency, applicant):
    procedure = ProcedureFactory(agency=agency)
    for trait in ("submitted", "processing", "overdue", "pending_approval"):
        DossierFactory(**{trait: True}, procedure=procedure, applicant=applicant)


@pytest.fixture
def signed_in(shared_cache, specialist, queue, django_capture_on_commit_callbacks):
    """The specialist's browser after the whole sign-in (password and code), committed."""
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        client.force_login(specialist)
    return client


def _committed(django_capture_on_commit_callbacks, change) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        change()


def _account_queries(captured) -> list[str]:
    return [q["sql"] for q in captured if any(t in q["sql"] for t in ACCOUNT_TABLES)]


def test_a_cached_queue_request_reads_no_session_user_role_or_device_row(signed_in):
    assert signed_in.get(QUEUE).status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        response = signed_in.get(QUEUE)
    assert response.status_code == 200 and len(response.json()["results"]) == 4
    assert _account_queries(ctx.captured_queries) == []
    # The whole request, middleware included: the page in one query on PostgreSQL; SQLite
    # reads the two parts of the agency's scope apart, then the rows.
    assert len(ctx.captured_queries) == (1 if connection.vendor == "postgresql" else 3), \
        [q["sql"] for q in ctx.captured_queries]


def test_without_a_shared_cache_every_request_reads_the_account(specialist, queue):
    client = Client()
    client.force_login(specialist)
    client.get(QUEUE)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(QUEUE).status_code == 200
    # The session, the user, the user's roles and the session's device.
    assert len(_account_queries(ctx.captured_queries)) == 4


def test_the_first_request_after_sign_in_is_already_cached(signed_in):
    with CaptureQueriesContext(connection) as ctx:
        assert signed_in.get(QUEUE).status_code == 200
    assert _account_queries(ctx.captured_queries) == []


def _revoke_by_user(user, group):
    user.groups.remove(group)


def _revoke_by_group(user, group):
    group.user_set.remove(user)


def _clear_the_group(user, group):
    group.user_set.clear()


def _delete_the_group(user, group):
    group.delete()


def _rename_the_group(user, group):
    group.name = "former-specialists"
    group.save()


@pytest.mark.parametrize("revoke", [_revoke_by_user, _revoke_by_group, _clear_the_group,
                                    _delete_the_group, _rename_the_group])
def test_a_revoked_role_takes_effect_on_the_next_request(
        signed_in, specialist, revoke, django_capture_on_commit_callbacks):
    assert signed_in.get(QUEUE).status_code == 200
    group = Group.objects.get(name=Role.SPECIALIST)
    _committed(django_capture_on_commit_callbacks, lambda: revoke(specialist, group))
    response = signed_in.get(QUEUE)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_a_granted_role_takes_effect_on_the_next_request(
        shared_cache, agency, django_capture_on_commit_callbacks):
    user = UserFactory(roles=[Role.MANAGER], kind="staff", agency_code=agency.code)
    client = Client()
    _committed(django_capture_on_commit_callbacks, lambda: client.force_login(user))
    assert client.get(QUEUE).status_code == 403
    _committed(django_capture_on_commit_callbacks, lambda: user.groups.add(
        Group.objects.get_or_create(name=Role.SPECIALIST)[0]))
    assert client.get(QUEUE).status_code == 200


def test_a_deactivated_user_is_signed_out_on_the_next_request(
        signed_in, specialist, django_capture_on_commit_callbacks):
    assert signed_in.get(QUEUE).status_code == 200
    specialist.is_active = False
    _committed(django_capture_on_commit_callbacks, specialist.save)
    response = signed_in.get(QUEUE)
    assert response.status_code == 403
    assert response.json()["code"] == "not_authenticated"


def test_a_changed_password_ends_the_other_sessions(
        signed_in, specialist, django_capture_on_commit_callbacks):
    assert signed_in.get(QUEUE).status_code == 200
    specialist.set_password("mat-khau-moi-2026")
    _committed(django_capture_on_commit_callbacks, specialist.save)
    response = signed_in.get(QUEUE)
    assert response.status_code == 403
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("device_model", [TOTPDevice, StaticDevice])
def test_a_removed_device_no_longer_verifies_the_session(
        signed_in, specialist, device_model, django_capture_on_commit_callbacks):
    if device_model is StaticDevice:  # the session passed with a recovery code
        device = StaticDevice.objects.create(user=specialist, name="codes", confirmed=True)
        session = signed_in.session
        session["otp_device_id"] = device.persistent_id
        session.save()
    assert signed_in.get(QUEUE).status_code == 200
    _committed(django_capture_on_commit_callbacks,
               lambda: device_model.objects.filter(user=specialist).delete())
    response = signed_in.get(QUEUE)
    assert response.status_code == 403
    assert response.json()["code"] == "second_factor_required"


def test_an_unconfirmed_device_does_not_verify_the_session(
        signed_in, specialist, django_capture_on_commit_callbacks):
    assert signed_in.get(QUEUE).status_code == 200
    device = TOTPDevice.objects.get(user=specialist)
    device.confirmed = False
    _committed(django_capture_on_commit_callbacks, device.save)
    assert signed_in.get(QUEUE).json()["code"] == "second_factor_required"


def test_a_change_inside_a_transaction_is_seen_before_and_after_its_commit(
        signed_in, specialist):
    """The entry is marked gone at once: requests read the database meanwhile, and one that
    read the old rows cannot put them back."""
    assert signed_in.get(QUEUE).status_code == 200
    old = accounts._read(specialist.pk)
    with transaction.atomic():
        specialist.groups.clear()
        assert signed_in.get(QUEUE).status_code == 403
        assert not cache.add(accounts._key(specialist.pk), old, 60)
    assert signed_in.get(QUEUE).status_code == 403


def test_a_change_that_sends_no_signal_is_seen_within_the_cache_lifetime(signed_in, specialist):
    assert signed_in.get(QUEUE).status_code == 200
    User.objects.filter(pk=specialist.pk).update(is_active=False)  # no signal: still cached
    assert signed_in.get(QUEUE).status_code == 200
    with time_machine.travel(timedelta(seconds=61)):
        assert signed_in.get(QUEUE).json()["code"] == "not_authenticated"


def test_an_unreachable_cache_falls_back_to_the_database(signed_in, monkeypatch):
    assert signed_in.get(QUEUE).status_code == 200

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    # Sessions live in the cache too: only the account's reads fail here.
    real_get = cache.get
    monkeypatch.setattr(cache, "get", lambda key, *a, **k: down() if key.startswith(
        "signin:account:") else real_get(key, *a, **k))
    monkeypatch.setattr(cache, "add", down)
    assert signed_in.get(QUEUE).status_code == 200


def test_the_cached_account_holds_no_second_factor_secret(signed_in, specialist):
    assert signed_in.get(QUEUE).status_code == 200
    cached = cache.get(accounts._key(specialist.pk))
    (device,) = cached.signin_devices.values()
    assert "key" not in device.__dict__  # deferred: read from the database if ever needed
    assert device.key == TOTPDevice.objects.get(user=specialist).key


def test_the_cached_account_holds_no_password_hash(signed_in, specialist):
    assert signed_in.get(QUEUE).status_code == 200
    cached = cache.get(accounts._key(specialist.pk))
    assert "password" not in cached.__dict__
    stored = User.objects.get(pk=specialist.pk)
    assert stored.password not in repr(cached.__dict__)
    # The session's check still holds, and the password, if read, comes from the database.
    assert cached.get_session_auth_hash() == stored.get_session_auth_hash()
    assert cached.check_password("mat-khau-sai") is False
    assert cached.password == stored.password


def test_saving_the_cached_account_keeps_its_password(
        signed_in, specialist, django_capture_on_commit_callbacks):
    assert signed_in.get(QUEUE).status_code == 200
    cached = cache.get(accounts._key(specialist.pk))
    before = User.objects.get(pk=specialist.pk).password
    cached.phone = "0912345678"
    _committed(django_capture_on_commit_callbacks, cached.save)
    after = User.objects.get(pk=specialist.pk)
    assert after.password == before and after.phone == "0912345678"
    # Still signed in: the session's hash did not change.
    assert signed_in.get(QUEUE).status_code == 200


def test_a_password_set_on_the_cached_account_ends_the_other_sessions(
        signed_in, specialist, django_capture_on_commit_callbacks):
    assert signed_in.get(QUEUE).status_code == 200
    cached = cache.get(accounts._key(specialist.pk))
    cached.set_password("mat-khau-moi-2026")
    _committed(django_capture_on_commit_callbacks, cached.save)
    assert User.objects.get(pk=specialist.pk).check_password("mat-khau-moi-2026")
    assert signed_in.get(QUEUE).json()["code"] == "not_authenticated"
