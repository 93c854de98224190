"""What to compress, how hard, and which variants are worth keeping.

:class:`CompressionOptions` is validated once, when it is built: a bad value
raises :class:`corral.errors.ConfigError` naming the option and the value found.
The decisions made from it are pure functions of a file's name and size
(:meth:`CompressionOptions.skip_reason`) and of the sizes before and after
compression (:meth:`CompressionOptions.worth_keeping`).
"""

from __future__ import annotations

import fnmatch
import functools
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NoReturn, get_args

from corral.errors import ConfigError

__all__ = [
    "ENCODINGS",
    "SKIP_EXTENSIONS",
    "CompressionOptions",
    "Encoding",
    "SkipReason",
]

#: An HTTP content coding corral can produce (the ``Content-Encoding`` token).
Encoding = Literal["gzip", "br", "zstd"]
#: Every encoding, in the order variants are listed in results.
ENCODINGS: tuple[Encoding, ...] = get_args(Encoding)

#: Why a file (or one of its variants) has no compressed variant:
#: ``"media-type"``: its extension is in ``skip_extensions`` (already compressed);
#: ``"too-small"``: it is smaller than ``min_size``;
#: ``"too-large"``: it is larger than ``max_size``;
#: ``"rule"``: a ``levels`` rule turns this encoding (or every one) off for the file;
#: ``"incompressible"``: samples of it did not compress (see :mod:`.probe`);
#: ``"no-gain"``: the variant was not at most ``max_ratio`` of the original size.
SkipReason = Literal["media-type", "too-small", "too-large", "rule", "incompressible", "no-gain"]

#: What a ``levels`` rule may set for the files its glob matches.
RULE_KEYS = ("gzip", "gzip_level", "brotli", "brotli_level", "zstd", "zstd_level")
#: A normalised rule: ``False`` (no variants), or the settings it overrides, sorted.
Rule = tuple[tuple[str, "bool | int"], ...] | Literal[False]

#: corral's own rules, applied after the user's (``levels``): source maps are fetched
#: only by developer tools, so they get fast levels: 97% of brotli 11's savings on the
#: medium corpus's maps for 2% of its time (docs/performance.md, docs/decisions.md).
DEFAULT_RULES: tuple[tuple[str, Rule], ...] = (
    ("*.map", (("brotli_level", 5), ("gzip_level", 6), ("zstd_level", 3))),
)

#: File extensions (lower case, matched on the last suffix of the name) of formats
#: that are already compressed, so a gzip/brotli/zstd variant saves next to nothing
#: and costs build time. Compressed images (everything but SVG, which is text;
#: ICO, BMP and TIFF are left to the ratio gate because they are usually
#: uncompressed bitmaps that shrink 2-4x), web fonts with built-in compression
#: (WOFF, WOFF2; TTF/OTF/EOT are left to the ratio gate), audio, video, archives
#: and compressed variants themselves (.gz, .br, .zst...), and PDF (its streams
#: are deflated; a 5 MB PDF at brotli 11 costs seconds for a few percent).
SKIP_EXTENSIONS: frozenset[str] = frozenset(
    {
        # images (SVG excluded: it is XML text)
        ".apng", ".avif", ".gif", ".heic", ".heif", ".jfif", ".jp2", ".jpe",
        ".jpeg", ".jpg", ".jxl", ".pjp", ".pjpeg", ".png", ".webp",
        # fonts with their own compression
        ".woff", ".woff2",
        # video
        ".3g2", ".3gp", ".asf", ".avi", ".flv", ".m4v", ".mkv", ".mov", ".mp4",
        ".mpeg", ".mpg", ".ogv", ".webm", ".wmv",
        # audio
        ".aac", ".flac", ".m4a", ".mp3", ".oga", ".ogg", ".opus", ".weba", ".wma",
        # archives and compressed streams
        ".7z", ".br", ".bz2", ".gz", ".jar", ".lz", ".lz4", ".lzma", ".rar",
        ".tbz", ".tbz2", ".tgz", ".txz", ".tzst", ".xz", ".z", ".zip", ".zst",
        # documents that are zip containers or compress their own streams
        ".docx", ".epub", ".odp", ".ods", ".odt", ".pdf", ".pptx", ".xlsx",
        # other
        ".swf",
    }
)  # fmt: skip

