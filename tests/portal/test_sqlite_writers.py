"""The embedded default's SQLite backend: a write transaction that finds the write lock taken
tries again within a millisecond, up to the connection's timeout, and fails as SQLite would
after it; a statement's placeholders are converted as Django converts them, once per process;
nothing else of Django's backend changes."""

import sqlite3
import threading

from django.db import OperationalError, connections, transaction
from django.test.utils import CaptureQueriesContext

import pytest

from portal.backends.sqlite3 import base as backend
from portal.backends.sqlite3.base import DatabaseWrapper

ALIAS = "sqlite_writers"


@pytest.fixture
def database(tmp_path, django_db_blocker):
    """A file database of its own beside the suite's (SQLite or PostgreSQL), opened through the
    portal's backend as the settings open the embedded default, with one table."""
    path = tmp_path / "writers.sqlite3"
    made = []

    def open_wrapper(timeout: float = 20) -> DatabaseWrapper:
        settings = {
            **connections["default"].settings_dict, "ENGINE": "portal.backends.sqlite3",
            "NAME": str(path), "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False,
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": timeout,
                        "init_command": "PRAGMA journal_mode=WAL"},
            "TEST": {}, "AUTOCOMMIT": True, "ATOMIC_REQUESTS": False,
        }
        wrapper = DatabaseWrapper(settings, alias=ALIAS)
        made.append(wrapper)
        return wrapper

    # Not the suite's database: the guard of its database access does not apply.
    with django_db_blocker.unblock():
        first = open_wrapper()
        with first.cursor() as cursor:
            cursor.execute("CREATE TABLE counter (n INTEGER NOT NULL)")
            cursor.execute("INSERT INTO counter VALUES (0)")
        connections[ALIAS] = first
        yield path, open_wrapper
        for wrapper in made:
            if wrapper.connection is not None:  # a thread closes its own
                wrapper.close()
        del connections[ALIAS]


def _holder(path) -> sqlite3.Connection:
    """Another process's connection, holding the write lock."""
    holder = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def _busy_timeout(wrapper: DatabaseWrapper) -> int:
    return wrapper.connection.execute("PRAGMA busy_timeout").fetchone()[0]


def test_a_writer_tries_again_in_short_pauses_and_gets_the_lock_once_free(database, monkeypatch):
    path, _open = database
    holder = _holder(path)
    pauses = []

    def sleep(seconds):
        pauses.append(seconds)
        if len(pauses) == 6:
            holder.execute("COMMIT")  # the other process commits while this one waits

    monkeypatch.setattr(backend.time, "sleep", sleep)
    with transaction.atomic(using=ALIAS):
        connections[ALIAS].cursor().execute("UPDATE counter SET n = n + 1")
        # Inside the transaction, statements wait as long as the connection says.
        assert _busy_timeout(connections[ALIAS]) == 20000
    assert pauses == [0.0001, 0.0002, 0.0004, 0.0008, 0.001, 0.001]
    assert connections[ALIAS].cursor().execute("SELECT n FROM counter").fetchone() == (1,)
    assert _busy_timeout(connections[ALIAS]) == 20000
    holder.close()


def test_a_writer_gives_up_after_the_connections_timeout_as_sqlite_would(database, monkeypatch):
    path, open_wrapper = database
    wrapper = open_wrapper(timeout=0.05)
    connections[ALIAS] = wrapper
    holder = _holder(path)
    with pytest.raises(OperationalError, match="database is locked"), \
            transaction.atomic(using=ALIAS):
        pytest.fail("the transaction started while another connection held the lock")
    assert not wrapper.connection.in_transaction
    assert _busy_timeout(wrapper) == 50
    holder.execute("COMMIT")
    holder.close()
    # Once the lock is free, the same connection writes.
    with transaction.atomic(using=ALIAS):
        wrapper.cursor().execute("UPDATE counter SET n = n + 1")
    assert wrapper.cursor().execute("SELECT n FROM counter").fetchone() == (1,)


def test_an_error_other_than_a_taken_lock_is_not_tried_again(database, monkeypatch):
    _path, _open = database
    wrapper = connections[ALIAS]
    wrapper.ensure_connection()
    wrapper.connection.execute("BEGIN")  # a transaction already open: BEGIN fails at once
    monkeypatch.setattr(backend.time, "sleep", lambda seconds: pytest.fail("tried again"))
    with pytest.raises(OperationalError, match="within a transaction"):
        wrapper._start_transaction_under_autocommit()
    wrapper.connection.execute("ROLLBACK")
    assert _busy_timeout(wrapper) == 20000


