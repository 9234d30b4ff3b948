"""Load the knowledge base: read and validate every file (each module of this package checks
its own), then build the Knowledge with what the engine precomputes (weights.py).

Every problem is collected with its file, row and reason before loading fails, so a
knowledge-base author fixes them all in one pass.
"""

from __future__ import annotations

import numbers
import os
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import attrs

from ..errors import KnowledgeError, KnowledgeIssue
from .citations import check_cited, check_graded, read_sources, report_unknown_sources
from .entities import read_entities
from .parsing import LINE_END, Issues, field_line, guess, read_toml
from .records import Feature, Knowledge, Settings
from .rules import read_advice, read_disagreements, read_rules
from .schema import check_within, read_features
from .tables import read_likelihoods, read_locations, read_pictures, read_priors
from .weights import SCORE_LIMIT, add_within, log_tables, picture_model, score_bound


#: Where a setting given to load_knowledge(model=...) is said to come from.
MODEL_ARGUMENT = "model= (load_knowledge's argument)"


def _settings(data: dict, issues: Issues, given: Mapping[Any, Any] | None = None) -> Settings | None:
    """model.toml's settings, those of ``given`` (load_knowledge's model=) in their place, each a
    number in its range; a problem of a given one is said to be the argument's."""
    limits = {f.name: f.metadata["range"] for f in attrs.fields(Settings)}
    given = dict(given or {})
    odd = [k for k in given if not isinstance(k, str)]
    for key in odd:
        issues.add(MODEL_ARGUMENT, None, f"{key!r} is not a setting name (known: {', '.join(limits)})")
    data = {**data, **{k: v for k, v in given.items() if isinstance(k, str)}}

    def where(key: str) -> tuple[str, int | None]:
        return (MODEL_ARGUMENT, None) if key in given else ("model.toml", field_line("model.toml", 0, key, issues) or None)

    for key in sorted(set(data) - set(limits)):
        issues.add(*where(key), f"{key} is not a setting{guess(key, limits)} (known: {', '.join(limits)})")
    values = {}
    for key, (lo, hi) in limits.items():
        v = data.get(key)
        if v is None:
            issues.add("model.toml", None, f"{key} is missing: give it a number in [{lo}, {hi}] (the packaged model.toml says why each has its value)")
        elif isinstance(v, bool) or not isinstance(v, numbers.Real) or not lo <= v <= hi:
            issues.add(*where(key), f"{key} must be a number in [{lo}, {hi}] (found {v!r})")
        else:
            values[key] = float(v)
    return Settings(**values) if len(values) == len(limits) else None


def _population(text: str) -> str:
    """The comment paragraph of priors.csv (``text``) that starts 'Reference population' (the
    whole leading comment of a file that has none)."""
    lines = [ln[1:].strip() for ln in LINE_END.split(text) if ln.startswith("#")]
    start = next((i for i, ln in enumerate(lines) if ln.startswith("Reference population")), None)
    if start is None:
        return " ".join(ln for ln in lines if ln)
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    return " ".join(lines[start:end])


def _root(folder: str | os.PathLike[str] | None):
    """The folder of the knowledge files: the packaged one, or ``folder``, which must be one (one
    problem, not every knowledge file reported missing from a folder that is not there)."""
    if folder is None:
        return resources.files("ddx.knowledge")
    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"the knowledge folder is a path (text or a pathlib.Path), not {type(folder).__name__}")
    root = Path(folder)
    if not str(folder).strip() or not root.is_dir():
        # an empty name would be read as the current folder
        problem = "is not a folder" if root.exists() and str(folder).strip() else "does not exist"
        raise KnowledgeError([KnowledgeIssue(str(folder), None, f"{problem}: give the folder that holds the knowledge files")])
    return root


