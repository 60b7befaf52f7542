"""SQLite's plans of the statements a piece of code runs, planned as they ran."""

from django.db import connection

import pytest

sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="the plans of SQLite")


def sqlite_plans(fn, *, table: str) -> list[str]:
    """SQLite's plan of every SELECT from `table` that `fn` runs, with its values bound apart
    as SQLite saw them (written into the text, they would let SQLite match a partial index
    whatever the query said), one line per step."""
    ran = []

    def keep(execute, sql, params, many, context):
        ran.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        fn()
    plans = []
    with connection.cursor() as cursor:
        for sql, params in ran:
            if sql.startswith("SELECT") and f'FROM "{table}"' in sql:
                cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
                plans.append("\n".join(row[-1] for row in cursor.fetchall()))
    return plans
