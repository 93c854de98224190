"""Find the references in a CSS file with a comment- and string-aware scanner.

The scanner follows CSS Syntax Level 3 tokenization where it matters: comments,
strings (with escapes and line continuations), escaped characters outside
strings, ``url(`` tokens (quoted or not, with escapes such as ``\\)``), and the
nesting of functions inside ``image-set()``. It jumps from one interesting
character to the next with small compiled patterns, so it runs at C speed over
the boring parts of a file.

Found: ``url(...)`` (kind ``"url"``), ``@import "x"`` and ``@import url(x)``
(``"import"``, any case), strings directly inside ``image-set()`` and
``-webkit-image-set()`` (``"image-set"``; ``url()`` inside them is a ``"url"``),
and ``/*# sourceMappingURL=x */`` (``"sourcemap"``, also the legacy ``/*@``).
Nothing inside other comments or inside strings counts
(``content: "url(x)"`` is text). Malformed ``url(`` tokens (an unquoted URL
with a quote, a parenthesis or inner whitespace) are not references, as in a
browser. Every other reference is reported, whatever its URL: skipping
``data:``, fragments, schemes and absolute URLs is a later stage's job.
"""

from __future__ import annotations

import re

from corral.references.text import Kind, LineIndex, Reference, compile_scanner

__all__ = ["css_references", "css_unescape"]

# A name character is a word character, "-" or any non-ASCII character. Written as the
# complement of the ASCII characters that are none of those: the same set (checked over
# every code point by a test), compiled in 0.1 ms instead of the 4-5 ms a class with
# \w and the range U+0080..U+10FFFF takes, in every process that scans a stylesheet.
_NAME_CHAR = r"^\x00-\x2c\x2e\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f"
#: A name character or a backslash (which starts an escape inside a name).
_NAME_CHAR_OR_ESCAPE = r"^\x00-\x2c\x2e\x2f\x3a-\x40\x5b\x5d\x5e\x60\x7b-\x7f"
_IS_NAME_CHAR = re.compile(rf"[{_NAME_CHAR}]")
_STRING = (
    r'"(?:[^"\\\n\r\f]++|\\(?:\r\n|[\s\S])?)*+"?'
    r"|'(?:[^'\\\n\r\f]++|\\(?:\r\n|[\s\S])?)*+'?"
)
# Everything the top-level scan need not look at, strings and escapes
# included: it stops at "/*", "@import", and at what may start url( or
# [-webkit-]image-set( (the caller checks that no name char comes before).
# Possessive quantifiers: no backtracking state over long stretches.
_SKIP = compile_scanner(
    rf"""(?:[^"'/\\@uUiI\-]++|{_STRING}|\\[\s\S]?|/(?!\*)"""
    rf"""|@(?!(?i:import)(?![{_NAME_CHAR_OR_ESCAPE}]))|[uU](?!(?i:rl)\()"""
    r"""|[iI](?!(?i:mage-set)\()|-(?!(?i:webkit-image-set)\())*+"""
)
# Inside image-set() strings and every parenthesis matter: a plain search.
_NESTED = re.compile(
    rf"""/\*|["'\\()]|(?<![{_NAME_CHAR}])(?i:url|(?:-webkit-)?image-set)\("""
    rf"""|@(?i:import)(?![{_NAME_CHAR_OR_ESCAPE}])"""
)
_STRING_BODY = {
    '"': compile_scanner(r'(?:[^"\\\n\r\f]++|\\(?:\r\n|[\s\S])?)*+'),
    "'": compile_scanner(r"(?:[^'\\\n\r\f]++|\\(?:\r\n|[\s\S])?)*+"),
}
_WS = re.compile(r"[ \t\n\r\f]*")
_TRIVIA = re.compile(r"(?:[ \t\n\r\f]+|/\*[\s\S]*?(?:\*/|\Z))*")
_URL_FUNCTION = re.compile(r"(?i:url)\(")
# An unquoted URL: anything but whitespace, quotes, parentheses, backslashes and
# non-printable characters (those end it, start an escape, or make it bad).
_URL_RUN = re.compile(r"[^ \t\n\r\f\"'()\\\x00-\x08\x0b\x0e-\x1f\x7f]+")
_ESCAPE = re.compile(r"\\(?:[0-9a-fA-F]{1,6}(?:\r\n|[ \t\n\r\f])?|[^\n\r\f])?")
_BAD_URL_REST = re.compile(r"(?:[^)\\]+|\\[\s\S]?)*")
_SOURCEMAP = re.compile(r"[#@][ \t]*sourceMappingURL=(\S*)\s*\Z")
_UNESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})(?:\r\n|[ \t\n\r\f])?|(\r\n|[\n\r\f])|([\s\S])|\Z)")


def css_references(text: str) -> list[Reference]:
    """Return the references in CSS ``text``, in file order.

    See the module docstring for what counts. Offsets are ``str`` offsets into
    ``text``; a leading BOM, if still there, is just a character.
    """
    return _Scanner(text).run()


def css_unescape(raw: str) -> str:
    """Resolve CSS escapes (``\\)``, ``\\26 ``, line continuations) in ``raw``."""
    if "\\" not in raw:
        return raw
    return _UNESCAPE.sub(_unescape_one, raw)


def _unescape_one(m: re.Match[str]) -> str:
    hex_digits, newline, char = m.groups()
    if hex_digits is not None:
        code = int(hex_digits, 16)
        if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            return "\ufffd"
        return chr(code)
    if newline is not None:
        return ""  # a line continuation inside a string
    return char if char is not None else ""


def _match_end(pattern: re.Pattern[str], text: str, i: int) -> int:
    """Return where ``pattern`` (which may match empty) stops matching at ``i``."""
    m = pattern.match(text, i)
    return m.end() if m else i


