"""MkDocs hooks (mkdocs.yml `hooks:`): the site is built from the Markdown that GitHub
shows, so the pages stay readable in the repository and nothing is copied by hand.

- `--8<-- "README.md:name"` includes the lines between `<!-- --8<-- [start:name] -->`
  and `<!-- --8<-- [end:name] -->` of that file (pymdownx.snippets' syntax; done here
  so that the links of the included text are fixed like the page's own).
- A link to a file outside docs/ (`../template.yaml`) points at a copy of it in the
  site (`_repo/template.yaml`); a link to a Markdown file outside docs/ becomes its
  path in the repository, as text.
- `[...](#anchor)` of an included section points at the page that holds the anchor.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from markdown.extensions.toc import slugify
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
INCLUDE = re.compile(r'^--8<-- "([^":]+)(?::([\w-]+))?"$', re.MULTILINE)
OUTSIDE = re.compile(r"(!?)\[([^\]]*)\]\(\.\./([^)#\s]+)(#[^)\s]*)?\)")
ANCHOR = re.compile(r"\]\(#([\w-]+)\)")
HEADING = re.compile(r"^#{1,6} (.+?)\s*$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)

_anchors: dict[str, str] = {}  # anchor -> the first page (in file order) that has it


def section(path: str, name: str | None) -> str:
    """The text between the start and end markers `name` of `path` (from the root),
    or all of it without a name."""
    text = (ROOT / path).read_text()
    if name is None:
        return text
    start, end = f"<!-- --8<-- [start:{name}] -->\n", f"<!-- --8<-- [end:{name}] -->"
    if start not in text or end not in text:
        raise ValueError(f"{path} has no section {name!r} (markers {start.strip()} ... {end})")
    return text.split(start, 1)[1].split(end, 1)[0]


def expand(markdown: str) -> str:
    return INCLUDE.sub(lambda match: section(match[1], match[2]), markdown)


def headings(markdown: str) -> set[str]:
    return {slugify(title, "-") for title in HEADING.findall(FENCE.sub("", markdown))}


def on_files(files: Files, config: Any) -> Files:
    for page in sorted(DOCS.glob("*.md")):
        markdown = expand(page.read_text())
        for anchor in headings(markdown):
            _anchors.setdefault(anchor, page.name)
        for _, _, target, _ in OUTSIDE.findall(markdown):
            uri, source = f"_repo/{target}", ROOT / target
            if target.endswith(".md") or not source.is_file() or files.get_file_from_path(uri):
                continue
            files.append(File.generated(config, uri, abs_src_path=str(source)))
    return files


def _outside(match: re.Match[str]) -> str:
    image, text, target, anchor = match[1], match[2], match[3], match[4] or ""
    if target.endswith(".md"):
        path = f"`{target}`"
        return path if text.strip("`") == target else f"{text} ({path} in the repository)"
    return f"{image}[{text}](_repo/{target}{anchor})"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    markdown = OUTSIDE.sub(_outside, expand(markdown))
    here = headings(markdown)

    def anchor(match: re.Match[str]) -> str:
        name = match[1]
        if name in here or name not in _anchors:
            return match[0]  # left for MkDocs' own check to report if it is broken
        return f"]({_anchors[name]}#{name})"

    return ANCHOR.sub(anchor, markdown)
