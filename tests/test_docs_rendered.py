"""The documentation as a reader sees it: built to HTML, every page is free of the error
boxes and leftovers that ``sphinx-build -W`` lets through.

Sphinx warns about markup it cannot parse, but renders some problems silently: Furo
paints a red "ERROR" box over a ``.. contents::`` block, docutils emits ``system-message``
and ``problematic`` elements, and inline markup nested where reStructuredText does not
allow it (a literal inside bold) is printed as raw ``**`` and ``````.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

sphinx_cmd = pytest.importorskip("sphinx.cmd.build", reason="the docs tools are not installed (make test has them)")

DOCS = Path(__file__).resolve().parent.parent / "docs"
#: Pages written by Sphinx or the theme rather than from docs/ (search.html carries
#: Furo's own "enable JavaScript" admonition).
GENERATED = {"search.html", "genindex.html", "py-modindex.html"}


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("html")
    status = sphinx_cmd.build_main(["-q", "-b", "html", str(DOCS), str(out)])
    assert status == 0
    return {
        str(path.relative_to(out)): path.read_text(encoding="utf-8")
        for path in out.rglob("*.html")
        if path.name not in GENERATED and "_modules" not in path.parts
    }


def _problems(page: str) -> list[str]:
    found = []
    for match in re.finditer(r'class="([^"]*)"', page):
        classes = match.group(1).split()
        if "system-message" in classes or "problematic" in classes:
            found.append(f"docutils {match.group(1)!r}")
        # Furo's error box (its stylesheet draws "ERROR: Adding a table of contents ...").
        if "contents" in classes and "this-will-duplicate-information-and-it-is-still-useful-here" not in classes:
            found.append("a table of contents (Furo shows an error box)")
        if "admonition" in classes and "error" in classes:
            found.append("an error admonition")
    article = page[page.find("<article") : page.find("</article>")]
    # Code and API signatures (``**kwargs``) may hold the characters; prose may not.
    text = re.sub(r"<(pre|code|script|style|dt)\b.*?</\1>", "", article, flags=re.DOTALL)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    for raw in re.findall(r".{0,40}(?:\*\*|``).{0,40}", text):
        found.append(f"raw inline markup: {raw.strip()!r}")
    return found


def test_pages_were_built(pages: dict[str, str]) -> None:
    assert {"index.html", "quickstart.html", "dpop.html", "settings.html"} <= set(pages)


def test_no_page_shows_an_error_box_or_raw_markup(pages: dict[str, str]) -> None:
    problems = {name: found for name, page in sorted(pages.items()) if (found := _problems(page))}
    assert problems == {}
