"""Server-rendered SVG bar charts: every bar carries its label and its value as text, so the
chart reads without colour (and with a screen reader, through <title> and the table beneath)."""

from __future__ import annotations

from html import escape


def bar_chart(rows: list[tuple[str, float, str]], *, title: str, alt: bool = False) -> str:
    """rows: (label, value, value as displayed). Horizontal bars, one per row."""
    label_w, bar_w, value_w, row_h = 110, 200, 90, 28
    width = label_w + bar_w + value_w
    height = row_h * max(1, len(rows)) + 8
    top = max((value for _label, value, _shown in rows), default=0) or 1
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value, shown) in enumerate(rows):
        y = 4 + i * row_h
        length = 0 if value <= 0 else max(2, round(bar_w * value / top))
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 18}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="{"bar-alt" if alt else "bar"}" x="{label_w}" y="{y + 5}" '
            f'width="{length}" height="{row_h - 10}" rx="3"></rect>'
            f'<text x="{label_w + length + 8}" y="{y + 18}">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
