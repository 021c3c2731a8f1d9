"""Every Python example of README.md and docs/*.rst runs here, under the settings the quick
start recommends; a change of the documentation that breaks an example fails here.

What counts as an example: a ```` ```python ```` fence of README.md; in an rST page, a
``.. code-block:: python`` directive, and a ``::`` literal block whose text parses as
Python (the blocks Sphinx highlights as Python, the pages setting no other
``highlight_language``). A few blocks run in another test and are not run again here
(:func:`covered_elsewhere` names them; ``test_every_block_runs_here_or_elsewhere`` checks
the split): the captioned files of docs/testing.rst and the quick start's "Configure"
settings (tests/test_docs_examples.py), and README's settings (tests/test_checks.py).

Each other block is a test case ``<page>:<line of the directive>``. The case starts from
the suite's settings with every ``JWT_AT_*`` setting removed and the quick start's
"Configure" settings applied, and runs the block in a namespace that holds the page's
preamble (:data:`PREAMBLES`: the imports and the reader's own objects that the page's
blocks take for granted) and what the earlier blocks of the page define, as a reader
reads the page from the top. Tracebacks point at the lines of the page. Then:

* A block (or a part headed ``# settings.py``) of only imports and upper-case assignments
  is **settings**. They are applied over the quick start's (an ``...`` in a list, or a
  ``# ...`` line, stands for the value already there: the items the block adds go on the
  side of the placeholder the block puts them, the others stay in place). Every
  ``JWT_AT_*`` name must be a setting of the package, and the system checks must report
  no ``django_jwt_at.E*`` message (nor may ``get_config()`` refuse); a block marked
  ``.. docs-example: invalid <check id>`` must be reported with that id instead. A name
  assigned twice starts an alternative, checked on its own. Unless the settings name a
  cache server, a protected view then answers a request without and with a token (no
  server error), a ``query`` token gets ``Cache-Control: private``, and with
  ``JWT_AT_RESOURCE`` and a URLconf part the metadata document holds the settings.
  ``LOGGING`` is built (not installed) and its formatters format the package's records.
* A part headed ``# <path>.py`` is a module of the reader's project, importable under
  that name in every case (with the captioned files of docs/testing.rst, and the
  stand-ins of :data:`STANDINS` for modules the pages name but do not show).
* Any other block is **code**. It runs, and what it defines is exercised through the
  suite's loopback key server with real tokens: every view (class, ViewSet action,
  decorated function, a ``permission_classes = [...]`` fragment, each permission,
  authentication class and user mapping it defines) gets a request without a token and
  one with a token that holds every scope-like string of the block; methods of a view
  that take no argument (``get_queryset``) are called on an authenticated request;
  signal receivers must be called; ``test_*`` functions are called with the fixtures
  they name; a ``# GET: [{jwtAccessToken: [...]}]`` comment on a function view is
  compared with the drf-spectacular schema (OpenAPI 3.1, where the default scheme lists
  scopes). Views whose body is ``...`` may return nothing.
* An answer table (a ``.. code-block:: text`` whose lines are ``<request>  <status>
  [WWW-Authenticate: ...]``) that follows a block in the same section, before any other
  literal block, is replayed: each row's request must get the status and the ``Bearer``
  challenge shown (``resource_metadata``, which the quick start's ``JWT_AT_RESOURCE``
  adds and the pages leave out, aside). With alternatives, each row must hold for one.
* A few examples get their own scenario: the step-up client sketch recovers from a
  step-up challenge and calls ``reauthorize`` with the dict the page shows; the
  multi-tenant callables answer for the stand-in customers; the token-minting lines of
  docs/testing.rst get the answers their comments state.

``.. docs-example: skip <reason>`` (an rST comment, not rendered; in README.md
``<!-- docs-example: skip <reason> -->``) right before a block skips it with that reason,
shown in pytest's summary. Keep it for blocks that cannot run here, such as one that
needs a service the suite does not start, and keep such blocks few.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.util
import json
import logging
import logging.config
import re
import sys
import textwrap
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import override_settings
from django.urls import URLPattern, include, path

import django_jwt_at.clock
from django_jwt_at.conf import DEFAULTS, METADATA_WELL_KNOWN, get_config
from django_jwt_at.signals import access_token_rejected, access_token_validated

from .helpers import FX_ISS, our_messages
from .test_docs_examples import example_files, quickstart_settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PACKAGE = ROOT / "django_jwt_at"

# ---------------------------------------------------------------------------------------
# the blocks
# ---------------------------------------------------------------------------------------

_CODE_BLOCK = re.compile(r"^(?P<indent>[ \t]*)\.\.[ \t]+(?:code-block|code|sourcecode)::[ \t]*(?P<language>\S*)[ \t]*$")
_OPTION = re.compile(r"^[ \t]+:(?P<name>[\w-]+):[ \t]*(?P<value>.*)$")
_RST_MARKER = re.compile(r"^[ \t]*\.\.[ \t]+docs-example:[ \t]*(?P<marker>.*?)[ \t]*$")
_MD_MARKER = re.compile(r"^<!--[ \t]*docs-example:[ \t]*(?P<marker>.*?)[ \t]*-->[ \t]*$")
_UNDERLINE = re.compile(r"^([-=~^\"'`#*+.:_])\1{2,}[ \t]*$")
_FILE_COMMENT = re.compile(r"^#[ \t]+(?P<path>[\w./-]+\.py)\b")
PYTHON = {"python", "py", "python3", "py3"}
#: ``.. docs-example: <kind> <argument>``: the kinds, and what their argument is.
MARKERS = {"skip": "the reason", "invalid": "the check id the settings are reported with"}

_ROW = re.compile(r"^(?P<desc>\S.*?)[ \t]{2,}(?P<status>[1-5]\d\d)(?:[ \t]+(?P<rest>.*?))?[ \t]*$")


@dataclass(frozen=True)
class Row:
    """A line of an answer table: a request, its status and the challenge shown."""

    line: int
    desc: str
    status: int
    rest: str


@dataclass(frozen=True)
class Block:
    source: str  # "README.md" or the page's name, "permissions.rst"
    line: int  # the directive, fence or "::" line
    first: int  # the line of the code's first line
    language: str  # "python", or "::" for a literal block
    code: str
    caption: str | None = None
    section: str = ""
    marker: tuple[str, str] | None = None
    answers: tuple[Row, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.source}:{self.line}"

    @property
    def path(self) -> Path:
        return README if self.source == "README.md" else DOCS / self.source


@dataclass
class _Element:
    kind: str  # "title", "code" or "literal"
    line: int
    language: str = ""
    options: dict[str, str] = field(default_factory=dict)
    code: str = ""
    first: int = 0
    section: str = ""
    marker: tuple[str, str] | None = None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _marker(text: str, where: str) -> tuple[str, str]:
    kind, _, argument = text.partition(" ")
    if kind not in MARKERS or not argument.strip():
        raise ValueError(f"{where}: a docs-example marker is 'skip <reason>' or 'invalid <check id>', not {text!r}")
    return kind, argument.strip()


def _body(lines: list[str], index: int, indent: int) -> tuple[str, int, int]:
    """The indented body starting at ``index``: (its text, the line of its first line, the
    index after it)."""
    start = index
    while index < len(lines) and (not lines[index].strip() or _indent(lines[index]) > indent):
        index += 1
    body = lines[start:index]
    while body and not body[-1].strip():
        body.pop()
    leading = next((n for n, line in enumerate(body) if line.strip()), len(body))
    return textwrap.dedent("\n".join(body[leading:])) + "\n", start + leading + 1, index


def _rst_elements(name: str, text: str) -> list[_Element]:
    lines = text.splitlines()
    elements: list[_Element] = []
    section = ""
    marker: tuple[tuple[str, str], int] | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if marker is not None and line.strip() and not _CODE_BLOCK.match(line) and not line.rstrip().endswith("::"):
            raise ValueError(f"{name}:{marker[1]}: a docs-example marker must come right before a block")
        if (
            line.strip()
            and not line[0].isspace()
            and _UNDERLINE.match(following)
            and len(following.rstrip()) >= len(line.rstrip())
        ):
            section = line.strip()
            elements.append(_Element("title", index + 1, section=section))
            index += 2
            continue
        found = _RST_MARKER.match(line)
        if found:
            marker = (_marker(found.group("marker"), f"{name}:{index + 1}"), index + 1)
            index += 1
            continue
        directive = _CODE_BLOCK.match(line)
        if directive:
            at = index + 1
            indent = len(directive.group("indent"))
            options: dict[str, str] = {}
            index += 1
            while index < len(lines) and (option := _OPTION.match(lines[index])):
                options[option.group("name")] = option.group("value").strip()
                index += 1
            code, first, index = _body(lines, index, indent)
            language = directive.group("language") or "default"
            elements.append(
                _Element("code", at, language, options, code, first, section, marker[0] if marker else None)
            )
            marker = None
            continue
        stripped = line.strip()
        if stripped.endswith("::") and not stripped.startswith(".."):
            indent = _indent(line)
            after = index + 1
            while after < len(lines) and not lines[after].strip():
                after += 1
            if after < len(lines) and _indent(lines[after]) > indent:
                if marker is not None:
                    raise ValueError(f"{name}:{marker[1]}: put the marker before a '.. code-block::' directive")
                at = index + 1
                code, first, index = _body(lines, index + 1, indent)
                elements.append(_Element("literal", at, "::", {}, code, first, section, None))
                continue
        index += 1
    if marker is not None:
        raise ValueError(f"{name}:{marker[1]}: a docs-example marker must come right before a block")
    return elements


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def answer_rows(code: str, first: int) -> tuple[Row, ...]:
    """The rows of an answer table, or () when ``code`` is not one (every non-blank line
    must be ``<request>  <status>[  <more>]``)."""
    rows = []
    for offset, line in enumerate(code.splitlines()):
        if not line.strip():
            continue
        found = _ROW.match(line)
        if found is None:
            return ()
        rows.append(
            Row(
                first + offset,
                " ".join(found.group("desc").split()),
                int(found.group("status")),
                found.group("rest") or "",
            )
        )
    return tuple(rows)


def rst_blocks(name: str, text: str) -> list[Block]:
    elements = _rst_elements(name, text)
    blocks = []
    for position, element in enumerate(elements):
        if element.kind == "title":
            continue
        if element.kind == "code" and element.language not in PYTHON:
            if element.marker is not None:
                raise ValueError(f"{name}:{element.line}: a docs-example marker on a {element.language} block")
            continue
        if element.kind == "literal" and not _parses(element.code):
            continue
        answers: tuple[Row, ...] = ()
        following = elements[position + 1] if position + 1 < len(elements) else None
        if following is not None and following.kind == "code" and following.language == "text":
            answers = answer_rows(following.code, following.first)
        blocks.append(
            Block(
                name,
                element.line,
                element.first,
                "python" if element.kind == "code" else "::",
                element.code,
                element.options.get("caption"),
                element.section,
                element.marker,
                answers,
            )
        )
    return blocks


def readme_blocks(text: str) -> list[Block]:
    lines = text.splitlines()
    blocks = []
    section = ""
    marker = None
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        if found := _MD_MARKER.match(line):
            marker = _marker(found.group("marker"), f"README.md:{index + 1}")
        fence = re.match(r"^```[ \t]*(?P<language>\w*)", line)
        if fence:
            end = index + 1
            while end < len(lines) and not lines[end].startswith("```"):
                end += 1
            if fence.group("language") in PYTHON:
                code = "\n".join(lines[index + 1 : end]) + "\n"
                blocks.append(Block("README.md", index + 1, index + 2, "python", code, None, section, marker))
            elif marker is not None:
                raise ValueError(f"README.md:{index + 1}: a docs-example marker on a non-Python block")
            marker = None
            index = end + 1
            continue
        if line.strip() and not _MD_MARKER.match(line) and marker is not None:
            raise ValueError(f"README.md:{index + 1}: a docs-example marker must come right before a block")
        index += 1
    return blocks


def all_blocks() -> list[Block]:
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    for page in sorted(DOCS.glob("*.rst")):
        blocks += rst_blocks(page.name, page.read_text(encoding="utf-8"))
    return blocks


def covered_elsewhere(block: Block) -> str | None:
    """The test that runs ``block`` already, if another one does."""
    if block.source == "testing.rst" and block.caption:
        return "tests/test_docs_examples.py (a file of the example project)"
    if block.source == "quickstart.rst" and block.section == "Configure":
        return "tests/test_docs_examples.py (the settings of the example project)"
    if block.source == "README.md" and "JWT_AT_ISSUERS" in block.code:
        return "tests/test_checks.py::test_readme_settings_pass_the_checks_without_a_message"
    return None


BLOCKS = all_blocks()
CASES = [b for b in BLOCKS if covered_elsewhere(b) is None]


# ---------------------------------------------------------------------------------------
# parts, files and the reader's project
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """A piece of a block: a file named by a ``# <path>.py`` comment, or the unnamed text."""

    kind: str  # "settings", "urls", "module" or "code"
    name: str | None  # the module name of a "module" part
    code: str
    first: int


