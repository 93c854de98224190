"""JSON for corral's own bookkeeping files: the state, the derived tables, release
records and the pending list.

These are corral's biggest writes on a run that changes anything and its biggest
read on every run (on the large benchmark corpus, an 83 MB ``state.json``), so they
go through orjson, which encodes them several times faster than the standard
library and decodes them about a fifth faster. :func:`dumps_sorted` writes
corral's manifest the same way, as exactly the bytes the standard library would
give it (sorted keys, compact, UTF-8). Django's ``staticfiles.json`` is not
written here: it must match Django's own bytes, spaces after separators included.

What orjson refuses falls back to the standard library, so every state can be
written and read back: names that are not valid UTF-8 (kept by Python as lone
surrogates, which orjson neither writes nor reads), integers beyond 64 bits, or
orjson not being installed at all (it is a dependency, but a vendored copy of
corral may lack it). Both write compact JSON and read each other's files.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps", "dumps_sorted", "loads"]

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised by tests that hide the module
    _orjson = None  # type: ignore[assignment]


def dumps(data: Any, *, sort_keys: bool = False) -> bytes:
    """``data`` as compact JSON, its dictionaries' keys in the order they hold them
    or, with ``sort_keys``, sorted (by code point, at every level)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(data, option=_orjson.OPT_SORT_KEYS if sort_keys else None)
        except TypeError:
            pass  # lone surrogates, huge integers: the standard library writes those
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True, sort_keys=sort_keys).encode()


def dumps_sorted(data: Any) -> bytes:
    """``data`` as compact JSON with sorted keys and non-ASCII text as UTF-8: the bytes
    of ``json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))``."""
    if _orjson is not None:
        try:
            return _orjson.dumps(data, option=_orjson.OPT_SORT_KEYS)
        except TypeError:
            pass  # as in dumps; the standard library then decides
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def loads(payload: bytes) -> Any:
    """The value encoded in ``payload``; :class:`ValueError` if it is not JSON."""
    if _orjson is not None:
        try:
            return _orjson.loads(payload)
        except ValueError:
            pass  # lone surrogate escapes; a torn file fails again just below
    return json.loads(payload)