# Valid levels per encoding: gzip/zlib 1-9 (0 would only store), brotli quality
# 0-11, zstd 1-22 (levels 20-22 are zstd's "ultra" levels; the Python binding
# needs no flag for them).
_LEVELS: dict[Encoding, tuple[int, int]] = {"gzip": (1, 9), "br": (0, 11), "zstd": (1, 22)}


@dataclass(frozen=True, slots=True, kw_only=True)
class CompressionOptions:
    """How corral precompresses files; every field has a working default.

    Each encoding is switched on or off (``gzip``, ``brotli``, ``zstd``) and has a level
    (``*_level``). The default levels, gzip 9, brotli 10 and zstd 16, keep more than 99%
    of what gzip 9, brotli 11 and zstd 19 save on the files browsers load, for under
    half of their CPU time (measured on the medium benchmark corpus; see
    docs/performance.md); source maps get fast levels (:data:`DEFAULT_RULES`). A file is
    not compressed at all when its extension is in ``skip_extensions``, it is smaller
    than ``min_size`` bytes or larger than ``max_size``; a variant is kept only if
    ``encoded_size <= max_ratio * original_size`` (0.95: at least 5% smaller). Invalid
    values raise :class:`~corral.errors.ConfigError` at construction.
    ``skip_extensions`` may be given as any iterable of strings; it is stored as a
    lower-cased frozenset.
    """

    gzip: bool = True
    gzip_level: int = 9
    brotli: bool = True
    brotli_level: int = 10
    zstd: bool = True
    zstd_level: int = 16
    min_size: int = 256
    max_size: int | None = None
    max_ratio: float = 0.95
    skip_extensions: frozenset[str] = field(default=SKIP_EXTENSIONS)
    #: Per-glob rules, first match wins, before :data:`DEFAULT_RULES`: a glob (matched
    #: against the file's path if it has a ``/``, else against its name; case-insensitive)
    #: to ``False`` or a table of :data:`RULE_KEYS`, e.g.
    #: ``{"*.map": {"brotli_level": 5, "zstd": False}}``. Given as a mapping or pairs;
    #: stored as normalised pairs.
    levels: tuple[tuple[str, Rule], ...] = ()
    #: Use corral's :data:`DEFAULT_RULES` after the user's rules.
    default_levels: bool = True

    def __post_init__(self) -> None:
        for name in ("gzip", "brotli", "zstd"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                _bad(name, value, "must be true or false")
        for encoding, name in zip(ENCODINGS, _LEVEL_FIELDS, strict=True):
            low, high = _LEVELS[encoding]
            value = getattr(self, name)
            if not _is_int(value) or not low <= value <= high:
                _bad(name, value, f"must be an integer from {low} to {high}")
        if not _is_int(self.min_size) or self.min_size < 0:
            _bad("min_size", self.min_size, "must be a whole number of bytes, 0 or more")
        ratio = self.max_ratio
        if (
            isinstance(ratio, bool)
            or not isinstance(ratio, int | float)
            or not math.isfinite(ratio)
            or not 0 < ratio <= 1
        ):
            _bad("max_ratio", ratio, "must be a number greater than 0 and at most 1 (e.g. 0.95)")
        if self.max_size is not None and (not _is_int(self.max_size) or self.max_size < 0):
            _bad("max_size", self.max_size, "must be a whole number of bytes, 0 or more")
        if not isinstance(self.default_levels, bool):
            _bad("default_levels", self.default_levels, "must be true or false")
        object.__setattr__(self, "skip_extensions", _normalise_extensions(self.skip_extensions))
        object.__setattr__(self, "levels", _normalise_rules(self.levels))

    def encodings(self) -> tuple[tuple[Encoding, int], ...]:
        """Return the enabled encodings with their levels, in :data:`ENCODINGS` order."""
        enabled = (self.gzip, self.brotli, self.zstd)
        levels = (self.gzip_level, self.brotli_level, self.zstd_level)
        return tuple(
            (encoding, level)
            for encoding, on, level in zip(ENCODINGS, enabled, levels, strict=True)
            if on
        )

    def skip_reason(self, name: str | os.PathLike[str], size: int) -> SkipReason | None:
        """Given a file name (or path) and its size, say why it is not compressed, or None."""
        text = os.fspath(name)
        if os.path.splitext(text)[1].lower() in self.skip_extensions:
            return "media-type"
        if size < self.min_size:
            return "too-small"
        if self.max_size is not None and size > self.max_size:
            return "too-large"
        if self.rule_for(text) is False:
            return "rule"
        return None

    def rule_for(self, name: str | os.PathLike[str]) -> Rule | None:
        """The first rule (the user's, then corral's) whose glob matches ``name``."""
        text = os.fspath(name).replace(os.sep, "/").lower()
        base = text.rpartition("/")[2]
        rules = self.levels + (DEFAULT_RULES if self.default_levels else ())
        for glob, rule in rules:
            if fnmatch.fnmatchcase(text if "/" in glob else base, glob.lower()):
                return rule
        return None

    def encodings_for(
        self, name: str | os.PathLike[str], size: int = 0
    ) -> tuple[tuple[Encoding, int], ...]:
        """The encodings and levels for one file, its rule applied (``size`` is unused
        today; rules by size may use it)."""
        del size
        rule = self.rule_for(name)
        if rule is None:
            return self.encodings()
        if rule is False:
            return ()
        return _with_rule(self, rule)

    def worth_keeping(self, original_size: int, encoded_size: int) -> bool:
        """Return True if a variant of ``encoded_size`` bytes pays for itself."""
        return encoded_size <= original_size * self.max_ratio


_LEVEL_FIELDS = ("gzip_level", "brotli_level", "zstd_level")


@functools.lru_cache(maxsize=256)
def _with_rule(options: CompressionOptions, rule: Rule) -> tuple[tuple[Encoding, int], ...]:
    assert rule is not False
    settings: dict[str, Any] = dict(rule)
    return replace(options, levels=(), default_levels=False, **settings).encodings()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bad(name: str, value: object, rule: str) -> NoReturn:
    raise ConfigError(f"compression option {name!r} {rule}; found {value!r}", key=name)


def _normalise_rules(value: object) -> tuple[tuple[str, Rule], ...]:
    pairs = list(value.items()) if isinstance(value, Mapping) else value
    if isinstance(pairs, str | bytes) or not isinstance(pairs, Iterable):
        _bad(
            "levels", value, 'must be a table of glob = table, e.g. {"*.map" = {brotli_level = 5}}'
        )
    found: list[tuple[str, Rule]] = []
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2 or not isinstance(pair[0], str):
            _bad("levels", value, "must map globs to tables of settings or to false")
        glob, rule = pair
        key = f"levels.{glob!r}"
        if rule is False:
            found.append((glob, False))
            continue
        if isinstance(rule, tuple):
            rule = dict(rule)
        if not isinstance(rule, Mapping) or not rule:
            raise ConfigError(
                f"compression option {key} must be false or a table of settings; found {rule!r}",
                hint=f"e.g. {{ brotli_level = 5, zstd = false }}; settings: {', '.join(RULE_KEYS)}",
                key=f"levels.{glob}",
            )
        unknown = sorted(set(rule) - set(RULE_KEYS))
        if unknown:
            raise ConfigError(
                f"compression option {key} has an unknown setting {unknown[0]!r}",
                hint=f"a rule may set: {', '.join(RULE_KEYS)}",
                key=f"levels.{glob}",
            )
        try:  # the same checks as the top-level settings
            CompressionOptions(**{str(k): v for k, v in rule.items()}, default_levels=False)
        except ConfigError as exc:
            raise ConfigError(f"in {key}: {exc.message}", key=f"levels.{glob}") from None
        found.append((glob, tuple(sorted(rule.items()))))
    return tuple(found)


def _normalise_extensions(value: object) -> frozenset[str]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        _bad("skip_extensions", value, "must be a collection of extensions such as '.png'")
    found: set[str] = set()
    for item in value:
        if not isinstance(item, str) or not item.startswith(".") or len(item) < 2 or "/" in item:
            raise ConfigError(
                f"compression option 'skip_extensions' has an invalid extension {item!r}",
                hint="write extensions with their leading dot, e.g. '.png'",
                key="skip_extensions",
            )
        found.add(item.lower())
    return frozenset(found)
