"""The environment variables ddx reads as switches: DDX_NO_CACHE, DDX_TRACEBACK."""

from __future__ import annotations

import os

#: What leaves a switch off, as well as leaving it unset (in any case, spaces aside).
OFF = ("", "0", "no", "false", "off")


def switched_on(name: str) -> bool:
    """Whether the variable is set to something that means yes."""
    return os.environ.get(name, "").strip().lower() not in OFF
