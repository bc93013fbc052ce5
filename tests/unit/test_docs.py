"""README.md and docs/*.md stay true to the repository.

- Every relative link points to a file or folder of the repository, and its `#anchor`, if any, to
  a heading of the Markdown file it names.
- A fenced block marked `<!-- excerpt: PATH -->` on the line before its fence is an excerpt of
  PATH (relative to the repository root): its lines appear in PATH as one contiguous run, and it
  is shorter than PATH (a whole file is linked, not copied).
- Every file of contrib/ is linked from the docs.
- The README stays a short front door: under 260 lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README_LINE_LIMIT = 260

MARKER = re.compile(r"^<!--\s*excerpt:\s*(?P<path>\S+)\s*-->\s*$")
FENCE = re.compile(r"^\s{0,3}(?P<fence>`{3,}|~{3,})")
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(?P<target>\S+)")
CODE_SPAN = re.compile(r"(`+).+?\1")
COMMENT = re.compile(r"<!--.*?-->")
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<text>.+?)\s*#*\s*$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def documents(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def _name(doc: Path, root: Path) -> str:
    return str(doc.relative_to(root))


# --- fenced blocks and excerpts -------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A fenced block: the line of its opening fence (1-based), its lines, and its excerpt marker."""

    line: int
    lines: tuple[str, ...]
    source: str | None


def parse(text: str) -> tuple[list[str], list[Block], list[str]]:
    """The prose lines (fenced blocks blanked out), the fenced blocks, and problems of form."""
    prose: list[str] = []
    blocks: list[Block] = []
    problems: list[str] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        marker = MARKER.match(line)
        if marker and (index + 1 >= len(lines) or not FENCE.match(lines[index + 1])):
            problems.append(f"{index + 1}: an excerpt marker must stand on the line before a fence")
        opening = FENCE.match(line)
        if not opening:
            prose.append(line)
            index += 1
            continue
        fence = opening.group("fence")
        previous = MARKER.match(lines[index - 1]) if index > 0 else None
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if end >= len(lines):
            problems.append(f"{index + 1}: a fence that is never closed")
        source = previous.group("path") if previous else None
        blocks.append(Block(index + 1, tuple(lines[index + 1 : end]), source))
        prose.extend([""] * (min(end, len(lines) - 1) - index + 1))
        index = end + 1
    return prose, blocks, problems


def excerpt_problem(block: Block, root: Path = ROOT) -> str | None:
    """Why a marked block is not an excerpt of its source, or None when it is."""
    assert block.source is not None
    source = root / block.source
    if not source.is_file():
        return f"its source {block.source} is not a file of the repository"
    wanted = list(block.lines)
    if not any(line.strip() for line in wanted):
        return "it is empty"
    have = source.read_text().splitlines()
    if sum(1 for line in wanted if line.strip()) >= sum(1 for line in have if line.strip()):
        return f"it is the whole of {block.source}: link the file instead of copying it"
    best, best_at = 0, 0
    for start in range(len(have)):
        run = 0
        while run < len(wanted) and start + run < len(have) and have[start + run] == wanted[run]:
            run += 1
        if run == len(wanted):
            return None
        if run > best:
            best, best_at = run, start
    if best == 0:
        return f"its first line {wanted[0]!r} is not a line of {block.source}"
    return (f"its line {best + 1} {wanted[best]!r} is not line {best_at + best + 1} of {block.source} "
            f"({have[best_at + best] if best_at + best < len(have) else 'the end of the file'!r})")


# --- links ----------------------------------------------------------------------------------------


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    prose, _, _ = parse(doc.read_text())
    seen: dict[str, int] = {}
    found = set()
    for line in prose:
        heading = HEADING.match(line)
        if not heading:
            continue
        base = slug(heading.group("text"))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(prose: list[str]) -> list[tuple[int, str]]:
    """(line, target) of every link outside code, with targets as written."""
    found = []
    for number, line in enumerate(prose, 1):
        text = CODE_SPAN.sub("", COMMENT.sub("", line))
        found += [(number, m.group("target")) for m in INLINE_LINK.finditer(text)]
        reference = REFERENCE_LINK.match(text)
        if reference:
            found.append((number, reference.group("target")))
    return found


def link_problem(doc: Path, target: str, root: Path = ROOT) -> str | None:
    """Why a relative link of doc leads nowhere, or None (also for links to other sites)."""
    if SCHEME.match(target):
        return None
    path, _, anchor = target.partition("#")
    destination = (doc.parent / path).resolve() if path else doc
    if not destination.is_relative_to(root.resolve()):
        return f"{target} leads out of the repository"
    if not destination.exists():
        return f"{target}: {path} does not exist"
    if anchor and destination.suffix == ".md" and anchor not in anchors(destination):
        return f"{target}: {destination.name} has no heading with the anchor #{anchor}"
    return None


def problems_of(doc: Path, root: Path = ROOT) -> list[str]:
    """Every problem of one document: form, links, excerpts."""
    prose, blocks, problems = parse(doc.read_text())
    for number, target in links(prose):
        problem = link_problem(doc, target, root)
        if problem:
            problems.append(f"{number}: {problem}")
    for block in blocks:
        if block.source is not None:
            problem = excerpt_problem(block, root)
            if problem:
                problems.append(f"{block.line}: the excerpt of {block.source}: {problem}")
    return [f"{_name(doc, root)}:{problem}" for problem in problems]


