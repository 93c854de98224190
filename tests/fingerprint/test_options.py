"""Options are validated once, loudly; the default pass-through pattern avoids false positives."""

from __future__ import annotations

from typing import Any

import pytest

from corral.errors import ConfigError
from corral.fingerprint import DEFAULT_MISSING, FingerprintOptions
from corral.references import find_references
from corral.references.languages import SCANNED_SUFFIXES


def test_defaults() -> None:
    options = FingerprintOptions()
    assert options.url == "/static/" and options.modules is True
    assert dict(options.missing) == dict(DEFAULT_MISSING)
    assert options.policy("url") == "error" and options.policy("sourcemap") == "warn"
    assert options.policy("sourcemap-file") == "warn"
    assert options.accept_missing == ()


def test_partial_missing_table_keeps_the_other_defaults() -> None:
    options = FingerprintOptions(missing={"sourcemap": "error"})
    assert options.policy("sourcemap") == "error" and options.policy("url") == "error"


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"url": "static/"}, "url"),
        ({"url": "/static"}, "url"),
        ({"url": ""}, "url"),
        ({"url": 1}, "url"),
        ({"modules": "yes"}, "modules"),
        ({"missing": ["url"]}, "missing"),
        ({"accept_missing": "img/*"}, "accept_missing"),
        ({"accept_missing": [1]}, "accept_missing"),
        ({"passthrough": "x"}, "passthrough"),
        ({"passthrough": ["(unclosed"]}, "passthrough"),
    ],
)
def test_bad_values_are_config_errors_naming_the_key(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        FingerprintOptions(**kwargs)
    assert info.value.key == key


@pytest.mark.parametrize(
    "url", ["/static/", "/", "//cdn.example.com/s/", "https://cdn.example.com/static/"]
)
def test_good_urls(url: str) -> None:
    assert FingerprintOptions(url=url).url == url


def test_lists_become_tuples() -> None:
    options = FingerprintOptions(accept_missing=["a/*"], passthrough=[r"\.x$"])  # type: ignore[arg-type]
    assert options.accept_missing == ("a/*",) and options.passthrough == (r"\.x$",)


PASSTHROUGH = [
    # Vite / Rollup (base64url) and esbuild (base32) names
    ("assets/index-BRH8ky4y.js", True),
    ("assets/index-BRH8ky4y.js.map", True),
    ("assets/index-D_qrT4X-.css", True),
    ("assets/chunk-5QRJPKGZ.mjs", True),
    ("assets/vendor-C2xKq9Pz.js", True),
    # Not recognised: a second hash is harmless (documented false negatives)
    ("assets/index-DqEpAjNr.js", False),  # no digit
    ("assets/index-a1b2c3d4.js", False),  # lower-case hex
    ("assets/logo-BRH8ky4y.png", False),  # images are hashed again
    # Ordinary names that must not be taken for hashed ones
    ("js/bootstrap-datepicker.js", False),
    ("js/jquery-ui-datepicker.js", False),
    ("js/foo-Carousel.js", False),
    ("js/demo-example1.js", False),
    ("js/jquery-3.7.1.js", False),
    ("js/chart-2024-v2.js", False),
    ("css/font-awesome-4-7.css", False),
    ("js/app.js", False),
    ("-BRH8ky4y.js", False),  # nothing before the hash
    ("assets/-BRH8ky4y.js", False),
]


@pytest.mark.parametrize(("logical", "expected"), PASSTHROUGH)
def test_default_passthrough(logical: str, expected: bool) -> None:
    assert FingerprintOptions().is_passthrough(logical) is expected


def test_only_the_registered_suffixes_are_scanned() -> None:
    for suffix in SCANNED_SUFFIXES:
        assert find_references("x" + suffix, "") is not None
        assert find_references("x" + suffix.upper(), "") is not None
    for other in (".html", ".json", ".svg", ".scss", ".ts"):
        assert find_references("x" + other, "") is None
