"""The knowledge cache gives what a fresh load gives, and never gets in the way."""

from __future__ import annotations

import pytest

from ddx.errors import KnowledgeError, KnowledgeIssue
from ddx.knowledge import cache, load_knowledge
from ddx.knowledge import FILES


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("DDX_NO_CACHE", raising=False)
    return tmp_path / "ddx"


class Counting:
    def __init__(self, build=load_knowledge):
        self.calls = 0
        self.build = build

    def __call__(self):
        self.calls += 1
        return self.build()


def test_a_second_load_comes_from_the_cache_and_equals_a_fresh_load(cache_home):
    build = Counting()
    first = cache.load(build, FILES)
    second = cache.load(build, FILES)
    assert build.calls == 1
    assert second == first == load_knowledge()
    assert [p.name for p in cache_home.iterdir()] == [cache._path().name]


def test_a_base_with_other_priors_is_kept_apart(cache_home):
    """--priors registry keeps its own base beside the default one: neither is taken for the other."""
    default, registry = Counting(), Counting(lambda: load_knowledge(model={"prior_flattening": 1.0}))
    assert cache.load(default, FILES) != cache.load(registry, FILES, variant="registry")
    assert cache.load(registry, FILES, variant="registry").settings.prior_flattening == 1.0
    assert cache.load(default, FILES).settings.prior_flattening != 1.0
    assert (default.calls, registry.calls) == (1, 1)
    assert sorted(p.name for p in cache_home.iterdir()) == sorted([cache._path().name, cache._path("registry").name])


def test_a_variant_keeps_only_what_differs_from_the_default_base(cache_home):
    """Beside the default base (assess reads both, to say when the other priors would put
    another candidate first), a variant is stored as the fields that differ: loaded, it equals
    a fresh load, and its file is a fraction of the default's."""
    import pickle

    default = cache.load(Counting(), FILES)
    registry = Counting(lambda: load_knowledge(model={"prior_flattening": 1.0}))
    first = cache.load(registry, FILES, variant="registry", base=default)
    second = cache.load(registry, FILES, variant="registry", base=default)
    assert registry.calls == 1 and second == first == load_knowledge(model={"prior_flattening": 1.0})
    assert second.likelihoods is default.likelihoods and second.log_tables is not default.log_tables
    key = cache._fingerprint(FILES) + b"\0registry"
    kept = pickle.loads(cache._path("registry").read_bytes()[len(cache.MAGIC) + len(key):])
    assert "prior" in kept and "likelihoods" not in kept and "sources" not in kept


def test_the_registry_base_is_made_from_the_default_one_as_a_fresh_load_gives_it():
    """--priors registry remakes only the tables the priors shape, from the default base (one
    load, cached or not): the result is what a fresh load with that setting gives."""
    from ddx.knowledge import default_knowledge, knowledge_with_priors
    from ddx.knowledge.loader import with_prior_flattening

    registry = knowledge_with_priors("registry")
    assert registry == load_knowledge(model={"prior_flattening": 1.0})
    assert registry.likelihoods is default_knowledge().likelihoods
    assert with_prior_flattening(default_knowledge(), 0.3) == load_knowledge(model={"prior_flattening": 0.3})
    with pytest.raises(KnowledgeError, match=r"prior_flattening must be a number in \[0, 1\]"):
        with_prior_flattening(default_knowledge(), 2)


def test_every_module_that_builds_the_knowledge_base_is_part_of_the_fingerprint():
    """A change to any code the loaded Knowledge depends on must be a cache miss (review.py only
    reads a loaded one for kb check)."""
    from importlib import resources

    modules = {p.name for p in resources.files("ddx.knowledge").iterdir() if p.name.endswith(".py")}
    assert modules - {"cache.py", "review.py"} == {name for package, name in cache.CODE if package == "ddx.knowledge"}


def test_any_change_to_the_files_or_the_code_is_a_miss(cache_home, monkeypatch):
    build = Counting()
    cache.load(build, FILES)
    real = cache._fingerprint
    monkeypatch.setattr(cache, "_fingerprint", lambda files: real(files) + b"edited")
    cache.load(build, FILES)
    assert build.calls == 2


def test_a_damaged_cache_is_a_miss(cache_home):
    build = Counting()
    cache.load(build, FILES)
    path = cache._path()
    path.write_bytes(path.read_bytes()[:-100])
    assert cache.load(build, FILES) == load_knowledge()
    assert build.calls == 2


def test_a_folder_that_cannot_be_written_is_no_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    build = Counting()
    assert cache.load(build, FILES) == cache.load(build, FILES)
    assert build.calls == 2


@pytest.mark.parametrize("setting", ["1", "yes", "TRUE"])
def test_ddx_no_cache_turns_it_off(cache_home, monkeypatch, setting):
    monkeypatch.setenv("DDX_NO_CACHE", setting)
    build = Counting()
    cache.load(build, FILES)
    cache.load(build, FILES)
    assert build.calls == 2 and not cache_home.exists()


@pytest.mark.parametrize("setting", ["0", "no", "false", "Off", ""])
def test_ddx_no_cache_set_to_no_leaves_it_on(cache_home, monkeypatch, setting):
    """DDX_NO_CACHE=0 reads as DDX_TRACEBACK=0 does: off, so the cache stays on."""
    monkeypatch.setenv("DDX_NO_CACHE", setting)
    build = Counting()
    cache.load(build, FILES)
    cache.load(build, FILES)
    assert build.calls == 1 and cache_home.exists()


def test_a_broken_knowledge_base_is_never_stored(cache_home):
    def broken():
        raise KnowledgeError([KnowledgeIssue("priors.csv", 3, "probability 'x' is not a number")])

    with pytest.raises(KnowledgeError):
        cache.load(broken, FILES)
    assert not cache_home.exists() or not any(cache_home.iterdir())


@pytest.mark.parametrize("relative", ["cache", "./cache", "."])
def test_a_relative_xdg_cache_home_is_ignored(relative, tmp_path, monkeypatch):
    """The XDG base directory spec ignores a relative XDG_CACHE_HOME: ddx must not leave a cache
    folder in whatever directory it happens to run from."""
    monkeypatch.setenv("XDG_CACHE_HOME", relative)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert cache.folder() == tmp_path / "home" / ".cache" / "ddx"


def test_per_base_builds_once_for_each_knowledge_base():
    """What is derived from a base (the questions, the spellings of names) is built once for it,
    and anew for another base, told apart by identity."""
    from ddx.knowledge import load_knowledge, per_base

    built = []

    @per_base
    def derived(kb):
        built.append(kb)
        return object()

    first = load_knowledge()
    assert derived(first) is derived(first)
    second = load_knowledge()
    assert derived(second) is not derived(first)
    assert [id(kb) for kb in built] == [id(first), id(second)]

