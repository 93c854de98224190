"""Records round-trip through JSON for the state; bad shapes raise ValueError."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from corral.fingerprint import Fingerprint, Missing

from .helpers import run

FP = Fingerprint(
    logical="css/app.css",
    hashed="css/app.0123456789ab.css",
    rewritten=True,
    sha256="a" * 64,
    size=12,
    integrity="sha384-x",
    md5="b" * 32,
    deps=("img/a.png",),
    inputs="own:links",
    missing=(Missing("sourcemap", "app.css.map", "css/app.css.map", 3, 4),),
)


def test_round_trip() -> None:
    data = json.loads(json.dumps(FP.to_json()))
    assert Fingerprint.from_json(data) == FP
    plain = dataclasses.replace(FP, deps=(), missing=())
    assert "missing" not in plain.to_json()
    assert Fingerprint.from_json(plain.to_json()) == plain


def test_round_trip_of_a_real_run() -> None:
    tree = {"a.css": b"a{b:url(i.png)}\n/*# sourceMappingURL=gone.map */", "i.png": b"x"}
    for fp in run(tree).fingerprints.values():
        assert Fingerprint.from_json(json.loads(json.dumps(fp.to_json()))) == fp


@pytest.mark.parametrize(
    "change",
    [
        {"size": "12"},
        {"size": True},
        {"rewritten": 1},
        {"deps": "img/a.png"},
        {"deps": [1]},
        {"missing": [["nope", "a", "b", 1, 2]]},
        {"missing": [["url", "a", "b", 1]]},
        {"missing": "x"},
    ],
)
def test_bad_shapes_raise_value_error(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Fingerprint.from_json({**FP.to_json(), **change})


def test_missing_keys_and_non_dicts_raise_value_error() -> None:
    data = FP.to_json()
    del data["inputs"]
    with pytest.raises(ValueError, match="inputs"):
        Fingerprint.from_json(data)
    with pytest.raises(ValueError):
        Fingerprint.from_json([])


def test_a_parsed_record_is_a_complete_immutable_record() -> None:
    parsed = Fingerprint.from_json(FP.to_json())
    for field in dataclasses.fields(Fingerprint):  # every field set, to the same value
        assert getattr(parsed, field.name) == getattr(FP, field.name), field.name
    assert hash(parsed) == hash(FP) and type(parsed) is Fingerprint
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.hashed = "x"  # type: ignore[misc]