def load_knowledge(folder: str | os.PathLike[str] | None = None, *, model: Mapping[str, float] | None = None) -> Knowledge:
    """Load and validate the knowledge base (the packaged one unless a folder is given).

    ``model`` overrides settings of model.toml (validated like the file's own),
    for experiments such as the temperature scan of benchmarks/accuracy.py.
    Raises KnowledgeError listing every problem found.
    """
    root = _root(folder)
    issues = Issues()
    # A file that cannot be read at all is reported once; the checks against it are skipped
    # (None) rather than every row that names it being reported again.
    feature_data = read_toml(root, "features.toml", issues)
    features = read_features(feature_data, issues)
    sources = read_sources(read_toml(root, "sources.toml", issues), issues)
    entity_data = read_toml(root, "entities.toml", issues)
    entities = read_entities(entity_data, sources or {}, features, issues, check_sources=sources is not None,
                         check_syndromes="features.toml" not in issues.unread)
    entity_ids = {e.id for e in entities} if "entities.toml" not in issues.unread else None
    known_features = features if "features.toml" not in issues.unread else None
    priors = read_priors(root, entity_ids, sources, issues)
    likelihoods = read_likelihoods(root, entity_ids, known_features, sources, issues)
    pictures, signs, rates = read_pictures(root, known_features, sources, issues)
    counted, located = read_locations(root, entity_ids, pictures, sources, issues)
    rules = read_rules(read_toml(root, "flags.toml", issues) or {}, known_features, entity_ids, issues)
    disagreement_data = read_toml(root, "disagreements.toml", issues) or {}
    disagreements = read_disagreements(disagreement_data, known_features, issues)
    advice = read_advice(disagreement_data, known_features, issues)
    data = read_toml(root, "model.toml", issues)
    settings = _settings(data, issues, model) if data is not None else None
    numbers = [*priors.values(), *likelihoods.values(), *rates.values(), *located]
    report_unknown_sources(sources, issues)
    check_graded(sources, numbers, issues)
    check_cited(sources, entity_data, issues)
    check_within(features, pictures, signs, feature_data, issues)
    if settings is not None and len(pictures) * settings.picture_floor >= 1:
        issues.add("model.toml", None, f"picture_floor {settings.picture_floor:g} times {len(pictures)} pictures "
                                       "leaves nothing to fit: lower it")
    if issues.items:
        raise KnowledgeError(issues.items)
    shares, joint, within = picture_model(features, entities, likelihoods, settings, pictures, signs, rates, counted)
    return Knowledge(
        features=features,
        entities=entities,
        sources=sources,
        priors=priors,
        likelihoods=likelihoods,
        rules=rules,
        settings=settings,
        population=_population(issues.texts["priors.csv"]),
        pictures=pictures,
        picture_signs=signs,
        picture_rates=rates,
        picture_shares=shares,
        locations=counted,
        picture_tables=joint,
        within_tables=within,
        disagreements=disagreements,
        advice=advice,
        **_scored(features, entities, priors, likelihoods, settings, signs, joint, within),
    )


def _scored(features, entities, priors, likelihoods, settings: Settings, signs, joint, within) -> dict[str, Any]:
    """The fields of Knowledge the priors and the settings shape: the model's prior and the log
    tables the engine adds up (each finding's, a picture sign's read alone, a finding read
    within a picture with the entity's share of it). KnowledgeError when a score could reach
    beyond exact arithmetic."""
    prior, log_prior, tables, bases, implied = log_tables(features, entities, priors, likelihoods, settings)
    add_within(tables, features, signs, within)
    for fid in signs:  # a sign read alone: what the picture model makes of it
        for v in features[fid].outcomes:
            tables[(fid, v)] = joint[tuple(v if f == fid else None for f in signs)]
    if score_bound(features, log_prior, tables, signs, joint) >= SCORE_LIMIT:
        raise KnowledgeError([KnowledgeIssue("model.toml", None, f"scores could reach {SCORE_LIMIT:g} nats, beyond exact "
                                                                 "arithmetic: raise the clamp")])
    return {"prior": prior, "log_prior": log_prior, "log_tables": tables, "base_rates": bases, "implied_tables": implied}


def with_prior_flattening(kb: Knowledge, flattening: float) -> Knowledge:
    """``kb`` with another prior flattening (model.toml): what load_knowledge(model=
    {"prior_flattening": flattening}) gives from the same files, at a few milliseconds, since
    only the tables the priors shape are made again (the compartment pictures do not depend on
    them). A second base for a command that reads both (the note on the other priors)."""
    issues = Issues()
    settings = _settings(attrs.asdict(kb.settings), issues, {"prior_flattening": flattening})
    if issues.items:
        raise KnowledgeError(issues.items)
    return attrs.evolve(kb, settings=settings, **_scored(kb.features, kb.entities, kb.priors, kb.likelihoods, settings,
                                                           kb.picture_signs, kb.picture_tables, kb.within_tables))


def load_features(folder: str | os.PathLike[str] | None = None) -> dict[str, Feature]:
    """Only the feature schema (cheap: the CLI builds its options from it)."""
    root = _root(folder)
    issues = Issues()
    features = read_features(read_toml(root, "features.toml", issues), issues)
    if issues.items:
        raise KnowledgeError(issues.items)
    return features
