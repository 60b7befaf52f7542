"""Printed papers: a Django template rendered to PDF by WeasyPrint, dates in Vietnam time.

Every app that prints (the slips of the dossiers, the results of the signatures) renders its
own template through `paper_render`; the fonts it embeds come from a directory the caller
names (the portal ships DejaVu Sans), so the output does not depend on the machine's fonts.
"""

from __future__ import annotations

import atexit
import base64
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string

import qrcode

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FONT_FAMILY = "Paper Sans"  # our name for the embedded faces: no clash with a system font
PX_TO_PT = 0.75  # WeasyPrint lays out in CSS pixels (96 per inch); PDF user space is 72 per inch


# --- dates, as Vietnamese papers write them ------------------------------------------------


def vn_local(value: datetime) -> datetime:
    """The instant in Vietnam time (naive values are refused: they are ambiguous)."""
    if value.tzinfo is None:
        raise ValueError("an aware datetime is needed")
    return value.astimezone(VN_TZ)


def _two(number: int) -> str:
    return f"{number:02d}"


def date_words(value: datetime) -> str:
    """`ngày 05 tháng 3 năm 2026`: a day under 10 and the months 1 and 2 take a leading zero
    (Decree 30/2020 on administrative documents)."""
    local = vn_local(value)
    month = _two(local.month) if local.month < 3 else str(local.month)
    return f"ngày {_two(local.day)} tháng {month} năm {local.year}"


def time_words(value: datetime) -> str:
    """`14 giờ 05 phút, ngày 30 tháng 11 năm 2026`."""
    local = vn_local(value)
    return f"{_two(local.hour)} giờ {_two(local.minute)} phút, {date_words(local)}"


def place_date(place: str, value: datetime) -> str:
    """The place-and-date line under the national motto: `Quảng Trị, ngày 30 tháng 11 năm 2026`."""
    return f"{place}, {date_words(value)}" if place else date_words(value).capitalize()


def timestamp_text(value: datetime) -> str:
    """A signing time to the second: `30/11/2026 14:05:09 (GMT+7)`."""
    return vn_local(value).strftime("%d/%m/%Y %H:%M:%S (GMT+7)")


# --- QR codes ------------------------------------------------------------------------------


def qr_matrix(data: str) -> list[list[bool]]:
    """The modules of the QR code of `data`, quiet zone included (what the picture shows)."""
    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(data)
    qr.make(fit=True)
    return qr.get_matrix()


