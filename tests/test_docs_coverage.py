"""Every public setting, system-check id, exception, signal and class is documented.

The test reads the documentation sources (``docs/**/*.rst``), not a built site, so it
needs no Sphinx run. What counts as documented:

* a setting (the keys of ``conf.DEFAULTS`` and every ``JWT_AT_*`` name in the package
  source): a reference entry in ``docs/settings.rst``, that is a section title or a
  definition-list term consisting of the name alone (``JWT_AT_LEEWAY`` or
  ````JWT_AT_LEEWAY````);
* an option of a ``JWT_AT_ISSUERS`` entry (``conf.ISSUER_OPTIONS``): such an entry in
  ``docs/settings.rst``; the issuer-profile options (``conf.PROFILE_OPTIONS``) also in
  ``docs/providers.rst``;
* a system-check id (``"E0xx"`` problem ids and ``django_jwt_at.Exxx``/``Wxxx`` in the
  package source): a definition-list term ````django_jwt_at.E0xx```` in any page;
* a class (exceptions included) defined in a module of the package, and every signal
  (``django.dispatch.Signal`` instance) of a module: declared to Sphinx, by an
  ``autoclass``/``autoexception``/``autodata``/``class``/``exception``/``data``
  directive naming it (through any module that exposes it, such as a package's
  re-export), or by an ``automodule`` directive whose ``:members:`` cover it;
* a management command (its ``Command`` class): a section titled with the command name.

Not counted as public: names starting with ``_``, classes imported from elsewhere, and
the ``Migration`` classes of ``django_jwt_at.migrations`` (Django's plumbing; the
migrations are described in docs/users.rst).
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.dispatch import Signal

import django_jwt_at
from django_jwt_at import conf

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PACKAGE = ROOT / "django_jwt_at"

#: Modules whose classes are not public API (see the module docstring).
EXCLUDED_MODULE_PREFIXES = ("django_jwt_at.migrations",)

_DIRECTIVE = re.compile(
    r"^(?P<indent>[ \t]*)\.\.[ \t]+(?:py:)?(?P<kind>auto(?:class|exception|data|module)|class|exception|data"
    r"|module|currentmodule)::[ \t]*(?P<target>\S+)[ \t]*$"
)
_OPTION = re.compile(r"^[ \t]+:(?P<name>[\w-]+):[ \t]*(?P<value>.*)$")


def rst_sources() -> dict[str, str]:
    """Every documentation source, by path relative to docs/."""
    return {
        str(path.relative_to(DOCS)): path.read_text(encoding="utf-8")
        for path in sorted(DOCS.rglob("*.rst"))
        if "_build" not in path.parts
    }


def package_source() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(PACKAGE.rglob("*.py")))


def package_modules() -> Iterator[ModuleType]:
    yield django_jwt_at
    for info in pkgutil.walk_packages(django_jwt_at.__path__, "django_jwt_at."):
        if not info.name.startswith(EXCLUDED_MODULE_PREFIXES):
            yield importlib.import_module(info.name)


def _resolve(dotted: str) -> Any:
    """The object a dotted path names (a module, or an attribute of one), or None."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for name in parts[split:]:
            obj = getattr(obj, name, None)
            if obj is None:
                return None
        return obj
    return None


def _automodule_members(module: ModuleType, options: dict[str, str]) -> list[Any]:
    """What ``.. automodule::`` with these options documents, as autodoc chooses it."""
    if "members" not in options or "no-members" in options:
        return []
    excluded = {n.strip() for n in options.get("exclude-members", "").split(",") if n.strip()}
    listed = [n.strip() for n in options["members"].split(",") if n.strip()]
    if listed:
        names = listed
    elif hasattr(module, "__all__") and "ignore-module-all" not in options:
        names = list(module.__all__)
    else:
        names = [
            n
            for n, obj in vars(module).items()
            if not n.startswith("_") and getattr(obj, "__module__", module.__name__) == module.__name__
        ]
    members = []
    for name in names:
        if name in excluded:
            continue
        obj = getattr(module, name, None)
        if obj is not None and ("undoc-members" in options or inspect.getdoc(obj)):
            members.append(obj)
    return members


def documented_objects(sources: dict[str, str]) -> list[Any]:
    """The Python objects declared to Sphinx by the directives of ``sources``."""
    found: list[Any] = []
    for text in sources.values():
        current = ""
        lines = text.splitlines()
        for index, line in enumerate(lines):
            match = _DIRECTIVE.match(line)
            if not match:
                continue
            kind, target = match["kind"], match["target"]
            if kind in ("module", "currentmodule"):
                current = "" if target == "None" else target
                continue
            if kind == "automodule":
                current = target
                options: dict[str, str] = {}
                for following in lines[index + 1 :]:
                    option = _OPTION.match(following)
                    if not option:
                        break
                    options[option["name"]] = option["value"]
                module = _resolve(target)
                assert isinstance(module, ModuleType), f"automodule of {target!r} names no module"
                found.append(module)
                found.extend(_automodule_members(module, options))
                continue
            dotted = target if target.startswith("django_jwt_at") or not current else f"{current}.{target}"
            obj = _resolve(dotted)
            assert obj is not None, f"the docs declare {dotted!r}, which does not exist"
            found.append(obj)
    return found


def _reference_entries(text: str) -> set[str]:
    """Names that stand alone on a line: section titles and definition-list terms."""
    entries = set()
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("``") and stripped.endswith("``") and len(stripped) > 4:
            stripped = stripped[2:-2]
        if re.fullmatch(r"[\w.:-]+", stripped):
            entries.add(stripped)
    return entries