# --- the repository's docs ------------------------------------------------------------------------


@pytest.mark.parametrize("doc", documents(), ids=lambda doc: _name(doc, ROOT))
def test_docs_links_resolve_and_excerpts_match_their_files(doc: Path) -> None:
    problems = problems_of(doc)
    assert not problems, "\n".join(problems)


def test_docs_show_marked_excerpts_and_link_every_contrib_file() -> None:
    blocks = [block for doc in documents() for block in parse(doc.read_text())[1]]
    assert any(block.source for block in blocks), "no marked excerpt found: is the marker still parsed?"
    linked = {
        (doc.parent / target.partition("#")[0]).resolve()
        for doc in documents()
        for _, target in links(parse(doc.read_text())[0])
        if not SCHEME.match(target)
    }
    for example in sorted(path for path in (ROOT / "contrib").rglob("*") if path.is_file()):
        assert example.resolve() in linked, f"link {example.relative_to(ROOT)} from the docs"


def test_readme_stays_a_front_door() -> None:
    lines = len((ROOT / "README.md").read_text().splitlines())
    assert lines < README_LINE_LIMIT, f"README.md has {lines} lines: move detail into docs/"


def test_docs_each_start_with_what_they_cover_and_the_way_back() -> None:
    for doc in sorted((ROOT / "docs").glob("*.md")):
        prose = [line for line in doc.read_text().splitlines() if line.strip()]
        assert prose[0].startswith("# "), doc.name
        assert "](../README.md)" in prose[1], f"{doc.name}: its first line links back to the README"


# --- the checks themselves catch what they are for ------------------------------------------------


def _repository(tmp_path: Path, doc: str) -> Path:
    (tmp_path / "contrib").mkdir(parents=True)
    example = "# example\n[defaults]\nrise = 2\nfall = 3\n\n[more]\n"
    (tmp_path / "contrib" / "example.toml").write_text(example)
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("# Title\n\nSee [the doc](docs/doc.md).\n")
    (tmp_path / "docs" / "doc.md").write_text(doc)
    return tmp_path / "docs" / "doc.md"


def test_docs_a_faithful_excerpt_passes(tmp_path: Path) -> None:
    doc = _repository(tmp_path, "# Doc\n\n## Part\n\n<!-- excerpt: contrib/example.toml -->\n"
                                "```toml\n[defaults]\nrise = 2\n```\n\n"
                                "[back](../README.md#title) [here](#part)\n")
    assert problems_of(doc, tmp_path) == []
    assert problems_of(tmp_path / "README.md", tmp_path) == []


def test_docs_a_drifted_excerpt_is_caught(tmp_path: Path) -> None:
    doc = _repository(tmp_path, "# Doc\n\n<!-- excerpt: contrib/example.toml -->\n"
                                "```toml\n[defaults]\nrise = 3\n```\n")
    (problem,) = problems_of(doc, tmp_path)
    assert ":4: the excerpt of contrib/example.toml" in problem and "'rise = 3'" in problem


def test_docs_an_excerpt_out_of_order_or_whole_or_misplaced_is_caught(tmp_path: Path) -> None:
    gapped = "<!-- excerpt: contrib/example.toml -->\n```\n[defaults]\nfall = 3\n```\n"
    whole = ("<!-- excerpt: contrib/example.toml -->\n"
             "```\n# example\n[defaults]\nrise = 2\nfall = 3\n[more]\n```\n")
    stray = "<!-- excerpt: contrib/example.toml -->\n\n```\n[defaults]\n```\n"
    missing = "<!-- excerpt: contrib/nothing.toml -->\n```\n[defaults]\n```\n"
    cases = ((gapped, "'fall = 3'"), (whole, "link the file"), (stray, "the line before a fence"),
             (missing, "not a file"))
    for number, (text, said) in enumerate(cases):
        doc = _repository(tmp_path / str(number), f"# Doc\n\n{text}")
        problems = problems_of(doc, doc.parents[1])
        assert len(problems) == 1 and said in problems[0], problems


def test_docs_a_broken_link_or_anchor_is_caught(tmp_path: Path) -> None:
    doc = _repository(tmp_path, "# Doc\n\n[gone](../contrib/gone.toml) [no part](#part) "
                                "[outside](../../etc/passwd) [web](https://example.org/x) "
                                "`[code](nowhere.md)`\n"
                                "```\n[fenced](nowhere.md)\n```\n")
    problems = problems_of(doc, tmp_path)
    assert len(problems) == 3, problems
    assert "gone.toml does not exist" in problems[0]
    assert "no heading with the anchor #part" in problems[1]
    assert "out of the repository" in problems[2]


def test_docs_anchors_follow_githubs_rules() -> None:
    assert slug("NAT, DR and TUN: the real-server kit") == "nat-dr-and-tun-the-real-server-kit"
    assert slug("Sizing `parallel`") == "sizing-parallel"
    assert slug('"Who is still on it?" over a table') == "who-is-still-on-it-over-a-table"
    assert slug("The [journal](maintenance.md) format") == "the-journal-format"
