"""Reading a written HTML report back: the plotly figures it embeds, by name."""

from __future__ import annotations

import json
import re
from typing import Any

_FIGURE = re.compile(
    r'<script type="application/json" class="figure-json" data-name="([^"]+)"[^>]*>(.*?)'
    r"</script>",
    re.S,
)


def embedded_figures(html: str) -> dict[str, dict[str, Any]]:
    """Each figure's JSON (the page escapes ``</`` inside it) by its data-name."""
    return {name: json.loads(body.replace("<\\/", "</")) for name, body in _FIGURE.findall(html)}