def _rewrite_placeholders(code: str) -> str:
    """``# ...`` lines (the reader's other entries) as ``...`` items, when that parses."""
    rewritten = re.sub(r"(?m)^([ \t]+)#[ \t]*\.\.\.[ \t]*$", r"\1...,", code)
    return rewritten if rewritten != code and _parses(rewritten) else code


def _is_settings(code: str) -> bool:
    statements = ast.parse(code).body
    assigned = False
    for statement in statements:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            continue
        targets = statement.targets if isinstance(statement, ast.Assign) else None
        if not targets or not all(isinstance(t, ast.Name) and re.fullmatch(r"[A-Z][A-Z0-9_]*", t.id) for t in targets):
            return False
        assigned = True
    return assigned


def parts(block: Block) -> list[Part]:
    pieces: list[tuple[str | None, list[str], int]] = [(None, [], block.first)]
    for offset, line in enumerate(block.code.splitlines()):
        named = _FILE_COMMENT.match(line)
        if named:
            pieces.append((named.group("path"), [], block.first + offset))
        pieces[-1][1].append(line)
    result = []
    for file, lines, first in pieces:
        code = "\n".join(lines) + "\n"
        if not code.strip():
            continue
        if file is None:
            kind = "settings" if _is_settings(code) else "code"
        elif file.endswith("settings.py"):
            kind = "settings"
        elif file.endswith("urls.py"):
            kind = "urls"
        else:
            kind = "module"
        name = file[: -len(".py")].replace("/", ".") if kind == "module" and file else None
        result.append(Part(kind, name, _rewrite_placeholders(code) if kind in ("settings", "urls") else code, first))
    return result