def test_the_begin_is_the_one_statement_seen(database):
    """The pauses and the busy timeout leave no trace among the statements: a test that
    counts queries, or the debug log, sees the BEGIN as before."""
    _path, _open = database
    wrapper = connections[ALIAS]
    with CaptureQueriesContext(wrapper) as seen, transaction.atomic(using=ALIAS):
        wrapper.cursor().execute("UPDATE counter SET n = n + 1")
    assert [q["sql"] for q in seen.captured_queries] == [
        "BEGIN IMMEDIATE", "UPDATE counter SET n = n + 1", "COMMIT"]


def test_two_writers_at_once_lose_no_increment(database):
    path, open_wrapper = database
    errors = []

    def writer():
        wrapper = open_wrapper()
        connections[ALIAS] = wrapper  # this thread's connection
        try:
            for _ in range(40):
                with transaction.atomic(using=ALIAS):
                    cursor = wrapper.cursor()
                    (n,) = cursor.execute("SELECT n FROM counter").fetchone()
                    cursor.execute("UPDATE counter SET n = %s", [n + 1])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            wrapper.close()

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and not any(thread.is_alive() for thread in threads)
    check = sqlite3.connect(path)
    assert check.execute("SELECT n FROM counter").fetchone() == (120,)
    check.close()


def test_an_in_memory_database_and_a_deferred_begin_are_left_to_django(database, monkeypatch):
    _path, open_wrapper = database
    calls = []
    monkeypatch.setattr(backend.base.DatabaseWrapper, "_start_transaction_under_autocommit",
                        lambda self: calls.append(self.transaction_mode))
    wrapper = open_wrapper()
    wrapper.ensure_connection()
    wrapper.transaction_mode = None
    wrapper._start_transaction_under_autocommit()
    memory = DatabaseWrapper({**wrapper.settings_dict, "NAME": ":memory:"}, alias="memory")
    memory.ensure_connection()
    memory.transaction_mode = "IMMEDIATE"
    memory._start_transaction_under_autocommit()
    memory.close()
    assert calls == [None, "IMMEDIATE"]


def test_the_embedded_default_opens_through_this_backend():
    from django.conf import settings as live

    if connections["default"].vendor != "sqlite":
        pytest.skip("the suite runs on PostgreSQL")
    assert live.DATABASES["default"]["ENGINE"] == "portal.backends.sqlite3"
    assert isinstance(connections["default"], DatabaseWrapper)


# --- placeholders converted once --------------------------------------------------------------

CONVERSIONS = [
    "SELECT %s",
    "SELECT n FROM counter WHERE n = %s AND n <> %s",
    "SELECT '%%s', %s",  # a literal %s, written %%s
    "SELECT '100%%' AS p, %s",  # a literal %
    "SELECT '%%%s'",  # a literal % before a placeholder
    "SELECT 1",
    "",
]


@pytest.fixture
def cursors():
    """The backend's cursor and Django's, on a connection of their own."""
    raw = sqlite3.connect(":memory:")
    yield (raw.cursor(factory=backend.SQLiteCursorWrapper),
           raw.cursor(factory=backend.base.SQLiteCursorWrapper))
    raw.close()


@pytest.mark.parametrize("query", CONVERSIONS)
def test_a_statement_is_converted_as_django_converts_it(cursors, query):
    ours, djangos = cursors
    assert ours.convert_query(query) == djangos.convert_query(query)
    assert ours.convert_query(query) == djangos.convert_query(query)  # again, from what is kept


def test_named_values_and_long_statements_are_converted_by_django_each_time(cursors,
                                                                            monkeypatch):
    ours, _djangos = cursors
    calls = []
    monkeypatch.setattr(backend.base.SQLiteCursorWrapper, "convert_query",
                        lambda self, query, *, param_names=None: calls.append(query) or query)
    long_one = "SELECT n FROM counter WHERE n IN (" + ", ".join(["%s"] * 3000) + ")"
    assert len(long_one) > backend.LONGEST_KEPT
    ours.convert_query(long_one)
    ours.convert_query("SELECT %(n)s", param_names=["n"])
    assert calls == [long_one, "SELECT %(n)s"]


def test_a_statement_run_again_is_not_converted_again(database):
    """The statements run through the backend's cursors, with values, named values and many
    rows, give the same rows; one run again is taken from what the process kept."""
    _path, _open = database
    wrapper = connections[ALIAS]
    backend._qmark.cache_clear()
    with wrapper.cursor() as cursor:
        assert isinstance(cursor.cursor, backend.SQLiteCursorWrapper)
        cursor.executemany("INSERT INTO counter VALUES (%s)", [[5], [7]])
        for _ in range(3):
            cursor.execute("SELECT count(*), '%%s' FROM counter WHERE n >= %s", [5])
            assert cursor.fetchone() == (2, "%s")
        cursor.execute("SELECT n FROM counter WHERE n = %(n)s", {"n": 7})
        assert cursor.fetchall() == [(7,)]
    kept = backend._qmark.cache_info()
    assert (kept.misses, kept.hits) == (2, 2)
