"""Publishing a release somewhere other than a local directory.

Today: S3-compatible object storage (``s3://BUCKET/PREFIX``). A run builds the release
with the local pipeline into a private directory, then :func:`corral.targets.s3.publish`
uploads what the bucket lacks. Each module does one job:

=================  ============================================================
``location.py``    the ``s3://`` URL, the ``s3`` options table, the build directory
``store.py``       the ``ObjectStore`` protocol the rest is written against
``s3client.py``    that protocol over boto3 (the optional ``corral[s3]`` extra)
``release.py``     the local release as objects to upload: keys, digests, headers
``remote.py``      corral's state object in the bucket
``lease.py``       one writer per prefix: a lease object written with ``If-None-Match``
``plan.py``        what to upload, what is unchanged, what to prune (retention)
``upload.py``      parallel uploads in order, with checkpoints of the state
``s3.py``          the remote-publish stage that wires them together
=================  ============================================================
"""

from __future__ import annotations

from corral.targets.location import S3Location, S3Options, is_remote

__all__ = ["S3Location", "S3Options", "is_remote"]
