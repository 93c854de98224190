"""Streaming, deterministic gzip, brotli and zstd encoders.

``new_encoder(encoding, level, size)`` returns an object with
``compress(chunk) -> bytes`` and ``finish() -> bytes``; the concatenation of their
outputs is one complete encoded stream. Given the same input bytes, read in the
same chunks, and the same :data:`library_tag`, the output is byte-for-byte the
same on every run and machine:

- **gzip** (stdlib ``zlib``, raw deflate, ``memLevel`` 8 as GNU gzip): the
  RFC 1952 header is written here, not by zlib, with ``MTIME`` 0, no file name, no
  comment, ``XFL`` 2 at level 9 (4 at level 1, else 0) and ``OS`` 255 ("unknown",
  what CPython's ``gzip`` module writes) so the bytes do not depend on the clock,
  the file's name or the build machine's OS (zlib's own gzip header would say 3,
  Unix).
- **brotli** (PyPI ``brotli``), generic mode. The window is the smallest that
  holds the whole file (``lgwin`` 10-24, as the ``brotli`` CLI picks it), so
  small files declare small windows and files up to 16 MiB lose no matches.
- **zstd** (PyPI ``zstandard``), single-threaded, content size in the frame
  header, xxhash64 checksum on, no dictionary. Parameters come from the level
  tuned for the file's size; the window is capped at 8 MiB (``windowLog`` 23)
  because RFC 9659 lets HTTP clients refuse larger windows for
  ``Content-Encoding: zstd``.

``brotli`` and ``zstandard`` are imported on first use; if one is missing,
:func:`require` raises :class:`~corral.errors.ConfigError` saying how to install
it or turn the encoding off.
"""

from __future__ import annotations

import importlib
import re
import struct
import zlib
from functools import cache
from typing import Any, Protocol

from corral.compress.policy import Encoding
from corral.errors import ConfigError

__all__ = ["EXTENSIONS", "StreamEncoder", "library_tag", "new_encoder", "require"]

#: File-name suffix of each encoding's variants.
EXTENSIONS: dict[Encoding, str] = {"gzip": ".gz", "br": ".br", "zstd": ".zst"}

_PACKAGES: dict[Encoding, str] = {"br": "brotli", "zstd": "zstandard"}
_OPTION: dict[Encoding, str] = {"gzip": "gzip", "br": "brotli", "zstd": "zstd"}

# RFC 9659 section 3: a decoder may refuse zstd windows over 8 MiB.
_ZSTD_MAX_WINDOW_LOG = 23
_BROTLI_MIN_LGWIN, _BROTLI_MAX_LGWIN = 10, 24


class StreamEncoder(Protocol):
    """One encoding of one stream: feed it chunks, then finish it exactly once."""

    def compress(self, data: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


@cache
def _module(encoding: Encoding) -> Any:
    package = _PACKAGES[encoding]
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise ConfigError(
            f"{_OPTION[encoding]} compression needs the Python package {package!r}, "
            f"which is not installed ({exc})",
            hint=f"pip install {package}, or turn the encoding off ({_OPTION[encoding]} = false)",
            key=_OPTION[encoding],
        ) from exc


def require(encoding: Encoding) -> None:
    """Raise :class:`~corral.errors.ConfigError` if ``encoding``'s library is missing."""
    if encoding != "gzip":
        _module(encoding)


@cache
def library_tag(encoding: Encoding) -> str:
    """Name and version of the library that produces ``encoding``, e.g. ``brotli1.2.1``.

    The bytes of a variant depend on it, so it is part of every cache key. Only
    ``[0-9A-Za-z.+]`` characters are kept, so it is safe in file names.
    """
    if encoding == "gzip":
        tag = f"zlib{zlib.ZLIB_RUNTIME_VERSION}"
    elif encoding == "br":
        tag = f"brotli{_module('br').__version__}"
    else:
        major, minor, patch = _module("zstd").ZSTD_VERSION
        tag = f"zstd{major}.{minor}.{patch}"
    return re.sub(r"[^0-9A-Za-z.+]", "", tag)


def new_encoder(encoding: Encoding, level: int, size: int) -> StreamEncoder:
    """Return a fresh encoder for a stream of exactly ``size`` bytes.

    ``size`` tunes the brotli window and zstd parameters and is written in the zstd
    frame header; feeding a different number of bytes makes zstd fail.
    """
    if encoding == "gzip":
        return _GzipEncoder(level)
    if encoding == "br":
        return _BrotliEncoder(level, size)
    return _ZstdEncoder(level, size)


class _GzipEncoder:
    def __init__(self, level: int) -> None:
        self._deflate = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, 8)
        self._crc = 0
        self._size = 0
        xfl = 2 if level == 9 else 4 if level == 1 else 0
        # ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL OS=255 (RFC 1952 section 2.3)
        self._header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00" + bytes((xfl, 255))

    def compress(self, data: bytes) -> bytes:
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        return self._take_header() + self._deflate.compress(data)

    def finish(self) -> bytes:
        trailer = struct.pack("<II", self._crc, self._size & 0xFFFFFFFF)
        return self._take_header() + self._deflate.flush() + trailer

    def _take_header(self) -> bytes:
        header, self._header = self._header, b""
        return header


class _BrotliEncoder:
    def __init__(self, level: int, size: int) -> None:
        lgwin = _BROTLI_MIN_LGWIN
        # The brotli CLI's choice: the smallest window whose backward limit
        # ((1 << lgwin) - 16) covers the whole input.
        while lgwin < _BROTLI_MAX_LGWIN and (1 << lgwin) - 16 < size:
            lgwin += 1
        self._compressor = _module("br").Compressor(quality=level, lgwin=lgwin)

    def compress(self, data: bytes) -> bytes:
        out: bytes = self._compressor.process(data)
        return out

    def finish(self) -> bytes:
        out: bytes = self._compressor.finish()
        return out


class _ZstdEncoder:
    def __init__(self, level: int, size: int) -> None:
        zstandard = _module("zstd")
        options = {"write_content_size": True, "write_checksum": True, "write_dict_id": False}
        params = zstandard.ZstdCompressionParameters.from_level(level, source_size=size, **options)
        if params.window_log > _ZSTD_MAX_WINDOW_LOG:
            params = zstandard.ZstdCompressionParameters.from_level(
                level, source_size=size, window_log=_ZSTD_MAX_WINDOW_LOG, **options
            )
        compressor = zstandard.ZstdCompressor(compression_params=params)
        self._stream = compressor.compressobj(size=size)

    def compress(self, data: bytes) -> bytes:
        out: bytes = self._stream.compress(data)
        return out

    def finish(self) -> bytes:
        out: bytes = self._stream.flush()
        return out
