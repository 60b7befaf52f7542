"""What the scanner refuses once every object is read: actions, scripts, embedded files,
addresses opened without a click, and damaged objects that name any of them."""

from __future__ import annotations

from .syntax import ACTIVE, LIMIT, WS, Budget, Name, ScanRefused, Stream, name_is

# /S types refused wherever they appear, compared case-insensitively.
_REFUSED_ACTIONS = {
    "javascript": "javascript", "launch": "launch", "submitform": "submit_form",
    "importdata": "import_data", "gotor": "remote_goto", "gotoe": "embedded_goto",
    "richmediaexecute": "rich_media",
}
# Keys whose mere presence is refused: scripts, embedded files, XFA forms (which carry scripts).
_REFUSED_KEYS = {
    "JS": "javascript", "JavaScript": "javascript", "OnInstantiate": "javascript",
    "Launch": "launch", "EmbeddedFiles": "embedded_file", "EF": "embedded_file",
    "XFA": "xfa",
}
_REFUSED_SUBTYPES = {"FileAttachment": "embedded_file", "RichMedia": "rich_media"}
# In a damaged object we do not guess how a viewer would repair it: any of these names refuses.
_SUSPECT_NAMES = frozenset(
    n.casefold() for n in (*_REFUSED_KEYS, *_REFUSED_SUBTYPES, "JavaScript", "Launch",
                           "SubmitForm", "ImportData", "GoToR", "GoToE", "RichMediaExecute",
                           "OpenAction", "AA", "URI", "EmbeddedFile")
)
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf",
                     b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")


class ActiveContentChecks:
    """The checks of a scan (mixed into it: they read its objects and resolve through it)."""

    def _check(self) -> None:
        for where, value in self.damaged:
            if _mentions(value, _SUSPECT_NAMES, self.budget):
                raise ScanRefused(ACTIVE, "damaged_object", where)
        self._check_embedded_executables()
        automatic: list = []
        for values in self.objects.values():
            for value in values:
                self._check_tree(value, automatic)
        for trailer in self.trailers:
            self._check_tree(trailer, automatic)
        self._check_automatic(automatic)

    def _check_embedded_executables(self) -> None:
        """Every embedded file is refused below; an executable one is named as such."""
        for values in self.objects.values():
            for value in values:
                if not (isinstance(value, Stream)
                        and name_is(self._resolve_one(value.attrs.get("Type")), "EmbeddedFile")):
                    continue
                try:
                    head = self._decode(value, limit=self.limits.embedded_sniff_bytes)
                except ScanRefused as exc:
                    if exc.kind == LIMIT:
                        raise
                    continue
                if head and head.lstrip(WS).startswith(_EXECUTABLE_MAGIC):
                    raise ScanRefused(ACTIVE, "embedded_executable",
                                      self.where.get(id(value), ""))

    def _check_tree(self, root, automatic: list) -> None:
        where = self.where.get(id(root), "")
        todo = [root]
        while todo:
            item = todo.pop()
            if isinstance(item, Stream):
                item = item.attrs
            if isinstance(item, list):  # arrays, and Dup
                todo.extend(item)
            elif isinstance(item, dict):
                self.budget.spend(len(item))
                self._check_dict(item, where, automatic)
                todo.extend(item.values())

    def _check_dict(self, d: dict, where: str, automatic: list) -> None:
        for key, reason in _REFUSED_KEYS.items():
            if key in d:
                raise ScanRefused(ACTIVE, reason, where)
        for name in self._names(d.get("S")):
            reason = _REFUSED_ACTIONS.get(name.casefold())
            if reason:
                raise ScanRefused(ACTIVE, reason, where)
        if any(name == "EmbeddedFile" for name in self._names(d.get("Type"))):
            raise ScanRefused(ACTIVE, "embedded_file", where)
        for name in self._names(d.get("Subtype")):
            if name in _REFUSED_SUBTYPES:
                raise ScanRefused(ACTIVE, _REFUSED_SUBTYPES[name], where)
        if "OpenAction" in d:
            automatic.append((d["OpenAction"], where))
        if "AA" in d:
            for triggers in self._resolve(d["AA"]):
                if isinstance(triggers, dict):
                    automatic.extend((action, where) for action in triggers.values())

    def _names(self, value) -> list:
        if value is None:
            return []
        return [v for v in self._resolve(value) if isinstance(v, Name)]

    def _check_automatic(self, roots: list) -> None:
        """Actions a viewer runs without a click (OpenAction, additional actions), and those
        they chain to (/Next), may not open an address either."""
        seen: set[int] = set()
        todo = list(roots)
        while todo:
            value, where = todo.pop()
            for action in self._resolve(value):
                if isinstance(action, Stream):
                    action = action.attrs
                if not isinstance(action, list | dict) or id(action) in seen:
                    continue
                seen.add(id(action))  # an array named by a thousand actions is read once
                if isinstance(action, list):
                    self.budget.spend(len(action))
                    todo.extend((item, where) for item in action)
                    continue
                self.budget.spend(1)
                if any(n.casefold() == "uri" for n in self._names(action.get("S"))):
                    raise ScanRefused(ACTIVE, "automatic_uri", where)
                if "Next" in action:
                    todo.append((action["Next"], where))

    def _has_catalog(self) -> bool:
        return any(
            isinstance(value, dict) and name_is(value.get("Type"), "Catalog")
            and "Pages" in value
            for values in self.objects.values() for value in values
        )


def _mentions(root, names: frozenset, budget: Budget) -> bool:
    """Any key or name in the tree is one of `names` (compared case-insensitively)."""
    todo = [root]
    while todo:
        item = todo.pop()
        if isinstance(item, Stream):
            item = item.attrs
        if isinstance(item, Name):
            if item.casefold() in names:
                return True
        elif isinstance(item, list):
            todo.extend(item)
        elif isinstance(item, dict):
            budget.spend(len(item))
            for key, value in item.items():
                if key.casefold() in names:
                    return True
                todo.append(value)
    return False
