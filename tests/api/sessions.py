"""How a test signs a user in for HTTP calls to a live server: the one place that knows.

Signing in goes through the portal's own sign-in (the test client's `login`, the same
authentication backends as /dang-nhap/); the requests session then carries the session cookie
and, for unsafe methods, a CSRF token as the pages' scripts send it.
"""

import secrets
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

import requests
from django_otp import DEVICE_ID_SESSION_KEY

from dossiers.services.demo import DEMO_PASSWORD
from portal.signin import second_factor_required
from tests.second_factor import staff_device


@contextmanager
def api_session_for(username: str, password: str = DEMO_PASSWORD):
    client = Client()
    assert client.login(username=username, password=password), username
    user = get_user_model().objects.get(username=username)
    if second_factor_required(user):  # the code step a staff member passes after the password
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = staff_device(user).persistent_id
        session.save()
    csrf = secrets.token_hex(16)  # an unmasked secret of CSRF_SECRET_LENGTH characters
    with requests.Session() as session:
        session.cookies.set(settings.SESSION_COOKIE_NAME,
                            client.cookies[settings.SESSION_COOKIE_NAME].value)
        session.cookies.set(settings.CSRF_COOKIE_NAME, csrf)
        session.headers["X-CSRFToken"] = csrf
        yield session
