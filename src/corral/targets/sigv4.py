"""AWS Signature Version 4 for S3 requests (header signing), with hashlib and hmac.

The payload hash is always the real sha256 of the body: corral knows it already for every
file it uploads (the release's digests), so no body is read twice and no request is sent
with ``UNSIGNED-PAYLOAD``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import quote

from corral.targets.awschain import Credentials

__all__ = ["EMPTY_SHA256", "Unsigned", "quote_path", "quote_query", "sign"]

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_ALGORITHM = "AWS4-HMAC-SHA256"


def quote_path(path: str) -> str:
    """A path as S3 wants it on the wire and in the canonical request (encoded once)."""
    return quote(path, safe="/~")


def quote_query(query: Sequence[tuple[str, str]]) -> str:
    """The canonical (sorted, strictly encoded) query string, also sent as is."""
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in query)
    return "&".join(f"{k}={v}" for k, v in pairs)


class Unsigned(NamedTuple):
    """A request to sign; ``path`` and ``query`` already encoded (:func:`quote_path`,
    :func:`quote_query`), ``headers`` including ``host``."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    payload_sha256: str


def sign(
    request: Unsigned, credentials: Credentials, region: str, now: datetime | None = None
) -> dict[str, str]:
    """The request's headers plus ``x-amz-date``, ``x-amz-content-sha256``, the token and
    ``Authorization``; every header given (``host`` included) is signed."""
    method, path, query, headers, payload_sha256 = request
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    signed = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    signed["x-amz-date"] = stamp
    signed["x-amz-content-sha256"] = payload_sha256
    if credentials.token:
        signed["x-amz-security-token"] = credentials.token
    names = sorted(signed)
    canonical = "\n".join(
        [
            method,
            path,
            query,
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            payload_sha256,
        ]
    )
    scope = f"{stamp[:8]}/{region}/s3/aws4_request"
    to_sign = "\n".join([_ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + credentials.secret_key).encode()
    for part in (stamp[:8], region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    signed["authorization"] = (
        f"{_ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return signed
