""":class:`~corral.targets.store.ObjectStore` over ``http.client``: corral's own S3 client.

Importing botocore and creating a client took most of a no-change publish (see
``docs/decisions.md``); the five operations corral needs — ListObjectsV2, GetObject,
PutObject (single and multipart), DeleteObjects — are a few requests each, signed with
SigV4 (``sigv4.py``). Connections are kept alive in a small pool shared by the upload
threads. Retries: 5xx, 429, SlowDown/Throttling/RequestTimeout, timeouts and dropped
connections, with exponential backoff and full jitter, up to ``s3.max_attempts`` attempts
(a connection the server closed while idle is replaced without costing an attempt).
Settings come from ``awschain.py``; the caller falls back to botocore for the parts of the
AWS chain it does not read.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import queue
import random
import ssl
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote_plus, urlsplit
from xml.sax.saxutils import escape

from corral import __version__
from corral.digest import file_sha256
from corral.targets.awschain import Resolved
from corral.targets.location import S3Location, S3Options
from corral.targets.s3errors import RETRYABLE_CODES, RETRYABLE_STATUS, Where
from corral.targets.sigv4 import EMPTY_SHA256, Unsigned, quote_path, quote_query, sign
from corral.targets.store import Fetched, Headers, Listed, PreconditionFailed

__all__ = ["HttpStore"]

_DELETE_BATCH = 1000  # DeleteObjects' limit
_BLOCK = 256 * 1024  # bytes per send() of a streamed body
_USER_AGENT = f"corral/{__version__}"


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def code(self) -> str:
        """The S3 error code of an error response ("" when the body is not S3's XML)."""
        root = _xml(self.body)
        if root is None:
            return ""
        if _local(root.tag) != "Error":
            return ""
        return _text(root, "Code")


@dataclass(frozen=True, slots=True)
class _Call:
    """One S3 request to make: what, on which key, and what counts as an answer."""

    method: str
    key: str | None  # None: the bucket itself
    query: Sequence[tuple[str, str]]
    fields: dict[str, str] | None = None  # headers to send (and sign)
    body: bytes | Path | None = None
    payload_sha256: str = EMPTY_SHA256
    action: str = "get"  # for messages: list, get, put, delete
    what: str = ""  # the key or prefix, for messages
    accept: tuple[int, ...] = (200,)
    attempts: int | None = None  # None: s3.max_attempts


class _Moved(Exception):
    """AWS answered that the bucket is in another region (now aimed at it)."""


class _Retry(Exception):
    """A transient failure; ``detail`` says what, ``code``/``status`` when answered."""

    def __init__(self, detail: str, status: int = 0, code: str = "") -> None:
        super().__init__(detail)
        self.status, self.code = status, code


class HttpStore:
    """One bucket over pooled HTTP(S) connections; safe to share between threads."""

    def __init__(self, settings: Resolved, location: S3Location, options: S3Options) -> None:
        self._settings = settings
        self._bucket = location.bucket
        self._url = location.url
        self._options = options
        self._aim(settings.endpoint, settings.region)
        self._idle: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue()
        self._pool_size = options.concurrency + 4
        self._context: ssl.SSLContext | None = None
        if self._secure or settings.aws:
            self._context = ssl.create_default_context(cafile=settings.ca_bundle)

    def _aim(self, endpoint: str, region: str) -> None:
        """Send requests to ``endpoint``, signed for ``region``."""
        parts = urlsplit(endpoint)
        self._endpoint, self._region = endpoint, region
        self._secure = parts.scheme == "https"
        host = parts.hostname or ""
        self._port = parts.port or (443 if self._secure else 80)
        default_port = self._port == (443 if self._secure else 80)
        if self._settings.addressing == "virtual":
            self._host, self._base = f"{self._bucket}.{host}", parts.path.rstrip("/")
        else:
            self._host, self._base = host, f"{parts.path.rstrip('/')}/{self._bucket}"
        self._host_header = self._host if default_port else f"{self._host}:{self._port}"
        self._where = Where(self._url, self._bucket, endpoint, self._options.max_attempts)

    def _move(self, region: str) -> None:
        """AWS says the bucket lives in ``region``: follow it (as botocore does)."""
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        self._aim(f"https://s3.{region}.{suffix}", region)
        self.close()  # connections to the old host

    @property
    def endpoint(self) -> str:
        return self._endpoint

    def close(self) -> None:
        """Close the idle connections (the store stays usable: it reconnects)."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    # --- the ObjectStore calls -----------------------------------------------------------

    def list(self, prefix: str) -> Iterator[Listed]:
        token: str | None = None
        while True:
            query = [("list-type", "2"), ("prefix", prefix), ("encoding-type", "url")]
            if token:
                query.append(("continuation-token", token))
            response = self._request(_Call("GET", None, query, action="list", what=prefix or "/"))
            root = _xml(response.body)
            if root is None or _local(root.tag) != "ListBucketResult":
                raise self._where.not_s3("list", prefix or "/")
            decode = _text(root, "EncodingType") == "url"
            for item in root:
                if _local(item.tag) != "Contents":
                    continue
                key = _text(item, "Key")
                size = _text(item, "Size")
                yield Listed(
                    unquote_plus(key) if decode else key,
                    int(size) if size.isdigit() else 0,
                    _text(item, "ETag"),
                )
            token = _text(root, "NextContinuationToken")
            if _text(root, "IsTruncated") != "true" or not token:
                return

    def get(self, key: str, *, etag: str | None = None) -> Fetched | None:
        headers = {"if-none-match": etag} if etag else {}
        response = self._request(
            _Call("GET", key, (), headers, action="get", what=key, accept=(200, 304, 404))
        )
        if response.status == 304:
            return Fetched(b"", etag or "", not_modified=True)
        if response.status == 404:
            code = response.code()
            if code == "NoSuchKey" or (not code and not response.body):
                return None
            raise self._where.refused("get", key, code, 404)
        return Fetched(response.body, response.headers.get("ETag", ""))

    def put(
        self,
        key: str,
        body: bytes | Path,
        headers: Headers,
        *,
        create_only: bool = False,
    ) -> str:
        fields = {"content-type": headers.content_type, "cache-control": headers.cache_control}
        if headers.content_encoding:
            fields["content-encoding"] = headers.content_encoding
        if headers.sha256:
            fields["x-amz-meta-sha256"] = headers.sha256
        if create_only:
            fields["if-none-match"] = "*"
        if isinstance(body, Path) and body.stat().st_size >= self._options.multipart_threshold:
            return self._multipart(key, body, fields)
        if isinstance(body, bytes):
            digest = hashlib.sha256(body).hexdigest()
        else:
            digest = headers.sha256 or file_sha256(body)
        accept = (200, 409, 412) if create_only else (200,)
        response = self._request(
            _Call("PUT", key, (), fields, body, digest, action="put", what=key, accept=accept)
        )
        if response.status in (409, 412):
            raise PreconditionFailed(key)
        return response.headers.get("ETag", "")

    def delete(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start : start + _DELETE_BATCH]
            objects = "".join(f"<Object><Key>{escape(k)}</Key></Object>" for k in batch)
            payload = f"<Delete><Quiet>true</Quiet>{objects}</Delete>".encode()
            md5 = hashlib.md5(payload, usedforsecurity=False).digest()
            fields = {
                "content-type": "application/xml",
                "content-md5": base64.b64encode(md5).decode(),
            }
            response = self._request(
                _Call(
                    "POST",
                    None,
                    [("delete", "")],
                    fields,
                    payload,
                    hashlib.sha256(payload).hexdigest(),
                    action="delete",
                    what=batch[0],
                )
            )
            root = _xml(response.body)
            if root is None or _local(root.tag) != "DeleteResult":
                raise self._where.not_s3("delete", batch[0])
            for item in root:
                if _local(item.tag) == "Error":
                    failed = _text(item, "Key") or batch[0]
                    raise self._where.refused("delete", failed, _text(item, "Code"), 403)

    # --- multipart -------------------------------------------------------------------------

    def _multipart(self, key: str, path: Path, fields: dict[str, str]) -> str:
        fields.pop("if-none-match", None)  # only small objects (the lease) are conditional
        created = self._request(
            _Call("POST", key, [("uploads", "")], fields, action="put", what=key)
        )
        root = _xml(created.body)
        upload_id = _text(root, "UploadId") if root is not None else ""
        if not upload_id:
            raise self._where.not_s3("put", key)
        parts: list[tuple[int, str]] = []
        try:
            with path.open("rb") as stream:
                number = 1
                while chunk := stream.read(self._options.part_size):
                    query = [("partNumber", str(number)), ("uploadId", upload_id)]
                    digest = hashlib.sha256(chunk).hexdigest()
                    sent = self._request(
                        _Call("PUT", key, query, {}, chunk, digest, action="put", what=key)
                    )
                    parts.append((number, sent.headers.get("ETag", "")))
                    number += 1
            listing = "".join(
                f"<Part><PartNumber>{n}</PartNumber><ETag>{escape(e)}</ETag></Part>"
                for n, e in parts
            )
            payload = f"<CompleteMultipartUpload>{listing}</CompleteMultipartUpload>".encode()
            done = self._request(
                _Call(
                    "POST",
                    key,
                    [("uploadId", upload_id)],
                    {"content-type": "application/xml"},
                    payload,
                    hashlib.sha256(payload).hexdigest(),
                    action="put",
                    what=key,
                )
            )
            root = _xml(done.body)
            if root is None or _local(root.tag) != "CompleteMultipartUploadResult":
                code = _text(root, "Code") if root is not None else ""
                raise self._where.refused("put", key, code, 500 if code else 0)
            return _text(root, "ETag")
        except BaseException:
            with contextlib.suppress(Exception):  # the first error is the one to report
                self._request(
                    _Call(
                        "DELETE",
                        key,
                        [("uploadId", upload_id)],
                        action="put",
                        what=key,
                        accept=(200, 204, 404),
                        attempts=1,
                    )
                )
            raise

    # --- requests --------------------------------------------------------------------------

    def _request(self, call: _Call) -> _Response:
        """Send one S3 request, retrying transient failures; raise a TargetError otherwise."""
        key = call.key
        path = quote_path(f"{self._base}/{key}" if key is not None else self._base or "/")
        encoded = quote_query(call.query)
        limit = call.attempts or self._options.max_attempts
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._once(call, path, encoded)
            except _Moved as moved:
                if attempt > 1:  # moved twice: something else is wrong
                    raise self._where.refused(call.action, call.what, str(moved), 301) from None
                path = quote_path(f"{self._base}/{key}" if key is not None else self._base or "/")
                continue  # the bucket's own region, at once
            except _Retry as failure:
                if attempt >= limit:
                    if failure.status:
                        raise self._where.refused(
                            call.action, call.what, failure.code, failure.status
                        ) from None
                    raise self._where.unreachable(call.action, call.what, str(failure)) from None
                # Exponential backoff with full jitter (0.5 s, 1 s, 2 s ... at most 20 s).
                time.sleep(random.uniform(0, min(20.0, 0.5 * 2 ** (attempt - 1))))

    def _once(self, call: _Call, path: str, query: str) -> _Response:
        method, body, action, what = call.method, call.body, call.action, call.what
        length = len(body) if isinstance(body, bytes) else body.stat().st_size if body else 0
        fields = {"host": self._host_header, **(call.fields or {})}
        headers = sign(
            Unsigned(method, path, query, fields, call.payload_sha256),
            self._settings.credentials,
            self._region,
        )
        headers["content-length"] = str(length)
        headers["user-agent"] = _USER_AGENT
        target = f"{path}?{query}" if query else path
        for fresh in (False, True):
            connection, reused = self._connection(fresh)
            try:
                stream: BinaryIO | None = None
                try:
                    payload: bytes | BinaryIO | None
                    if isinstance(body, Path):
                        payload = stream = body.open("rb")
                    else:
                        payload = body
                    connection.request(method, target, body=payload, headers=headers)
                    answer = connection.getresponse()
                    data = answer.read()
                finally:
                    if stream is not None:
                        stream.close()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                if reused and not fresh and not isinstance(exc, TimeoutError):
                    continue  # the server closed an idle connection: once more, on a new one
                raise _Retry(f"{type(exc).__name__}: {exc}") from None
            self._keep(connection, answer)
            response = _Response(answer.status, answer.headers, data)
            moved = answer.headers.get("x-amz-bucket-region")
            if moved and moved != self._region and self._settings.aws and answer.status != 200:
                self._move(moved)
                raise _Moved(moved)
            if response.status in call.accept:
                return response
            code = response.code()
            if response.status in RETRYABLE_STATUS or code in RETRYABLE_CODES:
                raise _Retry(f"{response.status} {code}", response.status, code)
            raise self._where.refused(action, what, code, response.status)
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self, fresh: bool) -> tuple[http.client.HTTPConnection, bool]:
        if not fresh:
            try:
                return self._idle.get_nowait(), True
            except queue.Empty:
                pass
        timeout = self._options.connect_timeout
        connection: _HTTPConnection | _HTTPSConnection
        if self._secure:
            connection = _HTTPSConnection(
                self._host, self._port, timeout=timeout, context=self._context, blocksize=_BLOCK
            )
        else:
            connection = _HTTPConnection(self._host, self._port, timeout=timeout, blocksize=_BLOCK)
        connection.read_timeout = self._options.read_timeout
        return connection, False

    def _keep(
        self, connection: http.client.HTTPConnection, answer: http.client.HTTPResponse
    ) -> None:
        if answer.will_close or self._idle.qsize() >= self._pool_size:
            connection.close()
        else:
            self._idle.put(connection)


class _HTTPConnection(http.client.HTTPConnection):
    """Connects within the connect timeout, then waits for answers up to the read timeout."""

    read_timeout: float = 60.0

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self.read_timeout)


class _HTTPSConnection(http.client.HTTPSConnection):
    read_timeout: float = 60.0

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self.read_timeout)


def _xml(body: bytes) -> ET.Element | None:
    if not body.lstrip().startswith(b"<"):
        return None
    try:
        return ET.fromstring(body)  # the S3 service's answer
    except ET.ParseError:
        return None


def _local(tag: str) -> str:
    """A tag without its XML namespace."""
    return tag.rpartition("}")[2]


def _text(element: ET.Element, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return child.text or ""
    return ""
