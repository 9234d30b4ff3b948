"""Hypothesis strategies: random valid findings built from the packaged feature schema."""

from __future__ import annotations

from hypothesis import strategies as st

from ddx.knowledge import default_knowledge

KB = default_knowledge()
FEATURES = KB.features
FEATURE_IDS = tuple(sorted(FEATURES))
ENTITY_IDS = tuple(e.id for e in KB.entities)
YESNO_SPELLINGS = {"yes": ("yes", "y", "true", "1", "YES", "Yes"), "no": ("no", "n", "false", "0", "NO", "No")}


def value_of(feature_id: str) -> st.SearchStrategy[str]:
    """One valid cell for a column, written canonically (lists joined by ';')."""
    feature = FEATURES[feature_id]
    if feature.kind == "integer":
        return st.integers(feature.min, feature.max).map(str)
    if feature.kind == "yesno":
        return st.sampled_from(("yes", "no"))
    if feature.kind == "choice":
        return st.sampled_from(feature.values)
    plain = [v for v in feature.values if v != feature.exclusive]
    subsets = st.lists(st.sampled_from(plain), min_size=1, max_size=len(plain), unique=True).map(";".join)
    if feature.exclusive:
        return st.one_of(st.just(feature.exclusive), subsets)
    return subsets


@st.composite
def cells(draw, *, min_size: int = 0, max_size: int | None = None, exclude: frozenset[str] = frozenset()) -> dict[str, str]:
    """A mapping column -> valid text for a random subset of the columns."""
    pool = [f for f in FEATURE_IDS if f not in exclude]
    chosen = draw(st.lists(st.sampled_from(pool), min_size=min_size, max_size=max_size or len(pool), unique=True))
    return {f: draw(value_of(f)) for f in chosen}


@st.composite
def spelled(draw, feature_id: str, canonical: str) -> str:
    """Another accepted spelling of a canonical cell: case, surrounding whitespace, yes/no aliases."""
    feature = FEATURES[feature_id]
    text = draw(st.sampled_from(YESNO_SPELLINGS[canonical])) if feature.kind == "yesno" else canonical
    if feature.kind == "list":
        sep = draw(st.sampled_from((";", "; ", " ;")))
        text = sep.join(text.split(";"))
    text = draw(st.sampled_from((text, text.upper(), text.title())))
    left = draw(st.sampled_from(("", " ", "  ", "\t")))
    right = draw(st.sampled_from(("", " ", "  ")))
    return left + text + right


unknown_cell = st.sampled_from(("", "unknown", "UNKNOWN", " Unknown ", "   ", None))