def qr_png_data_uri(data: str, *, box_size: int = 4) -> str:
    """A PNG picture of the QR code of `data`, as a data URI for an <img>."""
    qr = qrcode.QRCode(border=2, box_size=box_size,
                       error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(data)
    qr.make(fit=True)
    buffer = BytesIO()
    qr.make_image().save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# --- fonts and resources ---------------------------------------------------------------------


def _face_of(stem: str) -> tuple[int, str]:
    """Weight and style from a font file's name: `DejaVuSans-BoldOblique` -> (700, italic)."""
    suffix = stem.rpartition("-")[2].lower() if "-" in stem else ""
    weight = 700 if "bold" in suffix else 400
    style = "italic" if ("oblique" in suffix or "italic" in suffix) else "normal"
    return weight, style


def font_faces_css(font_dir: Path | None) -> str:
    """@font-face rules for the TrueType files of `font_dir`, by file:// URL built here."""
    if font_dir is None:
        return ""
    rules = []
    for path in sorted(Path(font_dir).glob("*.ttf")):
        weight, style = _face_of(path.stem)
        rules.append(
            f'@font-face {{ font-family: "{FONT_FAMILY}"; src: url("{path.resolve().as_uri()}");'
            f" font-weight: {weight}; font-style: {style}; }}"
        )
    return "\n".join(rules)


def _fetcher_for(allowed_dirs: Iterable[Path]):
    """WeasyPrint's fetcher, limited to data: URIs and files under `allowed_dirs`: a template
    an agency edits can reach neither the network nor the rest of the disk."""
    from weasyprint.urls import URLFetcher

    roots = tuple(Path(d).resolve() for d in allowed_dirs)

    class PaperFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("file:"):
                path = Path(unquote(urlsplit(url).path)).resolve()
                if not any(path.is_relative_to(root) for root in roots):
                    raise ValueError(f"not a resource of the papers: {url}")
            return super().fetch(url, headers)

    return PaperFetcher(allowed_protocols=("data", "file"), allow_redirects=False, timeout=5)


# --- rendering ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedBox:
    """Where an element with an id landed: zero-based page, box in PDF user space (points,
    origin at the bottom left), as pyHanko takes a signature field's rectangle."""

    page: int
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class RenderedPaper:
    content: bytes
    pages: int
    placed: dict[str, PlacedBox] = field(default_factory=dict)


def _walk(box):
    yield box
    for child in getattr(box, "children", ()) or ():
        yield from _walk(child)


def _locate(document, ids: set[str]) -> dict[str, PlacedBox]:
    placed: dict[str, PlacedBox] = {}
    for number, page in enumerate(document.pages):
        height_pt = page.height * PX_TO_PT
        for box in _walk(page._page_box):
            element = getattr(box, "element", None)
            name = element.get("id") if element is not None else None
            if name in ids and name not in placed and hasattr(box, "border_box_x"):
                x, y = box.border_box_x(), box.border_box_y()
                w, h = box.border_width(), box.border_height()
                placed[name] = PlacedBox(page=number, box=(
                    round(x * PX_TO_PT, 2), round(height_pt - (y + h) * PX_TO_PT, 2),
                    round((x + w) * PX_TO_PT, 2), round(height_pt - y * PX_TO_PT, 2),
                ))
    return placed


_loaded = threading.local()
# Let the configurations go before the interpreter tears down the libraries they free with.
atexit.register(_loaded.__dict__.clear)


def _fonts_for(font_dir: Path | None):
    """The font configuration with the faces of `font_dir` loaded, its stylesheet and the
    fetcher: built once per thread and directory (loading the faces is half a render)."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    cache = _loaded.__dict__.setdefault("by_dir", {})
    key = str(Path(font_dir).resolve()) if font_dir is not None else ""
    if key not in cache:
        fonts = FontConfiguration()
        fetcher = _fetcher_for([font_dir] if font_dir is not None else [])
        faces = CSS(string=font_faces_css(font_dir), font_config=fonts, url_fetcher=fetcher)
        cache[key] = (fonts, faces, fetcher)
    return cache[key]


# A paper's own stylesheets: its <style> elements (portal/papers/base.html's in the head, and
# any an included part brings).
_STYLE = re.compile(r"<style>(.*?)</style>", re.S)
# Parsed stylesheets kept per thread; a template whose style changed with every render would
# only refill this many.
STYLESHEETS_KEPT = 32


def _styles_apart(html: str, fonts, fetcher, font_key: str):
    """The page without its <style> elements, and those stylesheets in the same order, each
    parsed once per process for the same text: parsing them and compiling their selectors was
    a fifth of a render. WeasyPrint takes them as user stylesheets, which, like the document's
    own, override the user agent's defaults, in their order and by their specificity; a style
    attribute still overrides them."""
    from weasyprint import CSS

    texts = _STYLE.findall(html)
    if not texts:
        return html, []
    kept = _loaded.__dict__.setdefault("styles", {})
    sheets = []
    for text in texts:
        key = (font_key, text)
        if key not in kept:
            if len(kept) >= STYLESHEETS_KEPT:
                kept.clear()
            kept[key] = CSS(string=text, font_config=fonts, url_fetcher=fetcher)
        sheets.append(kept[key])
    return _STYLE.sub("", html), sheets


def paper_render(*, template: str, context: dict, font_dir: Path | None = None,
                 locate: Iterable[str] = ()) -> RenderedPaper:
    """Render `template` with `context` to a PDF; `locate` names element ids whose boxes the
    caller needs (a signature field over the printed stamp)."""
    from weasyprint import HTML

    html = render_to_string(template, {"font_family": FONT_FAMILY, **context})
    fonts, faces, fetcher = _fonts_for(font_dir)
    html, own = _styles_apart(html, fonts, fetcher, str(font_dir))
    document = HTML(string=html, url_fetcher=fetcher).render(
        stylesheets=[faces, *own], font_config=fonts)
    placed = _locate(document, set(locate))
    return RenderedPaper(content=document.write_pdf(), pages=len(document.pages), placed=placed)
