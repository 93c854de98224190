"""``corral clean`` and ``corral check`` for an ``s3://`` target, from the bucket alone.

Neither needs the local build: both read corral's state object and LIST the prefix once.

- :func:`clean` deletes (batched DeleteObjects, under the prefix's lease) the objects
  corral wrote that no kept release lists — the current release and ``keep`` before it —
  and claims an interrupted run left behind; with ``force`` also the keys corral did not
  write (never the current release's, never ``.corral/``).
- :func:`check` compares the state with the bucket: every object of a kept release is
  there with the size and ETag corral recorded, every object the bucket's Django manifest
  (``manifest_name``: ``staticfiles.json`` unless configured) and ``corral-manifest.json``
  name exists (``deep``: the current release's objects are read and their sha256
  compared), and it reports a held lease, an interrupted run's claims and keys corral did
  not write.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from corral.errors import CorralError, LockError, Problem
from corral.manifest import CORRAL_MANIFEST
from corral.report import CleanReport
from corral.targets.lease import Lease, acquire
from corral.targets.location import S3Location, build_dir
from corral.targets.remote import LEASE_KEY, RemoteState, load_state, save_state
from corral.targets.store import Listed, ObjectStore

if TYPE_CHECKING:
    from corral.config import Config
    from corral.diagnose import CheckReport

__all__ = ["check", "clean"]

_OWN = ".corral/"


def clean(
    config: Config,
    *,
    keep: int | None = None,
    force: bool = False,
    dry_run: bool = False,
    wait: float = 0.0,
) -> CleanReport:
    """Prune the bucket's old releases (see the module docstring); ``wait`` seconds for a
    running publish's lease."""
    location, store, owned = _open(config, None)
    try:
        listed, state = _read(location, store)
        keep = keep if keep is not None else (config.keep if config.keep is not None else 2)
        oldest = state.release - keep
        numbers = sorted({int(r.get("number", 0)) for r in state.releases})
        report = CleanReport(
            location.url,
            dry_run=dry_run,
            kept_releases=[n for n in numbers if oldest <= n <= state.release],
            dropped_releases=[n for n in numbers if n < oldest],
        )
        for relative in sorted(set(state.objects) | state.pending):
            record = state.objects.get(relative)
            if relative in listed and (record is None or record.last < oldest):
                report.pruned.append(relative)
        if force:
            mine = set(state.objects) | state.pending
            report.unowned_removed = sorted(
                k for k in listed if k not in mine and not k.startswith(_OWN)
            )
        doomed = report.pruned + report.unowned_removed
        if dry_run or not doomed:
            return report
        options = config.s3_options()
        store.delete([location.key(_OWN + "delete-check")])  # permission, before the lease
        lease = _acquire(store, location, options.lease_seconds, wait)
        try:
            state = load_state(store, location, _cache(location))
            store.delete([location.key(k) for k in doomed])
            for relative in doomed:
                state.objects.pop(relative, None)
                state.pending.discard(relative)
            save_state(store, location, state, _cache(location))
        finally:
            with contextlib.suppress(Exception):  # an unreleased lease expires; the error wins
                lease.release()
        return report
    finally:
        if owned:
            store.close()


def check(config: Config, *, deep: bool = False, store: ObjectStore | None = None) -> CheckReport:
    """What is wrong between corral's state and the bucket (see the module docstring)."""
    from corral.build import load_sources  # noqa: PLC0415
    from corral.diagnose import CheckReport  # noqa: PLC0415

    report = CheckReport()
    report.problems.extend(load_sources(config).problems)
    location, store, owned = _open(config, store)
    try:
        try:
            listed, state = _read(location, store)
        except CorralError as exc:
            report.problems.append(Problem("remote", exc.message, path=location.url, hint=exc.hint))
            return report
        _check_state(location, listed, state, config.keep, report)
        _check_manifests(location, store, listed, config.manifest_name, report)
        if deep:
            _check_bytes(location, store, state, report)
    finally:
        if owned:
            store.close()
    return report


