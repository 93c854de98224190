"""Map logical paths to hashed URLs (and SRI integrity) from a manifest, at serving time.

Import-light (see :mod:`corral.manifest`): a web app loading it loads no pipeline code.

::

    resolver = Resolver.from_manifest(Path("static/corral-manifest.json"))
    resolver.url("css/app.css")        # "/static/css/app.1a2b3c4d5e6f.css"
    resolver.url("fonts/x.eot?#iefix") # query strings and fragments are kept
    resolver.integrity("css/app.css")  # "sha256-..."

Reads corral's manifest (and, for convenience, Django's ``staticfiles.json``,
which has no integrity and no URL: pass ``url=``). Strict mode (the default,
as Django's ``manifest_strict``) raises :class:`~corral.errors.ManifestError`
for a path the manifest does not know, suggesting close matches; lenient mode
returns the unhashed URL and an empty integrity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from corral.errors import ManifestError
from corral.manifest import (
    CORRAL_MANIFEST_VERSION,
    DJANGO_MANIFEST_VERSIONS,
    load_json,
    not_a_manifest,
)

__all__ = ["Resolver"]

# Like Django's filepath_to_uri: what may stay unescaped in a path.
_SAFE = "/~!*()'"


@dataclass(frozen=True, slots=True)
class _Entry:
    hashed: str
    integrity: str


class Resolver:
    """Look up hashed URLs in one manifest; build it with :meth:`from_manifest`."""

    __slots__ = ("_entries", "_where", "strict", "url_prefix")

    def __init__(
        self,
        entries: Mapping[str, tuple[str, str]],
        *,
        url: str,
        strict: bool = True,
        where: str = "<manifest>",
    ) -> None:
        """Use ``entries`` (logical path -> (hashed name, integrity)) served under ``url``."""
        self._entries = MappingProxyType({k: _Entry(*v) for k, v in entries.items()})
        self.url_prefix = url
        self.strict = strict
        self._where = where

    @classmethod
    def from_manifest(
        cls, source: str | Path | bytes, *, strict: bool = True, url: str | None = None
    ) -> Resolver:
        """Load corral's manifest (or Django's ``staticfiles.json``) from a path or its bytes.

        ``url`` overrides the manifest's URL prefix (required for Django's,
        which records none). Raises :class:`~corral.errors.ManifestError` for a
        file that can't be read or is not a manifest.
        """
        where = "<manifest bytes>" if isinstance(source, bytes) else str(source)
        try:
            data = source if isinstance(source, bytes) else Path(source).read_bytes()
        except OSError as exc:
            raise ManifestError(
                f"can't read the manifest {where}: {exc.strerror or exc}",
                path=where,
                hint="run `corral collect` first, or point the resolver at the target's manifest",
            ) from None
        payload = load_json(data, where)
        entries, prefix = _parse(payload, where)
        prefix = url if url is not None else prefix
        if prefix is None:
            raise ManifestError(
                f"{where} is Django's staticfiles.json, which records no URL",
                path=where,
                hint='pass url="/static/" (your STATIC_URL) to Resolver.from_manifest',
            )
        return cls(entries, url=prefix, strict=strict, where=where)

    def __contains__(self, logical: object) -> bool:
        return logical in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def hashed(self, logical: str) -> str:
        """Return the hashed name of ``logical`` (a logical path, no query or fragment)."""
        entry = self._entries.get(logical)
        if entry is not None:
            return entry.hashed
        if self.strict:
            raise self._unknown(logical)
        return logical

    def url(self, logical: str) -> str:
        """Return the URL of ``logical``'s hashed file, keeping any query string and fragment.

        The ``?#iefix`` font hack is kept as written, as Django's
        ``stored_name`` does.
        """
        rest, _, fragment = logical.partition("#")
        path, _, query = rest.partition("?")
        out = self.url_prefix + quote(self.hashed(path), safe=_SAFE)
        if query:
            out += "?" + query
        elif "?#" in logical:
            out += "?"
        if fragment:
            out += "#" + fragment
        return out

    def integrity(self, logical: str) -> str:
        """Return the SRI value (``sha256-...``) of ``logical``'s hashed file.

        Empty for a path the manifest does not know (lenient mode), or when the
        manifest is Django's, which has none.
        """
        entry = self._entries.get(logical)
        if entry is not None:
            return entry.integrity
        if self.strict:
            raise self._unknown(logical)
        return ""

    def _unknown(self, logical: str) -> ManifestError:
        import difflib  # noqa: PLC0415 - only for the error message

        close = difflib.get_close_matches(logical, list(self._entries), n=3, cutoff=0.6)
        hint = (
            "did you mean " + " or ".join(f'"{c}"' for c in close) + "?"
            if close
            else "check the path (it is relative to the static URL, e.g. 'css/app.css'), "
            "and that the file was collected"
        )
        return ManifestError(
            f'"{logical}" is not in the manifest {self._where}',
            path=logical,
            hint=hint + " (paths the manifest does not know raise in strict mode)",
        )


def _parse(payload: Any, where: str) -> tuple[dict[str, tuple[str, str]], str | None]:
    if not isinstance(payload, dict):
        raise not_a_manifest(where, "not a JSON object")
    version = payload.get("version")
    if version == CORRAL_MANIFEST_VERSION and isinstance(payload.get("files"), dict):
        prefix = payload.get("url")
        if not isinstance(prefix, str):
            raise not_a_manifest(where, "no url")
        entries = {}
        for logical, record in payload["files"].items():
            if not isinstance(record, dict) or not isinstance(record.get("hashed"), str):
                raise not_a_manifest(where, f"bad entry for {logical!r}")
            entries[logical] = (record["hashed"], str(record.get("integrity", "")))
        return entries, prefix
    if version in DJANGO_MANIFEST_VERSIONS and isinstance(payload.get("paths"), dict):
        return {k: (str(v), "") for k, v in payload["paths"].items()}, None
    raise not_a_manifest(where, f"unknown manifest version {version!r}")
