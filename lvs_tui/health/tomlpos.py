"""Where each key of a TOML document is written: tomllib gives values without positions, and the
checker's config says each mistake as FILE:LINE (pure: no I/O).

`key_lines(text)` maps every key path, as the parsed document nests it (`("service", 0, "server",
1, "address")`), to the 1-based line it is written on: a table to its header, an element of an
array of tables to its own `[[...]]` header, a key of an inline table to its own line, and an
element of an ordinary array (an inline table in `server = [{...}, ...]`) to the line of the
array's key, where the key's name is. It follows the TOML grammar only as far as positions need:
comments, bare, quoted and dotted keys, the four kinds of strings (multi-line ones span lines, and
a `#` or `[` inside a string is not a comment or a header), arrays over several lines, inline
tables. Lines are counted by "\\n" alone, as tomllib counts them. On text tomllib refuses it
returns what it found before the trouble; it never raises.
"""

from __future__ import annotations

import contextlib
import re

Path = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_SCALAR_END = re.compile(r"[,\]}#\r\n]")


class _Stop(Exception):
    """Not TOML here: stop scanning and keep what was found."""


def key_lines(text: str) -> dict[Path, int]:
    scanner = _Scanner(text)
    with contextlib.suppress(_Stop, RecursionError):  # what was found before the trouble stands
        scanner.document()
    return scanner.lines


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.line = 1
        self.lines: dict[Path, int] = {}
        self.arrays: dict[Path, int] = {}  # each array of tables (its full path): elements so far
        self.table: Path = ()

    # --- characters ------------------------------------------------------------------------------

    def peek(self, count: int = 1) -> str:
        return self.text[self.at:self.at + count]

    def advance(self, count: int = 1) -> None:
        chunk = self.text[self.at:self.at + count]
        self.line += chunk.count("\n")
        self.at += len(chunk)

    def expect(self, token: str) -> None:
        if self.peek(len(token)) != token:
            raise _Stop
        self.advance(len(token))

    def spaces(self) -> None:
        while self.peek() in (" ", "\t"):
            self.advance()

    def blanks(self) -> None:
        """Spaces, line ends and comments: between statements, and between an array's elements."""
        while True:
            char = self.peek()
            if char in (" ", "\t", "\r", "\n"):
                self.advance()
            elif char == "#":
                self.comment()
            else:
                return

    def comment(self) -> None:
        end = self.text.find("\n", self.at)
        self.advance((len(self.text) if end < 0 else end) - self.at)

    # --- statements --------------------------------------------------------------------------------

    def document(self) -> None:
        while True:
            self.blanks()
            if self.at >= len(self.text):
                return
            if self.peek() == "[":
                self.header()
            else:
                self.key_value(self.table)
            self.spaces()
            if self.peek() == "#":
                self.comment()
            if self.peek() not in ("", "\n", "\r"):  # anything else is not TOML: stop, never loop
                raise _Stop

    def header(self) -> None:
        line, double = self.line, self.peek(2) == "[["
        self.advance(2 if double else 1)
        parts = self.key()
        self.expect("]]" if double else "]")
        parent = self.resolve(parts[:-1], line)
        path = (*parent, parts[-1])
        if double:
            index = self.arrays.get(path, 0)
            self.arrays[path] = index + 1
            self.lines.setdefault(path, line)
            path = (*path, index)
        self.lines[path] = line
        self.table = path

    def resolve(self, parts: list[str], line: int) -> Path:
        """The full path of a header's parent keys: an array of tables means its last element."""
        path: Path = ()
        for part in parts:
            path = (*path, part)
            self.lines.setdefault(path, line)
            if path in self.arrays:
                path = (*path, self.arrays[path] - 1)
        return path

    def key_value(self, table: Path) -> None:
        line = self.line
        parts = self.key()
        self.expect("=")
        self.spaces()
        for length in range(1, len(parts)):  # the tables a dotted key makes on its way
            self.lines.setdefault((*table, *parts[:length]), line)
        path = (*table, *parts)
        self.lines[path] = line
        self.value(path, line)

    def key(self) -> list[str]:
        parts = []
        while True:
            self.spaces()
            char = self.peek()
            if char == '"':
                parts.append(self.basic())
            elif char == "'":
                parts.append(self.literal())
            else:
                match = _BARE.match(self.text, self.at)
                if match is None:
                    raise _Stop
                parts.append(match.group())
                self.advance(len(match.group()))
            self.spaces()
            if self.peek() != ".":
                return parts
            self.advance()

    # --- values ------------------------------------------------------------------------------------

    def value(self, path: Path, key_line: int) -> None:
        char = self.peek()
        if char == "[":
            self.array(path, key_line)
        elif char == "{":
            self.inline_table(path)
        elif self.peek(3) in ('"""', "'''"):
            self.multi_line(self.peek(3))
        elif char == '"':
            self.basic()
        elif char == "'":
            self.literal()
        else:  # a number, a boolean, a date (which may hold a space): up to what ends a value
            match = _SCALAR_END.search(self.text, self.at)
            end = len(self.text) if match is None else match.start()
            if end == self.at:
                raise _Stop
            self.advance(end - self.at)

    def array(self, path: Path, key_line: int) -> None:
        self.advance()
        index = 0
        while True:
            self.blanks()
            if self.peek() == "]":
                self.advance()
                return
            element = (*path, index)
            self.lines.setdefault(element, key_line)
            self.value(element, key_line)
            index += 1
            self.blanks()
            if self.peek() == ",":
                self.advance()
            elif self.peek() != "]":
                raise _Stop

    def inline_table(self, path: Path) -> None:
        self.advance()
        self.spaces()
        if self.peek() == "}":
            self.advance()
            return
        while True:
            self.key_value(path)
            self.spaces()
            if self.peek() == "}":
                self.advance()
                return
            self.expect(",")

    def basic(self) -> str:
        self.advance()
        out: list[str] = []
        while True:
            char = self.peek()
            if char in ("", "\n"):
                raise _Stop
            self.advance()
            if char == '"':
                return "".join(out)
            out.append(self.escape() if char == "\\" else char)

    def escape(self) -> str:
        char = self.peek()
        self.advance()
        if char in _ESCAPES:
            return _ESCAPES[char]
        if char in ("u", "U"):
            digits = self.peek(4 if char == "u" else 8)
            self.advance(len(digits))
            try:
                return chr(int(digits, 16))
            except (ValueError, OverflowError):
                raise _Stop from None
        raise _Stop

    def literal(self) -> str:
        self.advance()
        end = self.text.find("'", self.at)
        if end < 0 or "\n" in self.text[self.at:end]:
            raise _Stop
        value = self.text[self.at:end]
        self.advance(end + 1 - self.at)
        return value

    def multi_line(self, quotes: str) -> None:
        self.advance(3)
        while self.at < len(self.text):
            if quotes == '"""' and self.peek() == "\\":
                self.advance(2)  # an escape, or a line-ending backslash: never a closing quote
            elif self.peek(3) == quotes:
                self.advance(3)
                for _ in range(2):  # up to two more quotes are the string's own last characters
                    if self.peek() == quotes[0]:
                        self.advance()
                return
            else:
                self.advance()
        raise _Stop
