"""Find the references in a JavaScript file with a comment-, string- and regex-aware scanner.

Found: ``//# sourceMappingURL=x`` (also the legacy ``//@`` and the block-comment
form ``/*# sourceMappingURL=x */``) as kind ``"sourcemap"``; ES module specifiers
of ``import ... from "x"``, ``export ... from "x"`` and bare ``import "x"`` as
``"module"``; ``import("x")`` whose first argument is one literal string (or a
template literal without substitutions) followed by ``)`` or ``,`` as
``"dynamic-import"``. Never counted: anything inside strings, comments, template
literal text or regex literals; ``import.meta``; property names (``obj.import(x)``,
``x.export``); longer identifiers (``important``, ``exports``); ``import(a + "x")``.
Code inside ``${...}`` is code, at any nesting depth.

Whether a ``/`` starts a regex literal or is a division is decided by the
previous significant token, the rule every JS tokenizer without a full parser
uses: after an identifier, a number, a string, a template, a regex, ``)`` or
``]`` it divides; after a punctuator, ``}``, the start of the text or one of the
keywords in ``_REGEX_KEYWORDS`` (``return /x/``) a regex starts. A ``)`` that
closes ``if (...)``, ``while (...)``, ``for (...)`` or ``with (...)`` allows a
regex when the condition has no quote or slash (see ``_closes_keyword_paren``).
A regex literal that does not end on its line is taken as a division, and no
other ``/`` on the rest of that line starts one: the line is not valid
JavaScript, and scanning the line again from every ``/`` would take time
quadratic in its length.

Every reference is reported whatever it names (bare specifiers such as
``"react"``, ``data:`` URLs, absolute URLs): filtering is a later stage's job.
One compiled pattern skips plain code and string literals at C speed; only
``/``, backquotes and the two keywords (plus braces inside ``${}``) cost a
Python step, which keeps a megabyte of minified code in the tens of
milliseconds.
"""

from __future__ import annotations

import contextlib
import re

from corral.references.text import Kind, LineIndex, Reference, compile_scanner

__all__ = ["js_references", "js_unescape"]

_STRING = (
    r'"(?:[^"\\\n\r]++|\\(?:\r\n|[\s\S])?)*+"?'
    r"|'(?:[^'\\\n\r]++|\\(?:\r\n|[\s\S])?)*+'?"
)
# Code the scanner needs not look at: everything up to the next "/", template,
# "import" or "export", string literals included (an unterminated string ends
# at its line's end). Inside "${...}" braces stop it too. Possessive
# quantifiers: nothing here ever backtracks, and sre keeps no backtracking
# state for a match that may run over a whole megabyte.
_SKIP = compile_scanner(rf"(?:[^\"'`/ie]++|{_STRING}|i(?!mport)|e(?!xport))*+")
_SKIP_IN_SUBSTITUTION = compile_scanner(rf"(?:[^\"'`/ie{{}}]++|{_STRING}|i(?!mport)|e(?!xport))*+")
_LINE_TERMINATOR = re.compile("[\n\r\u2028\u2029]")
_STRING_BODY = {
    '"': compile_scanner(r'(?:[^"\\\n\r]++|\\(?:\r\n|[\s\S])?)*+'),
    "'": compile_scanner(r"(?:[^'\\\n\r]++|\\(?:\r\n|[\s\S])?)*+"),
}
_TEMPLATE_STOP = re.compile(r"[`\\]|\$\{")
_REGEX_BODY = compile_scanner(
    "(?:[^/\\\\\\[\n\r\u2028\u2029]++|\\\\[^\n\r\u2028\u2029]"
    "|\\[(?:[^\\]\\\\\n\r\u2028\u2029]++|\\\\[^\n\r\u2028\u2029])*+\\]?)*+"
)
_IDENTIFIER = re.compile("[\\w$\u200c\u200d]+")
_TRIVIA = re.compile(r"(?:[\s\ufeff]+|//[^\n\r\u2028\u2029]*|/\*[\s\S]*?\*/)*")
_SOURCEMAP = re.compile(r"[#@][ \t]*sourceMappingURL=(\S*)\s*\Z")
_ESCAPE = re.compile(
    r"\\(?:u\{([0-9a-fA-F]+)\}|u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})"
    r"|([0-3][0-7]{0,2}|[4-7][0-7]?)|(\r\n|[\n\r\u2028\u2029])|([\s\S]))"
)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v"}
_RAW_CR = re.compile(r"\r\n?")

