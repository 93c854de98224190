"""The remote-publish stage: a local build, then what the bucket lacks, in order.

1. Build the release with the local pipeline into the target's private build directory
   (hashed names, rewritten references, variants, manifests). While it compresses, the
   hashed names and their variants already go up (:mod:`.overlap`): on the first one
   the bucket is prepared as in steps 2 and 4 (the state, one LIST, the lease), then
   each batch is claimed in the state object and uploaded. The plan below then finds
   them uploaded, and the other steps are the same.
2. Read corral's state object (a conditional GET). When this machine has its current
   version (a 304) and LISTed the prefix less than ``s3.list_every`` ago, and the state
   says there is nothing to do, stop: a no-change run is that one request. Otherwise LIST
   the prefix once — all before anything is written, so wrong credentials, a missing
   bucket, a refused LIST or an endpoint that is not S3 fail the run with nothing changed.
3. Plan: upload / unchanged / to prune (a dry run stops here). Nothing to do: stop, having
   written nothing (the GET and the LIST).
4. Check that deleting is allowed (the lease and pruning need it); take the prefix's lease.
5. Checkpoint the state (claiming the keys about to be written), upload hashed names,
   then other names, then ``staticfiles.json`` and ``corral-manifest.json``.
6. Write the state object with the new release; then delete, in batches, what no kept
   release lists and corral wrote; write the state again; release the lease.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from corral.manifest import CORRAL_MANIFEST
from corral.targets.lease import Lease, acquire
from corral.targets.location import S3Location, S3Options, build_dir
from corral.targets.overlap import EarlyUploads, Prepared
from corral.targets.plan import Plan, Rules, make_plan
from corral.targets.release import LocalObject, read_release
from corral.targets.remote import ObjectRecord, RemoteState, load_state, save_state
from corral.targets.store import Listed, ObjectStore
from corral.targets.upload import Bucket, Pacing, upload_all

if TYPE_CHECKING:
    from corral.config import Config
    from corral.errors import Problem
    from corral.loadpath import Conflict
    from corral.report import Progress, Report

__all__ = ["RemoteReport", "publish", "publish_release", "target_url"]

_KEEP_RECORDS = 50  # release records the state keeps when nothing is pruned
_LISTED_AT = "listed-at"  # touched after each full LIST of the prefix


@dataclass(slots=True)
class RemoteReport:
    """The outcome (or, with ``dry_run``, the plan) of a publish to object storage."""

    target: str
    dry_run: bool = False
    release: int | None = None
    published: bool = False
    upload: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    bytes_uploaded: int = 0
    early: int = 0  # of ``upload``: sent while the build was still compressing
    build: Report | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def warnings(self) -> list[Problem]:
        return self.build.warnings if self.build is not None else []

    @property
    def conflicts(self) -> list[Conflict]:
        return self.build.conflicts if self.build is not None else []

    def summary(self, verbose: int = 0) -> list[str]:
        """What the command line prints: one line, the keys with ``verbose``, timings."""
        counts = (
            f"{len(self.upload):,} to upload, {len(self.unchanged):,} unchanged, "
            f"{len(self.pruned):,} to prune"
        )
        if self.dry_run:
            lines = [f"Dry run, nothing written. Plan for {self.target}: {counts}\n"]
        elif self.upload or self.pruned or self.published:
            lines = [
                f"Published to {self.target}: {len(self.upload):,} uploaded "
                f"({self.bytes_uploaded:,} bytes), {len(self.unchanged):,} unchanged, "
                f"{len(self.pruned):,} pruned -> release {self.release}\n"
            ]
        else:
            lines = [
                f"{self.target} is up to date ({len(self.unchanged):,} objects, "
                f"release {self.release or '-'})\n"
            ]
        if verbose:
            lines += [f"  upload   {name}\n" for name in self.upload]
            lines += [f"  prune    {name}\n" for name in self.pruned]
        if verbose > 1:
            lines += [f"  same     {name}\n" for name in self.unchanged]
        phases = ", ".join(f"{k} {v:.3f}" for k, v in self.timings.items())
        return [*lines, f"  time {sum(self.timings.values()):.3f} s ({phases})\n"]

    def to_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "dry_run": self.dry_run,
            "release": self.release,
            "published": self.published,
            "counts": {
                "upload": len(self.upload),
                "unchanged": len(self.unchanged),
                "pruned": len(self.pruned),
            },
            "upload": self.upload,
            "pruned": self.pruned,
            "bytes_uploaded": self.bytes_uploaded,
            "early": self.early,
            "build": self.build.to_dict() if self.build is not None else None,
            "timings": {k: round(v, 6) for k, v in self.timings.items()},
        }


def publish(  # noqa: PLR0913 - the public signature: one keyword per CLI flag
    config: Config,
    *,
    dry_run: bool = False,
    clear: bool = False,
    force: bool = False,
    wait: float = 0.0,
    progress: Progress | None = None,
    store: ObjectStore | None = None,
) -> RemoteReport:
    """Build the release locally and publish it to ``config.target``."""
    from corral.build import collect  # noqa: PLC0415 - the local pipeline

    location = S3Location.parse(target_url(config), origin=config.origin)
    options = config.s3_options()
    started = time.perf_counter()
    config.root.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    owned = store is None
    if store is None:
        from corral.targets.s3client import open_store  # noqa: PLC0415

        store = open_store(location, options)
    try:
        early = _early_uploads(config, store, location, options, dry_run=dry_run)
        try:
            build = collect(
                _build_config(config, options), wait=wait, progress=progress, sink=early
            )
            prepared = early.finish() if early is not None else None
        except BaseException:
            if early is not None:
                early.abort()
            raise
        built = time.perf_counter()
        report = publish_release(
            config,
            store,
            location,
            options,
            dry_run=dry_run,
            clear=clear,
            force=force,
            progress=progress,
            prepared=prepared,
        )
    finally:
        if owned:
            store.close()
    report.build = build
    report.timings = {"build": built - started, **report.timings}
    return report


def _early_uploads(
    config: Config, store: ObjectStore, location: S3Location, options: S3Options, *, dry_run: bool
) -> EarlyUploads | None:
    """The sink that uploads hashed names while the build compresses: only with
    ``s3.overlap``, and never for a dry run or with one encoding in place (a variant's
    bytes then go up under the original's name and so belong to the plan)."""
    if not options.overlap or dry_run or options.in_place is not None:
        return None
    work = build_dir(target_url(config))
    cache = work / "remote-state.json"
    return EarlyUploads(
        Bucket(store, location),
        options,
        prepare=lambda: Prepared(load_state(store, location, cache), _list(store, location, work)),
        lease=lambda: _take_lease(store, location, options),
        checkpoint=lambda state: save_state(store, location, state, cache),
    )


def _checkpoint(bucket: Bucket, state: RemoteState, cache: Path, lease: Lease) -> None:
    """Save the state object; renew the lease when a third of its time has passed."""
    save_state(bucket.store, bucket.location, state, cache)
    lease.keep()


def _take_lease(store: ObjectStore, location: S3Location, options: S3Options) -> Lease:
    """The prefix's lease, after checking that deleting is allowed (releasing the lease
    and pruning need it): before the run's first write, so a refusal changes nothing."""
    store.delete([location.key(".corral/delete-check")])  # no such key: deletes nothing
    return acquire(store, location, options.lease_seconds)


def _list(store: ObjectStore, location: S3Location, work: Path) -> dict[str, Listed]:
    listed: dict[str, Listed] = {}
    for item in store.list(location.list_prefix):
        relative = location.relative(item.key)
        if relative is not None:
            listed[relative] = item
    (work / _LISTED_AT).touch()
    return listed


#: The ``compress`` table's switch for each encoding an ``s3.encodings`` list names.
_SWITCHES = {"br": "brotli", "gzip": "gzip", "zstd": "zstd"}


def _build_config(config: Config, options: S3Options) -> Config:
    """The configuration of the local build for the bucket: no releases kept beside it
    (the bucket keeps them), and no variants the bucket will not get (``s3.encodings``,
    plus the ``in_place`` one)."""
    wanted = {*options.encodings, *([options.in_place] if options.in_place else [])}
    compression = dict(config.compression)
    for encoding, switch in _SWITCHES.items():
        if encoding not in wanted:
            compression[switch] = False
    return config.with_overrides(keep=0, compression=compression)


def publish_release(  # noqa: PLR0913 - publish's keywords, for a store the caller opened
    config: Config,
    store: ObjectStore,
    location: S3Location,
    options: S3Options,
    *,
    dry_run: bool = False,
    clear: bool = False,
    force: bool = False,
    progress: Progress | None = None,
    prepared: Prepared | None = None,
) -> RemoteReport:
    """Publish the release already built in ``config.root`` (steps 2-6 above);
    ``prepared``: the bucket as :class:`~corral.targets.overlap.EarlyUploads` found it
    (its state, LIST and lease) while it uploaded the hashed names during the build."""
    report = RemoteReport(location.url, dry_run=dry_run)
    work = build_dir(target_url(config))
    cache = work / "remote-state.json"
    clock = time.perf_counter()
    objects = read_release(
        config.root, work / "digests.json", options, (config.manifest_name, CORRAL_MANIFEST)
    )
    report.timings["read"] = time.perf_counter() - clock

    rules = Rules(config.keep, clear, force)
    clock = time.perf_counter()
    if prepared is not None:  # read, LISTed and leased while the build ran
        state, listed, lease = prepared.state, prepared.listed, prepared.lease
        plan = make_plan(objects, state, listed, rules)
    else:
        lease = None
        state, listed, plan = _verify(store, location, options, work, (objects, rules))
    report.timings["plan"] = time.perf_counter() - clock
    early = prepared.early if prepared is not None else set()
    report.upload = [o.relative for o in plan.unchanged if o.relative in early]
    report.early = len(report.upload)
    report.upload += [o.relative for o in plan.upload]
    report.unchanged = [o.relative for o in plan.unchanged if o.relative not in early]
    report.pruned = list(plan.prune)
    report.release = plan.release or None
    report.bytes_uploaded = prepared.bytes_sent if prepared is not None else 0
    try:
        if plan.foreign:
            raise _not_owned(location, plan.foreign)
        if dry_run or not plan.writes:
            return report
        clock = time.perf_counter()
        if lease is None:
            lease = _take_lease(store, location, options)

        pacing = Pacing(
            options.concurrency,
            partial(_checkpoint, Bucket(store, location), state, cache, lease),
            (lambda done, total: progress("upload", done, total)) if progress else None,
        )
        report.bytes_uploaded += _write(Bucket(store, location), state, listed, plan, pacing)
        report.published = plan.new_release
        report.timings["upload"] = time.perf_counter() - clock
        if plan.prune:
            clock = time.perf_counter()
            store.delete([location.key(k) for k in plan.prune])
            for relative in plan.prune:
                state.objects.pop(relative, None)
                state.pending.discard(relative)
            save_state(store, location, state, cache)
            report.timings["prune"] = time.perf_counter() - clock
    finally:
        if lease is not None:
            with contextlib.suppress(Exception):  # an unreleased lease expires; the error wins
                lease.release()
    return report


def _verify(
    store: ObjectStore,
    location: S3Location,
    options: S3Options,
    work: Path,
    wanted: tuple[list[LocalObject], Rules],
) -> tuple[RemoteState, dict[str, Listed], Plan]:
    """The state (a conditional GET), the LIST unless the state is trusted, the plan."""
    objects, rules = wanted
    state = load_state(store, location, work / "remote-state.json")
    if _state_trusted(state, options, work, rules):
        plan = _plan_from_state(state, objects, location, rules)
        if plan is not None:
            return state, {}, plan
    listed = _list(store, location, work)  # verify against the bucket: one paginated LIST
    return state, listed, make_plan(objects, state, listed, rules)


def _not_owned(location: S3Location, keys: list[str]) -> Exception:
    from corral.errors import BuildError, Problem  # noqa: PLC0415

    return BuildError(
        [
            Problem(
                "not-owned",
                f"{location.url}/{key} exists and was not written by corral",
                path=f"{location.url}/{key}",
                hint="move it away, or pass --force to let corral replace (and own) it",
            )
            for key in keys
        ]
    )


def _state_trusted(state: RemoteState, options: S3Options, work: Path, rules: Rules) -> bool:
    """Whether a plan may come from the state alone, without LISTing the bucket.

    Trusted: this machine has the state's current version (the GET answered 304), and it
    LISTed the prefix less than ``s3.list_every`` seconds ago; never with ``clear`` or
    ``force`` (they act on what the bucket holds: always LIST).
    """
    if not (state.cached and options.list_every) or rules.clear or rules.force:
        return False
    try:
        age = time.time() - (work / _LISTED_AT).stat().st_mtime
    except OSError:
        return False
    return age < options.list_every


def _plan_from_state(
    state: RemoteState, objects: list[LocalObject], location: S3Location, rules: Rules
) -> Plan | None:
    """The plan from a trusted state, when it says there is nothing to do; anything to
    write returns None: the caller LISTs and plans again."""
    assumed = {k: Listed(location.key(k), r.size, r.etag) for k, r in state.objects.items()}
    plan = make_plan(objects, state, assumed, rules)
    return None if plan.writes or plan.foreign else plan


def _write(
    bucket: Bucket,
    state: RemoteState,
    listed: Mapping[str, Listed],
    plan: Plan,
    pacing: Pacing,
) -> int:
    for obj, seen in plan.adopt:
        state.objects[obj.relative] = ObjectRecord(obj.sha256, obj.size, seen.etag, obj.meta)
    if plan.upload:
        state.pending |= {o.relative for o in plan.upload}
        pacing.checkpoint()
    sent = upload_all(bucket, plan.upload, state, pacing)
    desired = {o.relative for o in plan.upload} | {o.relative for o in plan.unchanged}
    if plan.new_release:
        state.release = plan.release
        for relative in desired:
            state.objects[relative].last = plan.release
        state.releases.append(
            {
                "number": plan.release,
                "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "objects": len(desired),
            }
        )
        state.releases = state.releases[-_KEEP_RECORDS:]
    # A killed run's claims stay until its objects are pruned (they are corral's).
    state.pending = {k for k in state.pending if k not in desired and k in listed}
    for relative in [k for k in state.objects if k not in desired and k not in listed]:
        del state.objects[relative]  # gone from the bucket (deleted by hand, or pruned)
    pacing.checkpoint()
    return sent


def target_url(config: Config) -> str:
    """The configuration's ``s3://`` target; a clear error (not an assertion) without one."""
    if config.target is None:
        from corral.errors import ConfigError  # noqa: PLC0415

        raise ConfigError(
            "no object-storage target is configured",
            hint='set target = "s3://BUCKET/PREFIX" in [tool.corral] or pass --target',
            file=config.origin,
            key="target",
        )
    return config.target