#: Modules the pages name in settings or imports without showing them: the reader's own
#: models and callables, as small stand-ins.
STANDINS = {
    "myapp.models": '''
class _QuerySet(list):
    def exists(self):
        return bool(self)

    def first(self):
        return self[0] if self else None


class _Manager:
    def __init__(self):
        self.rows = []
        self.lookups = []

    def filter(self, **lookups):
        self.lookups.append(lookups)
        return _QuerySet(r for r in self.rows if all(getattr(r, k, None) == v for k, v in lookups.items()))


class Customer:
    """The reader's customers: entra_tenant_id, issuer, audience, active."""

    objects = _Manager()

    def __init__(self, **fields):
        self.__dict__.update(fields)


class Invoice:
    objects = _Manager()
''',
    "shop.tenants": """
def realm_is_customer(realm):
    return realm != "master"
""",
}


def project_files() -> dict[str, list[tuple[Path, int, str]]]:
    """The reader's project as the pages show it: module name -> its pieces, in order."""
    files: dict[str, list[tuple[Path, int, str]]] = {}
    for block in BLOCKS:
        if block.caption and block.caption.endswith(".py"):
            if block.caption.startswith("tests/") or block.caption == "conftest.py":
                continue
            files.setdefault(block.caption[:-3].replace("/", "."), []).append((block.path, block.first, block.code))
        for part in parts(block):
            if part.kind == "module" and part.name:
                files.setdefault(part.name, []).append((block.path, part.first, part.code))
    for name, code in STANDINS.items():
        files.setdefault(name, [(Path(__file__), 1, code)])
    return files


def compiled(code: str, filename: Path, first: int) -> types.CodeType:
    """``code`` compiled so that tracebacks name the page and its line numbers."""
    return compile("\n" * (first - 1) + code, str(filename), "exec")


class ReadersProject(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports the modules of :func:`project_files` (and their packages)."""

    def __init__(self) -> None:
        self.files = project_files()
        self.packages = {".".join(n.split(".")[:i]) for n in self.files for i in range(1, n.count(".") + 1)}

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname in self.files or fullname in self.packages:
            return importlib.util.spec_from_loader(fullname, self, is_package=fullname in self.packages)
        return None

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        for filename, first, code in self.files.get(module.__name__, []):
            exec(compiled(code, filename, first), module.__dict__)

    @property
    def names(self) -> set[str]:
        return set(self.files) | self.packages


# ---------------------------------------------------------------------------------------
# running a block
# ---------------------------------------------------------------------------------------

#: What the blocks of a page take for granted: the imports a reader of the page has
#: written, and the reader's own objects that the text names.
PREAMBLES = {
    "permissions.rst": """
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.views import APIView

from django_jwt_at.permissions import HasAnyScope, HasRole, HasScope, HasScopeForMethod, StepUpRequired
""",
    "signals.rst": """
class _Metrics:  # the reader's metrics client
    def __init__(self):
        self.calls = []

    def increment(self, name, tags=None):
        self.calls.append((name, tags))


metrics = _Metrics()
""",
    "testing.rst": """
import django_jwt_at.clock
from django_jwt_at.testing import DPoPKey, TestIssuer

# the issuer of the conftest.py above
issuer = TestIssuer("https://as.example.com", "https://api.example.com", algorithms=["RS256", "ES256"])
now = django_jwt_at.clock.now()
key = DPoPKey()
""",
}

_counter = iter(range(1_000_000))


def namespace() -> dict[str, Any]:
    return {"__name__": f"docs_example_{next(_counter)}", "__builtins__": __builtins__}


def run_code(
    code: str, block: Block, first: int, ns: dict[str, Any], watch: Callable[[str], bool]
) -> list[tuple[str, Any]]:
    """Run ``code`` statement by statement; return the assignments to watched names, in order."""
    tree = ast.parse(code)
    assigned = []
    for statement in tree.body:
        ast.increment_lineno(statement, first - 1)
        module = ast.Module(body=[statement], type_ignores=[])
        exec(compile(module, str(block.path), "exec"), ns)
        targets = statement.targets if isinstance(statement, ast.Assign) else []
        for target in targets:
            if isinstance(target, ast.Name) and watch(target.id):
                assigned.append((target.id, ns[target.id]))
    return assigned


def variants(assignments: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Assignments as alternatives: a name assigned again starts a new one."""
    result: list[dict[str, Any]] = [{}]
    for name, value in assignments:
        if name in result[-1]:
            result.append(dict(result[-1]))
        result[-1][name] = value
    return result if result[0] else []


def merged(current: Any, value: Any) -> Any:
    """``value`` with its ``...`` standing for ``current``: the items ``value`` adds go on
    the side of the ``...`` it puts them, the items already in ``current`` stay in place."""
    if not isinstance(value, (list, tuple)) or Ellipsis not in value:
        return value
    at = value.index(Ellipsis)
    before = [v for v in value[:at] if v is not Ellipsis]
    after = [v for v in value[at + 1 :] if v is not Ellipsis]
    base = list(current) if isinstance(current, (list, tuple)) else []
    result = [v for v in before if v not in base] + base + [v for v in after if v not in base]
    return type(value)(result)


def known_settings() -> set[str]:
    names = set(DEFAULTS)
    for source in PACKAGE.rglob("*.py"):
        names |= set(re.findall(r"\bJWT_AT_[A-Z0-9_]*[A-Z0-9]\b", source.read_text(encoding="utf-8")))
    return names


def page_before(block: Block) -> dict[str, Any]:
    """The namespace of the block: the page's preamble, and the page's earlier blocks run."""
    ns = namespace()
    exec(PREAMBLES.get(block.source, ""), ns)
    earlier = [b for b in CASES if b.source == block.source and b.line < block.line and b.marker is None]
    for other in earlier:
        try:
            for part in parts(other):
                if part.kind in ("code", "settings", "urls"):
                    run_code(part.code, other, part.first, ns, lambda name: False)
        except Exception as exc:
            raise AssertionError(
                f"{other.id}, run before this block as a reader reads the page, failed: {exc!r}"
            ) from exc
    return ns


# ---------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------


@dataclass
class Quickstart:
    settings: dict[str, Any]
    urlpatterns: list[Any]
    issuer: str
    audience: str


def quickstart_values() -> tuple[dict[str, Any], list[Any]]:
    code, url_lines = quickstart_settings()
    ns: dict[str, Any] = {}
    exec(_rewrite_placeholders(code), ns)
    values = {k: v for k, v in ns.items() if re.fullmatch(r"[A-Z][A-Z0-9_]*", k)}
    patterns = [eval(line.rstrip(","), {"path": path, "include": include}) for line in url_lines]
    return values, patterns


@pytest.fixture
def quickstart(settings: Any, fx: Any) -> Quickstart:
    """The suite's settings, less its ``JWT_AT_*``, plus the quick start's "Configure"."""
    from django.conf import settings as django_settings

    for name in [n for n in dir(django_settings) if n.startswith("JWT_AT_")]:  # not dir(settings)
        delattr(settings, name)
    # The suite lists the package's middleware; the quick start does not (it is asked for
    # where it is needed).
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.startswith("django_jwt_at.")]
    values, patterns = quickstart_values()
    for name, value in values.items():
        new = merged(getattr(settings, name, None), value)
        if new != getattr(settings, name, None):
            setattr(settings, name, new)
    ((issuer, options),) = values["JWT_AT_ISSUERS"].items()
    assert issuer == FX_ISS  # the suite's tokens are of the quick start's issuer
    return Quickstart(values, patterns, issuer, options["AUDIENCE"])


