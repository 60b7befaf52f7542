"""Small PDFs built byte by byte for the scanner's tests: well-formed ones with a real
cross-reference table, and the hostile shapes the scanner must see through."""

import base64
import binascii
import zlib

CATALOG = b"<</Type/Catalog/Pages 2 0 R>>"
PAGES = b"<</Type/Pages/Kids[]/Count 0>>"


def build(objects: dict[int, bytes], *, trailer: bytes = b"", version: bytes = b"1.7") -> bytes:
    """A PDF of the given objects (number -> body), with an xref table that points at them."""
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number, body in sorted(objects.items()):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    out += xref_and_trailer(offsets, len(out), trailer=trailer)
    return bytes(out)


def xref_and_trailer(offsets: dict[int, int], at: int, *, trailer: bytes = b"",
                     prev: int | None = None) -> bytes:
    size = max(offsets) + 1
    table = b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        if number in offsets:
            table += b"%010d 00000 n \n" % offsets[number]
        else:
            table += b"0000000000 65535 f \n"
    extra = trailer + (b"/Prev %d" % prev if prev is not None else b"")
    return table + b"trailer\n<</Size %d/Root 1 0 R%s>>\nstartxref\n%d\n%%%%EOF\n" % (
        size, extra, at)


def stream(data: bytes, attrs: bytes = b"") -> bytes:
    return b"<<%s/Length %d>>stream\n" % (attrs, len(data)) + data + b"\nendstream"


def with_catalog(extra_catalog: bytes = b"", **objects: bytes) -> dict[int, bytes]:
    """Objects 1 (catalog, plus `extra_catalog`) and 2 (pages), and `o3=..., o4=...`."""
    found = {1: CATALOG[:-2] + extra_catalog + b">>", 2: PAGES}
    found.update({int(key[1:]): body for key, body in objects.items()})
    return found


def object_stream(members: dict[int, bytes], filters: tuple[str, ...] = ("FlateDecode",),
                  extra: bytes = b"") -> bytes:
    """An object stream holding `members`, encoded through `filters` (listed outermost last,
    as the /Filter array names them in decoding order)."""
    header = b""
    body = b""
    for number, obj in members.items():
        header += b"%d %d " % (number, len(body))
        body += obj + b"\n"
    data = header + body
    for name in reversed(filters):
        data = ENCODERS[name](data)
    names = b"".join(b"/" + name.encode() for name in filters)
    attrs = b"/Type/ObjStm/N %d/First %d/Filter[%s]%s" % (len(members), len(header), names,
                                                          extra)
    return stream(data, attrs)


def _lzw_encode(data: bytes) -> bytes:
    """LZW as PDF writes it (early change 1), enough for the tests' small inputs."""
    table = {bytes([i]): i for i in range(256)}
    width, buffer, bits, out, word = 9, 0, 0, bytearray(), b""

    def emit(code: int) -> None:
        nonlocal buffer, bits
        buffer = (buffer << width) | code
        bits += width
        while bits >= 8:
            bits -= 8
            out.append((buffer >> bits) & 0xFF)

    emit(256)
    for byte in data:
        candidate = word + bytes([byte])
        if candidate in table:
            word = candidate
            continue
        emit(table[word])
        table[candidate] = len(table) + 2
        if len(table) + 2 >= 4094:  # full: start again
            emit(256)
            table = {bytes([i]): i for i in range(256)}
            width = 9
        elif len(table) + 2 >= (1 << width):
            width += 1
        word = bytes([byte])
    emit(table[word])
    emit(257)
    if bits:
        out.append((buffer << (8 - bits)) & 0xFF)
    return bytes(out)


def _run_length_encode(data: bytes) -> bytes:
    out = bytearray()
    for start in range(0, len(data), 128):
        chunk = data[start:start + 128]
        out += bytes([len(chunk) - 1]) + chunk
    return bytes(out + b"\x80")


ENCODERS = {
    "FlateDecode": zlib.compress,
    "ASCIIHexDecode": lambda d: binascii.hexlify(d) + b">",
    "ASCII85Decode": lambda d: base64.a85encode(d) + b"~>",
    "LZWDecode": _lzw_encode,
    "RunLengthDecode": _run_length_encode,
}

def png_predict(data: bytes, columns: int, bpp: int, kinds: list[int]) -> bytes:
    """`data` in rows of `columns` bytes, each written with the PNG filter of its row's kind
    (0 none, 1 sub, 2 up, 3 average, 4 Paeth) and prefixed with it, as the PNG spec encodes."""
    out, prior = bytearray(), bytes(columns)
    for index, start in enumerate(range(0, len(data), columns)):
        row = data[start:start + columns].ljust(columns, b"\0")
        kind = kinds[index % len(kinds)]
        out.append(kind)
        for i, byte in enumerate(row):
            left = row[i - bpp] if i >= bpp else 0
            corner = prior[i - bpp] if i >= bpp else 0
            up = prior[i]
            guess = [0, left, up, (left + up) // 2, _paeth(left, up, corner)][kind]
            out.append((byte - guess) & 0xFF)
        prior = row
    return bytes(out)


def _paeth(left: int, up: int, corner: int) -> int:
    estimate = left + up - corner
    distances = [abs(estimate - left), abs(estimate - up), abs(estimate - corner)]
    return (left, up, corner)[distances.index(min(distances))]


def tiff_predict(data: bytes, columns: int, bpp: int) -> bytes:
    """TIFF predictor 2 with 8-bit components: each byte minus the one `bpp` before it."""
    out = bytearray()
    for start in range(0, len(data), columns):
        row = data[start:start + columns]
        out += bytes((b - (row[i - bpp] if i >= bpp else 0)) & 0xFF for i, b in enumerate(row))
    return bytes(out)


JS_ACTION = b"<</Type/Action/S/JavaScript/JS(app.alert(1))>>"
