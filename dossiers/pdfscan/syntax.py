"""PDF syntax for the scanner: the refusal, the limits and the budget, tokens, and a lenient
parser that records damage instead of failing (viewers repair; we must see what they see)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

ACTIVE, MALFORMED, LIMIT, UNSUPPORTED = "active", "malformed", "limit", "unsupported"


class ScanRefused(Exception):
    """The file is refused; `kind` says why in general, `reason` in particular."""

    def __init__(self, kind: str, reason: str, where: str = "") -> None:
        self.kind, self.reason, self.where = kind, reason, where
        self.work = 0  # what the scan had cost when it stopped
        super().__init__(f"{kind}: {reason}" + (f" ({where})" if where else ""))


@dataclass(frozen=True)
class Limits:
    decoded_bytes: int = 64 * 2**20  # all stream data decoded for one file
    # Nor more than this many times the file's size (above a floor): the streams decoded are
    # cross-reference and object streams, which real files compress a few times, not a
    # thousand, so a small bomb costs in proportion to its size.
    decoded_ratio: int = 16
    decoded_floor: int = 4 * 2**20
    objects: int = 500_000
    depth: int = 64  # nesting of arrays and dictionaries
    seconds: float = 10.0
    # Bytes the lexer may read per byte of input and of decoded data: a well-formed file needs
    # about one; the rest is slack for overlapping reads of a damaged one.
    work_factor: int = 3
    embedded_sniff_bytes: int = 64 * 1024


WS = b"\x00\t\n\x0c\r "
_WS_SET = frozenset(WS)
_DELIMS = frozenset(b"()<>[]{}/%")
_DIGITS = frozenset(b"0123456789")
SKIP_WS = re.compile(rb"[\x00\t\n\x0c\r ]*")
_REGULAR = re.compile(rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]*")
_LINE_END = re.compile(rb"[^\r\n]*")
_STRING_CHUNK = re.compile(rb"[^()\\]*")
_INT = re.compile(rb"[+-]?\d+")
_REAL = re.compile(rb"[+-]?(?:\d+\.\d*|\.\d+)")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")

(T_EOF, T_NAME, T_INT, T_REAL, T_STRING, T_KEYWORD, T_DICT, T_DICT_END, T_ARRAY,
 T_ARRAY_END, T_JUNK) = range(11)


class Name(str):
    """A PDF name, #xx escapes decoded."""


class Ref(tuple):
    """An indirect reference `num gen R`."""

    @property
    def num(self) -> int:
        return self[0]


class Dup(list):
    """Every value a dictionary gave one key (viewers disagree on which one wins)."""


def name_is(value, name: str) -> bool:
    """`value` is the name `name` (or a duplicated key one of whose values is)."""
    if isinstance(value, Dup):
        return any(name_is(v, name) for v in value)
    return isinstance(value, Name) and value == name


STRING = object()  # string contents never decide anything here
_HUGE = 2**63


@dataclass
class Stream:
    attrs: dict
    start: int  # offset of the data in the buffer it came from
    end: int  # where `endstream` was found (or the end of the buffer)
    buffer: bytes


class Budget:
    """Work and time, shared by every read of one scan."""

    def __init__(self, limits: Limits, size: int) -> None:
        self.limits = limits
        self.allowance = limits.work_factor * size + 2**20
        self.work = 0
        self.decoded = 0
        self.decoded_cap = min(limits.decoded_bytes,
                               max(limits.decoded_floor, limits.decoded_ratio * size))
        self.deadline = time.monotonic() + limits.seconds
        self._ticks = 0

    def spend(self, amount: int) -> None:
        self.work += amount
        if self.work > self.allowance:
            raise ScanRefused(LIMIT, "work")
        self._ticks += 1
        if self._ticks & 0x3FF == 0:
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise ScanRefused(LIMIT, "time")

    def decode(self, amount: int) -> None:
        self.decoded += amount
        self.work += amount
        if self.decoded > self.decoded_cap:
            raise ScanRefused(LIMIT, "decoded_bytes")
        self.allowance += self.limits.work_factor * amount
        self.check_time()


class Lexer:
    def __init__(self, data: bytes, pos: int, budget: Budget, end: int | None = None) -> None:
        self.data, self.pos, self.budget = data, pos, budget
        self.end = len(data) if end is None else end
        self.pending: list = []

    def push(self, token) -> None:
        self.pending.append(token)

    def next(self):
        if self.pending:
            return self.pending.pop()
        start = self.pos
        token = self._read()
        self.budget.spend(max(self.pos - start, 1))
        return token

    def _read(self):
        data, end = self.data, self.end
        while True:
            pos = SKIP_WS.match(data, self.pos, end).end()
            if pos < end and data[pos] == 0x25:  # % comment
                pos = _LINE_END.match(data, pos, end).end()
                self.pos = pos
                continue
            break
        self.pos = pos
        if pos >= end:
            return (T_EOF, None, pos)
        c = data[pos]
        if c == 0x2F:  # /
            stop = _REGULAR.match(data, pos + 1, end).end()
            self.pos = stop
            raw = data[pos + 1:stop]
            if b"#" in raw:
                raw = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
            return (T_NAME, Name(raw.decode("latin-1")), pos)
        if c == 0x3C:  # <
            if pos + 1 < end and data[pos + 1] == 0x3C:
                self.pos = pos + 2
                return (T_DICT, None, pos)
            close = data.find(b">", pos + 1, end)
            self.pos = end if close < 0 else close + 1
            return (T_STRING, STRING, pos)
        if c == 0x3E:  # >
            if pos + 1 < end and data[pos + 1] == 0x3E:
                self.pos = pos + 2
                return (T_DICT_END, None, pos)
            self.pos = pos + 1
            return (T_JUNK, ">", pos)
        if c == 0x28:  # (
            self.pos = self._string_end(pos + 1)
            return (T_STRING, STRING, pos)
        if c == 0x5B:
            self.pos = pos + 1
            return (T_ARRAY, None, pos)
        if c == 0x5D:
            self.pos = pos + 1
            return (T_ARRAY_END, None, pos)
        if c in (0x29, 0x7B, 0x7D):  # ) { }
            self.pos = pos + 1
            return (T_JUNK, chr(c), pos)
        stop = _REGULAR.match(data, pos, end).end()
        self.pos = stop
        raw = data[pos:stop]
        if _INT.fullmatch(raw):
            # Leading zeros count for nothing (and are dropped before the conversion, which
            # counts them against its digit limit); a longer number is no object or offset
            # here, and converting millions of digits would cost more than the file's size.
            digits = raw.lstrip(b"+-").lstrip(b"0")
            if len(digits) > 18:
                return (T_INT, _HUGE, pos)
            number = int(digits) if digits else 0
            return (T_INT, -number if raw[0] == 0x2D else number, pos)
        if _REAL.fullmatch(raw):
            return (T_REAL, float(raw), pos)
        return (T_KEYWORD, raw.decode("latin-1"), pos)

    def _string_end(self, pos: int) -> int:
        data, end, depth = self.data, self.end, 1
        while pos < end:
            pos = _STRING_CHUNK.match(data, pos, end).end()
            if pos >= end:
                break
            c = data[pos]
            if c == 0x5C:  # backslash: the next byte is escaped
                pos += 2
            elif c == 0x28:
                depth += 1
                pos += 1
            else:
                depth -= 1
                pos += 1
                if depth == 0:
                    return pos
        return end


