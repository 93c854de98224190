"""CompressionOptions: defaults, validation, skip rules, ratio gate."""

from __future__ import annotations

import dataclasses
import math

import pytest

from corral.compress import SKIP_EXTENSIONS, CompressionOptions
from corral.errors import ConfigError


def test_defaults_are_maximum_ratio_for_all_three_encodings() -> None:
    options = CompressionOptions()
    assert options.encodings() == (("gzip", 9), ("br", 11), ("zstd", 19))
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
