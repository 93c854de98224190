"""What a reference names, what is skipped, and the URL it is rewritten to."""

from __future__ import annotations

import pytest

from corral.fingerprint.urls import new_url, resolve, split_url
from corral.references import Kind

SKIPPED: list[tuple[str, Kind]] = [
    ("", "url"),
    ("   ", "url"),
    ("#frag", "url"),
    ("?v=1", "url"),
    ("?#iefix", "url"),
    ("data:image/png;base64,AAAA", "url"),
    ("DATA:image/png;base64,AAAA", "url"),  # Django: only lower-case schemes
    ("Https://example.com/x.png", "url"),
    ("git+ssh://host/x", "url"),
    ("chrome-extension://abc/x.png", "url"),
    ("blob:https://x/1", "url"),
    ("about:blank", "url"),
    ("//cdn.example.com/x.png", "url"),
    ("/media/x.png", "url"),
    ("/staticfiles/x.png", "url"),
    ("/static", "url"),
    ("fonts/", "url"),  # Django: "don't hash paths"
    ("../", "url"),
    ("react", "module"),
    ("@popperjs/core", "module"),
    ("lodash/fp.js", "module"),
    ("app.js", "module"),  # a bare specifier, even with a suffix
    ("react", "dynamic-import"),
    ("node:fs", "module"),
    ("https://esm.sh/react", "module"),
]


@pytest.mark.parametrize(("url", "kind"), SKIPPED)
def test_skipped(url: str, kind: Kind) -> None:
    assert resolve(url, kind, "css/app.css", "/static/") is None


RESOLVED: list[tuple[str, Kind, str, str]] = [
    ("a.png", "url", "css/app.css", "css/a.png"),
    ("../img/a.png", "url", "css/app.css", "img/a.png"),
    ("./../img/./a.png", "url", "css/app.css", "img/a.png"),
    ("../img/a.png?v=1#x", "url", "css/app.css", "img/a.png"),
    ("fonts/x.eot?#iefix", "url", "css/app.css", "css/fonts/x.eot"),
    ("/static/img/a.png", "url", "css/app.css", "img/a.png"),
    ("/static/img/../css/b.css", "import", "css/app.css", "css/b.css"),
    ("my%20dir/a%20b.png", "url", "css/app.css", "css/my dir/a b.png"),
    ("caf%C3%A9.png", "url", "app.css", "caf\u00e9.png"),
    ("  a.png  ", "url", "app.css", "a.png"),
    ("./b.js", "module", "js/a.js", "js/b.js"),
    ("../lib/b.mjs", "module", "js/a.js", "lib/b.mjs"),
    ("/static/js/b.js", "dynamic-import", "js/a.js", "js/b.js"),
    # dot segments over the whole path, as a browser resolves them: not an escape
    ("/static/../static/x.png", "url", "css/app.css", "x.png"),
    ("/static/a/%2e%2e/b.png", "url", "css/app.css", "b.png"),
    ("/static/./img/../x.png", "url", "css/app.css", "x.png"),
    ("app.js.map", "sourcemap", "js/app.js", "js/app.js.map"),
    ("app.js", "sourcemap-file", "js/app.js.map", "js/app.js"),
    ("a.png", "image-set", "css/app.css", "css/a.png"),
]


@pytest.mark.parametrize(("url", "kind", "referrer", "logical"), RESOLVED)
def test_resolved(url: str, kind: Kind, referrer: str, logical: str) -> None:
    target = resolve(url, kind, referrer, "/static/")
    assert target is not None
    assert (target.logical, target.outside) == (logical, False)
    assert target.url == url.strip()


@pytest.mark.parametrize(
    ("url", "logical"),
    [("../../x.png", "../x.png"), ("../x.png", "../x.png"), ("/static/../x.png", "../x.png")],
)
def test_climbing_above_the_root_is_outside(url: str, logical: str) -> None:
    target = resolve(
        url, "url", "css/app.css" if url.startswith("../..") else "app.css", "/static/"
    )
    assert target is not None
    assert (target.logical, target.outside) == (logical, True)


def test_root_absolute_needs_a_path_static_url() -> None:
    assert resolve("/static/a.png", "url", "x.css", "https://cdn.example.com/static/") is None
    assert (
        resolve(
            "https://cdn.example.com/static/a.png",
            "url",
            "x.css",
            "https://cdn.example.com/static/",
        )
        is None
    )
    target = resolve("/assets/a.png", "url", "x.css", "/assets/")
    assert target is not None and target.logical == "a.png"


NEW_URLS = [
    # (reference as written, hashed logical path, rewritten URL) -- Django's url_converter
    ("a.png", "css/a.0123456789ab.png", "a.0123456789ab.png"),
    ("../img/a.png", "img/a.0123456789ab.png", "../img/a.0123456789ab.png"),
    ("./../img/./a.png", "img/a.0123456789ab.png", "./../img/./a.0123456789ab.png"),
    ("/static/img/a.png", "img/a.0123456789ab.png", "/static/img/a.0123456789ab.png"),
    ("a.png#frag", "a.0123456789ab.png", "a.0123456789ab.png#frag"),
    ("a.png?v=1", "a.0123456789ab.png", "a.0123456789ab.png?v=1"),
    ("a.png?v=1#x", "a.0123456789ab.png", "a.0123456789ab.png?v=1#x"),
    ("x.eot?#iefix", "x.0123456789ab.eot", "x.0123456789ab.eot?#iefix"),
    ("x.svg#icon", "x.0123456789ab.svg", "x.0123456789ab.svg#icon"),
    ("a.png?", "a.0123456789ab.png", "a.0123456789ab.png"),  # Django drops the empty query
    ("a.png?#", "a.0123456789ab.png", "a.0123456789ab.png"),
    ("my%20dir/a%20b.png", "css/my dir/a b.0123456789ab.png", "my dir/a b.0123456789ab.png"),
    # Deliberately unlike Django: the query and fragment keep their escapes...
    ("a.png?q=%26x", "a.0123456789ab.png", "a.0123456789ab.png?q=%26x"),
    # ...and decoding never puts a %, ? or # into the path.
    ("a%2523.png", "a%23.0123456789ab.png", "a%2523.0123456789ab.png"),
    ("d%3F/a%23b.png", "d?/a#b.0123456789ab.png", "d%3F/a%23b.0123456789ab.png"),
]


@pytest.mark.parametrize(("url", "hashed", "expected"), NEW_URLS)
def test_new_url(url: str, hashed: str, expected: str) -> None:
    assert new_url(url, hashed) == expected


def test_percent_encoded_names_round_trip() -> None:
    target = resolve("d%3F/a%23b.png", "url", "x.css", "/static/")
    assert target is not None and target.logical == "d?/a#b.png"


def test_split_url() -> None:
    assert split_url("a/b.png?x=1?y#f#g") == ("a/b.png", "x=1?y", "f#g")
    assert split_url("a.png") == ("a.png", "", "")
