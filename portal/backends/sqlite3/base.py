"""SQLite, the embedded default, with writers that take the write lock in turn promptly and
statements converted to SQLite's placeholders once.

Every write transaction starts with `BEGIN IMMEDIATE` (settings: `transaction_mode`), which
takes SQLite's one write lock or waits for it. SQLite's own wait sleeps in growing steps
(1, 2, 5, 10 ... 100 ms) and only looks at the lock again when a step ends: a writer often
slept on for tens of milliseconds after the lock came free, while the other process took it
again. Here the transaction's BEGIN does not wait inside SQLite; on "database is locked" it
tries again after a pause of 0.1 ms, doubling to at most 1 ms, until the connection's timeout
(OPTIONS `timeout`) has passed, then fails as SQLite would. Inside the transaction the
connection's timeout applies as before.

Django writes its statements with `%s` placeholders and its SQLite cursor turns each one into
SQLite's `?` with a regular expression at every execute: 25 µs for a statement of 850
characters, 2% of the demo walk's time. The portal runs some 230 different statements; each
is converted once per process and kept (the longest and least used are not).

Everything else is Django's SQLite backend."""

import functools
import sqlite3
import time

from django.db import OperationalError
from django.db.backends.sqlite3 import base

FIRST_PAUSE = 0.0001  # seconds
LONGEST_PAUSE = 0.001
# The BEGINs that take the write lock at once.
LOCKING_MODES = frozenset({"IMMEDIATE", "EXCLUSIVE"})


# How many converted statements a process keeps, and how long one may be to be kept: a statement
# with one placeholder per value of a long list is seldom run again.
STATEMENTS_KEPT = 512
LONGEST_KEPT = 8192  # characters


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def _qmark(query: str) -> str:
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    """Django's cursor, with the `%s` -> `?` conversion of a statement done once."""

    def convert_query(self, query, *, param_names=None):
        if param_names is None and len(query) <= LONGEST_KEPT:
            return _qmark(query)
        return super().convert_query(query, param_names=param_names)


def _busy(error: OperationalError) -> bool:
    """Whether SQLite refused because another connection holds the lock (SQLITE_BUSY and its
    extended codes), not for any other reason."""
    cause = error.__cause__
    code = getattr(cause, "sqlite_errorcode", None)
    return isinstance(cause, sqlite3.OperationalError) and code is not None \
        and code & 0xFF == sqlite3.SQLITE_BUSY


class DatabaseWrapper(base.DatabaseWrapper):
    def create_cursor(self, name=None):
        return self.connection.cursor(factory=SQLiteCursorWrapper)

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        # The wait SQLite was given (sqlite3.connect's `timeout`), in milliseconds.
        self.busy_timeout_ms = connection.execute("PRAGMA busy_timeout").fetchone()[0]
        return connection

    def _start_transaction_under_autocommit(self):
        if self.transaction_mode not in LOCKING_MODES or self.is_in_memory_db():
            # A deferred BEGIN takes no lock; an in-memory database has no other process.
            return super()._start_transaction_under_autocommit()
        raw = self.connection
        raw.execute("PRAGMA busy_timeout = 0")
        try:
            deadline = time.monotonic() + self.busy_timeout_ms / 1000
            pause = FIRST_PAUSE
            while True:
                try:
                    return super()._start_transaction_under_autocommit()
                except OperationalError as error:
                    if not _busy(error) or time.monotonic() >= deadline:
                        raise
                time.sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE)
        finally:
            raw.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
