"""The walk: every object that the bytes, the cross-reference data and the object streams
hold, read once each, with its streams decoded under the scan's bounds."""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass

from .checks import ActiveContentChecks
from .filters import (
    FILTER_ALIASES,
    IMAGE_FILTERS,
    KNOWN_FILTERS,
    ascii85,
    ascii_hex,
    inflate,
    lzw,
    over,
    run_length,
    unpredict,
)
from .syntax import (
    LIMIT,
    MALFORMED,
    SKIP_WS,
    T_INT,
    T_KEYWORD,
    UNSUPPORTED,
    Budget,
    Dup,
    Lexer,
    Limits,
    Name,
    Ref,
    ScanRefused,
    Stream,
    header_candidates,
    name_is,
    parse_value,
)

_log = logging.getLogger(__name__)

# What reading one cross-reference stream entry costs beyond its bytes, in bytes' worth of work.
_ENTRY_COST = 4


@dataclass(frozen=True)
class ScanReport:
    objects: int
    object_streams: int
    decoded_bytes: int
    work: int  # bytes lexed plus bytes decoded: the measure of the scan's cost
    revisions: int


def pdf_scan(content: bytes, limits: Limits | None = None) -> ScanReport:
    """Scan a PDF; raises ScanRefused, returns the figures of the scan when it passes. Any
    other error inside the scanner refuses the file too: a scanner that fails must fail
    closed."""
    scan = None
    try:
        scan = _Scan(content, limits or Limits())
        return scan.run()
    except ScanRefused as exc:
        exc.work = scan.budget.work if scan else 0
        raise
    except Exception as exc:
        _log.exception("PDF scan failed on a file of %d bytes", len(content))
        refusal = ScanRefused(MALFORMED, "scan_failed")
        refusal.work = scan.budget.work if scan else 0
        raise refusal from exc


