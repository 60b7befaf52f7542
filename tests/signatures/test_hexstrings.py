"""PDF hex strings read in one pass give what pyHanko's own reader gives, or fail as it fails,
and leave the stream at the same place."""

import random
from io import BytesIO

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfStreamError

from signatures import hexstrings


def _outcome(reader, data: bytes):
    stream = BytesIO(data)
    try:
        value = reader(stream)
    except PdfStreamError as error:
        return ("error", str(error))
    return (type(value).__name__, bytes(value.original_bytes), str(value), stream.read())


def _cases():
    rnd = random.Random(2025)
    cases = [
        b"<>", b"<> rest", b"<4>", b"<41>", b"<4E6f>", b"< 4 1\n4\r2\t\x00\x0c43 >after",
        b"<FEFF00410042>", b"<EFBBBF41>", b"<feff0041 0>", b"<41", b"<", b"<4G>",
        b"<41 % a comment > inside\n42>tail", b"<41%>\n42>", b"<41>>", b"<41<42>",
        b"<" + b"ab" * 40000 + b">/Type", b"<" + b"c" * 70001 + b">",
        b"<" + b"0" * (1 << 16) + b"\n>", b"<" + b"1" * ((1 << 16) - 1) + b">",
        b"<41)>", b"<41\x80>", b"<\xff>", b"<41 42\x0b>",
    ]
    alphabet = b"0123456789abcdefABCDEF" * 4 + b" \n\r\t\x0c\x00" + b"%>g<"
    for _ in range(400):
        size = rnd.choice([1, 2, 5, 30, 200, 5000])
        body = bytes(rnd.choice(alphabet) for _ in range(size))
        cases.append(b"<" + body + rnd.choice([b">", b">x", b"", b">>"]))
    return cases


def test_every_case_reads_as_pyhanko_reads_it():
    for data in _cases():
        assert _outcome(hexstrings.read_hex_string_from_stream, data) == \
            _outcome(hexstrings._PYHANKO, data), data[:80]


def test_a_plain_string_is_read_without_pyhankos_reader(monkeypatch):
    monkeypatch.setattr(hexstrings, "_PYHANKO", lambda stream: pytest.fail("handed over"))
    stream = BytesIO(b"xx<" + b"3082 0a1b" * 5000 + b"> /Type")
    stream.seek(2)
    value = hexstrings.read_hex_string_from_stream(stream)
    assert bytes(value.original_bytes) == bytes.fromhex("30820a1b" * 5000)
    assert stream.read() == b" /Type"


def test_pyhankos_object_reader_uses_it():
    assert generic.read_hex_string_from_stream is hexstrings.read_hex_string_from_stream
    stream = BytesIO(b"<3082 0101> 0 R")
    value = generic.read_object(stream, container_ref=None)
    assert bytes(value.original_bytes) == b"\x30\x82\x01\x01"
    assert stream.read() == b" 0 R"
