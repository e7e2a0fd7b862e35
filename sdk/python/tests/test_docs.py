"""The API reference is generated from the docstrings (docs/build_api.py, which
scripts/python-api-docs.sh runs), so every public name needs one of its own: each public
module, every name in a module's `__all__`, every public class and function a module defines
(the adapters' included, listed or not), and every public method and property of those
classes, inherited from the package's private bases too. A docstring inherited from a base
class, or the signature `@dataclass` makes up, does not count: pdoc would show the base's
text, which describes something else. Then pdoc itself renders the package, and each module's
page must carry its names and their docstrings."""

from __future__ import annotations

import dataclasses
import html
import importlib
import inspect
import re
import sys
import types
from pathlib import Path
from typing import Any, Iterator

import pdoc.doc
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))
import build_api  # noqa: E402

PUBLIC_MODULES = [
    "countersign", "countersign.chain", "countersign.client", "countersign.decision",
    "countersign.digest", "countersign.errors", "countersign.keys", "countersign.langgraph",
    "countersign.models", "countersign.openai_agents", "countersign.request",
]


def own_doc(obj: Any) -> str | None:
    """The docstring `obj` has of its own (stripped), or None."""
    if isinstance(obj, property):
        obj = obj.fget
    if isinstance(obj, (classmethod, staticmethod)):
        obj = obj.__func__
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__")
        if doc and any(doc == getattr(base, "__doc__", None) for base in obj.__mro__[1:]):
            return None
        if doc and dataclasses.is_dataclass(obj) and doc.startswith(f"{obj.__name__}("):
            return None
    else:
        doc = getattr(obj, "__doc__", None)
    return doc.strip() if isinstance(doc, str) and doc.strip() else None


def public_names(module: types.ModuleType) -> list[str]:
    """`__all__`, plus the public classes and functions the module defines itself."""
    names = set(getattr(module, "__all__", ()))
    for name, value in vars(module).items():
        if (not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
                and value.__module__ == module.__name__):
            names.add(name)
    return sorted(names)


def methods(cls: type, package: str) -> Iterator[tuple[str, Any]]:
    """Public methods and properties of `cls`, from it and its bases within `package`."""
    seen: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] != package:
            continue                      # pydantic, enum, Exception, object: not ours to document
        for name, value in vars(klass).items():
            if name.startswith("_") or name in seen:
                continue
            if isinstance(value, (property, classmethod, staticmethod)) or inspect.isfunction(value):
                seen.add(name)
                yield f"{klass.__qualname__}.{name}", value


def undocumented(module: types.ModuleType) -> list[str]:
    """Every public name of `module` without a docstring of its own, as `module:name`."""
    package = module.__name__.split(".")[0]
    missing = [] if own_doc(module) else [f"{module.__name__} (the module)"]
    pdoc_module = pdoc.doc.Module(module)
    for name in public_names(module):
        value = getattr(module, name)
        if isinstance(value, types.ModuleType):
            continue
        if inspect.isclass(value) or inspect.isfunction(value):
            if not own_doc(value):
                missing.append(f"{module.__name__}:{name}")
            if inspect.isclass(value):
                missing += [f"{module.__name__}:{qualname}" for qualname, member in methods(value, package)
                            if not own_doc(member)]
        else:                             # a constant: its docstring is the string that follows it
            member = pdoc_module.get(name)
            if member is None or not member.docstring.strip():
                missing.append(f"{module.__name__}:{name}")
    return sorted(set(missing))


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_public_name_has_a_docstring(name: str) -> None:
    assert undocumented(importlib.import_module(name)) == []


def test_the_check_finds_what_lacks_a_docstring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cs_demo").mkdir()
    (tmp_path / "cs_demo" / "__init__.py").write_text('''
"""A module with gaps."""
import dataclasses, enum

__all__ = ["documented", "bare", "Base", "Child", "Made", "Kind", "SHOWN", "HIDDEN"]

SHOWN = 1
"""Documented."""
HIDDEN = 2

def documented():
    """Documented."""

def bare():
    pass

def unlisted():
    pass

def _private():
    pass

class Base:
    """Documented."""
    def told(self):
        """Documented."""
    def untold(self):
        pass
    @property
    def prop(self):
        return 1
    @staticmethod
    def static():
        pass

class Child(Base):
    def __init__(self):
        pass

@dataclasses.dataclass
class Made:
    x: int

class Kind(enum.Enum):
    A = "a"
''')
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("cs_demo")
    assert undocumented(module) == sorted([
        "cs_demo:bare", "cs_demo:unlisted", "cs_demo:Base.untold", "cs_demo:Base.prop",
        "cs_demo:Base.static", "cs_demo:Child", "cs_demo:Made", "cs_demo:Kind", "cs_demo:HIDDEN",
    ])
    # Child inherits Base's methods: the gaps are reported once, under Base.
    assert not [m for m in undocumented(module) if m.startswith("cs_demo:Child.")]


def test_the_docs_cover_every_public_module() -> None:
    assert build_api.modules() == PUBLIC_MODULES


def _docstrings_on(page: str) -> str:
    """The text of every rendered docstring on a pdoc page (not the source pdoc also shows)."""
    blocks = re.findall(r'<div class="docstring">(.*?)</div>', page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", block)) for block in blocks)


def _words(text: str, count: int = 6) -> str:
    """The first words of a docstring as pdoc renders them (Markdown code spans lose their
    backticks)."""
    return " ".join(text.replace("`", "").split()[:count])


def test_pdoc_renders_each_module_with_its_docstrings(tmp_path: Path) -> None:
    index = build_api.build(tmp_path)
    assert index == tmp_path / "index.html" and index.is_file()
    assert (tmp_path / "search.js").is_file()
    root = (tmp_path / "countersign.html").read_text()
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        page_path = tmp_path / (name.replace(".", "/") + ".html")
        assert page_path.is_file(), f"pdoc wrote no page for {name}"
        page = page_path.read_text()
        docs = " ".join(_docstrings_on(page).split())
        doc = own_doc(module)
        assert doc and _words(doc) in docs, f"{name}: the module docstring is not rendered"
        if name != "countersign":
            # The package page links to each module (pdoc would not, the package's __all__ being names).
            assert f'href="countersign/{name.split(".")[1]}.html"' in root, f"countersign.html has no link to {name}"
        for public in getattr(module, "__all__", None) or public_names(module):   # pdoc follows __all__
            value = getattr(module, public)
            assert f'id="{public}"' in page, f"{name}: {public} is not on its page"
            if inspect.isclass(value) or inspect.isfunction(value):
                doc = own_doc(value)
                assert doc and _words(doc) in docs, f"{name}: the docstring of {public} is not rendered"
    client = (tmp_path / "countersign" / "client.html").read_text()
    for member in ("Client.request_approval", "Client.verify_webhook", "AsyncClient.request_approval"):
        assert f'id="{member}"' in client
    adapter = (tmp_path / "countersign" / "langgraph.html").read_text()
    assert 'id="ApprovalGate.require"' in adapter and 'id="request_for_tool_call"' in adapter
