"""Which published files are intact: every path of the table but those found changed."""

from __future__ import annotations

from corral.build.intact import AllBut


def test_all_but_the_changed_paths_without_a_set_of_every_path() -> None:
    targets = {"a.css": 1, "b.css": 2, "c.css": 3}
    intact = AllBut(targets, frozenset({"b.css", "gone.css"}))  # gone: not a target
    assert len(intact) == 2
    assert "a.css" in intact and "c.css" in intact
    assert "b.css" not in intact and "gone.css" not in intact and "d.css" not in intact
    assert sorted(intact) == ["a.css", "c.css"]
    assert intact == {"a.css", "c.css"}
