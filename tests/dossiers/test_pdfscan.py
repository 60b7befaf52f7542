"""The PDF scanner: hostile files refused for what they are, real files accepted, and a cost
that grows with the file's size, not its square."""

import io
import json
import random
import time
import zlib
from pathlib import Path

import pytest

from dossiers.pdfscan import Limits, ScanRefused, pdf_scan
from dossiers.pdfscan.filters import lzw, unpredict
from dossiers.pdfscan.syntax import Budget, Lexer
from tests.conftest import PDF_BYTES

from .hostile_pdfs import (
    ENCODERS,
    JS_ACTION,
    build,
    object_stream,
    png_predict,
    stream,
    tiff_predict,
    with_catalog,
    xref_and_trailer,
)

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "pdf-signatures"
MANIFEST = CORPUS / "manifest.json"
ENTRIES = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else []


def refused(content: bytes, limits: Limits | None = None) -> tuple[str, str]:
    with pytest.raises(ScanRefused) as exc:
        pdf_scan(content, limits)
    return exc.value.kind, exc.value.reason


def opens_with(action: bytes) -> bytes:
    return build(with_catalog(b"/OpenAction 3 0 R", o3=action))


# --- files that must pass -----------------------------------------------------------------


@pytest.mark.skipif(not ENTRIES, reason="the shared signature corpus is not available")
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["file"].rsplit("/", 1)[-1])
def test_every_signed_pdf_of_the_corpus_passes(entry):
    report = pdf_scan((CORPUS / entry["file"]).read_bytes())

    assert report.objects > 0


def test_a_pdf_rendered_and_signed_like_ours_passes():
    from tests.signatures.pki import build_pki, one_page_pdf, sign_pdf

    pki = build_pki()
    signed = sign_pdf(one_page_pdf(), pki.leaves["business"])
    twice = sign_pdf(signed, pki.leaves["citizen"], field="Signature2")

    assert pdf_scan(one_page_pdf()).objects > 0
    assert pdf_scan(twice).revisions == 3


def test_a_file_without_a_cross_reference_table_is_read_as_a_viewer_repairs_it():
    assert pdf_scan(PDF_BYTES).objects == 2


def test_a_link_the_reader_clicks_may_open_an_address():
    annotation = b"<</Type/Annot/Subtype/Link/Rect[0 0 9 9]/A<</S/URI/URI(https://x.test/)>>>>"

    assert pdf_scan(build(with_catalog(o3=annotation))).objects == 3


def test_words_inside_strings_and_page_content_are_not_actions():
    content = stream(b"BT (/JavaScript /Launch 1 0 obj) Tj ET")
    annotation = b"<</Type/Annot/Contents(/S /JavaScript /JS (x))>>"

    pdf_scan(build(with_catalog(o3=content, o4=annotation)))  # passes


# --- the hostile set ----------------------------------------------------------------------


def _objstm_pdf(filters, members=None, extra=b"") -> bytes:
    members = members or {3: JS_ACTION}
    return build(with_catalog(b"/OpenAction 3 0 R", o9=object_stream(members, filters, extra)))


@pytest.mark.parametrize("filters", [
    ("FlateDecode",),
    ("ASCIIHexDecode", "FlateDecode"),
    ("ASCII85Decode", "LZWDecode"),
    ("RunLengthDecode",),
    ("ASCIIHexDecode", "ASCII85Decode", "RunLengthDecode", "FlateDecode"),
], ids="+".join)
def test_javascript_behind_any_chain_of_filters_in_an_object_stream_is_refused(filters):
    assert refused(_objstm_pdf(filters)) == ("active", "javascript")


def test_javascript_behind_a_png_predictor_is_refused():
    header = b"3 0 "
    plain = header + JS_ACTION
    columns = 8
    rows = [plain[i:i + columns].ljust(columns, b" ") for i in range(0, len(plain), columns)]
    prior, encoded = bytes(columns), b""
    for row in rows:  # PNG "Up": each byte minus the one above it
        encoded += b"\x02" + bytes((a - b) & 0xFF for a, b in zip(row, prior, strict=True))
        prior = row
    body = stream(zlib.compress(encoded), b"/Type/ObjStm/N 1/First %d/Filter/FlateDecode"
                  b"/DecodeParms<</Predictor 12/Columns %d>>" % (len(header), columns))

    assert refused(build(with_catalog(o9=body))) == ("active", "javascript")