@pytest.fixture
def project() -> Iterator[ReadersProject]:
    finder = ReadersProject()
    sys.meta_path.insert(0, finder)
    yield finder
    sys.meta_path.remove(finder)
    for name in [n for n in sys.modules if n in finder.names]:
        del sys.modules[name]


@pytest.fixture
def signals_restored() -> Iterator[None]:
    saved = {s: list(s.receivers) for s in (access_token_validated, access_token_rejected)}
    yield
    for signal, receivers in saved.items():
        signal.receivers = receivers
        signal.sender_receivers_cache.clear()


@dataclass
class Context:
    """What a case works with."""

    block: Block
    request: Any
    settings: Any
    api: Any
    make_token: Any
    server: Any
    quickstart: Quickstart
    caplog: Any
    urlconfs: list[str] = field(default_factory=list)

    # -- tokens --------------------------------------------------------------------------

    def claims(self, **claims: Any) -> dict[str, Any]:
        return {"aud": self.quickstart.audience, **claims}

    def token(self, **claims: Any) -> str:
        return str(self.make_token(claims=self.claims(**claims)))

    def full_claims(self, code: str) -> dict[str, Any]:
        """Claims that hold every scope-like string of ``code`` as scope, role and group."""
        words = {"orders:read", "orders:write", "payments:write", "admin"}
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if re.fullmatch(r"[\x21\x23-\x5b\x5d-\x7e]{1,64}", node.value) and "/" not in node.value:
                    words.add(node.value)
        values = sorted(words)
        return {"scope": " ".join(values), "roles": values, "groups": values, "entitlements": values}

    def dpop_token(self, method: str, url: str, **claims: Any) -> tuple[str, dict[str, str]]:
        from django_jwt_at.testing import DPoPKey, dpop_headers

        key = DPoPKey()
        token = self.token(cnf={"jkt": key.jkt}, **claims)
        return token, dpop_headers(token, key, method, url)

    # -- settings and routes -------------------------------------------------------------

    def loopback_issuers(self) -> dict[str, Any]:
        """``JWT_AT_ISSUERS`` with the key set of the quick start's issuer at the loopback
        server instead of discovered from as.example.com."""
        issuers = dict(getattr(self.settings, "JWT_AT_ISSUERS", {}))
        options = issuers.get(self.quickstart.issuer)
        if isinstance(options, dict) and "JWKS_URI" not in options:
            issuers[self.quickstart.issuer] = {**options, "JWKS_URI": self.server.url("/jwks")}
        return issuers

    def route(self, patterns: list[Any], *, quickstart_urls: bool = True) -> None:
        from django.urls import clear_url_caches

        name = f"docs_code_urls_{next(_counter)}"
        module = types.ModuleType(name)
        module.urlpatterns = [*(self.quickstart.urlpatterns if quickstart_urls else []), *patterns]  # type: ignore[attr-defined]
        sys.modules[name] = module
        self.urlconfs.append(name)
        self.settings.ROOT_URLCONF = name
        clear_url_caches()

    def send(
        self, method: str, url: str, token: str | None = None, headers: dict[str, str] | None = None, **extra: Any
    ) -> Any:
        if headers and "Authorization" in headers:
            extra["authorization"] = headers.pop("Authorization")
            extra["secrets"] = [extra["authorization"].split(" ", 1)[-1]]
        return self.api.request(method.upper(), url, token, headers=headers, **extra)


@pytest.fixture
def ctx(
    request, settings, api, make_token, server, quickstart, project, signals_restored, caplog, db
) -> Iterator[Context]:
    context = Context(
        request.node.callspec.params["block"], request, settings, api, make_token, server, quickstart, caplog
    )
    yield context
    for name in context.urlconfs:
        sys.modules.pop(name, None)


# ---------------------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", [pytest.param(b, id=b.id) for b in CASES])
def test_block(block: Block, ctx: Context) -> None:
    if block.marker and block.marker[0] == "skip":
        pytest.skip(f"{block.id}: {block.marker[1]}")
    ns = page_before(block)
    modules: list[tuple[Part, types.ModuleType]] = []
    settings_variants: list[dict[str, Any]] = []
    urlpatterns: list[Any] | None = None
    code_parts: list[Part] = []
    for part in parts(block):
        if part.kind == "module":
            assert part.name is not None
            modules.append((part, importlib.import_module(part.name)))
        elif part.kind == "settings":
            assigned = run_code(part.code, block, part.first, ns, lambda n: bool(re.fullmatch(r"[A-Z][A-Z0-9_]*", n)))
            settings_variants += variants(assigned)
        elif part.kind == "urls":
            run_code(part.code, block, part.first, ns, lambda n: False)
            urlpatterns = merged([], ns.get("urlpatterns", []))
        else:
            code_parts.append(part)
    if block.marker and block.marker[0] == "invalid":
        assert settings_variants, f"{block.id} is marked invalid but sets no setting"
    for part, module in modules:
        exercise(ctx, block, page_tree(part.code, part.first), module.__dict__, [])
        exercise_module(module)
    for values in settings_variants:
        check_settings(ctx, block, values, urlpatterns)
    if code_parts:
        run_and_exercise(ctx, block, code_parts, ns)


# ---------------------------------------------------------------------------------------
# settings
# ---------------------------------------------------------------------------------------

KNOWN_SETTINGS = known_settings()


def check_settings(ctx: Context, block: Block, values: dict[str, Any], urlpatterns: list[Any] | None) -> None:
    unknown = sorted(n for n in values if n.startswith("JWT_AT_") and n not in KNOWN_SETTINGS)
    assert not unknown, f"{block.id}: not settings of the package: {unknown}"
    # LOGGING is built and checked, never installed: Django 6.1 reconfigures logging when
    # an override changes it, which would leave the package's logger configured by the page.
    applied = {
        name: merged(getattr(ctx.settings, name, None), value) for name, value in values.items() if name != "LOGGING"
    }
    with override_settings(**applied):
        errors = [m for m in our_messages() if m.id.startswith("django_jwt_at.E")]
        if block.marker and block.marker[0] == "invalid":
            assert block.marker[1] in [m.id for m in errors], f"{block.id}: expected {block.marker[1]}, got {errors}"
            return
        assert errors == [], f"{block.id}: the settings {sorted(values)} are reported: {errors}"
        get_config()
        if "LOGGING" in values:
            check_logging(ctx, values["LOGGING"])
        if "CACHES" not in values:  # a cache server the example names is not run here
            smoke(ctx, values, urlpatterns)


