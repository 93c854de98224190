"""The state's records: the compact table of target files reads back every record exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral import jsonio
from corral.records import SourceRecord, SourceTable, TargetRecord, TargetTable, identities
from corral.state import State, StateDir

_RECORDS = {
    "css/a.css": TargetRecord("0" * 64, 12, 345, 1_796_000_000_000_000_001),
    "css/a.css.br": TargetRecord("sha384-" + "A" * 64, 13, 99, 1_796_000_000_000_000_002),
    "lost.js": TargetRecord("f" * 64, -1, -1, -1),  # a killed run's file (identity unknown)
    "odd/\udcff.txt": TargetRecord("digest-\udcff", 2**63 - 1, 0, -(2**63)),
    "huge.bin": TargetRecord("e" * 64, 2**64 - 1, 7, 8),  # an inode beyond 63 bits
}


def test_every_record_reads_back_exactly() -> None:
    table = TargetTable(_RECORDS)
    assert dict(table.items()) == _RECORDS
    assert table == _RECORDS
    assert table["huge.bin"] == _RECORDS["huge.bin"]
    assert isinstance(table["css/a.css"], TargetRecord)
    assert table.get("missing") is None
    assert sorted(identities(table)) == sorted(
        (path, r.ino, r.size, r.mtime_ns) for path, r in _RECORDS.items()
    )


def test_the_table_changes_as_a_dictionary_would() -> None:
    table = TargetTable({"a": _RECORDS["css/a.css"]})
    table["b"] = _RECORDS["lost.js"]
    table.update({"c": _RECORDS["huge.bin"]})
    assert table.setdefault("a", _RECORDS["lost.js"]) == _RECORDS["css/a.css"]
    assert table.pop("b") == _RECORDS["lost.js"]
    assert table.pop("b", None) is None
    with pytest.raises(KeyError):
        table.pop("b")
    del table["c"]
    assert list(table) == ["a"] and len(table) == 1 and "a" in table and "c" not in table


def test_a_state_file_is_read_a_chunk_at_a_time_and_an_older_one_whole(tmp_path: Path) -> None:
    state_dir = StateDir(tmp_path / "root", tmp_path / "state")
    state_dir.path.mkdir()
    state_dir.tmp.mkdir()
    state = State(release=3, scanned_ns=5, targets=TargetTable(_RECORDS))
    state.retired = {"lost.js": 2}
    state_dir.save(state)
    text = state_dir.state_file.read_bytes()
    assert text.count(b"\n") >= 2  # the targets table on lines of its own
    streamed = state_dir.load()
    assert streamed.targets == _RECORDS and streamed.retired == {"lost.js": 2}
    # an older corral wrote the same JSON in one piece
    state_dir.write_json(state_dir.state_file, state.to_json())
    whole = state_dir.load()
    assert whole.targets == streamed.targets and whole.retired == streamed.retired
    assert (whole.release, whole.scanned_ns) == (3, 5)


@pytest.mark.parametrize("record", [["d", 1, 2], ["d", 1, 2, "3"], [1, 2, 3, 4], {"digest": "d"}])
def test_a_target_record_of_the_wrong_shape_means_know_nothing(
    tmp_path: Path, record: object
) -> None:
    state_dir = StateDir(tmp_path / "root", tmp_path / "state")
    state_dir.path.mkdir()
    state_dir.tmp.mkdir()
    state = State(release=1, targets=TargetTable(_RECORDS))
    data = state.to_json()
    data["targets"]["bad"] = record
    state_dir.write_parts(state_dir.state_file, {**data, "targets": jsonio.Table(data["targets"])})
    assert state_dir.load() == State()


_SOURCES = {
    "css/a.css": SourceRecord("/src/css/a.css", (9, 1, 2, 3, 4), "a" * 64),
    "odd/\udcff.txt": SourceRecord("/src/odd/\udcff.txt", (0, -1, 2**63 - 1, 5, 6), "b" * 64),
    "huge.bin": SourceRecord("/src/huge.bin", (1, 2, 3, 2**64 - 1, 7), "c" * 64),
}


def test_every_source_record_reads_back_exactly() -> None:
    table = SourceTable(_SOURCES)
    assert table == _SOURCES
    assert table["odd/\udcff.txt"] == _SOURCES["odd/\udcff.txt"]
    assert table.get("missing") is None


@pytest.mark.parametrize("logical", sorted(_SOURCES))
def test_a_source_is_trusted_only_with_its_path_and_identity(logical: str) -> None:
    table = SourceTable(_SOURCES)
    path, identity, digest = _SOURCES[logical]
    assert table.digest_if(logical, path, identity) == digest
    assert table.digest_if(logical, path + "x", identity) is None
    assert table.digest_if(logical, path, (*identity[:4], identity[4] + 1)) is None
    assert table.digest_if("missing", path, identity) is None
