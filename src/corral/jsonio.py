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
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any, NamedTuple

__all__ = ["Table", "dumps", "dumps_sorted", "loads", "read_tables", "streamed", "whole"]

#: Entries of a :class:`Table` encoded at a time by :func:`streamed`.
CHUNK = 4096

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


class Table(NamedTuple):
    """A big dictionary for :func:`streamed`: each value goes through ``convert`` (if
    given) as its chunk is encoded, so no converted copy of the whole table exists."""

    mapping: Mapping[str, Any]
    convert: Callable[[Any], Any] | None = None


def streamed(data: Mapping[str, Any] | Table, *, chunk: int = CHUNK) -> Iterator[bytes]:
    """``data`` as compact JSON with every level's keys sorted, in pieces: the value of
    ``dumps(data, sort_keys=True)``, without ever holding the whole text or a converted
    copy of a :class:`Table` (``data`` itself may be one), whose entries are encoded
    ``chunk`` at a time. Each chunk of a table is a line of its own (the only newlines
    in the text), so :func:`read_tables` can read it back a chunk at a time too.

    On the large benchmark corpus the state is 31 MB of JSON from 164,000 records:
    encoding it whole held the text, orjson's growing buffer and a list per record at
    once, about 50 MiB more than the records themselves.
    """
    if isinstance(data, Table):
        yield from _table(data, chunk)
        return
    yield b"{"
    for index, key in enumerate(sorted(data)):
        yield (b"," if index else b"") + dumps(key) + b":"
        value = data[key]
        if isinstance(value, Table):
            yield from _table(value, chunk)
        else:
            yield dumps(value, sort_keys=True)
    yield b"}"


def _table(table: Table, chunk: int) -> Iterator[bytes]:
    mapping, convert = table
    keys = sorted(mapping)
    if not keys:
        yield b"{}"
        return
    yield b"{\n"
    for start in range(0, len(keys), chunk):
        part = keys[start : start + chunk]
        if convert is None:
            encoded = dumps({k: mapping[k] for k in part}, sort_keys=True)
        else:
            encoded = dumps({k: convert(mapping[k]) for k in part}, sort_keys=True)
        yield (b",\n" if start else b"") + encoded[1:-1]
    yield b"\n}"


def read_tables(stream: IO[bytes], sinks: Mapping[str, Callable[[dict[str, Any]], None]]) -> Any:
    """Read the object :func:`streamed` wrote to ``stream``, handing each top-level table
    named in ``sinks`` to its sink a chunk (a dictionary) at a time: only one chunk of
    the text and its parsed value exist at once. Those tables are ``{}`` in the object
    returned (a table written in one piece, such as an older corral's file, which has no
    line breaks, is handed over whole). :class:`ValueError` if it is not such JSON.
    """
    skeleton: list[bytes] = []
    sink: Callable[[dict[str, Any]], None] | None = None
    collected: dict[str, dict[str, Any]] = {}
    for line in stream:
        if sink is not None and not line.startswith(b"}"):
            part = loads(b"{" + line.rstrip(b"\n").removesuffix(b",") + b"}")
            if type(part) is not dict:
                raise ValueError("a table's chunk is not an object")
            sink(part)
            continue
        sink = None  # (a line that closes a table may open the next one)
        skeleton.append(line.rstrip(b"\n"))
        if not line.endswith(b'":{\n'):  # only a line that opens a table ends so
            continue
        name = loads(line[line.rfind(b'"', 0, -4) : -3])  # its (plain) key
        sink = sinks.get(name)
        if sink is None:
            sink = collected.setdefault(name, {}).update
    if sink is not None:
        raise ValueError("the file ends inside a table")
    data = loads(b"".join(skeleton))
    if type(data) is not dict:
        return data
    for name, table in collected.items():
        data[name] = table
    for name, take in sinks.items():
        value = data.get(name)
        if type(value) is dict and value:  # written in one piece
            data[name] = {}
            take(value)
    return data


def whole(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with each :class:`Table` made a dictionary of its converted values:
    the value :func:`streamed` writes, in one piece."""
    out = dict(data)
    for key, value in data.items():
        if isinstance(value, Table):
            mapping, convert = value
            out[key] = {k: v if convert is None else convert(v) for k, v in mapping.items()}
    return out


def loads(payload: bytes) -> Any:
    """The value encoded in ``payload``; :class:`ValueError` if it is not JSON."""
    if _orjson is not None:
        try:
            return _orjson.loads(payload)
        except ValueError:
            pass  # lone surrogate escapes; a torn file fails again just below
    return json.loads(payload)
