"""The examples of docs/testing.rst run as written, in a project set up as docs/quickstart.rst
says: ``django-admin startproject``, then the settings of the quick start's "Configure"
section appended to its settings.py unchanged.

Every ``code-block`` of docs/testing.rst with a ``:caption:`` is a file of that project
(blocks with the same caption are concatenated, in order); the other blocks are
fragments and are not run. The project's tests run in a subprocess, with pytest (through
the ``django_jwt_at`` plugin and pytest-django) and with ``manage.py test``, and every
test function and method the documentation shows must pass. A change to either page that
breaks what the other promises fails here.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

_TITLE = re.compile(r"^(?P<title>\S.*)\n(?P<rule>[-=~^\"']{3,})[ \t]*$", re.MULTILINE)
_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. code-block::[ \t]*(?P<language>\S+)[ \t]*$")
_FILE_COMMENT = re.compile(r"^#[ \t]+(?P<path>[\w./-]+\.py)\b")


def code_blocks(text: str) -> list[tuple[str, dict[str, str], str]]:
    """``(language, options, code)`` of every ``code-block`` directive of an rST text."""
    lines = text.splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        directive = _DIRECTIVE.match(lines[index])
        index += 1
        if directive is None:
            continue
        indent = len(directive.group("indent"))
        options: dict[str, str] = {}
        while index < len(lines) and (option := re.match(r"^[ \t]+:([\w-]+):[ \t]*(.*)$", lines[index])):
            options[option.group(1)] = option.group(2).strip()
            index += 1
        body = []
        while index < len(lines) and (not lines[index].strip() or _indent(lines[index]) > indent):
            body.append(lines[index])
            index += 1
        blocks.append((directive.group("language"), options, textwrap.dedent("\n".join(body)).strip("\n") + "\n"))
    return blocks


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def section(text: str, title: str) -> str:
    """The body of the section called ``title`` (up to the next title of any level)."""
    titles = list(_TITLE.finditer(text))
    for here, following in zip(titles, [*titles[1:], None]):
        if here.group("title").strip() == title:
            return text[here.end() : following.start() if following else len(text)]
    raise AssertionError(f"no section {title!r}")


def quickstart_settings() -> tuple[str, list[str]]:
    """The settings of the quick start's "Configure" section, and the URLconf lines it
    asks for (a block may hold both, each after a ``# settings.py`` / ``# urls.py`` comment)."""
    settings, urls = [], []
    for language, _, code in code_blocks(section((DOCS / "quickstart.rst").read_text(), "Configure")):
        if language != "python":
            continue
        target = settings
        for line in code.splitlines():
            named = _FILE_COMMENT.match(line)
            if named:
                target = urls if named.group("path").endswith("urls.py") else settings
            target.append(line)
    return "\n".join(settings) + "\n", [line.strip() for line in urls if line.strip() and not line.startswith("#")]


def example_files() -> dict[str, str]:
    """The files of docs/testing.rst: captioned python blocks, by caption."""
    files: dict[str, list[str]] = {}
    for language, options, code in code_blocks((DOCS / "testing.rst").read_text()):
        if language == "python" and "caption" in options:
            files.setdefault(options["caption"], []).append(code)
    return {name: "\n\n".join(parts) for name, parts in files.items()}


def shown_tests(files: dict[str, str]) -> set[str]:
    """Every test the documentation shows: ``file::function`` or ``file::Class::method``."""
    found = set()
    for name, code in files.items():
        if not Path(name).name.startswith("test"):
            continue
        for node in ast.parse(code).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                found.add(f"{name}::{node.name}")
            if isinstance(node, ast.ClassDef):
                found |= {
                    f"{name}::{node.name}::{item.name}"
                    for item in node.body
                    if isinstance(item, ast.FunctionDef) and item.name.startswith("test")
                }
    return found


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env["PYTHONPATH"] = str(ROOT)  # this checkout of the package (and of its pytest plugin)
    return subprocess.run(
        [sys.executable, *args], cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docs-project")
    created = _run(root, "-m", "django", "startproject", "myproject", ".")
    assert created.returncode == 0, created.stderr
    settings, _ = quickstart_settings()
    with (root / "myproject" / "settings.py").open("a") as file:
        file.write("\n# --- docs/quickstart.rst, Configure ---\n" + settings)
    (root / "myproject" / "urls.py").unlink()  # startproject's routes the admin, not installed here
    for name, code in example_files().items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    (root / "tests" / "__init__.py").touch()  # for manage.py test's discovery
    (root / "pytest.ini").write_text("[pytest]\nDJANGO_SETTINGS_MODULE = myproject.settings\npythonpath = .\n")
    return root


def test_the_pages_have_what_the_examples_are_built_from():
    settings, urls = quickstart_settings()
    for name in ("INSTALLED_APPS", "REST_FRAMEWORK", "JWT_AT_ISSUERS", "JWT_AT_RESOURCE"):
        assert re.search(rf"^{name} = ", settings, re.MULTILINE), name
    files = example_files()
    assert {"myproject/views.py", "myproject/urls.py", "conftest.py"} <= set(files)
    # The URLconf line the quick start asks for is in the examples' URLconf.
    assert urls and all(line in files["myproject/urls.py"] for line in urls), urls
    test_files = {name for name in files if Path(name).name.startswith("test")}
    assert test_files and {test.split("::")[0] for test in shown_tests(files)} == test_files


def test_quickstart_project_passes_its_checks(project):
    result = _run(project, "manage.py", "check", "--fail-level", "ERROR")
    assert result.returncode == 0, result.stdout + result.stderr


def test_testing_examples_pass_with_pytest(project):
    result = _run(project, "-m", "pytest", "-p", "no:cacheprovider", "-v", "-rA", "tests")
    assert result.returncode == 0, result.stdout + result.stderr
    passed = {line.split(" ")[0] for line in result.stdout.splitlines() if " PASSED " in f"{line} "}
    assert shown_tests(example_files()) <= passed, result.stdout


def test_unittest_examples_pass_with_manage_py_test(project):
    result = _run(project, "manage.py", "test", "tests", "-v", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    unittest_tests = {t for t in shown_tests(example_files()) if t.count("::") == 2}
    assert unittest_tests
    for test in unittest_tests:
        _, cls, method = test.split("::")
        # unittest names a test "method (module.Class.method)" since Python 3.11, "method
        # (module.Class)" before.
        pattern = rf"^{method} \(tests\.\w+\.{cls}(?:\.{method})?\) \.\.\. ok$"
        assert re.search(pattern, result.stderr, re.MULTILINE), test
