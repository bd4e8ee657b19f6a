"""Search spaces, their scales, and the strategies that search them; pure Python."""

from search_spaces.box import Box, edge_warnings, top_box
from search_spaces.results import TrialResult
from search_spaces.scales import SCALES, Scale, ScaleError, make_scale
from search_spaces.space import SearchSpace

__all__ = [
    "SCALES",
    "Box",
    "Scale",
    "ScaleError",
    "SearchSpace",
    "TrialResult",
    "edge_warnings",
    "make_scale",
    "top_box",
]
