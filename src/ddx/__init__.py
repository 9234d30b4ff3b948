"""ddx: a reasoning aid for spinal lesions on MRI (teaching and research, not a medical device).

Give it the findings of one lesion; it names the compartment, ranks the
candidate diagnoses with probabilities and the findings behind each, and
flags the entities that must not be missed.

    >>> import ddx
    >>> a = ddx.assess(cord="displaced", csf="widened", foraminal_extension="yes")
    >>> a.compartment
    'intradural_extramedullary'
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["Assessment", "Findings", "assess", "load_knowledge", "parse_findings", "__version__"]


def assess(findings: Any = None, /, **cells: Any):
    """Assess one case: a Findings record, a mapping of column -> value, or keywords.

    Raises ddx.errors.FindingError for a value that cannot be read.
    """
    from .engine import assess as _assess
    from .findings import Findings, parse_findings

    if isinstance(findings, Findings):
        if cells:
            raise TypeError("give either a Findings record or keyword findings, not both")
        return _assess(findings)
    merged = dict(findings or {})
    merged.update(cells)
    return _assess(parse_findings(merged))


def __getattr__(name: str):
    if name == "Assessment":
        from .assessment import Assessment

        return Assessment
    if name in ("Findings", "parse_findings"):
        from . import findings

        return getattr(findings, name)
    if name == "load_knowledge":
        from .knowledge import load_knowledge

        return load_knowledge
    raise AttributeError(f"module 'ddx' has no attribute {name!r}")
