"""One self-contained HTML page: inline plotly.js, each figure's JSON embedded, plain tables.

The figure JSON sits in ``<script type="application/json" class="figure-json">`` tags so the page
works offline and tests (or users) can read exactly what was drawn.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1300px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } code { font-size: 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(600px, 1fr)); gap: 8px; }
.note { color: #8a5300; } .warning { color: #b00020; }
"""

RENDER = """
for (const tag of document.querySelectorAll('script.figure-json')) {
  const fig = JSON.parse(tag.textContent);
  Plotly.newPlot(document.getElementById(tag.dataset.target), fig.data, fig.layout,
                 {responsive: true, displaylogo: false});
}
"""


@dataclass
class Section:
    """A heading with HTML blocks (tables, notes) and figures under it."""

    title: str
    blocks: list[str]
    figures: list[tuple[str, go.Figure]]


def table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def note(text: str, kind: str = "note") -> str:
    return f'<p class="{kind}">{html.escape(text)}</p>'


def figure_json(fig: go.Figure) -> str:
    """The figure as JSON that cannot close its script tag early."""
    return fig.to_json().replace("</", "<\\/")


def render_page(title: str, sections: list[Section]) -> str:
    """The whole page as one string."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>",
        f"<script>{get_plotlyjs()}</script></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts += section.blocks
        if section.figures:
            parts.append('<div class="grid">')
            for name, fig in section.figures:
                target = f"fig-{name}"
                parts.append(f'<div class="figure" id="{html.escape(target)}"></div>')
                parts.append(
                    f'<script type="application/json" class="figure-json" '
                    f'data-name="{html.escape(name)}" data-target="{html.escape(target)}">'
                    f"{figure_json(fig)}</script>"
                )
            parts.append("</div>")
    parts.append(f"<script>{RENDER}</script></body></html>")
    return "\n".join(parts)
