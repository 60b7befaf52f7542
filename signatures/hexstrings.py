"""PDF hex strings (`<4E6F...>`) read in one pass.

pyHanko reads a hex string one byte at a time, a few Python calls a digit. A signature's
/Contents is one, as long as the room its signing tool reserved: 6,420 digits in a demo form
(5 ms), 16,384 in pyHanko's own fixed placeholder, more with an embedded timestamp or
revocation data; a hostile file's megabytes would take seconds. Here a plain hex string,
hex digits and white space up to the first `>`, is read and decoded at once. Anything else
(a comment, any other byte, the end of the file) is handed to pyHanko's own reader from the
same place, so its result or its error is pyHanko's."""

import binascii

from pyhanko.pdf_utils import generic, misc

_PYHANKO = generic.read_hex_string_from_stream
CHUNK = 1 << 16


def read_hex_string_from_stream(stream):
    """What `pyhanko.pdf_utils.generic.read_hex_string_from_stream` reads, from a stream at
    the opening `<`, leaving the stream after the closing `>`."""
    start = stream.tell()
    stream.read(1)  # the "<"
    parts = []
    while True:
        chunk = stream.read(CHUNK)
        end = chunk.find(b">")
        if end >= 0:
            parts.append(chunk[:end])
            break
        if not chunk:  # no end: pyHanko says how it refuses that
            stream.seek(start)
            return _PYHANKO(stream)
        parts.append(chunk)
    body = b"".join(parts)
    digits = body.translate(None, misc.PDF_WHITESPACE)
    if digits.translate(None, generic.HEX_DIGITS):
        stream.seek(start)
        return _PYHANKO(stream)
    stream.seek(start + len(body) + 2)
    if len(digits) % 2:
        digits += b"0"  # as pyHanko (and the PDF standard): a missing last digit is 0
    return generic.pdf_string(binascii.unhexlify(digits))


def install() -> None:
    """Have pyHanko's object reader use this reader (it looks the name up at each call)."""
    generic.read_hex_string_from_stream = read_hex_string_from_stream
