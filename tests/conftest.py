"""Shared fixtures and the hypothesis profiles (ci: derandomized, no deadline)."""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=50)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def kb():
    from ddx.knowledge import default_knowledge

    return default_knowledge()


@pytest.fixture
def curated(tmp_path):
    """curated(file, text): a copy of the packaged knowledge folder with ``text`` added to the end of
    ``file``, loaded: what a curator's new table does, with no code change."""
    import shutil
    from importlib import resources

    from ddx.knowledge import load_knowledge

    def load(name: str, text: str):
        folder = tmp_path / "knowledge"
        if not folder.exists():
            shutil.copytree(resources.files("ddx.knowledge"), folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        with (folder / name).open("a", encoding="utf-8") as fh:
            fh.write(text)
        return load_knowledge(folder)

    return load


@pytest.fixture(autouse=True)
def _no_terminal_width(monkeypatch):
    """At a terminal COLUMNS sets the width text wraps to: a test playing a terminal sets its own."""
    monkeypatch.delenv("COLUMNS", raising=False)
