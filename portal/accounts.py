"""The signed-in account of a request, read from the shared cache: the user row with its roles
and its confirmed second-factor devices, so that a page or an API call reads no account row.

Saving or deleting the account, its group memberships, a group it belongs to or one of its
devices marks the entry gone at once (requests read the database meanwhile and store nothing),
and when the transaction commits the entry is read again from the committed rows. A change that
sends no signal (a bulk `update()`, SQL by hand) is seen within SIGNIN_CACHE_SECONDS. Without a
shared cache (the embedded mode's per-process memory) the setting is 0 and every request reads
the database."""

import functools
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware
from django_otp.models import Device

log = logging.getLogger("portal.signin")

# The number changes with the shape of what is stored, so an older process's entries are
# never read as this one's.
_KEY = "signin:account:1:{}"
_GONE = "gone"
# How long an entry stays marked gone if its transaction never commits (a commit refills it).
GONE_SECONDS = 30


def _key(user_id) -> str:
    return _KEY.format(user_id)


def _cache_seconds() -> int:
    return int(getattr(settings, "SIGNIN_CACHE_SECONDS", 0))


def account_load(user_id):
    """The user `user_id` with its roles and confirmed devices (`signin_devices`, by persistent
    id) already read, from the cache when it holds them; None if there is no such user. The
    cached copy holds neither the password hash nor the devices' secrets."""
    seconds = _cache_seconds()
    if seconds <= 0:  # django-otp reads the session's one device itself, as without this
        return _read(user_id, devices=False)
    key = _key(user_id)
    try:
        user = cache.get(key)
    except Exception:  # the cache down: the database still answers
        log.exception("account cache unreadable")
        return _read(user_id)
    if user is not None and not isinstance(user, str):  # neither absent nor marked gone
        return user
    user = _read(user_id)
    if user is not None:
        try:
            # `add`, not `set`: an entry marked gone meanwhile stays so until its commit.
            cache.add(key, user, seconds)
        except Exception:
            log.exception("account cache unwritable")
    return user


def _read(user_id, *, devices: bool = True):
    model = get_user_model()
    try:
        user = model._default_manager.get(pk=user_id)
    except (model.DoesNotExist, ValueError, TypeError):
        return None
    user.roles  # noqa: B018 - read now, so the cached copy carries them
    if not devices:
        return user
    # The copy for the cache holds no password hash: the session's check needs only the hash
    # derived from it, and the password becomes a deferred field (read from the database if
    # anything asks for it; a save of this copy leaves it untouched).
    user.__dict__["_session_auth_hash"] = user.get_session_auth_hash()
    del user.__dict__["password"]
    # Only what binds a device to the session: its secret (a TOTP key) stays in the database,
    # and the other fields load from there if anything reads them.
    user.signin_devices = {
        device.persistent_id: device
        for device_model in device_models()
        for device in device_model.objects.filter(user_id=user.pk, confirmed=True)
        .only("pk", "user_id", "confirmed")
    }
    return user


def account_forget(*user_ids) -> None:
    """Mark the cached accounts gone now; read them again once the transaction commits (at
    once outside a transaction). Never raises: the change itself is what matters."""
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids or _cache_seconds() <= 0:
        return
    try:
        cache.set_many({_key(user_id): _GONE for user_id in ids}, GONE_SECONDS)
    except Exception:
        log.exception("account cache: entries of %s not marked gone", sorted(ids))
    transaction.on_commit(functools.partial(_refill, ids))


def _refill(ids) -> None:
    for user_id in ids:
        try:
            user = _read(user_id)
            if user is None:
                cache.set(_key(user_id), _GONE, GONE_SECONDS)
            else:
                cache.set(_key(user_id), user, _cache_seconds())
        except Exception:
            log.exception("account cache: entry of %s not refreshed", user_id)


@functools.cache
def device_models() -> tuple:
    from django.apps import apps

    return tuple(m for m in apps.get_models() if issubclass(m, Device) and not m._meta.abstract)


class AccountBackend(ModelBackend):
    """Django's password backend, whose `get_user` (every request of a session) reads the
    account through the cache."""

    def get_user(self, user_id):
        user = account_load(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class AccountOTPMiddleware(OTPMiddleware):
    """django-otp's middleware, taking the session's device from the devices read with the
    account: a device deleted or not yet confirmed verifies nothing, as there."""

    def _verify_user_sync(self, request, user):
        self._init_user_fields(user)
        if user.is_authenticated:
            persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
            device = self._device(user, persistent_id) if persistent_id else None
            user.otp_device = self._finalize_device(request, user, device)
        return user

    def _device(self, user, persistent_id: str):
        persistent_id = self._normalize_persistent_id(persistent_id)
        devices = getattr(user, "signin_devices", None)
        if devices is None:  # signed in through another backend
            return self._device_from_persistent_id(persistent_id)
        return devices.get(persistent_id)


# --- what drops an entry ----------------------------------------------------------------


def _user_changed(sender, instance, **kwargs) -> None:
    account_forget(instance.pk)


def _device_changed(sender, instance, **kwargs) -> None:
    account_forget(instance.user_id)


def _memberships_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if not reverse:  # user.groups.add(...) and the like
        if action.startswith("post_"):
            account_forget(instance.pk)
    elif action in ("post_add", "post_remove"):  # group.user_set.add(...)
        account_forget(*(pk_set or ()))
    elif action == "pre_clear":
        account_forget(*instance.user_set.values_list("pk", flat=True))


def _group_changed(sender, instance, **kwargs) -> None:
    # Roles are the groups' names; a deleted group's memberships go without m2m signals.
    if instance.pk is not None:
        account_forget(*instance.user_set.values_list("pk", flat=True))


def connect() -> None:
    user_model = get_user_model()
    uid = "portal.accounts"
    post_save.connect(_user_changed, sender=user_model, dispatch_uid=f"{uid}.user_saved")
    post_delete.connect(_user_changed, sender=user_model, dispatch_uid=f"{uid}.user_deleted")
    m2m_changed.connect(_memberships_changed, sender=user_model.groups.through,
                        dispatch_uid=f"{uid}.memberships")
    post_save.connect(_group_changed, sender=Group, dispatch_uid=f"{uid}.group_saved")
    pre_delete.connect(_group_changed, sender=Group, dispatch_uid=f"{uid}.group_deleted")
    for model in device_models():
        label = model._meta.label_lower
        post_save.connect(_device_changed, sender=model, dispatch_uid=f"{uid}.{label}.saved")
        post_delete.connect(_device_changed, sender=model, dispatch_uid=f"{uid}.{label}.deleted")
