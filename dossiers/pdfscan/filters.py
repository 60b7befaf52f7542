"""Stream filters, decoded here with bounded output (never by a library, whose decoders we
cannot bound): Flate, LZW, ASCIIHex, ASCII85, RunLength, PNG and TIFF predictors."""

from __future__ import annotations

import base64
import re
import zlib

from .syntax import LIMIT, MALFORMED, UNSUPPORTED, Budget, ScanRefused

IMAGE_FILTERS = frozenset({"DCTDecode", "DCT", "JPXDecode", "CCITTFaxDecode", "CCF",
                            "JBIG2Decode"})
FILTER_ALIASES = {"Fl": "FlateDecode", "LZW": "LZWDecode", "AHx": "ASCIIHexDecode",
                   "A85": "ASCII85Decode", "RL": "RunLengthDecode"}
KNOWN_FILTERS = frozenset({"FlateDecode", "LZWDecode", "ASCIIHexDecode", "ASCII85Decode",
                            "RunLengthDecode", "Crypt"}) | IMAGE_FILTERS
_CHUNK = 64 * 1024
_NOT_HEX = re.compile(rb"[^0-9A-Fa-f]+")
_NOT_A85 = re.compile(rb"[\x00\t\n\x0c\r ]+")


class _Image(Exception):
    """The data is an image from here on: nothing in it is read as objects or scripts."""


def over(out, limit: int, truncate: bool):
    if truncate:
        return bytes(out[:limit])
    raise ScanRefused(LIMIT, "decoded_bytes")


def inflate(data: bytes, limit: int, truncate: bool = False) -> bytes:
    """Flate, at most `limit` bytes out; a damaged tail yields what came before it, as viewers
    show it."""
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        inflater = zlib.decompressobj(wbits)
        out = bytearray()
        try:
            for offset in range(0, len(data), _CHUNK):
                pending = data[offset:offset + _CHUNK]
                while pending and not inflater.eof:
                    out += inflater.decompress(pending, limit + 1 - len(out))
                    if len(out) > limit:
                        return over(out, limit, truncate)
                    pending = inflater.unconsumed_tail
                if inflater.eof:
                    break
        except zlib.error:
            if not out and wbits > 0:
                continue  # not zlib-wrapped: try raw deflate
        return bytes(out)
    return b""


def lzw(data: bytes, limit: int, budget: Budget, early_change: int = 1,
         truncate: bool = False) -> bytes:
    table = [bytes([i]) for i in range(256)] + [b"", b""]
    out = bytearray()
    width, buffer, bits, previous = 9, 0, 0, None
    for index, byte in enumerate(data):
        if index & 0xFFFF == 0:
            budget.check_time()
        buffer = (buffer << 8) | byte
        bits += 8
        while bits >= width:
            bits -= width
            code = buffer >> bits
            buffer &= (1 << bits) - 1
            if code == 256:
                del table[258:]
                width, previous = 9, None
                continue
            if code == 257:
                return bytes(out)
            if code < len(table):
                entry = table[code]
                if previous is not None and len(table) < 4096:
                    table.append(previous + entry[:1])
            elif code == len(table) and previous is not None:
                entry = previous + previous[:1]
                if len(table) < 4096:
                    table.append(entry)
            else:
                return bytes(out)  # a damaged code: viewers stop here too
            out += entry
            if len(out) > limit:
                return over(out, limit, truncate)
            previous = entry
            if len(table) + early_change >= (1 << width) and width < 12:
                width += 1
    return bytes(out)


def run_length(data: bytes, limit: int, budget: Budget, truncate: bool = False) -> bytes:
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        if i & 0xFFFF == 0:
            budget.check_time()
        length = data[i]
        i += 1
        if length == 128:
            break
        if length < 128:
            out += data[i:i + length + 1]
            i += length + 1
        else:
            out += data[i:i + 1] * (257 - length)
            i += 1
        if len(out) > limit:
            return over(out, limit, truncate)
    return bytes(out)


def ascii_hex(data: bytes) -> bytes:
    close = data.find(b">")
    digits = _NOT_HEX.sub(b"", data if close < 0 else data[:close])
    if len(digits) % 2:
        digits += b"0"
    return bytes.fromhex(digits.decode("ascii"))


def ascii85(data: bytes, limit: int) -> bytes:
    close = data.find(b"~>")
    body = _NOT_A85.sub(b"", data if close < 0 else data[:close])
    if body.startswith(b"<~"):
        body = body[2:]
    if len(body) + 3 * body.count(b"z") > limit + 5:
        raise ScanRefused(LIMIT, "decoded_bytes")
    try:
        return base64.a85decode(body)
    except ValueError as exc:
        raise ScanRefused(MALFORMED, "ascii85") from exc


