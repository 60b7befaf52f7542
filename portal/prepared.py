"""Querysets compiled once per process and run again with new values.

On the busiest paths (the dossier's lock, its papers, the mail's row) Django spends more time
building and compiling a queryset than the database takes to answer it. A `Prepared` query is
built once per database with marker values in place of what changes between calls; the SQL
Django compiled is kept with the positions of the markers among its parameters, and later calls
put their own values there. The rows become model instances (related objects and annotations
included) through Django's own loading code, as the queryset would have made them.

A marker that Django would write into the SQL text instead of passing it as a parameter is an
error at the first call (the query is then not fit to be prepared), never a wrong answer.
"""

from collections.abc import Callable
from itertools import count
from threading import Lock

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators

# Marker values nobody stores: negative ids far below any sequence, text no form can hold.
_INT_MARKERS = count(-742_424_000_001, -1)


def _marker(kind: type, index: int):
    if kind is int:
        return next(_INT_MARKERS)
    if kind is str:
        return f"\x00prepared-marker-{index}\x00"
    raise TypeError(f"no marker for values of type {kind.__name__}")


class _Compiled:
    __slots__ = ("sql", "params", "slots", "loader", "width")

    def __init__(self, queryset: QuerySet, markers: dict[str, object], alias: str) -> None:
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        where = {}
        for i, param in enumerate(params):
            for name, value in markers.items():
                if type(param) is type(value) and param == value:
                    where.setdefault(name, []).append(i)
        # A value this form of the query does not use is fine; one written into the SQL text
        # would be the marker forever.
        inlined = [name for name in set(markers) - set(where) if str(markers[name]) in sql]
        if inlined:
            raise RuntimeError(f"values written into the SQL, not passed: {sorted(inlined)}")
        self.sql = sql
        self.params = tuple(params)
        self.slots = tuple((i, name) for name, positions in where.items() for i in positions)
        select, klass_info = compiler.select, compiler.klass_info
        self.width = compiler.col_count if compiler.has_extra_select else None
        converters = compiler.get_converters([s[0] for s in select[: compiler.col_count]])
        model_cls = klass_info["model"]
        first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [f[0].target.attname for f in select[first:last]]
        populators = get_related_populators(klass_info, select, alias)
        annotations = tuple(compiler.annotation_col_map.items())

        def loader(rows: list) -> list[Model]:
            if converters:
                rows = compiler.apply_converters(rows, converters)
            objects = []
            for row in rows:
                obj = model_cls.from_db(alias, init_list, row[first:last])
                for populator in populators:
                    populator.populate(row, obj)
                for name, position in annotations:
                    setattr(obj, name, row[position])
                objects.append(obj)
            return objects

        self.loader = loader


class Prepared:
    """`build(**values)` makes the queryset; `rows(**values)` runs its compiled SQL with these
    values. `types` names the type of each value (int or str) for its marker; `shape`
    (hashable) tells apart the forms `build` can take (another filter, another annotation)."""

    def __init__(self, build: Callable[..., QuerySet], **types: type) -> None:
        self.build = build
        self.types = types
        self._compiled: dict[tuple, _Compiled] = {}
        self._lock = Lock()

    def _for(self, alias: str, shape) -> _Compiled:
        key = (alias, connections[alias].vendor, shape)
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(key)
                if compiled is None:
                    markers = {name: _marker(kind, i)
                               for i, (name, kind) in enumerate(self.types.items())}
                    queryset = self.build(shape=shape, **markers)
                    compiled = _Compiled(queryset, markers, alias)
                    self._compiled[key] = compiled
        return compiled

    def rows(self, *, using: str = "default", shape=(), **values) -> list[Model]:
        if set(values) != set(self.types):
            raise TypeError(f"values for {sorted(self.types)} expected, got {sorted(values)}")
        compiled = self._for(using, shape)
        params = list(compiled.params)
        for i, name in compiled.slots:
            params[i] = values[name]
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.width is not None:
            rows = [row[: compiled.width] for row in rows]
        return compiled.loader(rows)
