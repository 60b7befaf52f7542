"""Charts drawn by the server as inline SVG: no script, no library, readable without colour.

Every chart carries a <title> and a <desc>; the figures themselves are also in a table next to
the chart (the page's job), which is what screen readers and keyboard users read. Bars link to
the dossiers behind them for pointer users (the table's links are the keyboard's way).
"""

import math
from dataclasses import dataclass, field
from itertools import count

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_ids = count(1)

FONT = 12
# Series: a solid dark blue, and a green drawn with hatching so the two differ without colour.
STROKES = ("#0b5cad", "#146c2e")


@dataclass
class Bar:
    label: str  # under or above the bar, may be shortened
    value: float | None  # None: nothing to draw (no rate without completed dossiers)
    text: str  # the value as people read it
    href: str = ""
    title: str = ""  # the full label, shown on hover


@dataclass
class Series:
    name: str
    bars: list[Bar] = field(default_factory=list)


def nice_max(value: float) -> float:
    """The top of the axis: 1, 2, 2.5 or 5 times a power of ten, at least `value`."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _fmt_tick(value: float, percent: bool) -> str:
    text = f"{value:g}".replace(".", ",")
    return f"{text}%" if percent else text


def _wrap(text: str, width: int, lines: int = 2) -> list[str]:
    """Break a label at spaces into at most `lines` lines of about `width` characters."""
    words, out, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    out.append(line)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: max(1, width - 1)].rstrip() + "…"
    return out


def _open(width: int, height: int, title: str, desc: str, css: str) -> tuple[str, list[str]]:
    uid = f"chart-{next(_ids)}"
    parts = [
        f'<svg class="{css}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{uid}-t {uid}-d" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{uid}-t">{escape(title)}</title>',
        f'<desc id="{uid}-d">{escape(desc)}</desc>',
        f'<defs><pattern id="{uid}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#e3f4e8"/>'
        '<rect width="3" height="6" fill="#146c2e"/></pattern></defs>',
    ]
    return uid, parts


def _link(bar: Bar, inner: str) -> str:
    tip = f"<title>{escape(bar.title or bar.label)}: {escape(bar.text)}</title>"
    if not bar.href:
        return f"<g>{tip}{inner}</g>"
    # Out of the tab order: the table next to the chart holds the same links.
    return f'<a href="{escape(bar.href)}" tabindex="-1">{tip}{inner}</a>'


def column_chart(
    *, title: str, desc: str, series: list[Series], y_title: str, x_title: str,
    percent: bool = False, width: int = 600, height: int = 280,
) -> SafeString:
    """Vertical bars per category (the categories are the first series' labels), one bar per
    series in each group; `percent` draws a 0-100 % axis."""
    left, right, top, bottom = 56, 10, 22, 54
    plot_w, plot_h = width - left - right, height - top - bottom
    labels = [b.label for b in series[0].bars]
    top_value = 100 if percent else nice_max(
        max((b.value or 0) for s in series for b in s.bars) if labels else 0
    )
    uid, parts = _open(width, height, title, desc, "chart-columns")
    fills = ("#0b5cad", f"url(#{uid}-hatch)")
    # Axis and grid lines with their values.
    for i in range(5):
        value = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{"#4f5b66" if i == 0 else "#d5dbe1"}" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'font-size="{FONT - 1}">{_fmt_tick(value, percent)}</text>')
    parts.append(f'<text transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" '
                 f'text-anchor="middle" font-size="{FONT}" font-weight="600">'
                 f'{escape(y_title)}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                 f'font-size="{FONT}" font-weight="600">{escape(x_title)}</text>')
    group_w = plot_w / max(1, len(labels))
    inner = group_w * 0.8
    bar_w = inner / len(series)
    value_font = FONT - 2 if bar_w >= 16 else FONT - 3
    for g, label in enumerate(labels):
        x0 = left + g * group_w + (group_w - inner) / 2
        parts.append(f'<text x="{left + g * group_w + group_w / 2:.1f}" y="{top + plot_h + 16}" '
                     f'text-anchor="middle" font-size="{FONT - 1}">{escape(label)}</text>')
        for s, serie in enumerate(series):
            bar = serie.bars[g]
            x = x0 + s * bar_w
            if bar.value is None:
                parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - 4}" '
                             f'text-anchor="middle" font-size="{value_font}">–</text>')
                continue
            h = plot_h * min(bar.value, top_value) / top_value
            y = top + plot_h - h
            rect = (f'<rect class="bar bar-{s}" data-value="{bar.value:g}" x="{x + 1:.1f}" '
                    f'y="{y:.1f}" width="{max(1.0, bar_w - 2):.1f}" height="{h:.1f}" '
                    f'fill="{fills[s % 2]}" stroke="{STROKES[s % 2]}"/>'
                    f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                    f'font-size="{value_font}">{escape(bar.text)}</text>')
            parts.append(_link(bar, rect))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped  # nosec B308, B703


def line_chart(
    *, title: str, desc: str, points: list[Bar], y_title: str, x_title: str,
    width: int = 600, height: int = 280,
) -> SafeString:
    """A percentage per category as a line with a marked point each (gaps where None)."""
    left, right, top, bottom = 56, 16, 22, 54
    plot_w, plot_h = width - left - right, height - top - bottom
    _uid, parts = _open(width, height, title, desc, "chart-line")
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{"#4f5b66" if i == 0 else "#d5dbe1"}" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'font-size="{FONT - 1}">{i * 25}%</text>')
    parts.append(f'<text transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" '
                 f'text-anchor="middle" font-size="{FONT}" font-weight="600">'
                 f'{escape(y_title)}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                 f'font-size="{FONT}" font-weight="600">{escape(x_title)}</text>')
    step = plot_w / max(1, len(points))
    coords = []
    for i, point in enumerate(points):
        x = left + step * i + step / 2
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                     f'font-size="{FONT - 1}">{escape(point.label)}</text>')
        if point.value is None:
            coords.append(None)
            continue
        coords.append((x, top + plot_h - plot_h * min(point.value, 100) / 100))
    path, pen = [], False
    for c in coords:
        if c is None:
            pen = False
            continue
        path.append(f'{"L" if pen else "M"}{c[0]:.1f} {c[1]:.1f}')
        pen = True
    if path:
        parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="#0b5cad" '
                     f'stroke-width="2.5"/>')
    for point, c in zip(points, coords, strict=True):
        if c is None:
            continue
        # A point's value sits above it, or below it near the top of the axis.
        ty = c[1] - 9 if c[1] > top + 14 else c[1] + 18
        marker = (f'<circle class="point" data-value="{point.value:g}" cx="{c[0]:.1f}" '
                  f'cy="{c[1]:.1f}" r="5" fill="#fff" stroke="#0b5cad" stroke-width="2.5"/>'
                  f'<text x="{c[0]:.1f}" y="{ty:.1f}" text-anchor="middle" '
                  f'font-size="{FONT - 2}">{escape(point.text)}</text>')
        parts.append(_link(point, marker))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped  # nosec B308, B703


def bar_chart(
    *, title: str, desc: str, bars: list[Bar], x_title: str, percent: bool = False,
    width: int = 380,
) -> SafeString:
    """Horizontal bars, each under its (wrapped) label: long Vietnamese names stay readable on a
    phone. `percent` draws a 0-100 % scale."""
    left, right, top = 4, 64, 8
    track = width - left - right
    wrap = max(20, int(width / (FONT * 0.62)))  # DejaVu Sans is wide
    top_value = 100 if percent else nice_max(max((b.value or 0) for b in bars) if bars else 0)
    rows, y = [], top
    for bar in bars:
        lines = _wrap(bar.label, wrap, lines=3)
        rows.append((bar, lines, y))
        y += len(lines) * (FONT + 3) + 26
    axis_y = y + 2
    height = axis_y + 40
    _uid, parts = _open(width, height, title, desc, "chart-bars")
    for i in range(5):
        x = left + track * i / 4
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{axis_y}" '
                     f'stroke="#e1e6eb" stroke-width="1"/>')
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        parts.append(f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="{anchor}" '
                     f'font-size="{FONT - 1}">{_fmt_tick(top_value * i / 4, percent)}</text>')
    parts.append(f'<line x1="{left}" x2="{left + track}" y1="{axis_y}" y2="{axis_y}" '
                 f'stroke="#4f5b66"/>')
    parts.append(f'<text x="{left + track / 2:.1f}" y="{axis_y + 34}" text-anchor="middle" '
                 f'font-size="{FONT}" font-weight="600">{escape(x_title)}</text>')
    for bar, lines, y0 in rows:
        label = "".join(
            f'<tspan x="{left}" dy="{0 if i == 0 else FONT + 3}">{escape(line)}</tspan>'
            for i, line in enumerate(lines)
        )
        parts.append(f'<text x="{left}" y="{y0 + FONT}" font-size="{FONT}">{label}</text>')
        by = y0 + len(lines) * (FONT + 3) + 4
        if bar.value is None:
            inner = (f'<text x="{left}" y="{by + 12}" font-size="{FONT - 1}">'
                     f'{escape(bar.text)}</text>')
        else:
            w = track * min(bar.value, top_value) / top_value
            inner = (f'<rect class="bar" data-value="{bar.value:g}" x="{left}" y="{by}" '
                     f'width="{max(w, 1.5):.1f}" height="16" fill="#0b5cad"/>'
                     f'<text x="{left + w + 5:.1f}" y="{by + 12}" font-size="{FONT - 1}" '
                     f'font-weight="600">{escape(bar.text)}</text>')
        parts.append(_link(bar, inner))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped  # nosec B308, B703
