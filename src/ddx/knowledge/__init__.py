"""The knowledge base: medicine as data, validated at load."""

from __future__ import annotations

import functools
import os
from functools import lru_cache
from typing import Any, Callable, TypeVar

from .records import COMPARTMENT_NAMES, COMPARTMENTS, Entity, Feature, Knowledge, Number, Rule, Source

__all__ = [
    "COMPARTMENTS",
    "COMPARTMENT_NAMES",
    "FILES",
    "PRIORS",
    "SUM_TOLERANCE",
    "Entity",
    "Feature",
    "Knowledge",
    "Number",
    "Rule",
    "Source",
    "default_knowledge",
    "given_knowledge",
    "knowledge_with_priors",
    "per_base",
    "load_features",
    "load_knowledge",
    "summary",
]

#: The knowledge files (load_knowledge reads each one and checks it with the module for its kind:
#: schema.py for features.toml, citations.py for sources.toml, tables.py for the CSVs...).
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


def _load(model: dict[str, float] | None = None) -> Knowledge:
    from .loader import load_knowledge

    return load_knowledge(model=model)


@lru_cache(maxsize=1)
def default_knowledge() -> Knowledge:
    """The packaged knowledge base, loaded once per process (and kept between runs, see cache.py)."""
    from . import cache

    return cache.load(_load, FILES)


T = TypeVar("T")
#: How many knowledge bases per_base keeps its results for (a process seldom has more than one).
PER_BASE = 8


def per_base(build: Callable[[Knowledge], T]) -> Callable[[Knowledge], T]:
    """``build(kb)``, computed once per knowledge base for the last few bases used. Bases are told
    apart by identity: a Knowledge holds dicts, so it has no hash."""
    made: dict[int, tuple[Knowledge, T]] = {}

    @functools.wraps(build)
    def cached(kb: Knowledge) -> T:
        hit = made.get(id(kb))
        if hit is not None and hit[0] is kb:
            return hit[1]
        value = build(kb)
        if len(made) >= PER_BASE:
            made.clear()
        made[id(kb)] = (kb, value)
        return value

    return cached


#: The priors a reader can rank with. case-reports, model.toml's: the reference population's
#: flattened within each compartment (prior_flattening), as fits published cases, where rare
#: entities are over-represented (the accuracy figures are measured so). registry: the
#: reference population's as priors.csv gives them, as a routine list meets them.
PRIORS = {"case-reports": {}, "registry": {"prior_flattening": 1.0}}


@lru_cache(maxsize=None)
def knowledge_with_priors(priors: str) -> Knowledge:
    """The packaged knowledge base with the priors named (PRIORS): the default one with the
    tables the priors shape made again, and those tables kept between runs beside it."""
    if priors not in PRIORS:
        raise ValueError(f"priors must be one of {', '.join(PRIORS)}, not {priors!r}")
    if not PRIORS[priors]:
        return default_knowledge()
    from . import cache
    from .loader import with_prior_flattening

    default = default_knowledge()
    return cache.load(lambda: with_prior_flattening(default, PRIORS[priors]["prior_flattening"]), FILES,
                      variant=priors, base=default)


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
