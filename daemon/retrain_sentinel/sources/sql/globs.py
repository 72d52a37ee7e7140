"""Run-name globs, matched the same way on every backend.

SQLite's ``GLOB`` is case-sensitive and PostgreSQL has no ``GLOB`` at all, so names are matched
here, in Python, with SQLite's syntax: ``*``, ``?``, ``[abc]``, ``[a-z]``, ``[^abc]`` (``[!abc]``
too). A batch of many globs against many runs stays fast through the globs' literal prefixes:
run names are sorted once and each glob only looks at the names starting with its prefix.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Glob", "NameIndex"]

T = TypeVar("T")


def _translate(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        i += 1
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            end = i
            if end < len(pattern) and pattern[end] in "!^":
                end += 1
            if end < len(pattern) and pattern[end] == "]":
                end += 1
            while end < len(pattern) and pattern[end] != "]":
                end += 1
            if end >= len(pattern):
                out.append(re.escape(char))
                continue
            body = pattern[i:end]
            i = end + 1
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            body = body.replace("\\", "\\\\").replace("^", "\\^").replace("[", "\\[")
            out.append(f"[{'^' if negate else ''}{body}]")
        else:
            out.append(re.escape(char))
    return "".join(out)


@dataclass(frozen=True)
class Glob:
    """One compiled glob; ``prefix`` is the literal text before its first wildcard."""

    pattern: str

    @property
    def prefix(self) -> str:
        match = re.search(r"[*?\[]", self.pattern)
        return self.pattern if match is None else self.pattern[: match.start()]

    def regex(self) -> re.Pattern[str]:
        return re.compile(rf"(?s:{_translate(self.pattern)})\Z")

    def matcher(self) -> Callable[[str], bool]:
        """A test for names already known to start with ``prefix``. The usual globs (``eval-*``,
        a plain name) need no regex: compiling thousands of them would dominate a large batch."""
        rest = self.pattern[len(self.prefix) :]
        if rest == "":
            return lambda name: len(name) == len(self.prefix)
        if rest == "*":
            return lambda name: True
        regex = self.regex()
        return lambda name: regex.match(name) is not None

    def matches(self, name: str) -> bool:
        return name.startswith(self.prefix) and self.matcher()(name)


class NameIndex(Generic[T]):
    """Items keyed by a name, searchable by glob without scanning every name for every glob."""

    def __init__(self, items: Iterable[tuple[str, T]]) -> None:
        pairs = sorted(((name, item) for name, item in items if name is not None), key=lambda p: p[0])
        self._names: Sequence[str] = [name for name, _ in pairs]
        self._items: Sequence[T] = [item for _, item in pairs]

    def matching(self, glob: Glob) -> list[T]:
        prefix = glob.prefix
        start = bisect_left(self._names, prefix)
        test = glob.matcher()
        found: list[T] = []
        for index in range(start, len(self._names)):
            name = self._names[index]
            if not name.startswith(prefix):
                break
            if test(name):
                found.append(self._items[index])
        return found