@pytest.mark.parametrize(("name", "reason"), [
    (b"/J#61vaScript", "javascript"),
    (b"/#4A#61#76#61#53#63#72#69#70#74", "javascript"),
    (b"/#4c#61#75#6e#63#68", "launch"),
    (b"/javascript", "javascript"),
])
def test_action_names_are_compared_after_their_escapes_are_decoded(name, reason):
    assert refused(opens_with(b"<</S" + name + b"/F(x)>>")) == ("active", reason)


def test_an_action_type_given_by_reference_is_followed():
    pdf = build(with_catalog(o3=b"<</S 4 0 R/F(cmd.exe)>>", o4=b"/Launch"))

    assert refused(pdf) == ("active", "launch")


def test_a_launch_in_a_pages_additional_actions_is_refused():
    page = b"<</Type/Page/Parent 2 0 R/AA<</O<</S/Launch/F(cmd.exe)>>>>>>"

    assert refused(build(with_catalog(o3=page))) == ("active", "launch")


@pytest.mark.parametrize("catalog, objects", [
    (b"/OpenAction<</S/URI/URI(https://x.test/)>>", {}),
    (b"/OpenAction 3 0 R", {"o3": b"<</S/GoTo/D[0/Fit]/Next 4 0 R>>",
                            "o4": b"<</S/URI/URI(https://x.test/)>>"}),
    (b"/AA<</WC<</S/URI/URI(https://x.test/)>>>>", {}),
    (b"/OpenAction 3 0 R", {"o3": b"<</S 4 0 R/URI(https://x.test/)>>", "o4": b"/URI"}),
], ids=["open-action", "chained-by-next", "additional-action", "type-by-reference"])
def test_an_address_opened_without_a_click_is_refused(catalog, objects):
    assert refused(build(with_catalog(catalog, **objects))) == ("active", "automatic_uri")


def _embedded(data: bytes) -> bytes:
    return build(with_catalog(
        b"/Names<</EmbeddedFiles<</Names[(setup.pdf)3 0 R]>>>>",
        o3=b"<</Type/Filespec/F(setup.pdf)/EF<</F 4 0 R>>>>",
        o4=stream(zlib.compress(data), b"/Type/EmbeddedFile/Filter/FlateDecode"),
    ))


@pytest.mark.parametrize("head", [
    b"MZ\x90\x00\x03\x00\x00\x00", b"\x7fELF\x02\x01\x01", b"\xcf\xfa\xed\xfe\x07\x00",
    b"#!/bin/sh\n",
], ids=["pe", "elf", "mach-o", "script"])
def test_an_embedded_executable_is_refused_and_named_as_such(head):
    assert refused(_embedded(head + b"\x00" * 4096)) == ("active", "embedded_executable")


def test_every_other_embedded_file_is_refused_too():
    assert refused(_embedded(b"<hoa-don>...</hoa-don>")) == ("active", "embedded_file")


def test_a_file_attachment_annotation_is_refused():
    annotation = b"<</Type/Annot/Subtype/FileAttachment/FS<</Type/Filespec/F(a.txt)>>>>"

    assert refused(build(with_catalog(o3=annotation))) == ("active", "embedded_file")


def test_an_xfa_form_is_refused_for_the_scripts_it_carries():
    assert refused(build(with_catalog(b"/AcroForm<</Fields[]/XFA 3 0 R>>",
                                      o3=stream(b"<xdp:xdp/>")))) == ("active", "xfa")


def test_bytes_after_the_pdf_header_that_are_not_a_pdf_are_refused():
    rng = random.Random(7)
    garbage = bytes(rng.randrange(256) for _ in range(4096))

    assert refused(b"%PDF-1.7\n" + garbage) == ("malformed", "no_catalog")
    assert refused(b"%PDF-") == ("malformed", "no_catalog")
    assert refused(b"MZ%PDF-1.7\n" + PDF_BYTES) == ("malformed", "header")


def test_a_deeply_nested_array_is_refused_at_the_depth_limit():
    nested = b"[" * 5000 + b"]" * 5000

    assert refused(build(with_catalog(o3=nested))) == ("limit", "depth")


