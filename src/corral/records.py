"""The state's per-file records, and the table of the files corral wrote, kept compact.

A state holds one :class:`~corral.state.TargetRecord` per file corral owns: 417,596 on
the large benchmark corpus with compression on (every original, hashed copy and
variant). As a dictionary of named tuples that table took 173 MiB of a no-change run's
465 MiB peak (the tuple, three integers and a digest string per file, on top of the
path and the dictionary's own slot). :class:`TargetTable` keeps each record as one
``bytes`` value instead (inode, size and mtime packed, then the digest's text), about
a third of the size, and makes the named tuple only when a record is asked for.

It is a mutable mapping of path -> :class:`~corral.state.TargetRecord`, so code that
read the dictionary reads the table unchanged; :meth:`TargetTable.identities` walks
the on-disk identities without making a record per file (the check every run makes of
every published file).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any, NamedTuple, TypeVar

__all__ = [
    "SourceRecord",
    "SourceTable",
    "Tables",
    "TargetRecord",
    "TargetTable",
    "identities",
    "pack",
    "pack_record",
    "unpack",
]


# The records are named tuples, not dataclasses: a state holds hundreds of thousands of
# them and a named tuple is built in about 70% of the time, which every load pays.
class SourceRecord(NamedTuple):
    """What corral knew of the file that provided a logical path."""

    path: str
    identity: tuple[int, int, int, int, int]
    digest: str


class TargetRecord(NamedTuple):
    """A file corral wrote into the target: its content digest and on-disk identity."""

    digest: str
    ino: int
    size: int
    mtime_ns: int


_IDENTITY = struct.Struct("<qqq")  # inode, size, mtime_ns
_WIDTH = _IDENTITY.size
_pack, _unpack_from = _IDENTITY.pack, _IDENTITY.unpack_from
_new = tuple.__new__  # see State.from_json: the fields are known to have their types


def pack(digest: str, ino: int, size: int, mtime_ns: int) -> bytes:
    """One record as the table keeps it; :class:`struct.error` for an integer beyond
    64 bits (the table then keeps the record as it is, see :meth:`TargetTable.__setitem__`)."""
    return _pack(ino, size, mtime_ns) + digest.encode("utf-8", "surrogatepass")


def pack_record(record: TargetRecord) -> bytes | None:
    """:func:`pack` for a record; ``None`` for one that does not pack (an integer beyond
    64 bits), which a table then keeps as it is."""
    try:
        return pack(*record)
    except struct.error:
        return None


def unpack(value: bytes | TargetRecord) -> TargetRecord:
    """The record a packed value (or a record kept as it is) stands for."""
    if type(value) is not bytes:
        return value  # type: ignore[return-value]
    ino, size, mtime_ns = _unpack_from(value)
    digest = value[_WIDTH:].decode("utf-8", "surrogatepass")
    return _new(TargetRecord, (digest, ino, size, mtime_ns))


def _as_list(value: bytes | TargetRecord) -> list[Any]:
    """A record as the state file stores it: ``[digest, ino, size, mtime_ns]``."""
    if type(value) is not bytes:
        return list(value)
    ino, size, mtime_ns = _unpack_from(value)
    return [value[_WIDTH:].decode("utf-8", "surrogatepass"), ino, size, mtime_ns]


_R = TypeVar("_R", bound=tuple[Any, ...])


class _PackedTable(MutableMapping[str, _R]):
    """A mapping whose values are kept packed in ``_packed`` (``bytes``, or a record kept
    as it is when it does not pack); subclasses pack and unpack their own records."""

    __slots__ = ("_packed",)

    def __init__(self, records: Mapping[str, _R] | None = None) -> None:
        self._packed: dict[str, bytes | _R] = {}
        if records:
            self.update(records)

    def __delitem__(self, key: str) -> None:
        del self._packed[key]

    def __contains__(self, key: object) -> bool:
        return key in self._packed

    def __iter__(self) -> Iterator[str]:
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.items())!r})"


class TargetTable(_PackedTable[TargetRecord]):
    """Path -> :class:`~corral.state.TargetRecord`, each record packed into one ``bytes``."""

    __slots__ = ()

    @classmethod
    def from_lists(
        cls, rows: Mapping[str, list[Any]], table: TargetTable | None = None
    ) -> TargetTable:
        """Add the state file's rows (``[digest, ino, size, mtime_ns]``, already checked
        for shape and types) to ``table`` (a new one if ``None``)."""
        table = cls() if table is None else table
        packed = table._packed
        try:
            for relpath, (digest, ino, size, mtime_ns) in rows.items():
                packed[relpath] = _pack(ino, size, mtime_ns) + digest.encode(
                    "utf-8", "surrogatepass"
                )
        except struct.error:  # an integer beyond 64 bits: this chunk record by record
            for relpath, row in rows.items():
                table[relpath] = _new(TargetRecord, row)
        return table

    def __getitem__(self, relpath: str) -> TargetRecord:
        return unpack(self._packed[relpath])

    def get(self, relpath: str, default: Any = None) -> Any:
        value = self._packed.get(relpath)
        return default if value is None else unpack(value)

    def __setitem__(self, relpath: str, record: TargetRecord) -> None:
        try:
            self._packed[relpath] = pack(*record)
        except struct.error:
            self._packed[relpath] = _new(TargetRecord, tuple(record))

    def set_packed(self, relpath: str, value: bytes) -> None:
        """Set a record :func:`pack_record` packed already (on another thread, say)."""
        self._packed[relpath] = value

    def pop(self, relpath: str, *default: Any) -> Any:
        if relpath in self._packed:
            return unpack(self._packed.pop(relpath))
        if default:
            return default[0]
        raise KeyError(relpath)

    def update(self, other: Any = (), /, **kwargs: TargetRecord) -> None:
        if isinstance(other, TargetTable):  # packed already
            self._packed.update(other._packed)
            other = ()
        items: Iterable[tuple[str, TargetRecord]]
        items = other.items() if isinstance(other, Mapping) else other
        for relpath, record in items:
            self[relpath] = record
        for relpath, record in kwargs.items():
            self[relpath] = record

    def identities(self) -> Iterator[tuple[str, int, int, int]]:
        """``(path, inode, size, mtime_ns)`` of every record, without making records."""
        for relpath, value in self._packed.items():
            if type(value) is bytes:
                yield (relpath, *_unpack_from(value))
            else:
                yield relpath, value[1], value[2], value[3]

    def json_table(self) -> tuple[Mapping[str, Any], Any]:
        """The mapping and the conversion :func:`corral.jsonio.streamed` writes the
        state file's ``targets`` from, a chunk at a time."""
        return self._packed, _as_list


