"""What a misspelt word most likely meant: the closest of some choices, and how many letters
two words are apart. Used wherever a value, a column, an entity or a knowledge-base id is
refused with a guess ('did you mean ...?')."""

from __future__ import annotations

import difflib
from typing import Iterable


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` most likely meant: the one choice whose first word it is ('t2' for
    t2_signal, 'mural' for mural_nodule), else a close spelling, else None. The first word of
    several ('dural': dural_tail or dural_sac_displaced) is no guess at all, nor is a spelling
    as close to two choices ('nf': nf1 or nf2)."""
    choices = list(choices)
    starts = [c for c in choices if word and c.startswith(word + "_")]
    if starts:
        return starts[0] if len(starts) == 1 else None
    match = difflib.get_close_matches(word, choices, n=2, cutoff=0.6)
    if len(match) == 2 and _likeness(word, match[0]) == _likeness(word, match[1]):
        return None
    return match[0] if match else None


def _likeness(a: str, b: str) -> float:
    """How alike two words are, as difflib ranks its close matches."""
    return difflib.SequenceMatcher(None, b, a).ratio()


#: A word shorter than this is guessed as a value only one letter from it ('widend' for
#: widened), as a name is (names.LONG_TYPO is this): 'dorsal' is two letters from 'normal' and no typo.
SHORT_WORD = 7


def one_edit(a: str, b: str) -> bool:
    """Whether ``a`` is ``b`` but for one letter added, removed, changed or swapped with the next."""
    return abs(len(a) - len(b)) <= 1 and edits(a, b) <= 1


def edits(a: str, b: str) -> int:
    """The fewest letters added, removed, changed or swapped with the next to turn ``a`` into ``b``."""
    before, row = None, list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            cost = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, row = row, current
    return row[-1]
