"""corral's state object: what it encodes, batch by batch, reads back the same."""

from __future__ import annotations

import gzip
import json

import pytest

from corral.errors import TargetError
from corral.targets.remote import ObjectRecord, RemoteState


@pytest.mark.parametrize("count", [0, 1, 999, 1000, 1001, 2345])
def test_the_state_encodes_as_one_json_document_and_decodes_the_same(count: int) -> None:
    state = RemoteState(
        7,
        [{"number": 7, "created": "2026-12-07T20:00:00Z", "objects": count}],
        {
            f"css/\u00e9t\u00e9-{n}.css": ObjectRecord(
                f"{n:064x}", n, f'"e{n}"', "text/css|x|", n % 3
            )
            for n in range(count)
        },
        {"js/b.js", "js/a.js"},
    )
    body = state.encode()
    document = json.loads(gzip.decompress(body))
    assert document == {
        "version": 1,
        "release": 7,
        "releases": state.releases,
        "objects": {k: state.objects[k].to_json() for k in sorted(state.objects)},
        "pending": ["js/a.js", "js/b.js"],
    }
    assert list(document["objects"]) == sorted(state.objects)  # deterministic order
    back = RemoteState.decode(body, '"etag"', "s3://b/.corral/state.json")
    assert (back.release, back.releases, back.objects, back.pending, back.etag) == (
        7,
        state.releases,
        state.objects,
        state.pending,
        '"etag"',
    )
    assert state.encode() == body  # the same state, the same bytes


def test_a_state_that_is_not_corrals_is_a_clear_error() -> None:
    with pytest.raises(TargetError, match="not a state object corral can read"):
        RemoteState.decode(gzip.compress(b'{"version": 99}'), None, "s3://b/.corral/state.json")
