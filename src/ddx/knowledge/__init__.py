"""The knowledge base: medicine as data, validated at load."""

from __future__ import annotations

import os
from functools import lru_cache

from .loader import load_features, load_knowledge
from .review import summary
from .tables import SUM_TOLERANCE
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
    "given_knowledge",
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


def given_knowledge(knowledge: Knowledge | str | os.PathLike[str] | None) -> Knowledge:
    """The base a caller gave: a Knowledge, the folder to load one from, or None for the packaged
    one; anything else is a TypeError that says what is taken."""
    if knowledge is None:
        return default_knowledge()
    if isinstance(knowledge, (str, os.PathLike)):
        return load_knowledge(knowledge)
    if not isinstance(knowledge, Knowledge):
        raise TypeError(f"knowledge is a base from ddx.load_knowledge() or the folder to load it from, not {type(knowledge).__name__}")
    return knowledge

