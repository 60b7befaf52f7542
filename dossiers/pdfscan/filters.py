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


def unpredict(data: bytes, parms: dict, limit: int, budget: Budget) -> bytes:
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
        out = bytearray(data)
        for start in range(0, len(out), row):
            budget.check_time()
            for i in range(start + bpp, min(start + row, len(out))):
                out[i] = (out[i] + out[i - bpp]) & 0xFF
        return bytes(out)
    if predictor < 10:
        raise ScanRefused(UNSUPPORTED, "predictor")
    out = bytearray()
    prior = bytearray(row)
    for start in range(0, len(data), row + 1):
        budget.check_time()
        kind = data[start]
        line = bytearray(data[start + 1:start + 1 + row])
        line.extend(b"\0" * (row - len(line)))
        for i in range(row):
            left = line[i - bpp] if i >= bpp else 0
            up = prior[i]
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif kind == 4:
                corner = prior[i - bpp] if i >= bpp else 0
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + best) & 0xFF
        out += line
        prior = line
        if len(out) > limit:
            raise ScanRefused(LIMIT, "decoded_bytes")
    return bytes(out)