def identities(records: Mapping[str, TargetRecord]) -> Iterator[tuple[str, int, int, int]]:
    """``(path, inode, size, mtime_ns)`` of every record of ``records`` (of a
    :class:`TargetTable` without making a record per file)."""
    if isinstance(records, TargetTable):
        return records.identities()
    return ((path, r.ino, r.size, r.mtime_ns) for path, r in records.items())


_SOURCE = struct.Struct("<qqqqqH")  # size, mtime_ns, ctime_ns, ino, dev; the digest's length
_SOURCE_WIDTH = _SOURCE.size


def _pack_source(record: SourceRecord) -> bytes:
    path, identity, digest = record
    encoded = digest.encode("utf-8", "surrogatepass")
    return _SOURCE.pack(*identity, len(encoded)) + encoded + path.encode("utf-8", "surrogatepass")


def _unpack_source(value: bytes | SourceRecord) -> SourceRecord:
    if type(value) is not bytes:
        return value  # type: ignore[return-value]
    *identity, length = _SOURCE.unpack_from(value)
    end = _SOURCE_WIDTH + length
    digest = value[_SOURCE_WIDTH:end].decode("utf-8", "surrogatepass")
    path = value[end:].decode("utf-8", "surrogatepass")
    return _new(SourceRecord, (path, tuple(identity), digest))


def _source_list(value: bytes | SourceRecord) -> list[Any]:
    """A record as the state file stores it: ``[path, *identity, digest]``."""
    path, identity, digest = _unpack_source(value)
    return [path, *identity, digest]


