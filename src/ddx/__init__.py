"""ddx: a reasoning aid for spinal lesions on MRI (teaching and research, not a medical device).

Give it the findings of one lesion; it names the compartment, ranks the
candidate diagnoses with probabilities and the findings behind each, and
flags the entities that must not be missed.

    >>> import ddx
    >>> a = ddx.assess(cord="displaced", csf="widened", dural_tail="yes", sex="female", level="thoracic")
    >>> a.compartment
    'intradural_extramedullary'
    >>> ddx.to_record(a)["candidates"][0]["id"]
    'meningioma'
"""

from __future__ import annotations

import operator
import os
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:  # imported lazily at run time (by __getattr__), to start fast
    from .assessment import Assessment, Candidate, Flag, NextFinding, Reason
    from .errors import DdxError, FindingError, KnowledgeError, KnowledgeIssue
    from .findings import Findings, parse_findings
    from .knowledge import Knowledge, load_knowledge
    from .render import render_markdown as to_markdown
    from .render import render_table as to_table
    from .render import to_record

__version__ = "0.1.0"
#: What ddx is and is not, said by every output for a person and every command's help.
DISCLAIMER = "ddx is a teaching and research aid, not a medical device: it does not replace a radiologist's read."

__all__ = [
    "Assessment",
    "Candidate",
    "DdxError",
    "FindingError",
    "Findings",
    "Flag",
    "Knowledge",
    "KnowledgeError",
    "KnowledgeIssue",
    "NextFinding",
    "Reason",
    "assess",
    "load_knowledge",
    "parse_findings",
    "to_markdown",
    "to_record",
    "to_table",
    "__version__",
]


def assess(
    findings: Findings | Mapping[str, Any] | None = None,
    /,
    *,
    knowledge: Knowledge | str | os.PathLike[str] | None = None,
    priors: str | None = None,
    passthrough: Iterable[str] | str | None = (),
    suggest: int = 3,
    **cells: Any,
) -> Assessment:
    """Assess one case: a Findings record, a mapping of column -> value, or keywords.

    A keyword replaces the same column in the mapping. Values are read as a CSV
    cell or a CLI option is (``"yes"``, ``True``, ``54``, ``"cervical;thoracic"``
    or ``["cervical", "thoracic"]``); None, a blank and NaN are not assessed.
    ``knowledge`` is a base from ``load_knowledge()`` (or the folder to load it
    from, loaded and validated on every call: load it once for a loop), the
    packaged one by default; ``priors`` names the packaged base's priors instead, as
    ``ddx assess --priors`` does ("case-reports", the default, or "registry"). Columns ddx does not know, named in
    ``passthrough`` (a name or a list of names), are left unread (a CSV row's
    accession number); a finding's own column is read whether or not it is
    named there. Any other unknown column, and a value that cannot be read,
    raise ddx.FindingError. ``suggest`` is how many next best findings to
    compute (and at most one question for the history); choosing them takes
    most of each call's time, so a loop that does not read them passes 0.
    """
    from .engine import assess as _assess
    from .findings import Findings, canonical, normalise_column, parse_findings
    from .knowledge import given_knowledge

    if priors is not None:
        from .knowledge import PRIORS, knowledge_with_priors

        if knowledge is not None:
            raise TypeError("give either knowledge or priors, not both: priors names the packaged base's priors")
        name = priors.lower() if isinstance(priors, str) else priors
        if name not in PRIORS:
            raise ValueError(f"priors is one of {', '.join(PRIORS)}, not {priors!r}")
        knowledge = knowledge_with_priors(name)
    knowledge = given_knowledge(knowledge)
    try:
        if isinstance(suggest, bool):
            raise TypeError
        suggest = operator.index(suggest)  # an int, or a whole number of another kind (numpy's)
    except TypeError:
        raise TypeError(f"suggest is how many next best findings to give, a whole number, not {suggest!r}") from None
    if suggest < 0:
        raise ValueError(f"suggest is how many next best findings to give, 0 or more, not {suggest}")
    if "findings" in cells and (isinstance(cells["findings"], Findings) or hasattr(cells["findings"], "items")):
        raise TypeError("give the findings first, without a name: ddx.assess(findings), not ddx.assess(findings=...)")
    passthrough = () if passthrough is None else passthrough
    if isinstance(findings, Findings):
        if cells:
            raise TypeError("give either a Findings record or keyword findings, not both")
        return _assess(canonical(findings, knowledge, passthrough=passthrough), knowledge, suggest=suggest)
    if findings is not None and not hasattr(findings, "items"):
        raise TypeError(f"findings are a Findings record or a mapping of column -> value, not {type(findings).__name__}")
    merged = dict(findings.items()) if findings is not None else {}
    if cells:
        replaced = {normalise_column(column) for column in cells}
        merged = {k: v for k, v in merged.items() if normalise_column(str(k)) not in replaced}
        merged.update(cells)
    return _assess(parse_findings(merged, knowledge, passthrough=passthrough), knowledge, suggest=suggest)


def __getattr__(name: str):
    if name in ("Assessment", "Candidate", "Flag", "NextFinding", "Reason"):
        from . import assessment

        return getattr(assessment, name)
    if name == "Knowledge":
        from .knowledge import Knowledge

        return Knowledge
    if name in ("Findings", "parse_findings"):
        from . import findings

        return getattr(findings, name)
    if name in ("DdxError", "FindingError", "KnowledgeError", "KnowledgeIssue"):
        from . import errors

        return getattr(errors, name)
    if name == "load_knowledge":
        from .knowledge import load_knowledge

        return load_knowledge
    if name in ("to_record", "to_table", "to_markdown"):
        from . import render

        return {"to_record": render.to_record, "to_table": render.render_table, "to_markdown": render.render_markdown}[name]
    if name in ("errors", "engine", "findings", "knowledge", "render", "assessment"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ddx' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(__all__) | {name for name in globals() if name.startswith("__")})
