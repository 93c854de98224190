"""What a publish does: upload, leave alone, prune — decided without per-file requests.

From the local release, corral's state object and one LIST of the prefix. An object is
unchanged when the state says corral uploaded these bytes (sha256) with these headers
and the LIST still shows the object with the size and ETag the upload returned (the
ETag is compared as an opaque token, never as an md5). Retention: a key corral wrote is
pruned when no kept release lists it; keys corral did not write are never pruned, except
with ``clear`` and ``force`` together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from corral.targets.release import LocalObject
from corral.targets.remote import RemoteState
from corral.targets.store import Listed

__all__ = ["Plan", "Rules", "make_plan"]

_OWN = ".corral/"


class Rules(NamedTuple):
    """How the run was asked to treat the bucket."""

    keep: int | None  # older releases kept (None: all)
    clear: bool  # prune every key the new release does not list
    force: bool  # replace (and own) keys corral did not write; with ``clear``, prune them


@dataclass(slots=True)
class Plan:
    upload: list[LocalObject] = field(default_factory=list)  # in phase order
    unchanged: list[LocalObject] = field(default_factory=list)
    prune: list[str] = field(default_factory=list)  # release paths
    foreign: list[str] = field(default_factory=list)  # in the way, not corral's
    #: Hashed names a killed run uploaded before it could record them: the name fixes the
    #: content, and S3 objects are never partial, so the listed object is the one to keep.
    adopt: list[tuple[LocalObject, Listed]] = field(default_factory=list)
    release: int = 0  # the release this run makes (or the current one)
    new_release: bool = False

    @property
    def writes(self) -> bool:
        return bool(self.upload or self.prune or self.new_release)


def make_plan(
    objects: Sequence[LocalObject],
    state: RemoteState,
    listed: Mapping[str, Listed],
    rules: Rules,
) -> Plan:
    keep, clear, force = rules
    plan = Plan()
    desired = {o.relative for o in objects}
    for obj in objects:
        record = state.objects.get(obj.relative)
        seen = listed.get(obj.relative)
        if (
            record is not None
            and seen is not None
            and record.sha256 == obj.sha256
            and record.meta == obj.meta
            and record.etag == seen.etag
            and record.size == seen.size
        ):
            plan.unchanged.append(obj)
            continue
        if (
            seen is not None
            and obj.phase == 0
            and obj.relative in state.pending
            and seen.size == obj.size
            and (record is None or record.sha256 != obj.sha256)
        ):
            plan.adopt.append((obj, seen))
            plan.unchanged.append(obj)
            continue
        if seen is not None and record is None and obj.relative not in state.pending and not force:
            plan.foreign.append(obj.relative)
        plan.upload.append(obj)
    plan.upload.sort(key=lambda o: o.phase)
    current = {k for k, r in state.objects.items() if r.last == state.release and state.release}
    plan.new_release = bool(plan.upload or plan.adopt) or current != desired
    plan.release = state.release + 1 if plan.new_release else state.release
    if clear:
        keep = 0
    if keep is not None:
        oldest = plan.release - keep
        owned = set(state.objects) | state.pending
        for relative in sorted(owned - desired):
            record = state.objects.get(relative)
            if relative in listed and (record is None or record.last < oldest):
                plan.prune.append(relative)
        if clear and force:
            plan.prune.extend(
                sorted(
                    k
                    for k in listed
                    if k not in desired and k not in owned and not k.startswith(_OWN)
                )
            )
    return plan
