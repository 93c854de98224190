"""corral's own JSON files: written fast, read back exactly, whichever codec ran."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from corral import collect, jsonio
from corral.state import StateDir

from .conftest import config_for, write_tree

_TABLE = {
    "format": 3,
    "release": 7,
    "scanned_ns": 1_764_000_000_123_456_789,
    "sources": {"css/ünï cødé#?.css": ["/srv/app/static/css/ünï cødé#?.css", 1, 2, 3, 4, 5, "ab"]},
    "targets": {"日本.js": ["cd", 2**64 - 1, 0, -1]},
    "derived": 0,
    "hashing": "",
    "nothing": None,
    "flags": [True, False],
}


@pytest.fixture(params=["orjson", "stdlib"])
def codec(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "stdlib":
        monkeypatch.setattr(jsonio, "_orjson", None)
    else:
        assert jsonio._orjson is not None, "orjson is a dependency: pip install -e ."
    return str(request.param)


def test_a_table_reads_back_exactly(codec: str) -> None:
    payload = jsonio.dumps(_TABLE)
    assert jsonio.loads(payload) == _TABLE
    assert json.loads(payload) == _TABLE  # plain JSON, whichever codec wrote it
    assert b", " not in payload and b": " not in payload  # compact


def test_each_codec_reads_the_others_files(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = jsonio.dumps(_TABLE)
    monkeypatch.setattr(jsonio, "_orjson", None)
    slow = jsonio.dumps(_TABLE)
    assert jsonio.loads(fast) == jsonio.loads(slow) == _TABLE
    monkeypatch.undo()
    assert jsonio.loads(slow) == _TABLE


def test_names_that_are_not_utf8_and_huge_integers_still_round_trip(codec: str) -> None:
    table = {os.fsdecode(b"/srv/bad\xff/app.css"): [2**70, "x"]}
    assert jsonio.loads(jsonio.dumps(table)) == table


@pytest.mark.parametrize("torn", [b"", b'{"format": 3, "sources": {"a', b"\x00\x01"])
def test_a_torn_file_is_a_value_error(codec: str, torn: bytes) -> None:
    with pytest.raises(ValueError):
        jsonio.loads(torn)


def test_the_state_of_a_project_under_a_non_utf8_directory_is_kept(tmp_path: Path) -> None:
    project = tmp_path / os.fsdecode(b"caf\xe9")
    write_tree(project / "assets", {"css/site.css": "a { color: red }"})
    config = config_for(project, "assets")
    assert collect(config).published
    state = StateDir(config.root).load()
    assert state.release == 1
    assert state.sources["css/site.css"].path == str(project / "assets/css/site.css")
    assert not collect(config).published  # trusted from the state: nothing to redo


def test_the_sorted_form_is_the_standard_librarys_bytes(codec: str) -> None:
    # Every character below U+0250 and some beyond (controls, DEL, line separators,
    # a BOM, an emoji), in keys (sorted) and values, nested, with integers and lists.
    text = [chr(i) for i in range(0x250)] + ["\u2028", "\u2029", "\ufeff", "\U0001f600"]
    data = {
        f"{c}.css": {"z": c, "size": i, "list": [c, i, True, None], "e": {}}
        for i, c in enumerate(text)
    }
    data["huge"] = {"n": 2**64 - 1}
    expected = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert jsonio.dumps_sorted(data) == expected.encode()


def test_sorted_tables_are_sorted_at_every_level(codec: str) -> None:
    table = {"b": {"z": 1, "é": [2], "a": {"y": None, "x": True}}, "a": 3, "日本": "ü"}
    payload = jsonio.dumps(table, sort_keys=True)
    orders: list[list[str]] = []

    def record(pairs: list[tuple[str, object]]) -> dict[str, object]:
        orders.append([key for key, _ in pairs])
        return dict(pairs)

    assert json.loads(payload, object_pairs_hook=record) == table
    assert orders == [["x", "y"], ["a", "z", "é"], ["a", "b", "日本"]]


@pytest.mark.parametrize("chunk", [1, 2, 4096])
def test_a_streamed_table_is_the_json_of_the_whole(codec: str, chunk: int) -> None:
    rows = {f"f{n:03d}/ü{n}.css": (f"d{n}", n, n * 2, -n) for n in range(7)}
    data = {
        "b": jsonio.Table(rows, list),
        "a": {"z": 1, "y": [1, 2]},
        "c": jsonio.Table({"k": {"z": 1, "a": 2}}),
        "d": jsonio.Table({}),
        "e": None,
    }
    expected = {
        "a": {"z": 1, "y": [1, 2]},
        "b": {k: list(v) for k, v in rows.items()},
        "c": {"k": {"z": 1, "a": 2}},
        "d": {},
        "e": None,
    }
    text = b"".join(jsonio.streamed(data, chunk=chunk))
    assert jsonio.loads(text) == expected
    # the bytes of one dumps, with a line break around each chunk of a table
    assert text.replace(b"\n", b"") == jsonio.dumps(expected, sort_keys=True)
    assert text.count(b"\n") == -(-7 // chunk) + 1 + 2  # b's chunks, then c's one


@pytest.mark.parametrize("chunk", [1, 3, 4096])
def test_streamed_tables_read_back_a_chunk_at_a_time(codec: str, chunk: int) -> None:
    rows = {f"f{n:03d}/ü{n}.css": [f"d{n}", n] for n in range(7)}
    data = {"b": jsonio.Table(rows), "a": {"z": 1}, "c": jsonio.Table({"k": 1}), "d": None}
    text = b"".join(jsonio.streamed(data, chunk=chunk))
    chunks: list[dict[str, object]] = []
    read = jsonio.read_tables(io.BytesIO(text), {"b": chunks.append})
    assert read == {"a": {"z": 1}, "b": {}, "c": {"k": 1}, "d": None}
    assert [len(c) for c in chunks] == [min(chunk, 7 - i) for i in range(0, 7, chunk)]
    assert {k: v for c in chunks for k, v in c.items()} == rows


def test_a_table_written_in_one_piece_is_handed_over_whole(codec: str) -> None:
    text = jsonio.dumps({"a": 1, "b": {"x": [1], "y": [2]}, "c": {}}, sort_keys=True)
    chunks: list[dict[str, object]] = []
    read = jsonio.read_tables(io.BytesIO(text), {"b": chunks.append, "c": chunks.append})
    assert read == {"a": 1, "b": {}, "c": {}}
    assert chunks == [{"x": [1], "y": [2]}]


@pytest.mark.parametrize("cut", [5, 30, -3])
def test_a_torn_streamed_file_is_a_value_error(codec: str, cut: int) -> None:
    text = b"".join(jsonio.streamed({"t": jsonio.Table({str(n): n for n in range(9)})}, chunk=2))
    with pytest.raises(ValueError):
        jsonio.read_tables(io.BytesIO(text[:cut]), {"t": lambda _chunk: None})


def test_a_saved_state_is_written_in_pieces_and_reads_back(tmp_path: Path) -> None:
    write_tree(tmp_path / "assets", {f"css/{n}.css": f"a{{n:{n}}}" for n in range(20)})
    config = config_for(tmp_path, "assets", hash=True)
    collect(config)
    state_dir = StateDir(config.root, config.state_dir)
    state = state_dir.load()
    whole = jsonio.dumps(state.to_json(), sort_keys=True)
    # the bytes of one dumps, a line per chunk of a table
    assert state_dir.state_file.read_bytes().replace(b"\n", b"") == whole
    again = jsonio.loads(whole)
    assert again["targets"] and again["sources"]
    assert state_dir.load().targets == state.targets


def test_a_release_record_is_written_in_pieces_with_the_bytes_of_one_dumps(
    tmp_path: Path,
) -> None:
    write_tree(tmp_path / "assets", {f"js/{n}.js": f"var a{n};" for n in range(30)})
    config = config_for(tmp_path, "assets", hash=True)
    collect(config)
    state_dir = StateDir(config.root, config.state_dir)
    [release_id] = state_dir.release_ids()
    release = state_dir.load_release(release_id)
    path = state_dir.releases_dir / f"{release_id:08d}.json"
    assert path.read_bytes().replace(b"\n", b"") == jsonio.dumps(release.to_json(), sort_keys=True)
    assert len(release.files) >= 60  # originals and hashed copies


def test_a_table_alone_streams_as_one_object(codec: str) -> None:
    files = {f"css/{n}.css": f"digest{n}" for n in range(10, 0, -1)}
    text = b"".join(jsonio.streamed(jsonio.Table(files), chunk=3))
    assert text.replace(b"\n", b"") == jsonio.dumps(files, sort_keys=True)
    assert jsonio.loads(text) == files
    assert b"".join(jsonio.streamed(jsonio.Table({}))) == b"{}"