# Keywords that end an object: a viewer stops there, closing whatever is still open.
_STRUCTURE = frozenset({"obj", "endobj", "stream", "endstream", "xref", "trailer", "startxref"})
_CONSTANTS = {"true": True, "false": False, "null": None}


class Parsed:
    __slots__ = ("value", "broken")

    def __init__(self, value, broken: bool) -> None:
        self.value, self.broken = value, broken


def parse_value(lx: Lexer, depth_limit: int) -> Parsed:
    """One value, iteratively and leniently: damage is recorded, never fatal."""
    stack: list = []  # [container, pending_key]
    broken = False

    def close():
        container, key = stack.pop()
        return container, key is not None

    while True:
        kind, value, _at = lx.next()
        if kind == T_EOF:
            if not stack:
                return Parsed(None, True)
            broken = True
            while len(stack) > 1:
                inner, _dangling = close()
                _place(stack, inner)
            return Parsed(close()[0], True)
        if kind in (T_DICT, T_ARRAY):
            if len(stack) >= depth_limit:
                raise ScanRefused(LIMIT, "depth")
            stack.append([{} if kind == T_DICT else [], None])
            continue
        if kind in (T_DICT_END, T_ARRAY_END):
            if not stack:
                broken = True
                continue
            want = dict if kind == T_DICT_END else list
            container, dangling = close()
            broken = broken or dangling or not isinstance(container, want)
            value = container
        elif kind == T_KEYWORD and value in _STRUCTURE:
            lx.push((kind, value, _at))
            if not stack:
                return Parsed(None, True)
            while len(stack) > 1:
                inner, _dangling = close()
                _place(stack, inner)
            return Parsed(close()[0], True)
        elif kind == T_INT:
            value = _maybe_ref(lx, value)
        elif kind == T_KEYWORD:
            if value in _CONSTANTS:
                value = _CONSTANTS[value]
            else:
                broken = True
                continue
        elif kind == T_JUNK:
            broken = True
            continue
        if not stack:
            return Parsed(value, broken)
        if not _place(stack, value):
            broken = True


def _place(stack: list, value) -> bool:
    """Put a finished value into the open container; False when it had no place there."""
    top = stack[-1]
    container = top[0]
    if isinstance(container, list):
        container.append(value)
        return True
    if top[1] is None:
        if isinstance(value, Name):
            top[1] = value
            return True
        return False
    key = top[1]
    top[1] = None
    if key in container:
        old = container[key]
        container[key] = Dup([*(old if isinstance(old, Dup) else [old]), value])
    else:
        container[key] = value
    return True


def _maybe_ref(lx: Lexer, number: int):
    second = lx.next()
    if second[0] == T_INT:
        third = lx.next()
        if third[0] == T_KEYWORD and third[1] == "R":
            return Ref((number, second[1]))
        lx.push(third)
    lx.push(second)
    return number


def header_candidates(data: bytes, budget: Budget):
    """Where every `num gen obj` in the bytes begins, found from each `obj` backwards. The
    walks over whitespace and digits never overlap (an `obj` stops them): linear."""
    at = data.find(b"obj")
    size = len(data)
    while at >= 0:
        after = at + 3
        if after >= size or data[after] in _WS_SET or data[after] in _DELIMS:
            found = _header_before(data, at)
            if found is not None:
                budget.spend(at - found)
                yield found
        at = data.find(b"obj", after)


def _header_before(data: bytes, at: int):
    i = at - 1
    if i < 0 or data[i] not in _WS_SET:
        return None
    while i >= 0 and data[i] in _WS_SET:
        i -= 1
    gen_end = i + 1
    while i >= 0 and data[i] in _DIGITS:
        i -= 1
    if i + 1 == gen_end or i < 0 or data[i] not in _WS_SET:
        return None
    while i >= 0 and data[i] in _WS_SET:
        i -= 1
    num_end = i + 1
    while i >= 0 and data[i] in _DIGITS:
        i -= 1
    if i + 1 == num_end or (i >= 0 and data[i] not in _WS_SET and data[i] not in _DELIMS):
        return None
    return i + 1
