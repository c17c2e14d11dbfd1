"""The documentation is self-contained: the package and its docs point only into ``docs/``.

Docstrings, comments and docs cite the papers and the repository's ``docs/`` files, never a
file outside the repository (issue 11 item 4). Only the package and documentation trees are
checked: the tests read their data from ``../shared/data`` and may say so.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TREES = ("dro_opt", "models", "instances", "benchmarks", "docs")
FILES = ("README.md",)
TEXT_SUFFIXES = {".py", ".md", ".rst", ".txt", ".toml", ".cfg", ".json", ".yaml", ".yml", ".ipynb"}
FORBIDDEN = ("DESIGN.md", "fl_design", "../shared/DESIGN")
DOC_PATH = re.compile(r"docs/([A-Za-z0-9_.-]+?\.md)")
#: ``docs/<name>.md, 'Section'`` (or ``"Section"``) names a section heading of that file.
DOC_SECTION = re.compile(r"docs/([A-Za-z0-9_.-]+?\.md),?\s+\(?(['\"])([^'\"]+)\2")


def _text_files() -> list[Path]:
    out = [ROOT / name for name in FILES if (ROOT / name).is_file()]
    for tree in TREES:
        for path in sorted((ROOT / tree).rglob("*")):
            if path.is_file() and path.suffix in TEXT_SUFFIXES and "__pycache__" not in path.parts:
                out.append(path)
    return out


def _headings(doc: Path) -> set[str]:
    return {
        line.lstrip("#").strip()
        for line in doc.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_files_found() -> None:
    files = {_rel(p) for p in _text_files()}
    assert "README.md" in files
    assert "docs/conventions.md" in files and "docs/facility_location.md" in files


@pytest.mark.parametrize("word", FORBIDDEN)
def test_no_reference_outside_the_repository(word: str) -> None:
    hits = [
        f"{_rel(path)}:{n}"
        for path in _text_files()
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if word in line
    ]
    assert not hits, f"{word!r} is not in the repository; point to docs/ instead: {hits}"


def test_every_docs_path_exists() -> None:
    missing = []
    for path in _text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in DOC_PATH.finditer(text):
            if not (ROOT / "docs" / match.group(1)).is_file():
                missing.append(f"{_rel(path)}: docs/{match.group(1)}")
    assert not missing, f"docs files mentioned but missing: {missing}"


def test_named_doc_sections_exist() -> None:
    missing = []
    for path in _text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in DOC_SECTION.finditer(text):
            doc = ROOT / "docs" / match.group(1)
            section = " ".join(match.group(3).split())
            if doc.is_file() and section not in _headings(doc):
                missing.append(f"{_rel(path)}: docs/{match.group(1)}, {section!r}")
    assert not missing, f"sections mentioned but not headings of the doc: {missing}"