def smoke(ctx: Context, values: dict[str, Any], urlpatterns: list[Any] | None) -> None:
    """A protected view under the settings: a request without and with a token."""
    from rest_framework.response import Response
    from rest_framework.settings import api_settings
    from rest_framework.views import APIView

    from django_jwt_at.permissions import HasScope

    def get(self: Any, request: Any) -> Any:
        return Response({"user": str(request.user), "subject": request.auth.subject})

    view = type(
        "SmokeView",
        (APIView,),
        {
            "authentication_classes": api_settings.DEFAULT_AUTHENTICATION_CLASSES,
            "permission_classes": [*api_settings.DEFAULT_PERMISSION_CLASSES, HasScope("orders:read")],
            "get": get,
        },
    )
    ctx.route([*(urlpatterns or []), path("smoke", view.as_view())], quickstart_urls=urlpatterns is None)
    with override_settings(JWT_AT_ISSUERS=ctx.loopback_issuers()):
        token = ctx.token()
        for answer in (ctx.send("GET", "/smoke"), ctx.send("GET", "/smoke", token)):
            assert answer.status_code < 500, answer.content
        if "query" in get_config().token_methods:
            answer = ctx.api.get(f"/smoke?access_token={token}")
            assert answer.status_code < 500 and "private" in answer.get("Cache-Control", ""), answer.items()
        resource = values.get("JWT_AT_RESOURCE")
        if urlpatterns is not None and resource:
            document = ctx.api.get(METADATA_WELL_KNOWN)
            assert document.status_code == 200, document.content
            data = document.json()
            assert data["resource"] == resource
            for name, value in values.get("JWT_AT_RESOURCE_METADATA", {}).items():
                assert data[name] == value, name


def package_records(ctx: Context) -> list[logging.LogRecord]:
    """The package's audit records of one accepted and one expired token."""
    from rest_framework.views import APIView

    view = type("Audited", (APIView,), {"get": _ok})
    ctx.route([path("audited", view.as_view())])
    ctx.caplog.clear()
    with override_settings(JWT_AT_ISSUERS=ctx.loopback_issuers()):
        now = django_jwt_at.clock.now()
        ctx.send("GET", "/audited", ctx.token())
        ctx.send("GET", "/audited", ctx.token(iat=int(now) - 7200, exp=int(now) - 3600))
    return [r for r in ctx.caplog.records if r.name.startswith("django_jwt_at") and hasattr(r, "reason")]


def check_logging(ctx: Context, config: dict[str, Any]) -> None:
    """The configuration is built (not installed) and its formatters format the package's
    audit records; the loggers name its handlers."""
    configurator = logging.config.DictConfigurator(config)
    formatters = {n: configurator.configure_formatter(c) for n, c in configurator.config.get("formatters", {}).items()}
    configurator.config["formatters"] = formatters
    handlers = {n: configurator.configure_handler(c) for n, c in configurator.config.get("handlers", {}).items()}
    for name, logger in config.get("loggers", {}).items():
        assert set(logger.get("handlers", [])) <= set(handlers), name
    records = package_records(ctx)
    assert {r.reason for r in records} >= {"validated", "expired"}, [r.__dict__ for r in records]  # type: ignore[attr-defined]
    for handler in handlers.values():
        for record in records:
            text = handler.format(record)
            assert record.reason in text  # type: ignore[attr-defined]
        handler.close()


# ---------------------------------------------------------------------------------------
# modules of the reader's project
# ---------------------------------------------------------------------------------------


def exercise_module(module: types.ModuleType) -> None:
    """The callables the pages name in settings, with stand-in customers."""
    Customer = importlib.import_module("myapp.models").Customer
    if hasattr(module, "is_customer"):
        tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
        Customer.objects.rows[:] = [Customer(entra_tenant_id=tenant, active=True)]
        assert module.is_customer(tenant) is True
        assert module.is_customer("00000000-0000-0000-0000-000000000000") is False
    if hasattr(module, "issuer_options"):
        issuer = "https://dev-123456.okta.com/oauth2/default"
        Customer.objects.rows[:] = [Customer(issuer=issuer, active=True, audience="api://default")]
        assert module.issuer_options("https://unknown.example.com") is None
        options = module.issuer_options(issuer)
        with override_settings(JWT_AT_ISSUERS={issuer: options}):
            errors = [m for m in our_messages() if m.id.startswith("django_jwt_at.E")]
            assert errors == [], f"the options {options} are reported: {errors}"


# ---------------------------------------------------------------------------------------
# code
# ---------------------------------------------------------------------------------------


@dataclass
class Target:
    """A view of a block to send requests to."""

    kind: str  # "view" (the block's), "fragment", "permission", "authentication", "mapping", "route"
    name: str
    url: str
    methods: list[tuple[str, bool]]  # (method, whether a token that passes may reach a handler)


def _defined(tree: ast.Module, kind: type) -> list[str]:
    return [n.name for n in tree.body if isinstance(n, kind)]


def _assigned_names(tree: ast.Module) -> set[str]:
    return {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}


def _decorators(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names = set()
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Attribute):
            names.add(target.attr)
    return names


def _stub(node: ast.AST) -> bool:
    """A function whose body is ``...``."""
    return (
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and len(node.body) == 1
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and node.body[0].value.value is Ellipsis
    )


