"""The knowledge base: medicine as data, validated at load."""

from __future__ import annotations

from functools import lru_cache

from .loader import SUM_TOLERANCE, load_features, load_knowledge, summary
from .records import COMPARTMENT_NAMES, COMPARTMENTS, Entity, Feature, Knowledge, Number, Rule, Source

__all__ = [
    "COMPARTMENTS",
    "COMPARTMENT_NAMES",
    "SUM_TOLERANCE",
    "Entity",
    "Feature",
    "Knowledge",
    "Number",
    "Rule",
    "Source",
    "default_knowledge",
    "load_features",
    "load_knowledge",
    "summary",
]


@lru_cache(maxsize=1)
def default_knowledge() -> Knowledge:
    """The packaged knowledge base, loaded once per process (and kept between runs, see cache.py)."""
    from . import cache
    from .loader import FILES

    return cache.load(load_knowledge, FILES)
