"""How SeaweedFS's ``weed mini`` is started on loopback, for the tests and the benchmark.

One place for its command line: telemetry, WebDAV, the admin UI and the Iceberg/Lance
ports off, every other port chosen by the caller (free ports on 127.0.0.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["WEED_PORTS", "weed_args"]

#: The ports ``weed mini`` listens on, each given on the command line; the S3 port first.
WEED_PORTS = (
    "s3.port",
    "s3.port.grpc",
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "admin.port",
    "metricsPort",
)


def weed_args(data: Path, identities: Path, ports: Sequence[int]) -> list[str]:
    """``weed``'s arguments: data in ``data``, S3 identities from ``identities``, and one
    port per name of :data:`WEED_PORTS` (the metrics port last)."""
    return [
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
        f"-s3.config={identities}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        *(f"-{name}={port}" for name, port in zip(WEED_PORTS, ports, strict=True)),
    ]