def _ok(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
    from rest_framework.response import Response

    return Response({"ok": True})


def exercised_view(cls: type) -> type:
    """``cls`` with an object to show: its ``owner`` is the request's ``owner`` query
    parameter, and the view's object permissions are checked on it."""
    from rest_framework.generics import GenericAPIView
    from rest_framework.mixins import RetrieveModelMixin
    from rest_framework.response import Response

    attrs: dict[str, Any] = {"__module__": cls.__module__}
    if issubclass(cls, GenericAPIView):

        def get_object(self: Any) -> Any:
            obj = types.SimpleNamespace(pk=7, owner=self.request.query_params.get("owner", "someone-else"))
            self.check_object_permissions(self.request, obj)
            return obj

        attrs["get_object"] = get_object
        if issubclass(cls, RetrieveModelMixin):
            attrs["retrieve"] = lambda self, request, *a, **k: Response({"owner": self.get_object().owner})
    return type(cls.__name__, (cls,), attrs)


HANDLERS = ["get", "post", "put", "patch", "delete"]
VIEW_DECORATORS = {"api_view", "access_token_required", "step_up_required"}


def targets(tree: ast.Module, ns: dict[str, Any], fragments: list[Any]) -> tuple[list[Target], list[Any]]:
    """The views of a block, and the URL patterns that route them."""
    from rest_framework.authentication import BaseAuthentication
    from rest_framework.permissions import BasePermission, IsAuthenticated
    from rest_framework.routers import SimpleRouter
    from rest_framework.views import APIView
    from rest_framework.viewsets import ViewSetMixin

    from django_jwt_at.authentication import JWTAccessTokenAuthentication
    from django_jwt_at.users import UserMapping

    found: list[Target] = []
    patterns: list[Any] = []

    def add(kind: str, name: str, view: Any, methods: list[tuple[str, bool]]) -> None:
        url = f"/{name}-{len(found)}"
        found.append(Target(kind, name, url, methods))
        patterns.append(path(url[1:], view))

    def wrapping(name: str, **attrs: Any) -> Any:
        return type(name, (APIView,), {"get": _ok, **attrs}).as_view()

    routed = ns["urlpatterns"] if "urlpatterns" in _assigned_names(tree) else []
    routed_classes = {getattr(p.callback, "view_class", None) for p in routed}
    for name in _defined(tree, ast.ClassDef):
        cls = ns[name]
        if not isinstance(cls, type) or cls in routed_classes:  # routed as the block routes it
            continue
        if issubclass(cls, APIView) and issubclass(cls, ViewSetMixin):
            router = SimpleRouter(trailing_slash=False)
            prefix = re.sub(r"(View)?Set$", "", name).lower() + "s"
            router.register(prefix, exercised_view(cls), basename=prefix)
            for pattern in router.urls:
                url = "/" + re.sub(r"\(\?P<\w+>[^)]*\)", "7", pattern.pattern.regex.pattern).strip("^$")
                methods = [(m, action in cls.__dict__) for m, action in pattern.callback.actions.items()]
                found.append(Target("view", name, url, methods))
            patterns.extend(router.urls)
        elif issubclass(cls, APIView):
            # A handler the block writes (or the object view above) may be reached; one
            # inherited from DRF's generic views would need a serializer.
            written = {m for k in cls.__mro__ if k.__module__ == cls.__module__ for m in HANDLERS if m in k.__dict__}
            available = [m for m in HANDLERS if callable(getattr(cls, m, None))]
            methods = [(m, m in written or (m == "get" and hasattr(cls, "retrieve"))) for m in available]
            add("view", name, exercised_view(cls).as_view(), methods or [("get", True)])
        elif issubclass(cls, BasePermission):
            add("permission", name, wrapping(name, permission_classes=[cls]), [("get", True)])
        elif issubclass(cls, BaseAuthentication):
            view = wrapping(name, authentication_classes=[cls], permission_classes=[IsAuthenticated])
            add("authentication", name, view, [("get", True)])
        elif issubclass(cls, UserMapping):
            auth = type(f"{name}Authentication", (JWTAccessTokenAuthentication,), {"user_mapping_class": cls})
            view = wrapping(name, authentication_classes=[auth], permission_classes=[IsAuthenticated])
            add("mapping", name, view, [("get", True)])
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _decorators(node) & VIEW_DECORATORS:
            view = ns[node.name]
            cls = getattr(view, "cls", None)  # a DRF function view
            methods = [m for m in HANDLERS if cls is not None and hasattr(cls, m)] or ["get", "post"]
            add("view", node.name, view, [(m, True) for m in methods])
    for number, permissions in enumerate(fragments):
        view = type("Fragment", (APIView,), {"permission_classes": permissions, **{m: _ok for m in HANDLERS}}).as_view()
        add("fragment", f"fragment{number}", view, [("get", True), ("post", True)])
    for pattern in routed:
        if isinstance(pattern, URLPattern) and "<" not in str(pattern.pattern):
            found.append(Target("route", str(pattern.pattern), "/" + str(pattern.pattern), [("get", True)]))
            patterns.append(pattern)
    return found, patterns


_NONE_RETURNED = ("returned None", "received a `<class 'NoneType'>`")


def send_reaching(ctx: Context, stubs: bool, method: str, url: str, token: str | None = None, **extra: Any) -> Any:
    """A request, or None when it reached a view whose body is ``...`` (which returns nothing)."""
    try:
        return ctx.send(method, url, token, **extra)
    except (ValueError, AssertionError) as exc:
        if stubs and any(text in str(exc) for text in _NONE_RETURNED):
            return None
        raise


def exercise_targets(ctx: Context, block: Block, found: list[Target], stubs: bool) -> None:
    """Each view without a token and with a token that passes (a DPoP-bound one with its
    proof where the view answers a Bearer token with the DPoP challenge alone)."""
    with override_settings(JWT_AT_ISSUERS=ctx.loopback_issuers()):
        claims = ctx.full_claims(block.code)
        for target in found:
            for method, reach in target.methods:
                answer = send_reaching(ctx, stubs, method, target.url)
                assert answer is None or answer.status_code < 500, f"{target.name} {method} without a token"
                if not reach:
                    continue
                answer = send_reaching(ctx, stubs, method, target.url, ctx.token(**claims))
                if (
                    answer is not None
                    and answer.status_code == 401
                    and "Bearer" not in answer.get("WWW-Authenticate", "")
                ):
                    _, headers = ctx.dpop_token(method.upper(), target.url, **claims)
                    answer = send_reaching(ctx, stubs, method, target.url, headers=headers)
                assert answer is None or answer.status_code < 500, f"{target.name} {method} with a token"


def call_view_methods(ctx: Context, tree: ast.Module, ns: dict[str, Any]) -> None:
    """The methods of the block's views that take no argument (``get_queryset``), on a
    view of an authenticated request."""
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or not issubclass(ns[node.name], APIView):
            continue
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and [a.arg for a in item.args.args] == ["self"] and not _stub(item):
                with override_settings(JWT_AT_ISSUERS=ctx.loopback_issuers()):
                    view = ns[node.name]()
                    view.action_map = {"get": "list"}  # for a ViewSet
                    raw = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {ctx.token()}")
                    view.request = view.initialize_request(raw)
                    view.args, view.kwargs, view.format_kwarg, view.action = (), {}, None, "list"
                    assert view.request.auth is not None
                    getattr(view, item.name)()


def page_tree(code: str, first: int) -> ast.Module:
    tree = ast.parse(code)
    ast.increment_lineno(tree, first - 1)  # lines of the page
    return tree


def run_and_exercise(ctx: Context, block: Block, code_parts: list[Part], ns: dict[str, Any]) -> None:
    named = {w for p in code_parts for w in re.findall(r"\bJWT_AT_[A-Z0-9_]*[A-Z0-9]\b", p.code)}
    assert named <= KNOWN_SETTINGS, f"{block.id}: not settings of the package: {sorted(named - KNOWN_SETTINGS)}"
    fragments: list[Any] = []
    for part in code_parts:
        assigned = run_code(part.code, block, part.first, ns, lambda n: n == "permission_classes")
        fragments += [value for _, value in assigned]
    tree = ast.Module(body=[n for p in code_parts for n in page_tree(p.code, p.first).body], type_ignores=[])
    found = exercise(ctx, block, tree, ns, fragments)
    check_answers(ctx, block, found)
    check_schema_comments(ctx, block, tree, code_parts, ns)
    call_tests(ctx, tree, ns)
    step_up_client(ctx, block, ns)
    minted_tokens(ctx, block, tree, ns)


def exercise(ctx: Context, block: Block, tree: ast.Module, ns: dict[str, Any], fragments: list[Any]) -> list[Target]:
    """What the code defines: views, receivers, methods of views."""
    found, patterns = targets(tree, ns, fragments)
    ctx.route(patterns)
    exercise_targets(ctx, block, found, stubs=any(_stub(n) for n in ast.walk(tree)))
    call_view_methods(ctx, tree, ns)
    check_receivers(ctx, block, tree, ns)
    return found


# -- answer tables ----------------------------------------------------------------------

_METHOD = r"GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS"
#: The requests a row may describe, in the words of the pages.
_PHRASES = [
    ("none", re.compile(r"no token")),
    ("scope", re.compile(r'(?:token )?scope "(?P<value>[^"]*)"')),
    ("scope", re.compile(r'token "(?P<value>[^"]*)"')),
    ("without", re.compile(r"token without (?P<value>\S+)")),
    ("default", re.compile(r"scope ok|any token")),
    ("expired", re.compile(r"expired token")),
    ("acr", re.compile(r"acr (?P<value>\w+)")),
    ("groups", re.compile(r"groups (?P<value>\[[^\]]*\])")),
    ("owner", re.compile(r"(?P<value>not owner|owner)")),
]


@dataclass
class RowRequest:
    method: str | None
    url: str | None
    claims: dict[str, Any] | None  # None: no token
    query: str = ""


def row_request(row: Row, now: float) -> RowRequest:
    """The request a row describes: the suite's token (scope ``orders:read orders:write
    payments:write``, acr mfa, a login a minute old, role admin) changed as it says."""
    found = re.fullmatch(rf"(?:(?P<method>{_METHOD})\s+)?(?:(?P<url>/\S*)\s+)?(?P<rest>.+)", row.desc)
    assert found, row
    claims: dict[str, Any] | None = {}
    owner = "someone-else"
    rest = found.group("rest")
    while rest:
        for kind, pattern in _PHRASES:
            phrase = pattern.match(rest)
            if phrase:
                break
        else:
            raise AssertionError(f"line {row.line}: the request {rest!r} of {row.desc!r} is not understood here")
        value = phrase.groupdict().get("value")
        if kind == "none":
            claims = None
        elif claims is None:
            raise AssertionError(f"line {row.line}: {row.desc!r} has no token")
        elif kind == "scope":
            claims["scope"] = value
        elif kind == "without":
            claims["scope"] = " ".join(s for s in "orders:read orders:write payments:write".split() if s != value)
        elif kind == "expired":
            claims.update(iat=int(now) - 7200, exp=int(now) - 3600, auth_time=int(now) - 7260)
        elif kind == "acr":
            claims["acr"] = f"urn:example:acr:{value}"
        elif kind == "groups":
            claims["groups"] = json.loads(str(value))
        elif kind == "owner":
            owner = "user-123" if value == "owner" else "someone-else"
        rest = rest[phrase.end() :].lstrip(", ")
    return RowRequest(found.group("method"), found.group("url"), claims, f"?owner={owner}")


def answer_problem(ctx: Context, row: Row, wanted: RowRequest, target: Target | None) -> str | None:
    """What is wrong with ``row`` on ``target`` (the row's own URL when None), or None."""
    from django_jwt_at.testing import challenges

    method = wanted.method or (target.methods[0][0] if target else "GET")
    url = (wanted.url or (target.url if target else "/")) + wanted.query
    token = None if wanted.claims is None else ctx.token(**wanted.claims)
    answer = ctx.send(method, url, token)
    got = challenges(answer).get("Bearer")
    if got is not None:
        got = {k: v for k, v in got.items() if k != "resource_metadata"}
    shown = None
    if row.rest.startswith("WWW-Authenticate:"):
        shown = challenges(row.rest.split(":", 1)[1].strip()).get("Bearer")
    elif row.rest:
        return f"line {row.line}: {row.rest!r} after the status is not understood here"
    if answer.status_code != row.status or (row.status >= 400 and shown != got):
        return (
            f"line {row.line}: {row.desc!r} -> {answer.status_code} Bearer {got}; "
            f"the page shows {row.status} Bearer {shown}"
        )
    return None


def check_answers(ctx: Context, block: Block, found: list[Target]) -> None:
    """The rows of the answer table after the block, on the block's example: its
    ``permission_classes`` fragments, else its views, else whatever it defines. With
    several, each row must hold for one of them."""
    if not block.answers:
        return
    candidates = [t for t in found if t.kind == "fragment"] or [t for t in found if t.kind == "view"] or found
    problems = []
    with override_settings(JWT_AT_ISSUERS=ctx.loopback_issuers()):
        for row in block.answers:
            wanted = row_request(row, django_jwt_at.clock.now())
            results = [answer_problem(ctx, row, wanted, t) for t in (candidates if wanted.url is None else [None])]
            if all(results):
                problems.append(" / ".join(str(r) for r in results))
    assert not problems, f"{block.id}: the answers shown after the block are not the ones given:\n" + "\n".join(
        problems
    )


# -- signal receivers -------------------------------------------------------------------


def check_receivers(ctx: Context, block: Block, tree: ast.Module, ns: dict[str, Any]) -> None:
    """The block's receivers of the package's signals are called, for an accepted and an
    expired token."""
    calls: dict[str, int] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or "receiver" not in _decorators(node):
            continue
        function = ns[node.name]
        for signal in (access_token_validated, access_token_rejected):
            if signal.disconnect(function):
                calls[node.name] = 0

                def wrapper(sender: Any, _function: Any = function, **kwargs: Any) -> None:
                    calls[_function.__name__] += 1
                    _function(sender=sender, **kwargs)

                signal.connect(wrapper, weak=False)
    if not calls:
        return
    package_records(ctx)
    assert all(calls.values()), f"{block.id}: receivers never called: {[n for n, c in calls.items() if not c]}"


# -- OpenAPI comments -------------------------------------------------------------------


def schema_comments(block: Block, tree: ast.Module) -> dict[str, tuple[str, list[dict[str, list[str]]]]]:
    """``{function: (method, security)}`` from ``# GET: [{jwtAccessToken: [a, b]}, ...]``."""
    lines = block.code.splitlines()
    found = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        index = node.lineno - block.first
        text = lines[index].partition("#")[2]
        while index + 1 < len(lines) and lines[index + 1].strip().startswith("#"):
            index += 1
            text += " " + lines[index].strip().lstrip("#")
        comment = re.match(rf"\s*(?P<method>{_METHOD}):\s*(?P<security>\[.*\])\s*$", text)
        if comment:
            security = [
                {name: [s.strip() for s in scopes.split(",") if s.strip()]}
                for name, scopes in re.findall(r"\{(\w+):\s*\[([^\]]*)\]\}", comment.group("security"))
            ]
            found[node.name] = (comment.group("method"), security)
    return found


def check_schema_comments(
    ctx: Context, block: Block, tree: ast.Module, code_parts: list[Part], ns: dict[str, Any]
) -> None:
    """The views are defined again with drf-spectacular's schema class, as on a page that
    configures it first (DRF's ``api_view`` takes the schema class when it decorates)."""
    comments = schema_comments(block, tree)
    if not comments:
        return
    pytest.importorskip("drf_spectacular")
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.settings import patched_settings

    import django_jwt_at.openapi  # noqa: F401  (registers the extension)

    rest_framework = {**ctx.settings.REST_FRAMEWORK, "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
    with override_settings(REST_FRAMEWORK=rest_framework), patched_settings({"OAS_VERSION": "3.1.0"}):
        ns = dict(ns)
        for part in code_parts:
            run_code(part.code, block, part.first, ns, lambda name: False)
        patterns = [path(name, ns[name]) for name in comments]
        schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    for name, (method, security) in comments.items():
        assert schema["paths"][f"/{name}"][method.lower()]["security"] == security, name


# -- test functions ---------------------------------------------------------------------


def call_tests(ctx: Context, tree: ast.Module, ns: dict[str, Any]) -> None:
    """``test_*`` functions, with the fixtures they name, against the example project of
    docs/testing.rst (whose URLconf the README's test requests)."""
    import inspect

    tests = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]
    if not tests:
        return
    ctx.settings.ROOT_URLCONF = "myproject.urls"
    for name in tests:
        function = ns[name]
        arguments = {p: ctx.request.getfixturevalue(p) for p in inspect.signature(function).parameters}
        function(**arguments)


# -- scenarios --------------------------------------------------------------------------


def step_up_client(ctx: Context, block: Block, ns: dict[str, Any]) -> None:
    """The client sketch of docs/step-up.rst, against the page's PaymentView: the token of
    a password login 15 minutes old gets one step-up challenge, ``reauthorize`` is called
    once with the parameters the page shows, and the retry succeeds."""
    if "call_api" not in ns:
        return
    expressions = [b for b in CASES if b.source == block.source and b.line > block.line and _expression(b.code)]
    shown = (
        ast.literal_eval(block.code)
        if _expression(block.code)
        else (ast.literal_eval(expressions[0].code) if expressions else None)
    )
    view = type("PaymentView", (ns["PaymentView"],), {"post": _ok})
    ctx.route([path("payments", view.as_view())])
    now = int(django_jwt_at.clock.now())

    class Session:
        def request(self, method: str, url: str, headers: dict[str, str], **kwargs: Any) -> Any:
            return ctx.send(method, urlsplit(url).path, headers=dict(headers))

    asked = []

    def reauthorize(parameters: dict[str, str]) -> str:
        asked.append(parameters)
        return ctx.token(scope=parameters["scope"], acr=parameters["acr_values"].split()[0], auth_time=now)

    with override_settings(JWT_AT_ISSUERS=ctx.loopback_issuers()):
        token = ctx.token(scope="orders:read", acr="urn:example:acr:pwd", auth_time=now - 900)
        response, new_token = ns["call_api"](
            Session(), "POST", "https://api.example.com/payments", token, ["orders:read"], reauthorize
        )
    assert response.status_code == 200 and new_token != token
    assert len(asked) == 1
    if shown is not None:
        assert asked[0] == shown, f"reauthorize got {asked[0]}, the page shows {shown}"


def _expression(code: str) -> bool:
    body = ast.parse(code).body
    return len(body) == 1 and isinstance(body[0], ast.Expr) and not isinstance(body[0].value, ast.Call)


def minted_tokens(ctx: Context, block: Block, tree: ast.Module, ns: dict[str, Any]) -> None:
    """Lines ``issuer.token(...)  # comment`` of docs/testing.rst: a comment with 401 is
    refused, a DPoP-bound token is accepted with its proof, the others are accepted."""
    from rest_framework.test import APIClient
    from rest_framework.views import APIView

    from django_jwt_at.testing import authenticate, challenges, override_issuers

    lines = block.code.splitlines()
    minting = [n for n in tree.body if isinstance(n, ast.Expr) and "issuer.token(" in lines[n.lineno - block.first]]
    if not minting:
        return
    view = type("Me", (APIView,), {"get": _ok})
    ctx.route([path("me", view.as_view())])
    with override_issuers(ns["issuer"]):
        for node in minting:
            line = lines[node.lineno - block.first]
            token = eval(compile(ast.Expression(node.value), str(block.path), "eval"), ns)
            comment = line.partition("#")[2]
            client = APIClient()
            authenticate(client, token, dpop=ns["key"] if "dpop_key=key" in line else None)
            answer = client.get("/me")
            if "401" in comment:
                assert answer.status_code == 401, f"line {node.lineno}: {answer.status_code}, the comment says 401"
                if "invalid_token" in comment:
                    assert challenges(answer)["Bearer"]["error"] == "invalid_token", line
            else:
                assert answer.status_code == 200, f"line {node.lineno}: {answer.status_code} {answer.content!r}"


# ---------------------------------------------------------------------------------------
# the extraction itself
# ---------------------------------------------------------------------------------------


def test_every_block_runs_here_or_elsewhere() -> None:
    """The blocks not run here are exactly those the other tests run."""
    elsewhere = [b for b in BLOCKS if covered_elsewhere(b)]
    files = example_files()
    captioned = {}
    for block in elsewhere:
        if block.caption:
            captioned.setdefault(block.caption, []).append(block.code.strip("\n") + "\n")
    assert {name: "\n\n".join(parts) for name, parts in captioned.items()} == files
    settings_code, url_lines = quickstart_settings()
    configure = [b for b in elsewhere if b.source == "quickstart.rst"]
    assert configure
    for block in configure:
        for line in block.code.splitlines():
            assert line.startswith("#") or line.rstrip() in settings_code or line.strip() in url_lines, line
    readme = [b.code for b in elsewhere if b.source == "README.md"]
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)  # as test_checks
    assert readme == [b for b in blocks if "JWT_AT_ISSUERS" in b]
    assert len(BLOCKS) == len(CASES) + len(elsewhere)