class _Scan(ActiveContentChecks):
    def __init__(self, content: bytes, limits: Limits) -> None:
        self.data = content
        self.limits = limits
        self.budget = Budget(limits, len(content))
        self.objects: dict[int, list] = {}  # object number -> every definition, in read order
        self.where: dict[int, str] = {}  # id(value) -> "num gen" of its object
        self.damaged: list[tuple[str, object]] = []
        self.trailers: list[dict] = []
        self.count = 0
        self.object_streams = 0
        self.revisions = 0
        self._queued: set[int] = set()  # offsets to look at, or looked at
        self._parsed: set[int] = set()  # where parsed objects begin
        self._endstreams: list[int] = []

    def run(self) -> ScanReport:
        data = self.data
        if not data.startswith(b"%PDF-"):
            raise ScanRefused(MALFORMED, "header")
        self._endstreams = _find_all(data, b"endstream")
        # Headers first, in file order, so later revisions' definitions come last.
        self._worklist: deque[int] = deque()
        for offset in header_candidates(data, self.budget):
            self._queue(offset)
        for offset in (*self._startxref_targets(), *_find_all(data, b"trailer")):
            self._queue(offset)
        while self._worklist:
            self._visit(self._worklist.popleft())
        self._object_streams()
        self._check()
        if not self._has_catalog():
            raise ScanRefused(MALFORMED, "no_catalog")
        return ScanReport(objects=self.count, object_streams=self.object_streams,
                          decoded_bytes=self.budget.decoded, work=self.budget.work,
                          revisions=max(self.revisions, 1))

    # phase 1: every object the bytes hold and the cross-reference data points to

    def _startxref_targets(self) -> list[int]:
        targets = []
        for at in _find_all(self.data, b"startxref"):
            kind, value, _pos = Lexer(self.data, at + len(b"startxref"), self.budget).next()
            if kind == T_INT and 0 <= value < len(self.data):
                targets.append(value)
        self.revisions = len(targets)
        return targets

    def _queue(self, offset) -> None:
        if not isinstance(offset, int) or offset in self._queued or not 0 <= offset < len(
                self.data):
            return
        self._queued.add(offset)
        # Every distinct offset worth a look is an object (or a table): the object cap bounds
        # them, and with them the memory a forged cross-reference table can ask for.
        if len(self._queued) > 2 * self.limits.objects:
            raise ScanRefused(LIMIT, "objects")
        self._worklist.append(offset)

    def _visit(self, offset: int) -> None:
        lx = Lexer(self.data, offset, self.budget)
        first = lx.next()
        if first[0] == T_KEYWORD and first[1] in ("xref", "trailer"):
            if first[2] in self._parsed:
                return
            self._parsed.add(first[2])
            if first[1] == "xref":
                self._xref_table(lx)
            else:
                self._trailer(lx)
            return
        if first[0] != T_INT or first[2] in self._parsed:
            return
        second, third = lx.next(), lx.next()
        if not (second[0] == T_INT and third[0] == T_KEYWORD and third[1] == "obj"):
            return
        self._parsed.add(first[2])
        value = self._indirect(lx, first[1], second[1])
        if isinstance(value, Stream) and name_is(value.attrs.get("Type"), "XRef"):
            self._xref_stream(value)

    def _indirect(self, lx: Lexer, num: int, gen: int):
        parsed = parse_value(lx, self.limits.depth)
        value = parsed.value
        if isinstance(value, dict):
            kind, keyword, at = lx.next()
            if kind == T_KEYWORD and keyword == "stream":
                value = self._stream_at(value, at + len("stream"))
            else:
                lx.push((kind, keyword, at))
        self._add(num, gen, value, parsed.broken)
        return value

    def _stream_at(self, dictionary: dict, after_keyword: int) -> Stream:
        data = self.data
        start = after_keyword
        if data[start:start + 2] == b"\r\n":
            start += 2
        elif data[start:start + 1] in (b"\n", b"\r"):
            start += 1
        index = bisect_left(self._endstreams, start)
        end = self._endstreams[index] if index < len(self._endstreams) else len(data)
        return Stream(dictionary, start, end, data)

    def _add(self, num: int, gen: int, value, broken: bool) -> None:
        self.count += 1
        if self.count > self.limits.objects:
            raise ScanRefused(LIMIT, "objects")
        self.objects.setdefault(num, []).append(value)
        self.where[id(value)] = f"{num} {gen}"
        if broken:
            self.damaged.append((f"{num} {gen}", value))

    def _xref_table(self, lx: Lexer) -> None:
        while True:
            kind, first, at = lx.next()
            if kind != T_INT:
                if kind == T_KEYWORD and first == "trailer" and at not in self._parsed:
                    self._parsed.add(at)
                    self._trailer(lx)
                return
            kind, count, _at = lx.next()
            if kind != T_INT or not 0 <= count <= self.limits.objects:
                return
            for _i in range(count):
                offset, _gen, flag = lx.next(), lx.next(), lx.next()
                if offset[0] != T_INT or flag[0] != T_KEYWORD:
                    return
                if flag[1] == "n":
                    self._queue(offset[1])

    def _trailer(self, lx: Lexer) -> None:
        parsed = parse_value(lx, self.limits.depth)
        if not isinstance(parsed.value, dict):
            return
        self.trailers.append(parsed.value)
        self.where[id(parsed.value)] = "trailer"
        if parsed.broken:
            self.damaged.append(("trailer", parsed.value))
        for key in ("Prev", "XRefStm"):
            self._queue(parsed.value.get(key))

    def _xref_stream(self, stream: Stream) -> None:
        self.trailers.append(stream.attrs)
        self._queue(stream.attrs.get("Prev"))
        widths = stream.attrs.get("W")
        if not (isinstance(widths, list) and len(widths) == 3
                and all(isinstance(w, int) and 0 <= w <= 8 for w in widths)) or not any(widths):
            return
        data = self._decode(stream)
        if data is None:
            return
        size = sum(widths)
        self.budget.spend(len(data) + _ENTRY_COST * (len(data) // size))
        for at in range(0, len(data) - size + 1, size):
            if at & 0xFFFF < size:
                self.budget.check_time()
            kind = int.from_bytes(data[at:at + widths[0]], "big") if widths[0] else 1
            if kind == 1 and widths[1]:
                start = at + widths[0]
                self._queue(int.from_bytes(data[start:start + widths[1]], "big"))

    # phase 2: the objects inside object streams

    def _object_streams(self) -> None:
        streams = [v for values in self.objects.values() for v in values
                   if isinstance(v, Stream)]
        for stream in streams:
            d = stream.attrs
            if not (name_is(self._resolve_one(d.get("Type")), "ObjStm")
                    or ("N" in d and "First" in d)):
                self._filters(stream, check_only=True)
                continue
            where = self.where.get(id(stream), "")
            first, count = self._param(d.get("First"), where), self._param(d.get("N"), where)
            if isinstance(first, int) and isinstance(count, int):
                self._object_stream(stream, first, count, where)

    def _object_stream(self, stream: Stream, first: int, count: int, where: str) -> None:
        if self._encrypted():
            raise ScanRefused(UNSUPPORTED, "encrypted", where)
        data = self._decode(stream)
        if data is None:
            return
        self.object_streams += 1
        if not (0 <= count <= self.limits.objects and 0 <= first <= len(data)):
            raise ScanRefused(MALFORMED, "object_stream", where)
        header = Lexer(data, 0, self.budget, end=first)
        seen: set[int] = set()
        for _i in range(count):
            num, offset = header.next(), header.next()
            if num[0] != T_INT or offset[0] != T_INT:
                break
            at = first + offset[1]
            if at in seen or not first <= at < len(data):
                continue
            seen.add(at)
            parsed = parse_value(Lexer(data, at, self.budget), self.limits.depth)
            self._add(num[1], 0, parsed.value, parsed.broken)

    # decoding

    def _param(self, value, where: str):
        """A value the decoding depends on: one meaning only, or the file is refused (two
        revisions or two keys saying different things would let us read other bytes than a
        viewer does). Values are compared as scalars; arrays and dictionaries by their
        members, shallowly (callers read each member through here in turn), streams by
        identity: never by their whole contents, which could be the whole file."""
        values = self._resolve(value)
        if len(values) > 1:
            first = self._identity(values[0])
            if any(self._identity(v) != first for v in values[1:]):
                raise ScanRefused(MALFORMED, "ambiguous", where)
        return values[0] if values else None

    def _identity(self, value):
        if isinstance(value, list):
            self.budget.spend(len(value))
            return list, tuple(_scalar(item) for item in value)
        if isinstance(value, dict):
            self.budget.spend(len(value))
            return dict, frozenset((key, _scalar(item)) for key, item in value.items())
        return _scalar(value)

    def _stream_data(self, stream: Stream) -> bytes:
        length = self._param(stream.attrs.get("Length"), self.where.get(id(stream), ""))
        buffer, start = stream.buffer, stream.start
        end = None
        if isinstance(length, int) and length >= 0 and start + length <= len(buffer):
            tail = SKIP_WS.match(buffer, start + length).end()
            if buffer.startswith(b"endstream", tail):
                end = start + length
        if end is None:
            end = stream.end
            if buffer[end - 2:end] == b"\r\n":
                end -= 2
            elif buffer[end - 1:end] in (b"\n", b"\r"):
                end -= 1
        # Streams that never end overlap: each copy is paid for, or reading them all would
        # cost the square of the file's size.
        self.budget.spend(max(0, end - start))
        return buffer[start:max(start, end)]

    def _filters(self, stream: Stream, check_only: bool = False) -> list[tuple[str, dict]]:
        where = self.where.get(id(stream), "")
        d = stream.attrs
        if check_only:
            names = [name for v in self._resolve(d.get("Filter"))
                     for item in (v if isinstance(v, list) else [v])
                     for name in self._resolve(item)]
            for name in (n for n in names if n is not None):
                if not isinstance(name, Name) or FILTER_ALIASES.get(name, name) not in \
                        KNOWN_FILTERS:
                    raise ScanRefused(UNSUPPORTED, "filter", where)
            return []
        filters = self._param(d.get("Filter"), where)
        parms = self._param(d.get("DecodeParms", d.get("DP")), where)
        names = filters if isinstance(filters, list) else [] if filters is None else [filters]
        parm_list = parms if isinstance(parms, list) else [parms] * len(names)
        chain = []
        for index, name in enumerate(names):
            name = self._param(name, where)
            if not isinstance(name, Name):
                raise ScanRefused(MALFORMED, "filter", where)
            name = FILTER_ALIASES.get(name, name)
            if name not in KNOWN_FILTERS:
                raise ScanRefused(UNSUPPORTED, "filter", where)
            parm = self._param(parm_list[index], where) if index < len(parm_list) else None
            if isinstance(parm, dict):
                parm = {k: self._param(v, where) for k, v in parm.items()}
            chain.append((name, parm if isinstance(parm, dict) else {}))
        return chain

    def _decode(self, stream: Stream, limit: int | None = None) -> bytes | None:
        """The stream's data through its filters; None for image data (never objects or
        scripts). With `limit`, the first `limit` bytes are enough."""
        chain = self._filters(stream)
        data = self._stream_data(stream)
        for name, parms in chain:
            if name in IMAGE_FILTERS:
                return None
            room = self.budget.decoded_cap - self.budget.decoded
            cap = room if limit is None else min(room, limit)
            data = self._apply(name, parms, data, cap, truncate=limit is not None)
        return data

    def _apply(self, name: str, parms: dict, data: bytes, cap: int, truncate: bool) -> bytes:
        """One filter's output, charged to the budget as decoded bytes."""
        budget = self.budget
        if name in ("FlateDecode", "LZWDecode"):
            if name == "FlateDecode":
                rows = inflate(data, cap, truncate)
            else:
                early = 0 if parms.get("EarlyChange", 1) == 0 else 1
                rows = lzw(data, cap, budget, early, truncate)
            # Charged before the predictor, whose rows are paid for out of what they add to
            # the allowance; a short last row it pads is charged after.
            budget.decode(len(rows))
            out = unpredict(rows, parms, cap, budget)
            budget.decode(max(0, len(out) - len(rows)))
            return out
        out = self._filter(name, parms, data, cap, truncate)
        budget.decode(len(out))
        return out

    def _filter(self, name: str, parms: dict, data: bytes, cap: int, truncate: bool) -> bytes:
        budget = self.budget
        if name == "ASCIIHexDecode":
            out = ascii_hex(data)
        elif name == "ASCII85Decode":
            out = ascii85(data, cap)
        elif name == "RunLengthDecode":
            out = run_length(data, cap, budget, truncate)
        elif name_is(parms.get("Name"), "Identity") or "Name" not in parms:
            out = data  # Crypt: only the identity filter reads without the document's key
        else:
            raise ScanRefused(UNSUPPORTED, "encrypted")
        return out if len(out) <= cap else over(out, cap, truncate)

    # resolution

    def _resolve(self, value) -> list:
        """Every concrete value `value` may stand for: references followed into every
        revision's definition, duplicate keys expanded."""
        out, todo, seen = [], [value], set()
        while todo:
            item = todo.pop()
            self.budget.spend(1)
            if isinstance(item, Dup):
                todo.extend(reversed(item))
            elif isinstance(item, Ref):
                if item.num in seen:
                    continue
                seen.add(item.num)
                todo.extend(reversed(self.objects.get(item.num, ())))
            else:
                out.append(item)
        return out

    def _resolve_one(self, value):
        values = self._resolve(value)
        return values[-1] if values else None

    def _encrypted(self) -> bool:
        return any(isinstance(v, dict) for t in self.trailers
                   for v in self._resolve(t.get("Encrypt")))


def _scalar(value):
    """What a value is compared by: its type and value, or the identity of a container."""
    if isinstance(value, list | dict | Stream):
        return object, id(value)
    return type(value), value


def _find_all(data: bytes, needle: bytes) -> list[int]:
    found, at = [], data.find(needle)
    while at >= 0:
        found.append(at)
        at = data.find(needle, at + len(needle))
    return found