# JavaScript's WhiteSpace and LineTerminator characters.
_WHITESPACE = (
    " \t\n\r\v\f\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
# Keywords after which a "/" starts a regex literal (longest first: "typeof" ends in "of").
_REGEX_KEYWORDS = (
    "instanceof",
    "typeof",
    "return",
    "delete",
    "await",
    "throw",
    "yield",
    "case",
    "else",
    "void",
    "new",
    "do",
    "in",
    "of",
)
_PAREN_KEYWORDS = ("while", "with", "for", "if")
_MAX_CLAUSE_TOKENS = 1000
_MAX_PAREN_WALK = 2000


def js_references(text: str, *, modules: bool = True) -> list[Reference]:
    """Return the references in JavaScript ``text``, in file order.

    See the module docstring for what counts. Offsets are ``str`` offsets into
    ``text``. Syntax errors never raise: an unterminated string, template,
    regex or comment simply runs to the end of its line or of the text.
    ``modules=False``: the caller wants source map comments only, so module
    specifiers are left out.

    Every reference starts at a literal ``import``, ``export`` or
    ``sourceMappingURL``, so a text without them (most minified bundles lack
    ``sourceMappingURL``) is answered by a substring search at C speed,
    without tokenizing.
    """
    if "sourceMappingURL" not in text and (
        not modules or ("import" not in text and "export" not in text)
    ):
        return []
    refs = _tokenize(text)
    if modules:
        return refs
    return [ref for ref in refs if ref.kind == "sourcemap"]


def _tokenize(text: str) -> list[Reference]:
    """Every reference in ``text`` (the tokenizer itself, without the shortcut)."""
    refs: list[Reference] = []
    lines = LineIndex(text)
    n = len(text)
    comments: dict[int, int] = {}  # significant end of a comment -> its start
    substitutions: list[int] = []  # per open "${": depth of "{" inside it
    tok_end = 0  # end of the last "/", regex, template or brace token...
    tok_regex = True  # ...and whether a regex literal may follow it
    no_regex_before = 0  # where the last unterminated regex literal's scan stopped
    pos = 0
    if text.startswith("#!"):  # a hashbang line is a comment
        pos = _comment(text, 0, line=True, comments=comments)
    while True:
        skipped = (_SKIP_IN_SUBSTITUTION if substitutions else _SKIP).match(text, pos)
        p = skipped.end() if skipped else pos
        if p >= n:
            return refs
        c = text[p]
        if c == "/":
            following = text[p + 1 : p + 2]
            if following in ("/", "*"):
                pos = _comment(text, p, line=following == "/", comments=comments)
                if not refs or p >= refs[-1].construct_end:  # not inside an import(...)
                    _sourcemap_comment(text, p, pos, lines, refs)
            elif p >= no_regex_before and _regex_allowed(text, p, tok_end, tok_regex, comments):
                end, stop = _regex_end(text, p)
                if end is None:  # unterminated: taken as a division, and the line is
                    no_regex_before = stop  # not tried again (a scan per "/" is quadratic)
                tok_regex = end is None
                pos = tok_end = p + 1 if end is None else end
            else:
                pos = tok_end = p + 1
                tok_regex = True
        elif c == "`":
            pos, tok_regex = _template(text, p + 1)
            tok_end = pos
            if tok_regex:
                substitutions.append(0)
        elif c == "{":
            substitutions[-1] += 1
            pos = tok_end = p + 1
            tok_regex = True
        elif c == "}":
            if substitutions[-1]:
                substitutions[-1] -= 1
                pos = tok_end = p + 1
                tok_regex = True
            else:
                substitutions.pop()
                pos, tok_regex = _template(text, p + 1)
                tok_end = pos
                if tok_regex:
                    substitutions.append(0)
        else:  # "import" or "export"
            pos = p + 6
            if _is_keyword(text, p, pos, comments):
                ref = _module_reference(text, p, pos, text[p:pos], lines)
                if ref is not None:
                    refs.append(ref)


def js_unescape(raw: str, *, template: bool = False) -> str:
    """Return the value of a JS string literal's body ``raw`` (escapes resolved).

    With ``template``, ``raw`` is a template literal's text: raw CR and CRLF
    become LF, as in JavaScript.
    """
    if template and "\r" in raw:
        raw = _RAW_CR.sub("\n", raw)
    if "\\" not in raw:
        return raw
    value = _ESCAPE.sub(_unescape_one, raw)
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        # Join \uD83D\uDE00-style surrogate pairs; a lone surrogate stays as it is.
        with contextlib.suppress(UnicodeDecodeError):
            value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    return value


def _unescape_one(m: re.Match[str]) -> str:
    braced, four, two, octal, newline, char = m.groups()
    hex_digits = braced or four or two
    if hex_digits is not None:
        code = int(hex_digits, 16)
        return chr(code) if code <= 0x10FFFF else "\ufffd"
    if octal is not None:
        return chr(int(octal, 8))
    if newline is not None:
        return ""  # a line continuation
    return _SIMPLE_ESCAPES.get(char, char)


# -- tokens -------------------------------------------------------------------


def _line_end(text: str, i: int) -> int:
    m = _LINE_TERMINATOR.search(text, i)
    return m.start() if m else len(text)


def _string_end(text: str, body_start: int, quote: str) -> tuple[int, int]:
    """Return (end of the string's body, end of the token); equal if unterminated."""
    m = _STRING_BODY[quote].match(text, body_start)
    body_end = m.end() if m else body_start
    if body_end < len(text) and text[body_end] == quote:
        return body_end, body_end + 1
    return body_end, body_end


def _template(text: str, i: int) -> tuple[int, bool]:
    """Scan template text from ``i``; return (position after it, whether ``${`` opened)."""
    while True:
        m = _TEMPLATE_STOP.search(text, i)
        if m is None:
            return len(text), False
        stop = m.group()
        if stop == "\\":
            i = m.start() + 2
        else:
            return m.end(), stop == "${"


def _plain_template_end(text: str, i: int) -> int | None:
    """Return the end of a template literal without substitutions, or None."""
    while True:
        m = _TEMPLATE_STOP.search(text, i)
        if m is None or m.group() == "${":
            return None
        if m.group() == "`":
            return m.end()
        i = m.start() + 2


def _regex_end(text: str, p: int) -> tuple[int | None, int]:
    """Return the end of the regex literal at ``p`` (flags included), or None if it is
    unterminated, and where the scan of its body stopped."""
    m = _REGEX_BODY.match(text, p + 1)
    e = m.end() if m else p + 1
    if e >= len(text) or text[e] != "/":
        return None, e
    flags = _IDENTIFIER.match(text, e + 1)
    return (flags.end() if flags else e + 1), e


def _comment(text: str, p: int, *, line: bool, comments: dict[int, int]) -> int:
    """Skip the comment at ``p`` and note where it is; return its end."""
    if line:
        end = _line_end(text, p + 2)
    else:
        close = text.find("*/", p + 2)
        end = len(text) if close < 0 else close + 2
    # Key the comment by its last non-blank character's end, where a backward
    # walk over whitespace from a later "/" stops.
    key = end
    while key > p + 2 and text[key - 1] in _WHITESPACE:
        key -= 1
    comments[key] = p
    return end


def _sourcemap_comment(
    text: str, p: int, end: int, lines: LineIndex, refs: list[Reference]
) -> None:
    """Note the comment ``text[p:end]`` if it is a sourceMappingURL comment."""
    if text.startswith("//", p):
        body_end = end
    elif text.endswith("*/", p + 2, end):
        body_end = end - 2
    else:
        return  # an unterminated block comment
    sm = _SOURCEMAP.match(text, p + 2, body_end)
    if sm:
        refs.append(lines.reference("sourcemap", sm[1], sm.span(1), (p, end), ""))


# -- the regex-vs-division rule -------------------------------------------------


def _is_ident(c: str) -> bool:
    return c.isalnum() or c in "_$\u200c\u200d" or (c > "\x7f" and c.isidentifier())


def _previous(text: str, q: int, comments: dict[int, int]) -> int:
    """Return the end of the last significant character before ``q``."""
    while True:
        while q > 0 and text[q - 1] in _WHITESPACE:
            q -= 1
        start = comments.get(q)
        if start is None:
            return q
        q = start


def _is_property(text: str, p: int, comments: dict[int, int]) -> bool:
    """Whether the word at ``p`` follows a ``.`` (but not a ``...`` spread)."""
    q = _previous(text, p, comments)
    return q > 0 and text[q - 1] == "." and text[q - 3 : q] != "..."


def _follows_keyword(text: str, p: int, comments: dict[int, int], words: tuple[str, ...]) -> bool:
    """Whether one of ``words`` (as a keyword, not a property) comes right before ``p``."""
    q = _previous(text, p, comments)
    if not text.endswith(words, 0, q):
        return False
    for word in words:
        if text.endswith(word, 0, q):
            s = q - len(word)
            if s > 0 and _is_ident(text[s - 1]):
                continue
            return not _is_property(text, s, comments)
    return False


def _regex_allowed(
    text: str, p: int, tok_end: int, tok_regex: bool, comments: dict[int, int]
) -> bool:
    q = _previous(text, p, comments)
    if q == 0:
        return True
    if q == tok_end:
        return tok_regex
    c = text[q - 1]
    if _is_ident(c):
        return _follows_keyword(text, q, comments, _REGEX_KEYWORDS)
    if c in "\"']":  # the end of a string literal, or of an index
        return False
    if c == ")":
        return _closes_keyword_paren(text, q - 1, comments)
    if c == ".":  # "1./2" divides a number
        return not (q >= 2 and text[q - 2].isdigit())
    if c in "+-":  # "a++ / 2" divides
        return not (q >= 2 and text[q - 2] == c)
    return True


def _closes_keyword_paren(text: str, close: int, comments: dict[int, int]) -> bool:
    """Whether the ``)`` at ``close`` ends ``if (...)``, ``while (...)``, ``for (...)``...

    Strings and comments are not tracked backwards, so the walk gives up (and
    says no: a division follows) at the first quote or slash, or after
    ``_MAX_PAREN_WALK`` characters.
    """
    depth = 0
    for i in range(close, max(close - _MAX_PAREN_WALK, -1), -1):
        c = text[i]
        if c == ")":
            depth += 1
        elif c == "(":
            depth -= 1
            if depth == 0:
                return _follows_keyword(text, i, comments, _PAREN_KEYWORDS)
        elif c in "\"'`/":
            return False
    return False


# -- module specifiers ----------------------------------------------------------


def _is_keyword(text: str, p: int, end: int, comments: dict[int, int]) -> bool:
    """Whether ``import``/``export`` at ``p`` is the keyword, not part of a name."""
    if p > 0 and (_is_ident(text[p - 1]) or text[p - 1] == "#"):
        return False
    if end < len(text) and _is_ident(text[end]):
        return False
    return not _is_property(text, p, comments)


def _skip(text: str, i: int) -> int:
    m = _TRIVIA.match(text, i)
    return m.end() if m else i


def _module_reference(
    text: str, p: int, after: int, keyword: str, lines: LineIndex
) -> Reference | None:
    i = _skip(text, after)
    c = text[i : i + 1]
    if keyword == "export":
        return _from_clause(text, p, i, lines) if c in ("*", "{") else None
    if c == "(":
        return _dynamic_import(text, p, i + 1, lines)
    if c in ("'", '"'):
        return _specifier(text, "module", p, i, lines)
    if c in ("", "."):  # import.meta
        return None
    return _from_clause(text, p, i, lines)


def _specifier(text: str, kind: Kind, p: int, q: int, lines: LineIndex) -> Reference | None:
    quote = text[q]
    body_end, end = _string_end(text, q + 1, quote)
    if end == body_end:
        return None
    url = js_unescape(text[q + 1 : body_end])
    return lines.reference(kind, url, (q + 1, body_end), (p, end), quote)


def _from_clause(text: str, p: int, i: int, lines: LineIndex) -> Reference | None:
    """Parse an import/export clause from ``i`` up to ``from "x"``, leniently.

    Accepts names, ``*``, ``,``, ``as`` (also before a string name) and one
    ``{...}`` group that must be followed by ``from``; anything else means this
    is not a ``from`` clause.
    """
    n = len(text)
    after_group = False
    word = ""
    for _ in range(_MAX_CLAUSE_TOKENS):
        i = _skip(text, i)
        if i >= n:
            return None
        c = text[i]
        m = _IDENTIFIER.match(text, i)
        if m:
            word, i = m.group(), m.end()
            if word in ("import", "export"):  # reserved: a new statement starts
                return None
            if word == "from":
                j = _skip(text, i)
                if text[j : j + 1] in ("'", '"'):
                    return _specifier(text, "module", p, j, lines)
            if after_group:
                return None
            continue
        if after_group:
            return None
        if c == "{":
            end = _brace_group_end(text, i + 1)
            if end is None:
                return None
            i, after_group = end, True
        elif c in ",*":
            i += 1
        elif c in "'\"" and word == "as":  # export * as "name" from "x"
            body_end, i = _string_end(text, i + 1, c)
            if i == body_end:
                return None
        else:
            return None
        word = ""
    return None


def _brace_group_end(text: str, i: int) -> int | None:
    """Return the end of ``{ a, b as c, "d" as e }`` whose body starts at ``i``."""
    n = len(text)
    for _ in range(_MAX_CLAUSE_TOKENS):
        i = _skip(text, i)
        if i >= n:
            return None
        c = text[i]
        if c == "}":
            return i + 1
        if c == ",":
            i += 1
        elif c in "'\"":
            body_end, i = _string_end(text, i + 1, c)
            if i == body_end:
                return None
        else:
            m = _IDENTIFIER.match(text, i)
            if m is None:
                return None
            i = m.end()
    return None


def _dynamic_import(text: str, p: int, i: int, lines: LineIndex) -> Reference | None:
    """``import(`` at ``p``; its argument list starts at ``i``."""
    j = _skip(text, i)
    quote = text[j : j + 1]
    if quote in ("'", '"'):
        body_end, end = _string_end(text, j + 1, quote)
        if end == body_end:
            return None
        url = js_unescape(text[j + 1 : body_end])
    elif quote == "`":
        closed = _plain_template_end(text, j + 1)
        if closed is None:
            return None
        body_end, end = closed - 1, closed
        url = js_unescape(text[j + 1 : body_end], template=True)
    else:
        return None
    k = _skip(text, end)
    after = text[k : k + 1]
    if after == ")":
        construct_end = k + 1
    elif after == ",":
        construct_end = end
    else:
        return None
    return lines.reference("dynamic-import", url, (j + 1, body_end), (p, construct_end), quote)
