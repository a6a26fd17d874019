"""The documentation holds together: README.md stays a short front door, and every relative link
or image path in README.md and docs/**/*.md points at a file or folder of the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 250

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
# [text](target) and ![alt](target), target optionally in <...> and followed by a "title"
_INLINE = re.compile(r"!?\[[^\]\n]*\]\(\s*(<[^>\n]*>|[^)\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
# [label]: target  (reference definitions)
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*(<[^>\n]*>|\S+)", re.MULTILINE)
_EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:, ...


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def link_targets(text: str) -> list[str]:
    """Every link and image target in a markdown text, outside code blocks and code spans."""
    text = _FENCE.sub("", text)
    text = _CODE_SPAN.sub("code", text)
    found = [m.group(1) for m in _INLINE.finditer(text)]
    found += [m.group(1) for m in _REFERENCE.finditer(text)]
    return [t[1:-1] if t.startswith("<") and t.endswith(">") else t for t in found]


def relative_path(target: str) -> str | None:
    """The file part of a relative target; None for external links and pure anchors."""
    if _EXTERNAL.match(target) or target.startswith("#"):
        return None
    path = target.split("#", 1)[0].split("?", 1)[0]
    return path or None


def test_link_parser_reads_links_and_images_and_skips_code():
    text = ("See [a](docs/a.md#x), ![img](../f/p.png \"t\"), [b](<with space.md>),\n"
            "[ext](https://example.org/x), [anchor](#here), `[not](code.md)`\n"
            "```\n[also not](fence.md)\n```\n[ref]: docs/ref.md\n")
    targets = link_targets(text)
    assert [relative_path(t) for t in targets if relative_path(t)] == [
        "docs/a.md", "../f/p.png", "with space.md", "docs/ref.md"]


def test_readme_is_a_short_front_door():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines (at most {README_MAX_LINES})"


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path):
    missing = []
    for target in link_targets(page.read_text(encoding="utf-8")):
        path = relative_path(target)
        if path is None:
            continue
        resolved = (ROOT / path.lstrip("/")) if path.startswith("/") else (page.parent / path)
        if not resolved.exists():
            missing.append(target)
    assert not missing, f"{page.relative_to(ROOT)}: links to missing paths: {missing}"
