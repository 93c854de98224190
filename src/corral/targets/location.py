"""Where a remote release goes: the ``s3://BUCKET/PREFIX`` URL and the ``s3`` options.

The release is built first by the local pipeline into a private directory under the
user cache directory, keyed by the target URL (never the user's ``STATIC_ROOT``).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from corral.errors import ConfigError

__all__ = [
    "S3Location",
    "S3Options",
    "build_dir",
    "is_remote",
    "parse_options",
    "remote_settings",
]

# S3's own rule, loosened to what S3-compatible services accept (R2, MinIO, SeaweedFS).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
_ENCODINGS = ("br", "gzip", "zstd")


def is_remote(target: str) -> bool:
    """Whether ``target`` names object storage rather than a directory."""
    return target.startswith("s3://")


@dataclass(frozen=True, slots=True)
class S3Location:
    """A bucket and a key prefix (no leading or trailing slash; may be empty)."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str, *, origin: str = "arguments") -> S3Location:
        if not url.startswith("s3://"):
            raise ConfigError(
                f"'target' must be an s3://BUCKET/PREFIX URL; found {url!r}",
                hint='e.g. target = "s3://my-bucket/static"',
                file=origin,
                key="target",
            )
        bucket, _, prefix = url[len("s3://") :].partition("/")
        if not _BUCKET.match(bucket):
            raise ConfigError(
                f"{bucket!r} in target {url!r} is not a valid bucket name",
                hint="bucket names are 3-63 characters: lower-case letters, digits, '.', '-'",
                file=origin,
                key="target",
            )
        prefix = prefix.strip("/")
        if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
            raise ConfigError(
                f"the prefix of target {url!r} must be a plain path like 'static' or 'site/v1'",
                file=origin,
                key="target",
            )
        return cls(bucket, prefix)

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key(self, relative: str) -> str:
        """The object key of ``relative`` (a path of the release)."""
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def relative(self, key: str) -> str | None:
        """The release path of an object key, or None when it is outside the prefix."""
        if not self.prefix:
            return key
        head = self.prefix + "/"
        return key[len(head) :] if key.startswith(head) else None

    @property
    def list_prefix(self) -> str:
        return self.prefix + "/" if self.prefix else ""