def _string(text: str, body_start: int, quote: str) -> tuple[int, int]:
    """Return (end of the string's body, end of the string token).

    An unclosed string ends before the newline (a CSS "bad string") or at the end
    of the text; then both positions are equal.
    """
    body_end = _match_end(_STRING_BODY[quote], text, body_start)
    if body_end < len(text) and text[body_end] == quote:
        return body_end, body_end + 1
    return body_end, body_end


class _Scanner:
    """One pass over one CSS text; ``run()`` returns its references."""

    __slots__ = ("lines", "refs", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = LineIndex(text)
        self.refs: list[Reference] = []

    def run(self) -> list[Reference]:
        text = self.text
        n = len(text)
        # One entry per open function inside an image-set(): True for image-set itself.
        stack: list[bool] = []
        pos = 0
        while True:
            if stack:
                pos = self._nested_step(pos, stack)
                if pos < 0:
                    return self.refs
                continue
            p = _match_end(_SKIP, text, pos)
            if p >= n:
                return self.refs
            c = text[p]
            if c == "/":
                pos = self._comment(p)
            elif c == "@":
                pos = self._import(p, p + len("@import"))
            elif p > 0 and _IS_NAME_CHAR.match(text, p - 1):
                pos = p + 1  # "myurl(" or "my-image-set(": another function
            elif c in "uU":
                pos = self._url(p, p + len("url("), "url")
            else:
                stack.append(True)
                pos = text.index("(", p) + 1

    def _nested_step(self, pos: int, stack: list[bool]) -> int:
        """Handle the next token inside an image-set(); return where to go on, or -1."""
        text = self.text
        m = _NESTED.search(text, pos)
        if m is None:
            return -1
        p = m.start()
        c = text[p]
        if c == "/":
            return self._comment(p)
        if c in "\"'":
            body_end, end = _string(text, p + 1, c)
            if stack[-1] and end > body_end:
                self._add("image-set", (p + 1, body_end), (p, end), c)
            return end
        if c == "\\":
            return min(p + 2, len(text))
        if c == "@":
            return self._import(p, m.end())
        if c == "(":
            stack.append(False)
        elif c == ")":
            stack.pop()
        elif m.group().lower() == "url(":
            return self._url(p, m.end(), "url")
        else:
            stack.append(True)
        return m.end()

    def _comment(self, p: int) -> int:
        text = self.text
        close = text.find("*/", p + 2)
        if close < 0:
            return len(text)
        sm = _SOURCEMAP.match(text, p + 2, close)
        if sm:
            self.refs.append(
                self.lines.reference("sourcemap", sm[1], sm.span(1), (p, close + 2), "")
            )
        return close + 2

    def _import(self, p: int, after: int) -> int:
        """Handle ``@import`` at ``p``; return where scanning goes on."""
        text = self.text
        i = _match_end(_TRIVIA, text, after)
        c = text[i : i + 1]
        if c in ("'", '"'):
            body_end, end = _string(text, i + 1, c)
            if end > body_end:
                self._add("import", (i + 1, body_end), (p, end), c)
            return end
        fn = _URL_FUNCTION.match(text, i)
        if fn:
            return self._url(i, fn.end(), "import")
        return after

    def _url(self, p: int, body: int, kind: Kind) -> int:
        """Handle a ``url(`` function token at ``p`` (its argument starts at ``body``)."""
        text = self.text
        n = len(text)
        i = _match_end(_WS, text, body)
        c = text[i : i + 1]
        if c in ("'", '"'):
            body_end, end = _string(text, i + 1, c)
            close = _close_paren(text, end)
            if end > body_end:
                self._add(kind, (i + 1, body_end), (p, close), c)
            return close
        start = i
        while True:
            m = _URL_RUN.match(text, i)
            if m:
                i = m.end()
            if i >= n:  # unclosed at the end of the file: still a URL token
                self._add(kind, (start, i), (p, n), "")
                return n
            c = text[i]
            if c == ")":
                self._add(kind, (start, i), (p, i + 1), "")
                return i + 1
            if c == "\\" and text[i + 1 : i + 2] not in ("\n", "\r", "\f"):
                i = _match_end(_ESCAPE, text, i)
                continue
            if c in " \t\n\r\f":
                j = _match_end(_WS, text, i)
                if j >= n or text[j] == ")":
                    close = min(j + 1, n)
                    self._add(kind, (start, i), (p, close), "")
                    return close
            # A quote, a parenthesis, inner whitespace, a bad escape or a control
            # character: a "bad url" token, skipped up to its ")".
            end = _match_end(_BAD_URL_REST, text, i)
            return min(end + 1, n)

    def _add(
        self, kind: Kind, span: tuple[int, int], construct: tuple[int, int], quote: str
    ) -> None:
        url = css_unescape(self.text[span[0] : span[1]])
        self.refs.append(self.lines.reference(kind, url, span, construct, quote))


def _close_paren(text: str, i: int) -> int:
    """Return the position just past the ``)`` that closes the function open at ``i``.

    Usually only whitespace comes first; modifiers (``url("x" cross-origin(...))``)
    are skipped with their own strings, comments and parentheses.
    """
    n = len(text)
    depth = 0
    while i < n:
        i = _match_end(_TRIVIA, text, i)
        if i >= n:
            break
        c = text[i]
        if c == ")":
            if depth == 0:
                return i + 1
            depth -= 1
            i += 1
        elif c == "(":
            depth += 1
            i += 1
        elif c in "\"'":
            i = _string(text, i + 1, c)[1]
            if i < n and text[i] in "\n\r\f":
                i += 1
        elif c == "\\":
            i += 2
        else:
            i += 1
    return n
