"""The conformance table: request -> expected status, headers and body, for every server.

A case names the file it asks for by logical path and kind (hashed, unhashed, retained)
so the table holds no hashed names; :func:`expand` resolves them against the site. A
server that cannot behave as the table says for a reason outside corral's control has
an entry in ``differs`` with what it does instead; docs/serving.md lists them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tests.serve.conftest import SECRET, Site

IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Case:
    id: str
    target: Callable[[Site], str]
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "GET"
    body: Callable[[Site], bytes] | None = None  # expected body, whole
    want: dict[str, str | None] = field(default_factory=dict)  # None: header absent
    differs: dict[str, int] = field(default_factory=dict)  # server -> its status instead


def hashed(logical: str) -> Callable[[Site], str]:
    return lambda s: "/static/" + quote(s.manifest.files[logical].hashed)


def plain(logical: str) -> Callable[[Site], str]:
    return lambda s: "/static/" + quote(logical)


def raw(target: str) -> Callable[[Site], str]:
    return lambda s: target


def quote(path: str) -> str:
    return path.replace("%", "%25").replace(" ", "%20")


def file_of(
    logical: str, coding: str | None = None, part: slice = slice(None)
) -> Callable[[Site], bytes]:
    def read(s: Site) -> bytes:
        entry = s.manifest.files[logical]
        rel = entry.encodings[coding].path if coding else entry.hashed
        return (s.root / rel).read_bytes()[part]

    return read


CSS = "css/app.css"
TEXT = "big/text.txt"
BLOB = "big/blob.bin"

CASES = [
    # --- plain GET/HEAD, types, caching --------------------------------------------------
    Case(
        "get-hashed-identity",
        hashed(CSS),
        200,
        body=file_of(CSS),
        want={
            "content-type": "text/css; charset=utf-8",
            "cache-control": IMMUTABLE,
            "vary": "Accept-Encoding",
            "content-encoding": None,
        },
    ),
    Case(
        "head-hashed",
        hashed(CSS),
        200,
        method="HEAD",
        body=lambda s: b"",
        want={"cache-control": IMMUTABLE},
    ),
    Case(
        "get-image",
        hashed("img/dot.png"),
        200,
        body=file_of("img/dot.png"),
        want={"content-type": "image/png", "cache-control": IMMUTABLE, "vary": None},
    ),
    Case(
        "get-font",
        hashed("fonts/icons.woff2"),
        200,
        body=file_of("fonts/icons.woff2"),
        want={"content-type": "font/woff2"},
    ),
    Case("get-js-module", hashed("js/main.js"), 200, body=file_of("js/main.js")),
    Case("get-percent-encoded-name", hashed("docs/read me.txt"), 200),
    Case("get-large-streamed", hashed(BLOB), 200, body=file_of(BLOB)),
    Case(
        "get-unhashed", plain("css/base.css"), 200, want={"content-type": "text/css; charset=utf-8"}
    ),
    Case(
        "get-retained-release",
        lambda s: "/static/" + s.old_css,
        200,
        body=lambda s: (s.root / s.old_css).read_bytes(),
        want={"cache-control": IMMUTABLE},
    ),
    Case("post-405", hashed(CSS), 405, method="POST"),
    Case("delete-405", hashed(CSS), 405, method="DELETE"),
    # --- content negotiation --------------------------------------------------------------
    Case(
        "ae-gzip",
        hashed(CSS),
        200,
        {"Accept-Encoding": "gzip"},
        body=file_of(CSS, "gzip"),
        want={"content-encoding": "gzip", "vary": "Accept-Encoding"},
    ),
    Case(
        "ae-br",
        hashed(CSS),
        200,
        {"Accept-Encoding": "br"},
        body=file_of(CSS, "br"),
        want={"content-encoding": "br"},
    ),
    Case(
        "ae-gzip-q0",
        hashed(CSS),
        200,
        {"Accept-Encoding": "gzip;q=0"},
        body=file_of(CSS),
        want={"content-encoding": None},
    ),
    Case(
        "ae-q-values-honoured",
        hashed(CSS),
        200,
        {"Accept-Encoding": "br;q=0.1, gzip;q=1"},
        body=file_of(CSS, "gzip"),
        want={"content-encoding": "gzip"},
        differs={"nginx": 200},
    ),
    Case(
        "ae-br-excluded",
        hashed(CSS),
        200,
        {"Accept-Encoding": "br;q=0, gzip"},
        body=file_of(CSS, "gzip"),
        want={"content-encoding": "gzip"},
    ),
    Case(
        "ae-identity-only",
        hashed(CSS),
        200,
        {"Accept-Encoding": "identity"},
        body=file_of(CSS),
        want={"content-encoding": None},
    ),
    Case("ae-malformed", hashed(CSS), 200, {"Accept-Encoding": "gzip;q=abc;;, ,;q=2"}),
    Case(
        "ae-on-incompressible",
        hashed("img/dot.png"),
        200,
        {"Accept-Encoding": "gzip, br"},
        body=file_of("img/dot.png"),
        want={"content-encoding": None},
    ),
    # --- conditional requests ---------------------------------------------------------------
    Case(
        "ims-future-304",
        hashed(CSS),
        304,
        {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"},
        differs={"nginx": 200},
    ),
    Case("ims-past-200", hashed(CSS), 200, {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}),
    Case("ims-garbage-200", hashed(CSS), 200, {"If-Modified-Since": "yesterday-ish"}),
    Case("inm-star-304", hashed(CSS), 304, {"If-None-Match": "*"}),
    Case("inm-other-200", hashed(CSS), 200, {"If-None-Match": '"nope"'}),
    Case(
        "inm-other-beats-ims",
        hashed(CSS),
        200,
        {"If-None-Match": '"nope"', "If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"},
    ),
    # --- ranges -------------------------------------------------------------------------------
    Case(
        "range-first-10",
        hashed(BLOB),
        206,
        {"Range": "bytes=0-9"},
        body=file_of(BLOB, part=slice(0, 10)),
        want={"content-range": "bytes 0-9/3145728", "content-length": "10"},
    ),
    Case(
        "range-suffix",
        hashed(BLOB),
        206,
        {"Range": "bytes=-5"},
        body=file_of(BLOB, part=slice(-5, None)),
        want={"content-range": "bytes 3145723-3145727/3145728"},
    ),
    Case(
        "range-open",
        hashed(BLOB),
        206,
        {"Range": "bytes=3145720-"},
        body=file_of(BLOB, part=slice(3145720, None)),
    ),
    Case(
        "range-past-end-clipped",
        hashed(BLOB),
        206,
        {"Range": "bytes=3145720-9999999"},
        body=file_of(BLOB, part=slice(3145720, None)),
    ),
    Case(
        "range-middle-64k",
        hashed(BLOB),
        206,
        {"Range": "bytes=1000000-1065535"},
        body=file_of(BLOB, part=slice(1000000, 1065536)),
    ),
    Case(
        "range-unsatisfiable",
        hashed(BLOB),
        416,
        {"Range": "bytes=3145728-"},
        want={"content-range": "bytes */3145728"},
    ),
    Case(
        "range-multiple-200",
        hashed(BLOB),
        200,
        {"Range": "bytes=0-1,5-6"},
        body=file_of(BLOB),
        differs={"nginx": 206, "caddy": 206},
    ),
    Case(
        "range-malformed-200",
        hashed(BLOB),
        200,
        {"Range": "bytes=abc"},
        body=file_of(BLOB),
        differs={"nginx": 416, "caddy": 416},
    ),
    Case(
        "range-other-unit-200",
        hashed(BLOB),
        200,
        {"Range": "items=0-1"},
        body=file_of(BLOB),
        differs={"caddy": 416},
    ),
    Case(
        "if-range-mismatch-200",
        hashed(BLOB),
        200,
        {"Range": "bytes=0-9", "If-Range": '"old"'},
        body=file_of(BLOB),
    ),
    Case(
        "range-of-small-file",
        hashed(CSS),
        206,
        {"Range": "bytes=0-3"},
        body=file_of(CSS, part=slice(0, 4)),
    ),
    # --- not found, and traversal: 0 leaks -----------------------------------------------------
    Case("missing-404", plain("css/nope.css"), 404, want={"cache-control": "no-store"}),
    Case(
        "missing-hashed-404",
        raw("/static/css/app.0123456789ab.css"),
        404,
        want={"cache-control": "no-store"},
    ),
    Case("prefix-itself-404", raw("/static/"), 404),
    Case("django-manifest-not-served", raw("/static/staticfiles.json"), 404),
    Case("corral-manifest-not-served", raw("/static/corral-manifest.json"), 404),
]

TRAVERSAL = [
    "/static/../secret.txt",
    "/static/%2e%2e/secret.txt",
    "/static/%2E%2E%2Fsecret.txt",
    "/static/%252e%252e/secret.txt",
    "/static/..%2fsecret.txt",
    "/static/..%5csecret.txt",
    "/static/..\\secret.txt",
    "/static/css/..%5c..%5csecret.txt",
    "/static/%c0%ae%c0%ae/secret.txt",
    "/static/%c0%ae%c0%ae%c0%afsecret.txt",
    "/static/css/app.css%00.png",
    "/static/%00",
    "//static/../../secret.txt",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/leak.txt",
    "/static/css/leak.css",
    "/static/.env",
    "/static/css/.hidden.css",
    "/static/.corral/state.json",
    "/static/.corral/owner.json",
    "/static/%2ecorral/state.json",
    "/static/.corral/releases/00000001.json",
]


def leaked(body: bytes) -> bool:
    return SECRET in body or b"root:x:0:0" in body or b'"releases"' in body or b"owner" in body