@dataclass(frozen=True, slots=True)
class S3Options:
    """The ``s3`` table of ``[tool.corral]``: how objects are uploaded and described."""

    #: Uploads in flight at once.
    concurrency: int = 16
    #: Files of this size and more go up in parts (streamed, one part in memory per upload).
    multipart_threshold: int = 16 * 1024 * 1024
    part_size: int = 8 * 1024 * 1024
    #: Cache-Control of content-hashed names (and their variants).
    cache_control_hashed: str = "public, max-age=31536000, immutable"
    #: Cache-Control of every other name (originals, manifests): short, so a CDN revalidates.
    cache_control: str = "public, max-age=60"
    #: Upload one encoding ("br", "gzip", "zstd") in place of each file that has it, for a
    #: CDN that can't pick a variant by Accept-Encoding; None uploads variants as own keys.
    in_place: str | None = None
    #: The variants uploaded as keys of their own (and the only ones the release for the
    #: bucket is compressed to): brotli and gzip by default. Every browser that accepts
    #: zstd accepts br, whose variants are smaller, so ``.zst`` objects would only cost
    #: requests and storage; add "zstd" for a CDN rule that serves them.
    encodings: tuple[str, ...] = ("br", "gzip")
    #: Attempts per request (5xx, 429/SlowDown, timeouts, dropped connections) before failing.
    max_attempts: int = 6
    #: Seconds a run's lease on the prefix lasts without renewal (a killed run's lease expires).
    lease_seconds: int = 600
    #: Seconds between full LISTs of the prefix when nothing changed: within them, a run on
    #: the machine that last wrote (or read) the state, finding it unchanged (a 304), trusts
    #: it and LISTs nothing; 0 LISTs on every run. A run with anything to do always LISTs.
    list_every: int = 86400
    #: Upload hashed names and their variants while the local build still compresses
    #: (see corral.targets.overlap). Off by default: on the benchmark machine the uploads
    #: took CPU the encoders needed and the run was slower (docs/decisions.md).
    overlap: bool = False
    #: Per-request timeouts, seconds.
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    #: The S3 endpoint; when None, the AWS chain decides (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL,
    #: the profile's endpoint_url, else AWS itself).
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    #: "path" (bucket in the path: MinIO, SeaweedFS, most self-hosted), "virtual"
    #: (bucket in the host name) or "auto" (the SDK decides).
    addressing_style: str = "auto"
    #: "auto": corral's own client when the credentials are static keys (environment or
    #: profile), botocore for the rest of the AWS chain; "botocore": always botocore.
    client: str = "auto"

    def __post_init__(self) -> None:
        for name in ("concurrency", "multipart_threshold", "part_size", "max_attempts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"'s3.{name}' must be a whole number, 1 or more; found {value!r}")
        if isinstance(self.list_every, bool) or not isinstance(self.list_every, int):
            raise ValueError(
                f"'s3.list_every' must be a whole number of seconds; found {self.list_every!r}"
            )
        if self.list_every < 0:
            raise ValueError("'s3.list_every' must be 0 or more")
        if not isinstance(self.overlap, bool):
            raise ValueError(f"'s3.overlap' must be true or false; found {self.overlap!r}")
        if self.part_size < 5 * 1024 * 1024:
            raise ValueError("'s3.part_size' must be at least 5 MiB (S3's smallest part)")
        if self.in_place is not None and self.in_place not in _ENCODINGS:
            raise ValueError(
                f"'s3.in_place' must be one of {', '.join(_ENCODINGS)}; found {self.in_place!r}"
            )
        if isinstance(self.encodings, str) or not all(e in _ENCODINGS for e in self.encodings):
            raise ValueError(
                f"'s3.encodings' must be a list of {', '.join(_ENCODINGS)}; found "
                f"{self.encodings!r}"
            )
        object.__setattr__(self, "encodings", tuple(dict.fromkeys(self.encodings)))
        if self.addressing_style not in ("auto", "path", "virtual"):
            raise ValueError(
                f"'s3.addressing_style' must be auto, path or virtual; found "
                f"{self.addressing_style!r}"
            )
        if self.client not in ("auto", "botocore"):
            raise ValueError(f"'s3.client' must be auto or botocore; found {self.client!r}")
        if self.endpoint_url is not None and not re.match(r"^https?://", self.endpoint_url):
            raise ValueError(
                f"'endpoint_url' must be an http:// or https:// URL; found {self.endpoint_url!r}"
            )


def parse_options(table: Mapping[str, Any], endpoint_url: str | None, origin: str) -> S3Options:
    """Validate the ``s3`` table (unknown keys get a "did you mean")."""
    import difflib  # noqa: PLC0415 - only here

    known = [f.name for f in fields(S3Options) if f.name != "endpoint_url"]
    for key in table:
        if key not in known:
            guess = difflib.get_close_matches(key.replace("-", "_"), known, n=1)
            raise ConfigError(
                f"unknown key {key!r} in the 's3' table",
                hint=f"did you mean {guess[0]!r}?" if guess else f"known: {', '.join(known)}",
                file=origin,
                key=f"s3.{key}",
            )
    try:
        return S3Options(**table, endpoint_url=endpoint_url)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc), file=origin, key="s3") from None


def build_dir(target: str) -> Path:
    """The private directory a release for ``target`` is built in before upload."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    digest = hashlib.sha256(target.encode()).hexdigest()[:16]
    return Path(base) / "corral" / "targets" / digest


def remote_settings(table: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """``target``, ``endpoint_url`` and ``s3`` of a configuration, validated, plus the
    ``root`` the release is built in."""
    target, endpoint, s3 = table["target"], table.get("endpoint_url"), table.get("s3", {})
    if not isinstance(target, str):
        raise ConfigError(f"'target' must be a str; found {target!r}", file=origin, key="target")
    url = S3Location.parse(target, origin=origin).url
    if endpoint is not None and not isinstance(endpoint, str):
        raise ConfigError(
            f"'endpoint_url' must be a str; found {endpoint!r}", file=origin, key="endpoint_url"
        )
    if not isinstance(s3, Mapping):
        raise ConfigError(
            f"'s3' must be a table; found {s3!r}",
            hint='e.g. s3 = { concurrency = 16, cache_control = "public, max-age=60" }',
            file=origin,
            key="s3",
        )
    parse_options(s3, endpoint, origin)  # fail now, not after the build
    return {
        "target": url,
        "endpoint_url": endpoint,
        "s3": dict(s3),
        "root": str(build_dir(url) / "root"),
    }
