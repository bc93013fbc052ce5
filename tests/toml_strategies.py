"""Hypothesis strategies for TOML documents written the many ways people write them: comments on
headers and after values, quoted and dotted keys, arrays over several lines, inline tables, arrays
of tables with arrays of tables inside, strings holding `#`, `[` and line breaks. Each strategy is
built once (strategies made per draw are slow to validate)."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st

BARE = re.compile(r"[A-Za-z0-9_-]+")

names = st.one_of(st.text(alphabet="abcxyz_-019", min_size=1, max_size=5),
                  st.text(alphabet="ab .#[]=-", min_size=1, max_size=5))


def basic_string(text: str) -> str:
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


@st.composite
def _keys(draw: st.DrawFn) -> tuple[str, str]:
    """(name, its spelling in TOML): bare, 'literal' or "basic"."""
    name = draw(names)
    style = draw(st.integers(0, 2))
    if BARE.fullmatch(name) and style == 0:
        return name, name
    if "'" not in name and style == 1:
        return name, f"'{name}'"
    return name, basic_string(name)


keys = _keys()

scalars = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["1.5", "-0.0", "nan", "inf", "-inf", "6.02e23", "1e300", "true", "false",
                     "1979-05-27T07:32:00Z", "1979-05-27 07:32:00", "07:32:00", "1979-05-27"]),
    # a `#`, a `[header]` and line breaks inside strings: none of them is what it seems
    st.sampled_from(['"""\n# not a comment"""', '"""\n[not.a.header]\n"""', '"""a\nb = 1\n"""', '"""x""""',
                     "'''\n[[a]]\n'''", '"a # b"', "'[x]'", '"\\"[y]\\""']),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8).map(basic_string),
)


def _containers(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    one_line = st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]")
    lines = st.lists(inner, max_size=3).map(lambda items: "[\n" + "".join(f"  {i},  # item\n" for i in items)
                                            + "]")
    inline = st.lists(st.tuples(keys, inner), max_size=3, unique_by=lambda pair: pair[0][0]).map(
        lambda pairs: "{ " + ", ".join(f"{key[1]} = {value}" for key, value in pairs) + " }"
        if not any("\n" in value for _, value in pairs) else "{}")  # an inline table is one line
    return st.one_of(inner, one_line, lines, inline)


values = _containers(_containers(scalars))
comments = st.sampled_from(["", "  # a comment", " #[[not.a.header]]", "\t# = 1"])


@st.composite
def _key_values(draw: st.DrawFn) -> list[tuple[str, str]]:
    """(name, line) for each key of a table; a key may be dotted (its value a table of one key)."""
    out = []
    for name, key in draw(st.lists(keys, max_size=4, unique_by=lambda pair: pair[0])):
        dotted = f" . {draw(keys)[1]}" if draw(st.integers(0, 4)) == 0 else ""
        out.append((name, f"{key}{dotted} = {draw(values)}{draw(comments)}"))
    return out


key_values = _key_values()


@st.composite
def _documents(draw: st.DrawFn) -> str:
    lines: list[str] = []
    top = draw(key_values)
    used = {name for name, _ in top}
    lines += [line for _, line in top]
    for name, key in draw(st.lists(keys, max_size=3, unique_by=lambda pair: pair[0])):
        if name in used:
            continue
        used.add(name)
        if draw(st.booleans()):
            lines.append(f"[ {key} ]{draw(comments)}" if draw(st.booleans()) else f"[{key}]{draw(comments)}")
            lines += [line for _, line in draw(key_values)]
            continue
        for _ in range(draw(st.integers(1, 3))):
            lines.append(f"[[{key}]]{draw(comments)}")
            own = draw(key_values)
            lines += [f"  {line}" for _, line in own]
            taken = {sub for sub, _ in own}
            for sub, sub_key in draw(st.lists(keys, max_size=2, unique_by=lambda pair: pair[0])):
                if sub in taken:
                    continue
                for _ in range(draw(st.integers(1, 2))):
                    lines.append(f"  [[{key}.{sub_key}]]{draw(comments)}")
                    lines += [f"    {line}" for _, line in draw(key_values)]
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n# end\n"]))


documents = _documents()


def walk(data: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every key path of a parsed document, tables and arrays included."""
    paths = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, item in items:
        paths.append((*path, key))
        paths += walk(item, (*path, key))
    return paths
