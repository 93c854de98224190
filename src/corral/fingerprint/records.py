"""Build :class:`~corral.fingerprint.model.Fingerprint` records from what a run knows of a file."""

from __future__ import annotations

from corral.fingerprint.model import FileFacts, Fingerprint, Missing
from corral.fingerprint.names import HASH_LENGTH, hashed_name, md5_hex, sha256_and_integrity
from corral.fingerprint.scan import Scan

__all__ = ["copied_record", "opaque_record", "scanned_record"]


def scanned_record(
    facts: FileFacts, scanned: Scan, out: bytes, inputs: str, name: str | None, sri_algorithm: str
) -> Fingerprint:
    """The record of a scanned text file whose hashed copy holds ``out``.

    ``name`` is its hashed name if already decided (pass-through, cycle
    member); None names it by the MD5 of ``out``, as Django does. Digests the
    read already computed (``facts``, with an integrity made by ``sri_algorithm``)
    are reused, so a file that needed no rewriting is not hashed again.
    """
    rewritten = out is not scanned.data and out != scanned.data
    md5 = facts.md5 or md5_hex(scanned.data)
    if rewritten:
        out_md5 = md5_hex(out)
        sha256, sri = sha256_and_integrity(out, sri_algorithm)
    elif facts.integrity is not None:
        out_md5, sha256, sri = md5, facts.digest, facts.integrity
    else:
        out_md5, (sha256, sri) = md5, sha256_and_integrity(out, sri_algorithm)
    return Fingerprint(
        logical=facts.logical,
        hashed=hashed_name(facts.logical, out_md5[:HASH_LENGTH]) if name is None else name,
        rewritten=rewritten,
        sha256=sha256,
        size=len(out),
        integrity=sri,
        md5=md5,
        deps=scanned.deps(),
        inputs=inputs,
        missing=tuple(scanned.missing),
    )


def copied_record(
    facts: FileFacts,
    md5: str,
    sri: str,
    *,
    passthrough: bool,
    inputs: str,
    missing: tuple[Missing, ...] = (),
    deps: tuple[str, ...] = (),
) -> Fingerprint:
    """The record of a file copied as is, from digests already known (no read).

    ``missing`` and ``deps``: the references to files not collected and the collected
    files referenced, for a scanned file in which nothing is rewritten.
    """
    return Fingerprint(
        logical=facts.logical,
        hashed=facts.logical if passthrough else hashed_name(facts.logical, md5[:HASH_LENGTH]),
        rewritten=False,
        sha256=facts.digest,
        size=facts.size,
        integrity=sri,
        md5=md5,
        deps=deps,
        inputs=inputs,
        missing=missing,
    )


def opaque_record(
    logical: str, data: bytes, *, passthrough: bool, inputs: str, sri_algorithm: str
) -> Fingerprint:
    """The record of a file copied as is, computed from its bytes ``data``."""
    md5 = md5_hex(data)
    sha256, sri = sha256_and_integrity(data, sri_algorithm)
    return Fingerprint(
        logical=logical,
        hashed=logical if passthrough else hashed_name(logical, md5[:HASH_LENGTH]),
        rewritten=False,
        sha256=sha256,
        size=len(data),
        integrity=sri,
        md5=md5,
        deps=(),
        inputs=inputs,
    )
