"""Horizontal bar charts as inline SVG: no script, no external reference, every text escaped.

A chart is a list of labelled rows; each row has one value per series, drawn side
by side (``stacked=False``) or end to end (``stacked=True``). The drawing scales
with its container (``viewBox``) and prints as it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

ROW = 22
GAP = 6
LABEL_WIDTH = 190
BAR_WIDTH = 470
VALUE_WIDTH = 90
WIDTH = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
LEGEND = 24

#: colour-blind-safe colours that also tell apart in grey print
PALETTE = {
    "targeted": "#9aa5b1", "sent": "#4e79a7", "bounced": "#e15759",
    "auto_replied": "#f1ce63", "replied": "#59a14f", "supports": "#1b5e20",
    "open": "#8cd17d", "undecided": "#bab0ac", "opposes": "#b6403a",
    "no-answer": "#d4a6c8", "none": "#e8e8e8",
}


@dataclass(frozen=True)
class Series:
    name: str
    label: str
    values: tuple[float, ...]
    #: a colour name (a key of PALETTE) per row, instead of the series' own
    row_colours: tuple[str, ...] = ()


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 12,
          weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}">{escape(text)}</text>')


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def bar_chart(
    chart_id: str, title: str, labels: list[str], series: list[Series], *,
    stacked: bool = False,
) -> str:
    """An ``<svg>`` element: one row per label, one bar (or segment) per series."""
    per_row = 1 if stacked else len(series)
    row_height = ROW * per_row + GAP
    top = 26 + LEGEND
    height = top + row_height * max(1, len(labels)) + 8
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    largest = max((totals if stacked else [v for s in series for v in s.values]), default=0)
    scale = BAR_WIDTH / largest if largest else 0.0
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" '
        f'role="img" aria-labelledby="{escape(chart_id)}-title" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        _text(0, 16, title, size=14, weight="bold"),
    ]
    x = 0.0
    for s in series:  # the legend (none for a series coloured row by row)
        if s.row_colours:
            continue
        colour = PALETTE.get(s.name, "#4e79a7")
        parts.append(f'<rect x="{x:.1f}" y="26" width="12" height="12" fill="{colour}" '
                     f'stroke="#333" stroke-width="0.5"/>')
        parts.append(_text(x + 16, 36, s.label, size=11))
        x += 22 + 7 * len(s.label)
    if not labels:
        parts.append(_text(0, top + 16, "(nothing to show)"))
    for i, label in enumerate(labels):
        y = top + i * row_height
        parts.append(_text(LABEL_WIDTH - 8, y + (ROW * per_row) / 2 + 4, label, anchor="end"))
        offset = 0.0
        for n, s in enumerate(series):
            value = s.values[i]
            width = value * scale
            colour = PALETTE.get(s.row_colours[i] if s.row_colours else s.name, "#4e79a7")
            bar_y = y if stacked else y + n * ROW
            bar_x = LABEL_WIDTH + (offset if stacked else 0.0)
            parts.append(
                f'<rect class="bar" x="{bar_x:.1f}" y="{bar_y + 2:.1f}" width="{width:.1f}" '
                f'height="{ROW - 4}" fill="{colour}" stroke="#333" stroke-width="0.5">'
                f"<title>{escape(label)}: {escape(s.label)} {_number(value)}</title></rect>")
            if not stacked:
                parts.append(_text(bar_x + width + 4, bar_y + ROW - 7, _number(value), size=11))
            offset += width
        if stacked:
            parts.append(_text(LABEL_WIDTH + offset + 4, y + ROW - 7, _number(totals[i]),
                               size=11))
    parts.append("</svg>")
    return "\n".join(parts)
