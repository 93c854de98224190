"""Text primitives shared by the tokenizers: decoding, positions and :class:`Reference`.

Offsets are ``str`` indexes (code points) into the decoded text, never byte
offsets. Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (``\\r\\n`` is one line
break); lines and columns are 1-based and columns count code points.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right
from dataclasses import dataclass

from corral.errors import DecodeError

__all__ = [
    "UTF8_BOM",
    "Kind",
    "LineIndex",
    "Reference",
    "compile_scanner",
    "decode_text",
    "encode_text",
    "has_bom",
]

#: What kind of construct a reference was found in: a name in
#: :data:`corral.references.languages.KINDS`, which says what each one is.
Kind = str

UTF8_BOM = b"\xef\xbb\xbf"

_LINE_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Reference:
    """One reference found in a text file, with its exact position.

    ``url`` is the reference as the code means it (CSS and JS escapes resolved).
    ``start``/``end`` delimit the URL as written (inside the quotes when quoted);
    ``construct_start``/``construct_end`` delimit the whole construct (``url(...)``,
    ``@import "x"``, the comment, the ``import ... from "x"`` statement) for
    rewriters that reformat it. ``quote`` is ``'"'``, ``"'"``, ``"`"`` (a JS
    template literal without substitutions) or ``""`` (unquoted). ``line`` and
    ``column`` (1-based) locate ``start``.

    Tokenizers report every reference, including ``data:`` URLs, ``#fragment``
    only URLs, ``scheme:`` and ``//host`` URLs, absolute paths, bare module
    specifiers and empty URLs: deciding which ones name a collected file is the
    job of a later stage.
    """

    kind: Kind
    url: str
    start: int
    end: int
    construct_start: int
    construct_end: int
    quote: str
    line: int
    column: int


class LineIndex:
    """Turns ``str`` offsets into 1-based ``(line, column)``.

    Offsets asked in increasing order (as scanners do) cost O(text) in all:
    each call counts line breaks only since the previous one, at C speed. An
    offset before the previous one is looked up by bisection in a table of line
    starts, made once on the first such call, so no order of calls costs more
    than O(text + calls * log(lines)).
    """

    __slots__ = ("_cr", "_line", "_line_start", "_offset", "_starts", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._cr: bool | None = None  # whether the text has a "\r" at all (asked once)
        self._offset = 0  # the last offset asked for...
        self._line = 1  # ...its line...
        self._line_start = 0  # ...and where that line starts
        self._starts: list[int] | None = None  # every line's start, for going back

    def position(self, offset: int) -> tuple[int, int]:
        """Return the 1-based line and column of ``offset``."""
        text = self._text
        last = self._offset
        if offset < last:
            return self._looked_up(offset)
        breaks = text.count("\n", last, offset)
        end = offset  # where the last break before offset may end
        cr = self._cr
        if cr is None:
            cr = self._cr = "\r" in text
        if cr:
            breaks += text.count("\r", last, offset) - text.count("\r\n", last, offset)
            if offset > last and text[offset - 1] == "\r" and text[offset : offset + 1] == "\n":
                breaks -= 1  # offset splits a CRLF: the break is not over yet
                end -= 1
        if breaks:
            self._line += breaks
            self._line_start = 1 + max(text.rfind("\n", last, end), text.rfind("\r", last, end))
            if text[self._line_start - 1 : self._line_start + 1] == "\r\n":
                self._line_start += 1
        self._offset = offset
        return self._line, offset - self._line_start + 1

    def _looked_up(self, offset: int) -> tuple[int, int]:
        starts = self._starts
        if starts is None:
            starts = [0]
            starts.extend(m.end() for m in _LINE_BREAK.finditer(self._text))
            self._starts = starts
        line = bisect_right(starts, offset)
        return line, offset - starts[line - 1] + 1

    def reference(
        self,
        kind: Kind,
        url: str,
        span: tuple[int, int],
        construct: tuple[int, int],
        quote: str,
    ) -> Reference:
        """Build a :class:`Reference`, computing its line and column."""
        line, column = self.position(span[0])
        return Reference(
            kind, url, span[0], span[1], construct[0], construct[1], quote, line, column
        )


def has_bom(data: bytes) -> bool:
    """Return whether ``data`` starts with a UTF-8 byte order mark.

    :func:`decode_text` drops the mark; a rewriter that wants to write the file
    back byte for byte passes ``bom=has_bom(data)`` to :func:`encode_text`.
    """
    return data.startswith(UTF8_BOM)


def encode_text(text: str, *, bom: bool = False) -> bytes:
    """Encode ``text`` as UTF-8, putting a byte order mark in front if ``bom``."""
    encoded = text.encode("utf-8")
    return UTF8_BOM + encoded if bom else encoded


def decode_text(data: bytes, path: str) -> str:
    """Decode a text file's bytes as strict UTF-8, without its byte order mark.

    A leading UTF-8 BOM is removed (see :func:`has_bom` to remember it). Any
    line ending works. Bytes that are not UTF-8 raise :class:`DecodeError`
    naming ``path`` and the 1-based line and column of the first bad byte
    (columns count characters, the BOM not included), with a hint.
    """
    skip = len(UTF8_BOM) if has_bom(data) else 0
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _decode_error(data, skip, skip + exc.start, path) from None


def _decode_error(data: bytes, skip: int, bad: int, path: str) -> DecodeError:
    line_start = skip
    line = 1
    for m in _LINE_BREAK_BYTES.finditer(data, skip, bad):
        line += 1
        line_start = m.end()
    # Everything before the first bad byte is valid UTF-8, so this decode succeeds.
    column = len(data[line_start:bad].decode("utf-8")) + 1
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        what = "it looks like UTF-16 (it starts with a UTF-16 byte order mark); "
    else:
        what = ""
    return DecodeError(
        f"{path}:{line}:{column}: not valid UTF-8 (byte 0x{data[bad]:02x} at byte offset {bad})",
        path=path,
        line=line,
        column=column,
        hint=(
            f"{what}re-save the file as UTF-8, or leave it out with an ignore pattern "
            "(`ignore` in [tool.corral], or --ignore)"
        ),
    )


#: CPython before 3.11.5 mis-handles possessive quantifiers and atomic groups in some
#: patterns (gh-106052): matches end early, and references go unnoticed.
_POSSESSIVE_WORKS = sys.version_info >= (3, 11, 5)


def compile_scanner(pattern: str) -> re.Pattern[str]:
    """Compile a tokenizer pattern written with possessive quantifiers.

    The scanners' patterns always succeed where they start and nothing follows the
    repetition, so the plain greedy form matches exactly the same text; it only keeps
    backtracking state the possessive form avoids. Pythons with the possessive bug get
    the plain form.
    """
    if not _POSSESSIVE_WORKS:
        pattern = pattern.replace("++", "+").replace("*+", "*").replace("?+", "?")
    return re.compile(pattern)