# What one row costs beyond its bytes (slicing, conversions, the loop itself), in bytes' worth of
# work, so that a stream of one-byte rows is charged for what it costs.
_ROW_COST = 16
# Average and Paeth rows go byte by byte in Python, some times slower than a byte lexed.
_SLOW_BYTE_COST = 4


def unpredict(data: bytes, parms: dict, limit: int, budget: Budget) -> bytes:
    """PNG and TIFF predictors undone row by row, each row charged to the budget; rows are
    handled as whole integers where the arithmetic allows it."""
    predictor = parms.get("Predictor", 1)
    if not isinstance(predictor, int) or predictor <= 1:
        return data
    colors = parms.get("Colors", 1)
    bpc = parms.get("BitsPerComponent", 8)
    columns = parms.get("Columns", 1)
    if not all(isinstance(v, int) and 0 < v <= 1 << 16 for v in (colors, bpc, columns)):
        raise ScanRefused(MALFORMED, "predictor")
    bpp = max(1, (colors * bpc + 7) // 8)
    row = (colors * bpc * columns + 7) // 8
    if row > 2**20:
        raise ScanRefused(UNSUPPORTED, "predictor")
    if predictor == 2:
        if bpc != 8:
            raise ScanRefused(UNSUPPORTED, "predictor")
        return _tiff(data, row, bpp, budget)
    if predictor < 10:
        raise ScanRefused(UNSUPPORTED, "predictor")
    if -(-len(data) // (row + 1)) * row > limit:
        raise ScanRefused(LIMIT, "decoded_bytes")
    return _png(data, row, bpp, budget)


def _tiff(data: bytes, row: int, bpp: int, budget: Budget) -> bytes:
    low, high = _masks(row)
    out = []
    for start in range(0, len(data), row):
        budget.spend(row + _ROW_COST)
        budget.check_time()
        line = data[start:start + row]
        sums = _running_sum(int.from_bytes(line, "big"), len(line), bpp, low, high)
        out.append(sums.to_bytes(len(line), "big"))
    return b"".join(out)


def _png(data: bytes, row: int, bpp: int, budget: Budget) -> bytes:
    low, high = _masks(row)
    stride = row + 1
    out = []
    prior = bytes(row)
    for start in range(0, len(data), stride):
        kind = data[start]
        slow = kind in (3, 4)
        budget.spend(_ROW_COST + (row * _SLOW_BYTE_COST if slow else stride))
        budget.check_time()
        line = data[start + 1:start + stride]
        if len(line) < row:
            line += bytes(row - len(line))
        if kind == 1:
            line = _running_sum(int.from_bytes(line, "big"), row, bpp, low, high).to_bytes(
                row, "big")
        elif kind == 2:
            line = _add(int.from_bytes(line, "big"), int.from_bytes(prior, "big"), low,
                        high).to_bytes(row, "big")
        elif slow:
            line = _average(line, prior, bpp) if kind == 3 else _paeth(line, prior, bpp)
        out.append(line)
        prior = line
    return b"".join(out)


def _masks(size: int) -> tuple[int, int]:
    return int.from_bytes(b"\x7f" * size, "big"), int.from_bytes(b"\x80" * size, "big")


def _add(a: int, b: int, low: int, high: int) -> int:
    """The bytes of `a` and `b` (big-endian, side by side) added each modulo 256: the low
    seven bits of each byte added cannot carry out of it, the top bit is their XOR."""
    return ((a & low) + (b & low)) ^ ((a ^ b) & high)


def _running_sum(x: int, size: int, bpp: int, low: int, high: int) -> int:
    """Each byte plus the one `bpp` before it, already summed: a prefix sum modulo 256 along
    every `bpp`-th byte, in log2(size / bpp) whole-row additions."""
    shift = bpp
    while shift < size:
        x = _add(x, x >> (8 * shift), low, high)
        shift *= 2
    return x


def _average(line: bytes, prior: bytes, bpp: int) -> bytes:
    out = bytearray(line)
    for i in range(min(bpp, len(out))):
        out[i] = (out[i] + (prior[i] >> 1)) & 0xFF
    for i in range(bpp, len(out)):
        out[i] = (out[i] + ((out[i - bpp] + prior[i]) >> 1)) & 0xFF
    return bytes(out)


def _paeth(line: bytes, prior: bytes, bpp: int) -> bytes:
    out = bytearray(line)
    for i in range(min(bpp, len(out))):  # nothing on the left: Paeth picks the byte above
        out[i] = (out[i] + prior[i]) & 0xFF
    for i in range(bpp, len(out)):
        left, up, corner = out[i - bpp], prior[i], prior[i - bpp]
        pa, pb, pc = abs(up - corner), abs(left - corner), abs(left + up - 2 * corner)
        best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
        out[i] = (out[i] + best) & 0xFF
    return bytes(out)
