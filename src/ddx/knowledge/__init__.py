"""The knowledge base: medicine as data, validated at load."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from .records import COMPARTMENT_NAMES, COMPARTMENTS, Entity, Feature, Knowledge, Number, Rule, Source

__all__ = [
    "COMPARTMENTS",
    "COMPARTMENT_NAMES",
    "FILES",
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

#: The knowledge files, each read and checked by the module named for it (loader.py says which).
FILES = (
    "features.toml",
    "entities.toml",
    "sources.toml",
    "priors.csv",
    "likelihoods.csv",
    "pictures.csv",
    "locations.csv",
    "model.toml",
    "flags.toml",
    "disagreements.toml",
)

#: Names imported only when first used: a run that takes the cached base needs no validator.
_LAZY = {"load_features": "loader", "load_knowledge": "loader", "summary": "review", "SUM_TOLERANCE": "tables"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _load() -> Knowledge:
    from .loader import load_knowledge

    return load_knowledge()


@lru_cache(maxsize=1)
def default_knowledge() -> Knowledge:
    """The packaged knowledge base, loaded once per process (and kept between runs, see cache.py)."""
    from . import cache

    return cache.load(_load, FILES)


def given_knowledge(knowledge: Knowledge | str | os.PathLike[str] | None) -> Knowledge:
    """The base a caller gave: a Knowledge, the folder to load one from, or None for the packaged
    one; anything else is a TypeError that says what is taken."""
    if knowledge is None:
        return default_knowledge()
    if isinstance(knowledge, (str, os.PathLike)):
        from .loader import load_knowledge

        return load_knowledge(knowledge)
    if not isinstance(knowledge, Knowledge):
        raise TypeError(f"knowledge is a base from ddx.load_knowledge() or the folder to load it from, not {type(knowledge).__name__}")
    return knowledge
