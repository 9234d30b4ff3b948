"""The errors ddx raises: each names what was wrong, where, and the fix."""

from __future__ import annotations

import attrs


class DdxError(Exception):
    """Base class of every error ddx reports to a user."""


@attrs.frozen(str=False)
class FindingError(DdxError, ValueError):
    """A finding that cannot be read: the column, the value and what to do instead."""

    column: str
    value: str
    message: str

    def __str__(self) -> str:
        return self.message


class BatchError(DdxError):
    """The input of a batch as a whole cannot be read: nothing is assessed (exit 2)."""


class WriteError(DdxError):
    """The output file cannot be written where it was asked for (exit 2); what was there is
    left as it was."""


@attrs.frozen(str=False)
class KnowledgeIssue:
    """One problem in a knowledge file, with its location."""

    path: str
    row: int | None
    reason: str

    def __str__(self) -> str:
        where = self.path if self.row is None else f"{self.path}:{self.row}"
        return f"{where}: {self.reason}"


class KnowledgeError(DdxError):
    """The knowledge base is broken; carries every issue found, not just the first."""

    def __init__(self, issues: list[KnowledgeIssue]):
        self.issues = tuple(issues)
        super().__init__(
            f"the knowledge base has {len(self.issues)} problem(s):\n"
            + "\n".join(f"  {i}" for i in self.issues)
        )

    def __reduce__(self):
        # pickle rebuilds an exception from its args, here the message: rebuild it from the issues
        # instead, so the error crosses a process boundary (multiprocessing) with its issues whole
        return (type(self), (list(self.issues),))
