"""Settings read from the environment: what the portal refuses to start with, and what it picks."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = secrets.token_urlsafe(50)
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'debug': s.DEBUG, 'secret_key': s.SECRET_KEY, 'caches': s.CACHES, "
    "'num_proxies': getattr(s, 'NUM_PROXIES', None), 'drf_num_proxies': s.REST_FRAMEWORK.get('NUM_PROXIES'), "
    "'db_options': s.DATABASES['default'].get('OPTIONS', {})}))"
)
# Read from the process environment by portal/settings.py; the probe sets them explicitly.
OWN_VARIABLES = ("DJANGO_", "DATABASE_URL", "CACHE_URL", "NUM_PROXIES", "CELERY_BROKER_URL",
                 "DB_")


def _start(probe: str = PROBE, **variables: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_VARIABLES)}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", **variables)
    return subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def _printed(probe: str, **variables: str) -> str:
    """The last line `probe` prints in a process started with the portal's settings."""
    started = _start(probe, **variables)
    assert started.returncode == 0, started.stderr
    return started.stdout.strip().splitlines()[-1]


def _settings(**variables: str) -> dict:
    return json.loads(_printed(PROBE, **variables))


def _refused(**variables: str) -> str:
    started = _start(**variables)
    assert started.returncode != 0, started.stdout
    assert "ImproperlyConfigured" in started.stderr
    return started.stderr


# --- the secret key -----------------------------------------------------------------------


def test_production_without_a_secret_key_refuses_to_start():
    error = _refused(DJANGO_DEBUG="false")

    assert "DJANGO_SECRET_KEY" in error


@pytest.mark.parametrize("key", [
    "insecure-development-key-change-me",  # the development default
    "change-me",  # the placeholder of .env.example
    "django-insecure-" + secrets.token_urlsafe(50),  # what startproject writes
    secrets.token_urlsafe(24),  # too short to resist guessing
    "ab" * 40,  # long, but two characters
    " " * 60,
], ids=["development-default", "placeholder", "django-insecure", "short", "repetitive", "blank"])
def test_production_with_a_well_known_or_weak_secret_key_refuses_to_start(key):
    error = _refused(DJANGO_DEBUG="false", DJANGO_SECRET_KEY=key)

    assert "DJANGO_SECRET_KEY" in error
    assert key.strip() == "" or key not in error  # the message never echoes the key


def test_production_with_a_strong_secret_key_starts_with_it():
    started = _settings(DJANGO_DEBUG="false", DJANGO_SECRET_KEY=STRONG_KEY)

    assert started["debug"] is False
    assert started["secret_key"] == STRONG_KEY


def test_development_mode_starts_without_a_secret_key():
    started = _settings(DJANGO_DEBUG="true")

    assert started["debug"] is True
    assert started["secret_key"]


# --- client addresses and the shared cache ------------------------------------------------


def test_by_default_no_proxy_is_trusted_and_the_cache_is_this_process_memory():
    started = _settings()

    assert (started["num_proxies"], started["drf_num_proxies"]) == (0, 0)
    assert started["caches"]["default"]["BACKEND"] == (
        "django.core.cache.backends.locmem.LocMemCache"
    )


def test_postgresql_binds_values_on_the_server_unless_told_not_to():
    url = "postgres://motcua@127.0.0.1:5432/motcua"
    assert _settings(DATABASE_URL=url)["db_options"] == {"server_side_binding": True,
                                                          "prepare_threshold": 5}
    assert _settings(DATABASE_URL=url, DB_SERVER_SIDE_BINDING="0")["db_options"] == {}
    assert "server_side_binding" not in _settings()["db_options"]  # SQLite


def test_sqlite_opens_its_file_in_write_ahead_logging(tmp_path):
    """Readers are not held up by a writer in another process (a worker, a demo walker)."""
    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    options = _settings(DATABASE_URL=url)["db_options"]
    assert options["transaction_mode"] == "IMMEDIATE"
    probe = ("import django; django.setup(); from django.db import connection; "
             "cursor = connection.cursor(); cursor.execute('PRAGMA journal_mode'); "
             "print(cursor.fetchone()[0])")
    assert _printed(probe, DATABASE_URL=url) == "wal"


def _kept_between_requests(**variables: str) -> bool:
    """Whether two requests in a row, as Django signals them, use one database connection."""
    probe = ("import django; django.setup(); from django.core import signals; "
             "from django.db import connection; "
             "signals.request_started.send(None); connection.ensure_connection(); "
             "first = connection.connection; signals.request_finished.send(None); "
             "signals.request_started.send(None); connection.ensure_connection(); "
             "print(connection.connection is first); signals.request_finished.send(None)")
    return _printed(probe, **variables) == "True"


def test_sqlite_keeps_its_connection_between_requests_unless_told_not_to(tmp_path):
    """Not opened again for each request: a new connection reads the schema again and
    prepares every statement anew."""
    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    assert _kept_between_requests(DATABASE_URL=url)
    assert not _kept_between_requests(DATABASE_URL=url, DB_CONN_MAX_AGE="0")


def test_the_number_of_proxies_and_the_cache_come_from_the_environment():
    started = _settings(NUM_PROXIES="2", CACHE_URL="redis://127.0.0.1:6390/3")

    assert (started["num_proxies"], started["drf_num_proxies"]) == (2, 2)
    assert started["caches"]["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert started["caches"]["default"]["LOCATION"] == "redis://127.0.0.1:6390/3"


@pytest.mark.parametrize("value", ["-1", "one", "1.5"])
def test_a_number_of_proxies_that_is_not_a_count_refuses_to_start(value):
    assert "NUM_PROXIES" in _refused(NUM_PROXIES=value)


def test_scale_mode_in_production_without_a_shared_cache_refuses_to_start():
    database = "postgres://motcua:secret@127.0.0.1:5432/motcua"
    production = {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": STRONG_KEY,
                  "DATABASE_URL": database}

    error = _refused(**production)
    started = _settings(**production, CACHE_URL="redis://127.0.0.1:6390/3")

    assert "CACHE_URL" in error
    assert started["caches"]["default"]["LOCATION"] == "redis://127.0.0.1:6390/3"


def test_the_log_at_info_keeps_weasyprint_s_warnings_not_its_steps_of_each_paper(tmp_path):
    """A paper rendered by the portal as configured: WeasyPrint's seven steps per paper (INFO)
    stay out of the log, its warnings still reach it."""
    probe = (
        "import logging, django; django.setup(); from portal import papers; "
        "from signatures.results import FONT_DIR; "
        "papers.paper_render(template='portal/papers/base.html', context={}, font_dir=FONT_DIR); "
        "logging.getLogger('weasyprint').warning('a resource could not be loaded')"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_VARIABLES)}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", DJANGO_LOG_LEVEL="INFO",
               DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")
    started = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)

    assert started.returncode == 0, started.stderr
    assert "a resource could not be loaded" in started.stderr
    assert "Step " not in started.stderr, started.stderr
