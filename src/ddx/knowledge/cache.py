"""The validated packaged knowledge base, kept between runs to start fast.

Loading parses about 70 KB of TOML and 3,000 CSV rows and validates every
number: most of what a one-case `ddx assess` spends beyond its imports. The
result is pickled in the user's cache folder together with the exact bytes of
every knowledge file and of the code that reads them; a later run takes it
only when all of those are byte for byte the same, so what it gets is what a
fresh load would give, issues included (an invalid knowledge base is never
stored). DDX_NO_CACHE=1 turns the cache off (0, no, false or off leave it on); any problem with it (a
read-only or missing folder, a damaged file) just means a fresh load.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Callable

import attrs

from ..environment import switched_on
from .records import Knowledge

MAGIC = b"ddx-knowledge-cache-1\n"
#: The code whose output is cached: a change to any of it is a cache miss.
CODE = (
    ("ddx", "__init__.py"), ("ddx", "errors.py"),
    *(("ddx.knowledge", f"{name}.py") for name in (
        "__init__", "loader", "parsing", "schema", "citations", "entities", "tables", "rules", "records", "weights",
    )),
)


def folder() -> Path:
    """$XDG_CACHE_HOME/ddx, or ~/.cache/ddx (also for a relative XDG_CACHE_HOME, which the XDG
    base directory spec says to ignore: it would leave a cache wherever ddx is run)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ddx"


def _fingerprint(data_files: tuple[str, ...]) -> bytes:
    """Everything the loaded knowledge base depends on, as bytes: Python, the code, the data."""
    parts = [sys.version.encode(), str(pickle.HIGHEST_PROTOCOL).encode()]
    for package, name in CODE:
        parts.append((resources.files(package) / name).read_bytes())
    data = resources.files("ddx.knowledge")
    parts += [(data / name).read_bytes() for name in data_files]
    return b"\0".join(f"{len(p)}:".encode() + p for p in parts)


def _path(variant: str = "") -> Path:
    suffix = f"-{variant}" if variant else ""
    return folder() / f"knowledge-py{sys.version_info[0]}{sys.version_info[1]}{suffix}.pickle"


def load(build: Callable[[], Knowledge], data_files: tuple[str, ...], variant: str = "",
         base: Knowledge | None = None) -> Knowledge:
    """The cached knowledge base if it matches the files exactly, else build() (and keep it).
    ``variant`` names a base built with other settings (its own file, its own key); with
    ``base``, the default base it differs from, only the fields that differ are kept, and the
    rest are base's own: a fraction of the unpickling, for a command that reads both."""
    if switched_on("DDX_NO_CACHE"):
        return build()
    try:
        key = _fingerprint(data_files) + b"\0" + variant.encode()
    except OSError:
        return build()
    path = _path(variant)
    try:
        blob = path.read_bytes()
        head = len(MAGIC) + len(key)
        if blob[: len(MAGIC)] == MAGIC and blob[len(MAGIC) : head] == key:
            kept = pickle.loads(memoryview(blob)[head:])
            if base is None and isinstance(kept, Knowledge):
                return kept
            if base is not None and isinstance(kept, dict):
                return attrs.evolve(base, **kept)
    except Exception:  # a missing or damaged cache is a cache miss
        pass
    kb = build()
    kept = kb if base is None else {f.name: v for f in attrs.fields(Knowledge) if (v := getattr(kb, f.name)) != getattr(base, f.name)}
    _store(path, MAGIC + key + pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL))
    return kb


def _store(path: Path, blob: bytes) -> None:
    """Write atomically; a folder that cannot be written is no error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
