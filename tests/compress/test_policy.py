"""CompressionOptions: defaults, validation, skip rules, ratio gate."""

from __future__ import annotations

import dataclasses
import math
import re

import pytest

from corral.compress import SKIP_EXTENSIONS, CompressionOptions
from corral.errors import ConfigError


def test_defaults_are_the_measured_levels_and_fast_ones_for_source_maps() -> None:
    options = CompressionOptions()
    assert options.encodings() == (("gzip", 9), ("br", 10), ("zstd", 16))
    assert options.encodings_for("js/app.js") == options.encodings()
    assert options.encodings_for("js/app.js.map") == (("gzip", 6), ("br", 5), ("zstd", 3))
    assert CompressionOptions(default_levels=False).encodings_for("a.js.map") == (
        options.encodings()
    )
    # the user's rules come first
    mine = CompressionOptions(levels={"*.map": {"brotli_level": 11}})
    assert mine.encodings_for("a.js.map") == (("gzip", 9), ("br", 11), ("zstd", 16))
    assert (options.min_size, options.max_ratio) == (256, 0.95)
    assert options.skip_extensions == SKIP_EXTENSIONS


def test_each_encoding_can_be_switched_off_and_leveled() -> None:
    options = CompressionOptions(gzip=False, brotli_level=5, zstd_level=22)
    assert options.encodings() == (("br", 5), ("zstd", 22))
    assert CompressionOptions(gzip=False, brotli=False, zstd=False).encodings() == ()


def test_options_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CompressionOptions().gzip_level = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    "name",
    [
        "photo.png", "photo.JPG", "a/b/pic.webp", "anim.gif", "font.woff2", "font.woff",
        "clip.mp4", "song.mp3", "bundle.zip", "app.js.gz", "app.js.br", "app.js.zst",
        "manual.pdf", "logo.1a2b3c4d5e6f.png",
    ],
)  # fmt: skip
def test_already_compressed_media_types_are_skipped(name: str) -> None:
    assert CompressionOptions().skip_reason(name, 10_000) == "media-type"


@pytest.mark.parametrize(
    "name", ["logo.svg", "app.css", "app.js", "app.mjs", "data.json", "font.ttf", "favicon.ico"]
)
def test_text_svg_and_uncompressed_binaries_are_compressed(name: str) -> None:
    assert CompressionOptions().skip_reason(name, 10_000) is None


def test_files_under_min_size_are_skipped() -> None:
    options = CompressionOptions(min_size=1000)
    assert options.skip_reason("app.css", 999) == "too-small"
    assert options.skip_reason("app.css", 1000) is None
    assert CompressionOptions(min_size=0).skip_reason("empty.css", 0) is None


def test_skip_extensions_are_configurable_and_normalised() -> None:
    options = CompressionOptions(skip_extensions=[".SVG", ".css"])  # type: ignore[arg-type]
    assert options.skip_extensions == frozenset({".svg", ".css"})
    assert options.skip_reason("logo.svg", 10_000) == "media-type"
    assert options.skip_reason("photo.png", 10_000) is None


def test_ratio_gate_keeps_variants_at_most_max_ratio_of_the_original() -> None:
    options = CompressionOptions()
    assert options.worth_keeping(1000, 950)
    assert not options.worth_keeping(1000, 951)
    assert not options.worth_keeping(0, 20)
    assert CompressionOptions(max_ratio=1).worth_keeping(1000, 1000)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gzip_level", 0),
        ("gzip_level", 10),
        ("gzip_level", True),
        ("gzip_level", "9"),
        ("brotli_level", 12),
        ("brotli_level", -1),
        ("zstd_level", 23),
        ("zstd_level", 0),
        ("zstd_level", 19.0),
        ("min_size", -1),
        ("min_size", 1.5),
        ("max_ratio", 0),
        ("max_ratio", 1.01),
        ("max_ratio", math.nan),
        ("max_ratio", True),
        ("max_ratio", "0.9"),
        ("gzip", "yes"),
        ("brotli", 1),
    ],
)
def test_bad_values_raise_config_error_naming_key_and_value(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        CompressionOptions(**{field: value})  # type: ignore[arg-type]
    assert info.value.key == field
    assert field in info.value.message
    assert f"found {value!r}" in info.value.message


@pytest.mark.parametrize("value", [["png"], [".png", 3], ".png", [""], ["./x"]])
def test_bad_skip_extensions_raise_config_error(value: object) -> None:
    with pytest.raises(ConfigError) as info:
        CompressionOptions(skip_extensions=value)  # type: ignore[arg-type]
    assert info.value.key == "skip_extensions"


def test_levels_rules_first_match_wins_by_name_or_path() -> None:
    options = CompressionOptions(
        levels={
            "vendor/big/*": False,
            "*.map": {"brotli_level": 5, "zstd": False},
            "*.MAP": {"gzip": False},  # never reached: the first match wins
            "*.wasm": {"zstd_level": 3},
        },
        default_levels=False,
    )
    assert options.encodings_for("js/app.js.map") == (("gzip", 9), ("br", 5))
    assert options.encodings_for("JS/APP.JS.MAP") == (("gzip", 9), ("br", 5))  # any case
    assert options.encodings_for("a/b.wasm") == (("gzip", 9), ("br", 10), ("zstd", 3))
    assert options.encodings_for("css/app.css") == options.encodings()
    assert options.skip_reason("vendor/big/x/y.js", 10_000) == "rule"  # "*" crosses "/"
    assert options.skip_reason("vendorbig.js", 10_000) is None
    assert options.levels[0] == ("vendor/big/*", False)


def test_a_rule_may_turn_on_an_encoding_switched_off_globally() -> None:
    options = CompressionOptions(zstd=False, levels={"*.js": {"zstd": True}})
    assert ("zstd", 16) in options.encodings_for("app.js")
    assert ("zstd", 16) not in options.encodings_for("app.css")


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ({"*.map": {"brotli_level": 12}}, "in levels.'*.map': compression option 'brotli_level'"),
        ({"*.map": {"speed": 1}}, "unknown setting 'speed'"),
        ({"*.map": True}, "must be false or a table"),
        ({"*.map": {}}, "must be false or a table"),
        ("*.map", "must be a table of glob"),
    ],
)
def test_bad_rules_are_config_errors(levels: object, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        CompressionOptions(levels=levels)  # type: ignore[arg-type]


def test_max_size_skips_larger_files() -> None:
    options = CompressionOptions(max_size=1000)
    assert options.skip_reason("a.js", 1000) is None
    assert options.skip_reason("a.js", 1001) == "too-large"
    with pytest.raises(ConfigError, match="max_size"):
        CompressionOptions(max_size=-1)
