"""Plot axes in a parameter's own sampling coordinates (log, 1−β log, categories)."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Any

from search_spaces.scales import Choice, Int, IntLog, OneMinusLog, Pow2, Scale

JITTER = 0.3  # width of the cloud of points around a category


@dataclass(frozen=True)
class Axis:
    """Where a parameter's values go on a plot axis, and that axis's plotly layout."""

    name: str
    scale: Scale

    def position(self, value: Any, key: str = "") -> float:
        """A trial's coordinate; categories are jittered by the trial key so reruns match."""
        if isinstance(self.scale, Choice):
            spread = (zlib.crc32(key.encode()) % 1000 / 999 - 0.5) * JITTER
            return self.scale.index(value) + spread
        if isinstance(self.scale, OneMinusLog):
            return 1.0 - float(value)
        return float(value)

    def edge(self, u: float) -> float:
        """The coordinate of a unit coordinate, continuous even for discrete scales (box edges)."""
        scale = self.scale
        if isinstance(scale, Choice | Int | Pow2):
            cell = u * scale.cells - 0.5  # the index of a cell, fractional between cells
            if isinstance(scale, Pow2):
                return scale.low * 2.0**cell
            return cell if isinstance(scale, Choice) else scale.low + cell
        if isinstance(scale, IntLog):
            return scale.unrounded(u)
        if isinstance(scale, OneMinusLog):
            return 1.0 - scale.from_unit(u)
        return float(scale.from_unit(u))

    def layout(self) -> dict[str, Any]:
        """The plotly axis: its type, direction and tick labels written as values."""
        scale, title = self.scale, self.title
        if isinstance(scale, Choice):
            n = len(scale.values)
            texts = [scale.format(v) for v in scale.values]
            return {
                "type": "linear",
                "title": {"text": title},
                "tickvals": list(range(n)),
                "ticktext": texts,
                "range": [-0.6, n - 0.4],
            }
        if isinstance(scale, OneMinusLog):
            betas = beta_ticks(scale.low, scale.high)
            return {
                "type": "log",
                "title": {"text": title},
                "range": self._whole_range(log=True),
                "tickvals": [1.0 - b for b in betas],
                "ticktext": [scale.format(b) for b in betas],
            }
        if isinstance(scale, Pow2):
            values = [scale.from_unit(scale.cell_centre(i)) for i in range(scale.cells)]
            return {
                "type": "log",
                "title": {"text": title},
                "range": self._whole_range(log=True),
                "tickvals": values,
                "ticktext": [str(v) for v in values],
            }
        if scale.axis == "log":
            # Plain decimals (0.0001), not SI prefixes (100µ) that read like units.
            return {
                "type": "log",
                "title": {"text": title},
                "range": self._whole_range(log=True),
                "exponentformat": "none",
            }
        return {"type": "linear", "title": {"text": title}, "range": self._whole_range(False)}

    def _whole_range(self, log: bool) -> list[float]:
        """The scale's whole range, padded, in plotly's axis units (log10 on log axes).

        A fixed range shows where the range ends, so a best value at its edge looks like one.
        For 1−β it runs from large 1−β to small: reversed, so larger β is to the right.
        """
        ends = [self.edge(0.0), self.edge(1.0)]
        a, b = (math.log10(e) for e in ends) if log else ends
        pad = 0.04 * (b - a)
        return [a - pad, b + pad]

    @property
    def title(self) -> str:
        kind = {"one_minus_log": "1−β log axis, labelled in β", "log": "log axis"}
        note = kind.get(self.scale.axis)
        return f"{self.name} ({note})" if note else self.name


def beta_ticks(low: float, high: float) -> list[float]:
    """β values with round 1−β (0.5, 0.9, 0.95, 0.99, …) inside [low, high], ends if too few."""
    gaps = [m * 10.0**-k for k in range(0, 8) for m in (5, 1)]
    inside = [1.0 - g for g in gaps if (1 - high) * 0.999 <= g <= (1 - low) * 1.001 and g < 1]
    if len(inside) < 2:
        inside = sorted({low, high, *inside})
    return [round(b, 12) for b in inside]


def unit_ticks(scale: Scale) -> tuple[list[float], list[str]]:
    """Ticks on a [0, 1] unit axis, labelled with the values they stand for."""
    if isinstance(scale, Choice | Int | Pow2) and scale.cells <= 8:
        units = [scale.cell_centre(i) for i in range(scale.cells)]
    else:
        units = [0.0, 0.25, 0.5, 0.75, 1.0]
    return units, [scale.format(scale.from_unit(u)) for u in units]