def _check_state(
    location: S3Location,
    listed: dict[str, Listed],
    state: RemoteState,
    keep: int | None,
    report: CheckReport,
) -> None:
    oldest = state.release - (keep if keep is not None else 2)
    for relative in sorted(state.objects):
        record = state.objects[relative]
        if record.last < oldest or not record.last:
            continue
        seen = listed.get(relative)
        where = f"{location.url}/{relative}"
        if seen is None:
            report.problems.append(
                Problem(
                    "missing-object",
                    f"release {record.last} lists {relative}, which is not in the bucket",
                    path=where,
                    hint="run corral collect again: it uploads what is missing",
                )
            )
        elif seen.etag != record.etag or seen.size != record.size:
            report.problems.append(
                Problem(
                    "changed-object",
                    f"{relative} was replaced after corral uploaded it (size {seen.size}, "
                    f"corral sent {record.size}; ETag {seen.etag}, corral's {record.etag})",
                    path=where,
                    hint="run corral collect again: it uploads corral's copy",
                )
            )
    if LEASE_KEY in listed:
        report.warnings.append(
            Problem(
                "lease-held",
                "a corral run holds the prefix's lease: it is publishing, or was killed",
                path=location.url + "/" + LEASE_KEY,
                hint="if no run is active, the lease expires on its own (s3.lease_seconds)",
            )
        )
    claims = sorted(k for k in state.pending if k in listed and k not in state.objects)
    if claims:
        report.warnings.append(
            Problem(
                "interrupted-run",
                f"an interrupted run left {len(claims)} object(s) in no release "
                f"(first: {claims[0]})",
                path=location.url,
                hint="the next corral collect adopts or prunes them; corral clean prunes them",
            )
        )
    mine = set(state.objects) | state.pending
    foreign = sorted(k for k in listed if k not in mine and not k.startswith(_OWN))
    if foreign:
        report.warnings.append(
            Problem(
                "not-owned",
                f"{len(foreign)} object(s) under the prefix were not written by corral "
                f"(first: {foreign[0]}); corral never deletes them",
                path=location.url,
                hint="leave them, or delete them with corral clean --force",
            )
        )


def _check_manifests(
    location: S3Location,
    store: ObjectStore,
    listed: dict[str, Listed],
    manifest_name: str,
    report: CheckReport,
) -> None:
    for name in (manifest_name, CORRAL_MANIFEST):
        if name not in listed:
            continue
        fetched = store.get(location.key(name))
        try:
            data = json.loads(fetched.body) if fetched is not None else {}
        except ValueError:
            data = None
        if not isinstance(data, dict):
            report.problems.append(
                Problem(
                    "bad-manifest",
                    f"{name} in the bucket is not a manifest corral can read",
                    path=f"{location.url}/{name}",
                    hint="run corral collect again",
                )
            )
            continue
        for named in sorted(_named(name, data)):
            if named not in listed:
                report.problems.append(
                    Problem(
                        "missing-object",
                        f"{name} names {named}, which is not in the bucket",
                        path=f"{location.url}/{named}",
                        hint="run corral collect again: it uploads what is missing",
                    )
                )


def _named(name: str, data: dict[str, object]) -> set[str]:
    """The objects a manifest names: Django's hashed names; corral's files and variants."""
    found: set[str] = set()
    if name != CORRAL_MANIFEST:  # the Django-format one, whatever manifest_name calls it
        paths = data.get("paths")
        if isinstance(paths, dict):
            found.update(v for v in paths.values() if isinstance(v, str))
        return found
    files = data.get("files")
    for entry in files.values() if isinstance(files, dict) else ():
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("hashed"), str):
            found.add(entry["hashed"])
        encodings = entry.get("encodings")
        for variant in encodings.values() if isinstance(encodings, dict) else ():
            if isinstance(variant, dict) and isinstance(variant.get("path"), str):
                found.add(variant["path"])
    return found


def _check_bytes(
    location: S3Location, store: ObjectStore, state: RemoteState, report: CheckReport
) -> None:
    for relative in sorted(k for k, r in state.objects.items() if r.last == state.release):
        fetched = store.get(location.key(relative))
        if fetched is None:
            continue  # reported as missing above
        if hashlib.sha256(fetched.body).hexdigest() != state.objects[relative].sha256:
            report.problems.append(
                Problem(
                    "corrupt-object",
                    f"{relative} in the bucket does not have the bytes corral uploaded",
                    path=f"{location.url}/{relative}",
                    hint="run corral collect --force to upload corral's copy again",
                )
            )


def _acquire(store: ObjectStore, location: S3Location, seconds: int, wait: float) -> Lease:
    deadline = time.monotonic() + wait
    while True:
        try:
            return acquire(store, location, seconds)
        except LockError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


def _open(config: Config, store: ObjectStore | None) -> tuple[S3Location, ObjectStore, bool]:
    from corral.targets.s3 import target_url  # noqa: PLC0415

    location = S3Location.parse(target_url(config), origin=config.origin)
    if store is not None:
        return location, store, False
    from corral.targets.s3client import open_store  # noqa: PLC0415

    return location, open_store(location, config.s3_options()), True


def _read(location: S3Location, store: ObjectStore) -> tuple[dict[str, Listed], RemoteState]:
    listed: dict[str, Listed] = {}
    for item in store.list(location.list_prefix):
        relative = location.relative(item.key)
        if relative is not None:
            listed[relative] = item
    return listed, load_state(store, location, _cache(location))


def _cache(location: S3Location) -> Path:
    """The copy of the state kept next to the build (as a publish keeps it)."""
    return build_dir(location.url) / "remote-state.json"