def test_the_extraction_finds_every_kind_of_block() -> None:
    text = textwrap.dedent(
        """\
        Title
        =====

        .. code-block:: python

           A = 1

        A literal::

           b = [1, 2]

        A reply::

           HTTP/1.1 401 Unauthorized

        .. docs-example: skip needs a server

        .. code-block:: python
           :caption: x.py

           c = 3

        .. code-block:: text

           no token    401  WWW-Authenticate: Bearer realm="api"
        """
    )
    blocks = rst_blocks("x.rst", text)
    assert [(b.line, b.language, b.code) for b in blocks] == [
        (4, "python", "A = 1\n"),
        (8, "::", "b = [1, 2]\n"),
        (18, "python", "c = 3\n"),
    ]
    assert blocks[2].marker == ("skip", "needs a server") and blocks[2].caption == "x.py"
    assert blocks[2].answers == (Row(25, "no token", 401, 'WWW-Authenticate: Bearer realm="api"'),)
    with pytest.raises(ValueError, match="right before a block"):
        rst_blocks("x.rst", ".. docs-example: skip why\n\nSome text.\n")
    with pytest.raises(ValueError, match="skip <reason>"):
        rst_blocks("x.rst", ".. docs-example: ignore\n\n.. code-block:: python\n\n   a = 1\n")