def test_a_flate_bomb_is_refused_at_the_decoded_bytes_limit():
    bomb = zlib.compress(b"0 0 " + b" " * (Limits().decoded_bytes + 1), 9)
    body = stream(bomb, b"/Type/ObjStm/N 1/First 4/Filter/FlateDecode")

    assert len(bomb) < 100_000
    assert refused(build(with_catalog(o9=body))) == ("limit", "decoded_bytes")


def test_an_object_hidden_in_another_streams_data_is_found_through_the_xref():
    # The header has a comment inside, which no search for `N G obj` would match; the xref
    # table points at it, as a viewer reading the xref would follow.
    head = b"%PDF-1.7\n"
    one = b"1 0 obj\n<</Type/Catalog/Pages 2 0 R/OpenAction 4 0 R>>\nendobj\n"
    two = b"2 0 obj\n<</Type/Pages/Kids[]/Count 0>>\nendobj\n"
    hidden = b"4 0 %x\nobj <</S/JavaScript/JS(x)>> endobj\n"
    image = stream(b"\xff\xd8" + hidden + b"\xff\xd9", b"/Subtype/Image/Filter/DCTDecode")
    three_at = len(head) + len(one) + len(two)
    three = b"3 0 obj\n" + image + b"\nendobj\n"
    body = head + one + two + three
    offsets = {1: len(head), 2: len(head) + len(one), 3: three_at,
               4: body.index(b"4 0 %x")}

    assert refused(body + xref_and_trailer(offsets, len(body))) == ("active", "javascript")


def test_an_earlier_revision_is_read_too():
    original = build(with_catalog(b"/OpenAction 3 0 R", o3=JS_ACTION))
    update_at = len(original)
    benign = b"3 0 obj\n<</S/GoTo/D[0/Fit]>>\nendobj\n"
    updated = original + benign + xref_and_trailer(
        {3: update_at}, update_at + len(benign), prev=original.rindex(b"xref"))

    assert refused(updated) == ("active", "javascript")


def test_a_damaged_object_that_names_an_action_is_refused():
    damaged = b"<</Type/Annot/A<</S/JavaScript ) /JS (x)>>"

    assert refused(build(with_catalog(o3=damaged))) == ("active", "damaged_object")


def test_a_key_given_twice_counts_with_both_values():
    assert refused(opens_with(b"<</S/GoTo/D[0/Fit]/S/JavaScript>>")) == ("active", "javascript")


def test_a_stream_with_an_unknown_filter_is_refused():
    body = stream(b"...", b"/Filter/BrotliDecode")

    assert refused(build(with_catalog(o3=body))) == ("unsupported", "filter")


def test_object_streams_of_an_encrypted_file_cannot_be_read_and_are_refused():
    pdf = build(with_catalog(o9=object_stream({3: b"<</A 1>>"}), o8=b"<</Filter/Standard>>"),
                trailer=b"/Encrypt 8 0 R")

    assert refused(pdf) == ("unsupported", "encrypted")


def test_an_object_stream_whose_layout_two_revisions_disagree_on_is_refused():
    members = stream(zlib.compress(b"3 0 <</A 1>>"),
                     b"/Type/ObjStm/N 1/First 7 0 R/Filter/FlateDecode")
    original = build(with_catalog(o9=members, o7=b"4"))
    at = len(original)
    other = b"7 0 obj 0 endobj\n"
    updated = original + other + xref_and_trailer({7: at}, at + len(other),
                                                  prev=original.rindex(b"xref"))

    assert refused(updated) == ("malformed", "ambiguous")


def test_a_number_with_thousands_of_leading_zeros_is_read_as_its_value():
    zeros = b"0" * 5000
    hidden = opens_with(JS_ACTION).replace(b"/OpenAction 3 0 R", b"/OpenAction " + zeros + b"3 0 R")

    numbers = b"-" + zeros + b"5 +" + zeros + b" " + zeros + b" 0." + zeros + b"1"
    lexer = Lexer(numbers, 0, Budget(Limits(), len(numbers)))

    assert refused(hidden) == ("active", "javascript")
    assert [lexer.next()[1] for _ in range(4)] == [-5, 0, 0, 0.0]
    assert pdf_scan(build(with_catalog(o3=b"[" + numbers + b"]"))).objects == 3


