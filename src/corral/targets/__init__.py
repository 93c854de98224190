"""Where a run publishes.

``base.py`` holds the seams :mod:`corral.build` is written against (the ``Target`` and
``StateStore`` protocols); ``local.py`` is the local directory, with ``localroot.py`` its
root guards. S3-compatible object storage (``s3://BUCKET/PREFIX``) is not a second
``Target`` but a publisher after a local build: the release is built with the local
pipeline into a private directory (a ``LocalTarget``), then :func:`corral.targets.s3.publish`
uploads what the bucket lacks. The remote side has its own seam, the ``ObjectStore``
protocol of ``store.py`` (both S3 clients implement it; plan, lease, upload, state and
admin are written against it). Each module does one job:

=================  ============================================================
``base.py``        the ``Target`` and ``StateStore`` protocols, ``Staged``
``local.py``       ``LocalTarget``: stage, rename into place, remove
``localroot.py``   whether a local root may be used (collect and check)
``location.py``    the ``s3://`` URL, the ``s3`` options table, the build directory
``store.py``       the ``ObjectStore`` protocol the rest is written against
``awschain.py``    credentials, region and endpoint from the AWS chain, without botocore
``sigv4.py``       AWS Signature Version 4
``s3http.py``      ``ObjectStore`` over ``http.client``: corral's own S3 client
``s3client.py``    which client to use; ``ObjectStore`` over boto3 (``corral[s3]``)
``s3errors.py``    S3 failures as errors naming the setting to fix
``release.py``     the local release as objects to upload: keys, digests, headers
``remote.py``      corral's state object in the bucket
``lease.py``       one writer per prefix: a lease object written with ``If-None-Match``
``plan.py``        what to upload, what is unchanged, what to prune (retention)
``upload.py``      parallel uploads in order, with checkpoints of the state
``s3.py``          the remote-publish stage that wires them together
``s3admin.py``     ``clean`` and ``check`` of a bucket, from its state and one LIST
=================  ============================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.targets.location import S3Location, S3Options, is_remote

__all__ = ["S3Location", "S3Options", "is_remote"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: a local run imports corral.targets.local, not the S3 code.
    if name in __all__:
        from corral.targets import location  # noqa: PLC0415

        return getattr(location, name)
    raise AttributeError(f"module 'corral.targets' has no attribute {name!r}")
