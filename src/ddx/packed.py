"""engine.posterior, bit for bit, with one integer addition per finding.

The batch's CSV output needs only the posterior; this packs every entity's
score into one Python integer so that a row costs a few additions.
"""

from __future__ import annotations

import array
import math
import sys
from itertools import repeat
from operator import sub, truediv
from typing import Callable

from .knowledge import Knowledge
from .knowledge.weights import SCORE_BITS, quantise


class Packed:
    """engine.posterior, bit for bit, at a fraction of the cost.

    Every number of a score is a multiple of 2**-SCORE_BITS, so scaled by
    2**SCORE_BITS it is an exact integer, and every score stays below
    2**52 such units. Each entity's (negated) integer sits in its own 64-bit
    lane of one Python int, so a single integer addition adds a finding to
    every entity at once, exactly, without carrying into the next lane.

    Each lane is laid out as the bits of a negative double whose exponent is
    fixed (in the prior's term) and whose mantissa is the lane sum m, so
    array reads the lanes as the floats -(2**52 + m) * 2**-SCORE_BITS. Two
    such floats differ by exactly the difference of their scores, so
    exp(lane - the highest lane) is the engine's exp(score - top score); the
    rest of the softmax is the engine's own arithmetic, step for step.
    """

    MANTISSA = 52

    def __init__(self, kb: Knowledge):
        bits = SCORE_BITS
        tables = [*kb.log_tables.values(), *kb.picture_tables.values()]
        values = list(kb.log_prior) + [x for v in tables for x in v]
        if not values or any(not math.isfinite(x) or x > 0 or quantise(x) != x for x in values):
            raise ValueError("log tables outside the packed range")
        self.size = len(kb.log_prior)
        self.nbytes = 8 * self.size
        self.unit = 2.0**bits
        # sign and exponent bits of each lane: -(2**52 + m) * 2**-bits once the mantissa m is added
        frame = (1 << 11 | (1075 - bits)) << self.MANTISSA
        self.base = self.pack(kb.log_prior) + sum(frame << 64 * k for k in range(self.size))
        self.posterior = self._posterior_function()

    def pack(self, vector) -> int:
        """One integer holding -vector[e] * 2**SCORE_BITS in the lane of entity e."""
        packed = 0
        for k, x in enumerate(vector):
            packed |= int(-x * self.unit) << (64 * k)
        return packed

    def _posterior_function(self) -> Callable[[int], list[float]]:
        """posterior(total): the posterior from a packed sum of the prior and the findings,
        with the engine's arithmetic (engine._normalise); C-level loops throughout."""
        nbytes, exp, fsum = self.nbytes, math.exp, math.fsum
        big_endian = sys.byteorder == "big"

        def posterior(total: int) -> list[float]:
            # array reads the lanes as native doubles (a copy; struct.unpack boxes each one)
            lanes = array.array("d", total.to_bytes(nbytes, "little"))
            if big_endian:
                lanes.byteswap()
            weights = list(map(exp, map(sub, lanes, repeat(max(lanes)))))
            return list(map(truediv, weights, repeat(fsum(weights))))

        return posterior