def test_a_failure_inside_the_scanner_refuses_the_file(monkeypatch, caplog):
    from dossiers.exceptions import InvalidPdf
    from dossiers.pdfscan import scan
    from dossiers.services.documents import pdf_check

    def broken(self):
        raise RuntimeError("a bug in the scanner")

    monkeypatch.setattr(scan._Scan, "_check", broken)

    assert refused(PDF_BYTES) == ("malformed", "scan_failed")
    with pytest.raises(InvalidPdf) as exc:
        pdf_check(PDF_BYTES)
    assert exc.value.extra == {"reason": "scan_failed"}
    assert "a bug in the scanner" in caplog.text  # logged with its traceback


# --- decoders -------------------------------------------------------------------------------


def test_lzw_decodes_what_an_independent_encoder_wrote():
    from PIL import Image

    rng = random.Random(3)
    data = bytes(rng.choice(b"abcdefgh") for _ in range(30_000))  # past 4096 codes: clears
    out = io.BytesIO()
    Image.frombytes("L", (len(data), 1), data).save(out, format="TIFF",
                                                   compression="tiff_lzw")
    tiff = Image.open(io.BytesIO(out.getvalue()))
    offset, length = tiff.tag_v2[273][0], tiff.tag_v2[279][0]

    budget = Budget(Limits(), 1)
    assert lzw(out.getvalue()[offset:offset + length], 10**6, budget) == data
    assert lzw(bytes.fromhex("800B6050220C0C8501"), 100, budget) == b"-----A---B"
    assert lzw(ENCODERS["LZWDecode"](data), 10**6, budget) == data


# --- cost -------------------------------------------------------------------------------------


