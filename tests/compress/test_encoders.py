"""The streaming encoders: exact round trips, deterministic bytes, documented headers."""

from __future__ import annotations

import gzip
import io
import re
import sys
from collections.abc import Iterator

import pytest
import zstandard

from corral.compress import ENCODINGS, Encoding, encoders
from corral.errors import ConfigError

from .conftest import css_text, decode, noise

TEXT = css_text(2000).encode()  # ~150 KB


def encode(encoding: Encoding, level: int, data: bytes, chunk: int = 1 << 20) -> bytes:
    encoder = encoders.new_encoder(encoding, level, len(data))
    parts = [encoder.compress(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    return b"".join([*parts, encoder.finish()])


LEVELS = [("gzip", 1), ("gzip", 6), ("gzip", 9), ("br", 0), ("br", 5), ("br", 11)]
LEVELS += [("zstd", 1), ("zstd", 19), ("zstd", 22)]


@pytest.mark.parametrize(("encoding", "level"), LEVELS)
@pytest.mark.parametrize(
    "data", [b"", b"a", TEXT, noise(70_000)], ids=["empty", "1B", "css", "noise"]
)
def test_round_trip_is_exact(encoding: Encoding, level: int, data: bytes) -> None:
    assert decode(encoding, encode(encoding, level, data)) == data


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_same_input_gives_same_bytes_whatever_the_chunking(encoding: Encoding) -> None:
    whole = encode(encoding, 9, TEXT)
    assert encode(encoding, 9, TEXT) == whole
    assert encode(encoding, 9, TEXT, chunk=4096) == whole


def test_gzip_header_has_no_time_no_name_and_a_fixed_os_byte() -> None:
    out = encode("gzip", 9, TEXT)
    #                  magic     CM  FLG MTIME=0            XFL=2 OS=255
    assert out[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    assert encode("gzip", 1, TEXT)[8] == 4
    assert encode("gzip", 5, TEXT)[8] == 0


def test_gzip_bytes_equal_cpython_gzipfile_with_mtime_zero() -> None:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buffer, mtime=0) as f:
        f.write(TEXT)
    assert encode("gzip", 9, TEXT) == buffer.getvalue()


def test_zstd_frame_has_content_size_and_checksum_and_no_dictionary() -> None:
    params = zstandard.get_frame_parameters(encode("zstd", 19, TEXT))
    assert params.content_size == len(TEXT)
    assert params.has_checksum
    assert params.dict_id == 0


def test_zstd_window_never_exceeds_rfc_9659_limit_of_8_mib() -> None:
    data = (TEXT * 70)[: 9 << 20]  # 9 MiB: level 22 would pick a 16 MiB window
    params = zstandard.get_frame_parameters(encode("zstd", 22, data))
    assert params.window_size <= 8 << 20


def test_brotli_window_fits_small_files() -> None:
    # The first byte of a brotli stream encodes the window; lgwin 10 is not the default 22.
    small, large = encode("br", 11, b"x" * 500), encode("br", 11, TEXT)
    assert small[0] != large[0]
    assert decode("br", small) == b"x" * 500


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_library_tag_names_library_and_version_safely(encoding: Encoding) -> None:
    tag = encoders.library_tag(encoding)
    assert re.fullmatch(r"(zlib|brotli|zstd)[0-9][0-9A-Za-z.+]*", tag)


@pytest.fixture
def without_brotli(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    encoders._module.cache_clear()
    monkeypatch.setitem(sys.modules, "brotli", None)  # makes "import brotli" fail
    yield
    encoders._module.cache_clear()


@pytest.mark.usefixtures("without_brotli")
def test_missing_library_is_a_config_error_with_a_fix() -> None:
    with pytest.raises(ConfigError) as info:
        encoders.require("br")
    assert "'brotli'" in info.value.message
    assert info.value.hint is not None and "pip install brotli" in info.value.hint
    encoders.require("gzip")  # the standard library is always there