def _titles(text: str) -> list[str]:
    """The section titles of a reStructuredText page (over- and underlined ones alike)."""
    lines = text.splitlines()
    return [
        title.strip()
        for title, underline in itertools.pairwise(lines)
        if title.strip()
        and re.fullmatch(r"([=\-~^\"'`#*+.:_])\1+", underline)
        and len(underline) >= len(title.rstrip())
    ]


def public_settings() -> set[str]:
    return set(conf.DEFAULTS) | set(re.findall(r"\bJWT_AT_[A-Z][A-Z0-9_]*[A-Z0-9]\b", package_source()))


def check_ids() -> set[str]:
    source = package_source()
    ids = set(re.findall(r"django_jwt_at\.([EW]\d{3})\b", source))
    ids |= set(re.findall(r"""["']([EW]\d{3})["']""", source))
    return ids


def public_classes() -> dict[str, type]:
    classes = {}
    for module in package_modules():
        for name, obj in vars(module).items():
            if not name.startswith("_") and inspect.isclass(obj) and obj.__module__ == module.__name__:
                classes[f"{module.__name__}.{name}"] = obj
    return classes


def public_signals() -> dict[str, Signal]:
    """Signals created by the package (``name = Signal()``), not those it imports."""
    signals = {}
    for module in package_modules():
        source = Path(module.__file__ or "").read_text(encoding="utf-8")
        for name, obj in vars(module).items():
            created = re.search(rf"^{re.escape(name)}\b[^=\n]*=\s*(?:\w+\.)*Signal\(", source, re.M)
            if not name.startswith("_") and isinstance(obj, Signal) and created:
                signals[f"{module.__name__}.{name}"] = obj
    return signals


def _missing_objects(objects: dict[str, Any]) -> list[str]:
    documented = {id(obj) for obj in documented_objects(rst_sources())}
    return sorted(name for name, obj in objects.items() if id(obj) not in documented)


def test_the_collectors_find_what_the_package_has() -> None:
    """Guards the collectors themselves: an empty or partial collection would make every
    test below pass vacuously."""
    assert {"JWT_AT_ISSUERS", "JWT_AT_LEEWAY", "JWT_AT_OPENAPI_SECURITY_SCHEME"} <= public_settings()
    assert {"E001", "E014", "E015", "E018", "W001", "W002"} <= check_ids()
    assert "django_jwt_at.errors.InvalidToken" in public_classes()
    assert "django_jwt_at.signals.access_token_rejected" in public_signals()
    assert {"index.rst", "settings.rst", "checks.rst", "providers.rst"} <= set(rst_sources())


def test_every_setting_has_a_reference_entry() -> None:
    entries = _reference_entries(rst_sources()["settings.rst"])
    missing = sorted(public_settings() - entries)
    assert not missing, f"settings without an entry in docs/settings.rst: {missing}"


def test_every_issuer_option_has_a_reference_entry() -> None:
    sources = rst_sources()
    missing = sorted(conf.ISSUER_OPTIONS - _reference_entries(sources["settings.rst"]))
    assert not missing, f"JWT_AT_ISSUERS options without an entry in docs/settings.rst: {missing}"
    missing = sorted(conf.PROFILE_OPTIONS - _reference_entries(sources["providers.rst"]))
    assert not missing, f"issuer-profile options without an entry in docs/providers.rst: {missing}"


def test_every_check_id_is_documented() -> None:
    entries = set().union(*map(_reference_entries, rst_sources().values()))
    missing = sorted(i for i in check_ids() if f"django_jwt_at.{i}" not in entries)
    assert not missing, f"system-check ids without an entry (``django_jwt_at.<id>``) in docs/: {missing}"


def test_every_exception_is_documented() -> None:
    exceptions = {n: c for n, c in public_classes().items() if issubclass(c, BaseException)}
    assert {"django_jwt_at.errors.ProtocolError", "django_jwt_at.exceptions.AccessTokenError"} <= set(exceptions)
    missing = _missing_objects(exceptions)
    assert not missing, f"exception classes not declared in docs/: {missing}"


def test_every_signal_is_documented() -> None:
    missing = _missing_objects(public_signals())
    assert not missing, f"signals not declared in docs/: {missing}"


def test_every_public_class_is_documented() -> None:
    classes = {n: c for n, c in public_classes().items() if ".management.commands." not in n}
    missing = _missing_objects(classes)
    assert not missing, f"public classes not declared in docs/ (autoclass or automodule :members:): {missing}"


def test_every_management_command_is_documented() -> None:
    commands = sorted(n.split(".")[-2] for n in public_classes() if ".management.commands." in n)
    assert commands, "no management command found"
    titles = " ".join(title for text in rst_sources().values() for title in _titles(text))
    missing = [c for c in commands if not re.search(rf"\b{c}\b", titles)]
    assert not missing, f"management commands not documented in docs/: {missing}"


@pytest.mark.parametrize("page", ["overview", "quickstart", "settings", "providers", "checks", "errors", "mcp"])
def test_pages_are_in_the_toctree(page: str) -> None:
    index = rst_sources()["index.rst"]
    toctree = index.split(".. toctree::", 1)[1]
    assert re.search(rf"^\s+{page}\s*$", toctree, re.M), f"{page} is not in the toctree of docs/index.rst"
