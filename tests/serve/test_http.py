"""Header parsing: RFC 9110's rules, and malformed input treated as absent, never raised."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.serve.http import (
    IDENTITY_DEFAULT_Q,
    accepted_codings,
    matches_any,
    parse_http_date,
    parse_range,
)

CODINGS = ("zstd", "br", "gzip")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, {"identity": 1.0}),
        ("", {"identity": IDENTITY_DEFAULT_Q}),
        ("gzip", {"gzip": 1.0, "identity": IDENTITY_DEFAULT_Q}),
        ("GZIP;Q=0.5", {"gzip": 0.5, "identity": IDENTITY_DEFAULT_Q}),
        ("x-gzip", {"gzip": 1.0, "identity": IDENTITY_DEFAULT_Q}),
        ("gzip;q=0", {"identity": IDENTITY_DEFAULT_Q}),
        ("*", {"zstd": 1.0, "br": 1.0, "gzip": 1.0, "identity": IDENTITY_DEFAULT_Q}),
        ("*;q=0", {}),
        ("*;q=0, identity", {"identity": 1.0}),
        ("br;q=0, *", {"zstd": 1.0, "gzip": 1.0, "identity": IDENTITY_DEFAULT_Q}),
        ("identity;q=0, gzip", {"gzip": 1.0}),
        ("gzip;q=abc, br", {"br": 1.0, "identity": IDENTITY_DEFAULT_Q}),
        ("gzip;q=1.5", {"identity": IDENTITY_DEFAULT_Q}),
        ("deflate, compress", {"identity": IDENTITY_DEFAULT_Q}),
    ],
)
def test_accept_encoding(header: str | None, expected: dict[str, float]) -> None:
    assert accepted_codings(header, CODINGS) == expected


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-9", 100, (0, 10)),
        ("bytes=90-", 100, (90, 10)),
        ("bytes=-10", 100, (90, 10)),
        ("bytes=-500", 100, (0, 100)),
        ("bytes=95-500", 100, (95, 5)),
        (" bytes = 1 - 2 ", 100, (1, 2)),
        ("bytes=100-", 100, "416"),
        ("bytes=-0", 100, "416"),
        ("bytes=0-", 0, "416"),
        ("bytes=5-1", 100, None),
        ("bytes=0-1,3-4", 100, None),
        ("bytes=-", 100, None),
        ("bytes=a-b", 100, None),
        ("bytes=\u00b2-", 100, None),
        ("pages=1-2", 100, None),
        (None, 100, None),
    ],
)
def test_range(header: str | None, size: int, expected: object) -> None:
    got = parse_range(header, size)
    if expected is None:
        assert got is None
    elif expected == "416":
        assert got is not None and not got.satisfiable
    else:
        assert got is not None and got.satisfiable
        assert (got.start, got.length) == expected


def test_if_none_match() -> None:
    assert matches_any('"a"', '"a"')
    assert matches_any('W/"a"', '"a"')
    assert matches_any('"x", W/"a" ,"y"', '"a"')
    assert matches_any(" * ", '"a"')
    assert not matches_any('"b"', '"a"')
    assert not matches_any("a", '"a"')


def test_http_dates() -> None:
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777
    assert parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777
    assert parse_http_date("Sun Nov  6 08:49:37 1994") == 784111777
    assert parse_http_date("garbage") is None
    assert parse_http_date(None) is None


@given(st.text(max_size=80), st.integers(0, 10**9))
def test_parsers_never_raise(value: str, size: int) -> None:
    accepted_codings(value, CODINGS)
    parse_range(value, size)
    matches_any(value, '"a"')
    parse_http_date(value)