def _crafted(shape: bytes, size: int) -> bytes:
    return PDF_BYTES + shape * (size // len(shape))


def _cost(content: bytes) -> tuple[int, float]:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        try:
            work = pdf_scan(content).work
        except ScanRefused as exc:
            work = exc.work
        best = min(best, time.perf_counter() - started)
    return work, best


@pytest.mark.parametrize("shape", [
    b"stream\n",  # the shape that made the old regular expressions quadratic
    b"1 0 obj (",  # every header opens a string that never closes
    b"1 0 obj <<",  # every header opens a dictionary that never closes
    b"1 0 obj\n<</Length 5 0 R>>stream\n",  # streams that never end
    b"  \n \n 7 0 obj [/S/GoTo] endobj\n",
], ids=["stream", "string", "dictionary", "unended-stream", "objects"])
def test_the_cost_of_a_crafted_file_grows_linearly_with_its_size(shape):
    size = 40_000
    work_1, time_1 = _cost(_crafted(shape, size))
    work_4, time_4 = _cost(_crafted(shape, 4 * size))

    # Work counts every byte the lexer read and every byte decoded: four times the input,
    # about four times the work, where a quadratic scan would do sixteen; the clock agrees
    # (with room for a busy machine).
    assert work_4 <= 4.4 * work_1
    assert work_4 <= (Limits().work_factor + 1) * 4 * size + 2**20  # one token past the cap
    assert time_4 <= 8 * time_1 + 0.05


@pytest.mark.parametrize("shape", ["stream", "array"])
def test_a_parameter_named_by_many_streams_costs_its_size_once(shape):
    # Every object stream takes its /N and /First from object 5: a stream holding the whole
    # file's bytes, or a long array. Comparing the values a parameter resolves to by their
    # whole contents made the cost the product of the two.
    def crafted(size):
        big = (stream(b"A" * size, b"/Type/Foo") if shape == "stream"
               else b"[" + b"0 " * (size // 8) + b"]")
        heads = b"".join(b"%d 0 obj <</N 5 0 R/First 5 0 R>> stream\nendstream endobj\n" % (10 + i)
                         for i in range(size // 60))
        return PDF_BYTES + b"5 0 obj " + big + b" endobj\n" + heads

    size = 25_000
    work_1, time_1 = _cost(crafted(size))
    work_4, time_4 = _cost(crafted(4 * size))

    assert work_4 <= 4.4 * work_1
    assert time_4 <= 8 * time_1 + 0.05


def test_object_streams_that_never_end_are_charged_for_each_read_of_their_bytes():
    # Each runs to the end of the file: reading them all copies the square of its size, which
    # the work budget must see (the clock alone would let it run to its limit).
    assert refused(_crafted(b"1 0 obj <</N 1/First 0>> stream\n", 500_000)) == ("limit", "work")


# --- predictors -----------------------------------------------------------------------------


def _predicted(data: bytes, parms: bytes, predicted: bytes) -> bytes:
    """An object stream holding `data` (object 3 and its header), encoded as `predicted`."""
    attrs = b"/Type/ObjStm/N 1/First 4/Filter/FlateDecode/DecodeParms<<%s>>" % parms
    return build(with_catalog(b"/OpenAction 3 0 R", o9=stream(zlib.compress(predicted), attrs)))


KINDS = pytest.mark.parametrize("kinds", [[0], [1], [2], [3], [4], [4, 1, 3, 0, 2]],
                                ids=["none", "sub", "up", "average", "paeth", "mixed"])


@KINDS
@pytest.mark.parametrize("colors", [1, 3])
def test_javascript_behind_every_png_predictor_is_refused(kinds, colors):
    data = b"3 0 " + JS_ACTION
    parms = b"/Predictor 12/Colors %d/Columns 7" % colors

    assert refused(_predicted(data, parms, png_predict(data, 7 * colors, colors, kinds))) == (
        "active", "javascript")


@KINDS
@pytest.mark.parametrize(("colors", "columns"), [(1, 1), (1, 64), (3, 21), (4, 1), (2, 300)])
def test_png_predictors_decode_what_an_independent_encoder_wrote(kinds, colors, columns):
    rng = random.Random(colors * 1000 + columns)
    row = colors * columns
    data = bytes(rng.randrange(256) for _ in range(row * 9 + row // 2))
    parms = {"Predictor": 12, "Colors": colors, "Columns": columns}
    padded = data.ljust(-(-len(data) // row) * row, b"\0")

    budget = Budget(Limits(), 10**6)
    assert unpredict(png_predict(data, row, colors, kinds), parms, 10**6, budget) == padded
    assert unpredict(tiff_predict(data, row, colors), {**parms, "Predictor": 2}, 10**6,
                     budget) == data


@pytest.mark.parametrize("colors", [1, 3])
def test_javascript_behind_a_tiff_predictor_is_refused(colors):
    data = b"3 0 " + JS_ACTION + b" " * 40
    parms = b"/Predictor 2/Colors %d/Columns 5" % colors

    assert refused(_predicted(data, parms, tiff_predict(data, 5 * colors, colors))) == (
        "active", "javascript")


def test_a_predictor_bomb_is_refused_in_proportion_to_its_size():
    # Rows of zeros predicted "up" compress a thousand times: a few dozen kilobytes would
    # otherwise have the scanner undo predictors over nearly all of the decoded-bytes limit.
    row = b"\x02" + b"\0" * 1000
    bomb = zlib.compress(row * (Limits().decoded_bytes // 1001 - 1), 9)
    xref = stream(bomb, b"/Type/XRef/W[1 2 1]/Filter/FlateDecode"
                        b"/DecodeParms<</Predictor 12/Columns 1000>>")
    pdf = build(with_catalog(o9=xref))

    with pytest.raises(ScanRefused) as exc:
        pdf_scan(pdf)

    assert (exc.value.kind, exc.value.reason) == ("limit", "decoded_bytes")
    assert exc.value.work <= Limits().decoded_bytes // 8


@pytest.mark.parametrize("kind", [1, 2], ids=["sub", "up"])
def test_undoing_a_predictor_costs_about_what_decoding_the_rows_does(kind):
    columns, count = 1000, 1000
    rng = random.Random(11)
    row = b"3 0 <</A 1>>" + bytes(rng.choice(b"abcd") for _ in range(columns - 12))
    encoded = png_predict(row * 2, columns, 1, [kind])  # every row after the first encodes
    predicted = encoded[:columns + 1] + encoded[columns + 1:] * (count - 1)  # like the second
    plain = build(with_catalog(o9=stream(zlib.compress(row * count),
                                         b"/Type/ObjStm/N 1/First 4/Filter/FlateDecode")))
    work_plain, time_plain = _cost(plain)
    work_predicted, time_predicted = _cost(
        _predicted(row * count, b"/Predictor 12/Columns %d" % columns, predicted))

    assert work_predicted <= 2.5 * work_plain
    assert time_predicted <= 8 * time_plain + 0.05
