"""A partial index's condition written into a query as the index itself writes it, for SQLite.

SQLite uses a partial index only when the query's WHERE clause holds each term of the index's
WHERE clause. It matches a term `"status" = ?` to the index's `"status" = 'pending'` by the
value bound to it, but not a list: the index says `"state" IN ('submitted', ...)`, Django writes
the same filter as `"state" IN (?, ...)` with the values apart, and SQLite cannot tell that the
query stays inside the index. The officers' queue then read every dossier an agency had
received and sorted them, where the index gives the first rows of the page in order.

`IndexCondition(condition)` is the index's condition with its values written inline, as its
CREATE INDEX has them. It only ever narrows a query to what the index holds; callers add it
beside their own filters through `within_partial_index`, which does so on SQLite only
(PostgreSQL proves a partial index's condition from the bound values, and a second list on one
column misleads its row estimates).

Only plain values are written inline (names, numbers, true and false); anything else is
refused when the query is compiled, never written into SQL.
"""

import re

from django.db import connections
from django.db.models import BooleanField, Expression, Q, QuerySet

# What may stand in SQL as a quoted literal: the words of a choice (states, kinds, codes).
_PLAIN_TEXT = re.compile(r"[A-Za-z0-9_.\-]*")


def _inline(value, vendor: str) -> str:
    if isinstance(value, bool):  # as each database's CREATE INDEX writes it
        if vendor == "sqlite":
            return "1" if value else "0"
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str) and _PLAIN_TEXT.fullmatch(value):
        return f"'{value}'"
    raise ValueError(f"not a value an index condition writes inline: {value!r}")


class IndexCondition(Expression):
    """A filter equal to a partial index's `condition`, compiled with its values inline."""

    conditional = True

    def __init__(self, condition: Q) -> None:
        super().__init__(output_field=BooleanField())
        self.condition = condition
        self.where = None

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.condition!r})"

    def resolve_expression(self, query=None, allow_joins=True, reuse=None, summarize=False,
                           for_save=False):
        resolved = self.copy()
        # Resolved against the query it filters: its columns carry that query's table alias.
        resolved.where = query.build_where(self.condition)
        return resolved

    def as_sql(self, compiler, connection):
        if self.where is None:
            raise ValueError("an index condition is compiled inside the query it filters")
        sql, params = compiler.compile(self.where)
        # The fragment joins a statement whose `%` are escaped (`%s` marks a parameter).
        written = tuple(_inline(value, connection.vendor) for value in params)
        return (sql % written).replace("%", "%%"), []


def within_partial_index(qs: QuerySet, condition: Q) -> QuerySet:
    """`qs` with a partial index's `condition` stated as the index writes it, on SQLite; `qs`
    itself on any other database. `qs` must already lie within the condition: the rows stay
    the same, and SQLite may then read them from the index."""
    if connections[qs.db].vendor != "sqlite":
        return qs
    return qs.filter(IndexCondition(condition))