class SourceTable(_PackedTable[SourceRecord]):
    """Logical path -> :class:`SourceRecord`, each record packed into one ``bytes`` (on the
    large corpus 13 MiB less than a named tuple holding a tuple of five integers)."""

    __slots__ = ()

    def add_rows(self, rows: Mapping[str, list[Any]]) -> None:
        """Add the state file's rows (``[path, size, mtime_ns, ctime_ns, ino, dev,
        digest]``, already checked for shape and types)."""
        for logical, v in rows.items():
            self[logical] = _new(SourceRecord, (v[0], (v[1], v[2], v[3], v[4], v[5]), v[6]))

    def digest_if(self, logical: str, path: str, identity: tuple[int, ...]) -> str | None:
        """The digest recorded for ``logical`` if its path and identity are these."""
        value = self._packed.get(logical)
        if value is None:
            return None
        if type(value) is not bytes:
            record: SourceRecord = value  # type: ignore[assignment]
            return record.digest if (record.path, record.identity) == (path, identity) else None
        if _SOURCE.unpack_from(value)[:5] != identity:
            return None
        end = _SOURCE_WIDTH + value[_SOURCE_WIDTH - 2] + (value[_SOURCE_WIDTH - 1] << 8)
        if value[end:] != path.encode("utf-8", "surrogatepass"):
            return None
        return value[_SOURCE_WIDTH:end].decode("utf-8", "surrogatepass")

    def __getitem__(self, logical: str) -> SourceRecord:
        return _unpack_source(self._packed[logical])

    def get(self, logical: str, default: Any = None) -> Any:
        value = self._packed.get(logical)
        return default if value is None else _unpack_source(value)

    def __setitem__(self, logical: str, record: SourceRecord) -> None:
        try:
            self._packed[logical] = _pack_source(record)
        except struct.error:  # an integer beyond 64 bits (or a digest of 64 KiB): kept as is
            self._packed[logical] = record

    def json_table(self) -> tuple[Mapping[str, Any], Any]:
        """As :meth:`TargetTable.json_table`, for the state file's ``sources``."""
        return self._packed, _source_list


class Tables:
    """A state file's per-file tables, converted to records a chunk at a time (see
    :func:`corral.jsonio.read_tables`); ``ValueError`` for a record of the wrong shape
    or types (a foreign or hand-edited state is then "know nothing", never a crash
    later in the run)."""

    __slots__ = ("retired", "sources", "targets")

    def __init__(self) -> None:
        self.sources = SourceTable()
        self.targets = TargetTable()
        self.retired: dict[str, Any] = {}

    def sinks(self) -> dict[str, Callable[[dict[str, Any]], None]]:
        """Where each table's chunks go."""
        return {
            "sources": self.add_sources,
            "targets": self.add_targets,
            "retired": self.retired.update,  # checked whole, against the targets
        }

    def add_sources(self, chunk: dict[str, Any]) -> None:
        if not all(map(_typed, chunk.values())):
            raise ValueError("a state record has the wrong types")
        for key, value in chunk.items():
            if type(value) is not list or len(value) != 7:
                _bad_record(key, value)
        self.sources.add_rows(chunk)

    def add_targets(self, chunk: dict[str, Any]) -> None:
        if not all(map(_typed, chunk.values())):
            raise ValueError("a state record has the wrong types")
        for key, value in chunk.items():
            if type(value) is not list or len(value) != 4:
                _bad_record(key, value)
        TargetTable.from_lists(chunk, self.targets)


def _typed(record: Any) -> bool:
    """A record's path or digest first, numbers, then (a source's) digest."""
    if type(record) is not list or not record or type(record[0]) is not str:
        return type(record) is not list  # the wrong shape: reported by the caller
    last = len(record) - (len(record) == 7)
    return all(type(n) is int for n in record[1:last]) and all(
        type(d) is str for d in record[last:]
    )


def _bad_record(key: str, value: Any) -> bool:
    raise ValueError(f"state record {key!r} has the wrong shape: {value!r}")
