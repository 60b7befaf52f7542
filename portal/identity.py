"""Electronic identity (OpenID Connect) sign-in for citizens and businesses.

The claims the portal reads, from the id_token (signed RS256, checked against the provider's
JWKS, issuer, our client id, expiry and the nonce) merged with /userinfo (same `sub`):

  identity_type      "citizen": a person signs in for themselves;
                     "organization": a person signs in acting for an organisation
  citizen_id         the person's 12-digit citizen ID (CCCD); always present
  name               the person's full name; always present
  tax_code           the organisation's tax code, 10 digits or 10-3 (organization only)
  organization_name  the organisation's registered name (organization only)

A person maps to the citizen account holding that citizen ID, an organisation to the business
account holding that tax code: the first sign-in creates it (a local account with the same
number, such as a demo account, is used instead: linked, never duplicated). The person acting
for an organisation is kept in the session (`acting_person`) and written to the log. Staff
accounts are never reachable this way: they sign in with their own password.
"""

import logging
import re
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

import jwt
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .roles import Role

logger = logging.getLogger(__name__)
CITIZEN_ID = re.compile(r"\d{12}")
TAX_CODE = re.compile(r"\d{10}(-?\d{3})?")
SESSION_ACTING_PERSON = "acting_person"


class IdentityRefused(Exception):
    """The identity provider vouched for someone the portal will not sign in; `message` says
    why, in words for the person at the browser."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


def oidc_enabled() -> bool:
    return all(getattr(settings, name, "") for name in (
        "OIDC_RP_CLIENT_ID", "OIDC_RP_CLIENT_SECRET", "OIDC_OP_ISSUER",
        "OIDC_OP_AUTHORIZATION_ENDPOINT",
        "OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_USER_ENDPOINT", "OIDC_OP_JWKS_ENDPOINT",
    ))


def _is_staff_account(user) -> bool:
    User = get_user_model()
    return (user.kind == User.Kind.STAFF or user.is_staff or user.is_superuser
            or user.has_role(*Role.STAFF))


def applicant_for_identity(claims: dict):
    """The applicant account for these claims: found, linked or created. Raises
    IdentityRefused when the claims are unusable or lead to a staff or locked account."""
    User = get_user_model()
    person_id = str(claims.get("citizen_id") or "").strip()
    person_name = str(claims.get("name") or "").strip()
    if not CITIZEN_ID.fullmatch(person_id) or not person_name:
        raise IdentityRefused(_("Thông tin định danh nhận được thiếu số định danh cá nhân (CCCD) "
                                "hoặc họ tên, nên chưa thể đăng nhập. Vui lòng thử lại sau."))
    kind = claims.get("identity_type")
    if kind == "organization":
        tax_code = str(claims.get("tax_code") or "").strip()
        org_name = str(claims.get("organization_name") or "").strip()
        if not TAX_CODE.fullmatch(tax_code) or not org_name:
            raise IdentityRefused(_("Thông tin định danh của tổ chức thiếu mã số thuế hoặc tên "
                                    "tổ chức, nên chưa thể đăng nhập."))
        candidates = User.objects.filter(tax_code=tax_code).exclude(kind=User.Kind.CITIZEN)
        wanted = {"kind": User.Kind.BUSINESS, "tax_code": tax_code, "full_name": org_name,
                  "username": f"mst-{tax_code}"}
    elif kind == "citizen":
        candidates = User.objects.filter(citizen_id=person_id).exclude(kind=User.Kind.BUSINESS)
        wanted = {"kind": User.Kind.CITIZEN, "citizen_id": person_id, "full_name": person_name,
                  "username": f"cccd-{person_id}"}
    else:
        raise IdentityRefused(_("Loại tài khoản định danh điện tử không được hỗ trợ."))

    try:
        return _link_or_create(candidates, wanted)
    except IntegrityError:
        # A first sign-in of the same person at the same moment created the account (same
        # username): this one finds it.
        return _link_or_create(candidates, wanted)


def _link_or_create(candidates, wanted: dict):
    User = get_user_model()
    wanted = dict(wanted)
    with transaction.atomic():
        found = list(candidates.select_for_update().order_by("pk")[:2])
        if any(_is_staff_account(user) for user in found):
            raise IdentityRefused(_(
                "Tài khoản cán bộ, công chức không đăng nhập bằng tài khoản định danh điện tử. "
                "Vui lòng đăng nhập bằng tên đăng nhập và mật khẩu của cán bộ."))
        if len(found) > 1:
            raise IdentityRefused(_("Có nhiều tài khoản trên cổng mang cùng số định danh này. "
                                    "Vui lòng liên hệ cơ quan để được hỗ trợ."))
        if found:
            user = found[0]
            if not user.is_active:
                raise IdentityRefused(_("Tài khoản này đã bị khóa. Vui lòng liên hệ cơ quan để "
                                        "được hỗ trợ."))
            if not user.full_name:
                user.full_name = wanted["full_name"]
                user.save(update_fields=["full_name"])
        else:
            username = wanted.pop("username")
            if User.objects.filter(username=username).exists():
                username = f"{username}-{secrets.token_hex(3)}"
            user = User(username=username, **wanted)
            user.set_unusable_password()
            user.save()
            logger.info("electronic identity: new %s account %s", user.kind, user.username)
        if not user.has_role(Role.APPLICANT):
            group, _created = Group.objects.get_or_create(name=Role.APPLICANT)
            user.groups.add(group)
            user.__dict__.pop("_roles_cache", None)
    return user


class IdentityBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's code flow, with the portal's checks and claim mapping."""

    def authenticate(self, request, **kwargs):
        # Only the callback view passes both; a password or HTTP Basic sign-in never gets here,
        # whatever its query string says.
        if request is None or "nonce" not in kwargs or "code_verifier" not in kwargs:
            return None
        if not oidc_enabled():
            return None
        return super().authenticate(request, **kwargs)

    def _verify_jws(self, payload, key):
        """Signature, algorithm, audience (our client id), issuer, expiry: all required."""
        try:
            header = jwt.get_unverified_header(payload)
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation("id_token is not a JWT") from exc
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation("id_token signed with an unexpected algorithm")
        try:
            return jwt.decode(
                payload, key, algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID, issuer=settings.OIDC_OP_ISSUER, leeway=30,
                options={"require": ["exp", "iat", "aud", "iss", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"id_token refused: {exc}") from exc

    def get_userinfo(self, access_token, id_token, payload):
        info = super().get_userinfo(access_token, id_token, payload)
        if not isinstance(info, dict) or info.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("userinfo is about another subject than the id_token")
        return {**payload, **info}

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        user = applicant_for_identity(claims)
        # The view keeps it in the session once signed in (signing in may start a new one).
        user.acting_person = None
        if claims.get("identity_type") == "organization":
            user.acting_person = {"citizen_id": claims["citizen_id"], "name": claims["name"]}
            logger.info("electronic identity: %s signed in for %s by citizen %s",
                        user.username, user.tax_code, claims["citizen_id"])
        else:
            logger.info("electronic identity: %s signed in", user.username)
        return user