def test_placeholders_stand_for_the_current_value() -> None:
    current = ["django.contrib.auth", "rest_framework", "django_jwt_at"]
    assert merged(current, [..., "rest_framework", "drf_spectacular", "django_jwt_at"]) == [*current, "drf_spectacular"]
    assert merged(current, ["first", ...]) == ["first", *current]
    assert merged(current, ["a"]) == ["a"]
    code = 'MIDDLEWARE = [\n    "m",\n    # ...\n]\n'
    ns: dict[str, Any] = {}
    exec(_rewrite_placeholders(code), ns)
    assert ns["MIDDLEWARE"] == ["m", ...]
    assert variants([("A", 1), ("B", 2), ("A", 3)]) == [{"A": 1, "B": 2}, {"A": 3, "B": 2}]


def test_skips_are_few_and_give_their_reason() -> None:
    skipped = [b for b in CASES if b.marker and b.marker[0] == "skip"]
    assert len(skipped) <= 5, [b.id for b in skipped]


def _example(code: str, marker: tuple[str, str] | None = None) -> Block:
    return Block("example.rst", 1, 3, "python", code, marker=marker)


@pytest.mark.parametrize(
    ("block", "reported"),
    [
        pytest.param(_example("JWT_AT_LEEWAY = 900\n", ("invalid", "django_jwt_at.E007")), True, id="marked-invalid"),
        pytest.param(_example("JWT_AT_LEEWAY = 30\n", ("invalid", "django_jwt_at.E007")), False, id="marked-valid"),
        pytest.param(_example("JWT_AT_LEEWAY = 900\n"), False, id="unmarked-invalid"),
    ],
)
def test_an_invalid_configuration_must_be_marked_with_its_check(block: Block, reported: bool, ctx: Context) -> None:
    if reported:
        test_block(block, ctx)
    else:
        with pytest.raises(AssertionError, match=r"django_jwt_at\.E007"):
            test_block(block, ctx)
