""":class:`~corral.targets.store.ObjectStore` over boto3 (the ``corral[s3]`` extra).

Endpoint, region and credentials come from the standard AWS chain (``AWS_ENDPOINT_URL_S3``,
``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_DEFAULT_REGION``, ``AWS_PROFILE`` and ``~/.aws/config``), unless the ``endpoint_url``
key or the ``s3`` table says otherwise. Retries (5xx, 429/SlowDown, timeouts, dropped
connections) are botocore's "standard" mode: exponential backoff with full jitter, up to
``s3.max_attempts`` attempts. Every failure becomes a :class:`~corral.errors.TargetError`
naming what to fix.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.errors import ConfigError, TargetError
from corral.targets.store import Fetched, Headers, Listed, PreconditionFailed

if TYPE_CHECKING:
    from corral.targets.location import S3Location, S3Options

__all__ = ["Boto3Store", "open_store"]

_DELETE_BATCH = 1000  # DeleteObjects' limit
_CREDENTIALS_HINT = (
    "check the credentials corral found: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
    "(or AWS_PROFILE / the 's3.profile' key, and ~/.aws/credentials)"
)
_ENDPOINT_HINT = (
    "set 'endpoint_url' in [tool.corral] or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL to the "
    "S3 API endpoint of your service (e.g. https://<account>.r2.cloudflarestorage.com)"
)
_CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "TokenRefreshRequired",
        "AuthorizationHeaderMalformed",
        "InvalidSecurity",
    }
)
_PERMISSION = {
    "list": "s3:ListBucket",
    "get": "s3:GetObject",
    "put": "s3:PutObject",
    "delete": "s3:DeleteObject",
}


def open_store(location: S3Location, options: S3Options) -> Boto3Store:
    """A store for ``location``, or a clear error when boto3 is not installed."""
    try:
        import boto3  # noqa: PLC0415 - optional, imported only for a remote target
        from botocore.config import Config as BotoConfig  # noqa: PLC0415
        from botocore.exceptions import BotoCoreError  # noqa: PLC0415
    except ImportError:
        raise ConfigError(
            "publishing to s3:// needs boto3, which is not installed",
            hint="install corral with the S3 extra: python -m pip install 'corral[s3]'",
            key="target",
        ) from None
    config = BotoConfig(
        retries={"mode": "standard", "max_attempts": options.max_attempts},
        max_pool_connections=options.concurrency + 4,
        connect_timeout=options.connect_timeout,
        read_timeout=options.read_timeout,
        s3={"addressing_style": options.addressing_style},
        # No CRC32 trailer: it reads every body twice and some S3-compatibles refuse it.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    try:
        session = boto3.session.Session(profile_name=options.profile, region_name=options.region)
        client = session.client("s3", endpoint_url=options.endpoint_url, config=config)
    except BotoCoreError as exc:
        raise ConfigError(
            f"can't set up the S3 client: {exc}",
            hint="check AWS_PROFILE / 's3.profile', AWS_DEFAULT_REGION and 'endpoint_url'",
            key="target",
        ) from None
    return Boto3Store(client, location, options)


class Boto3Store:
    """One bucket through one (thread-safe) boto3 client."""

    def __init__(self, client: Any, location: S3Location, options: S3Options) -> None:
        self._client = client
        self._bucket = location.bucket
        self._url = location.url
        self._options = options

    @property
    def endpoint(self) -> str:
        return str(self._client.meta.endpoint_url)

    def list(self, prefix: str) -> Iterator[Listed]:
        paginator = self._client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self._bucket, Prefix=prefix)
        with self._errors("list", prefix or "/"):
            for page in pages:
                for item in page.get("Contents", ()):
                    yield Listed(item["Key"], int(item["Size"]), str(item.get("ETag", "")))

    def get(self, key: str, *, etag: str | None = None) -> Fetched | None:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        args: dict[str, Any] = {"Bucket": self._bucket, "Key": key}
        if etag:
            args["IfNoneMatch"] = etag
        with self._errors("get", key):
            try:
                response = self._client.get_object(**args)
            except ClientError as exc:
                code = _code(exc)
                if code in ("NoSuchKey", "404") and _status(exc) == 404:
                    return None
                if code == "304" or _status(exc) == 304:
                    return Fetched(b"", etag or "", not_modified=True)
                raise
            return Fetched(response["Body"].read(), str(response.get("ETag", "")))

    def put(
        self,
        key: str,
        body: bytes | Path,
        headers: Headers,
        *,
        create_only: bool = False,
    ) -> str:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        args: dict[str, Any] = {
            "Bucket": self._bucket,
            "Key": key,
            "ContentType": headers.content_type,
            "CacheControl": headers.cache_control,
        }
        if headers.content_encoding:
            args["ContentEncoding"] = headers.content_encoding
        if headers.sha256:
            args["Metadata"] = {"sha256": headers.sha256}
        if create_only:
            args["IfNoneMatch"] = "*"
        with self._errors("put", key):
            try:
                if isinstance(body, bytes):
                    return str(self._client.put_object(Body=body, **args)["ETag"])
                size = body.stat().st_size
                if size >= self._options.multipart_threshold:
                    return self._multipart(body, args)
                with body.open("rb") as stream:  # streamed: botocore reads it in blocks
                    return str(self._client.put_object(Body=stream, **args)["ETag"])
            except ClientError as exc:
                if _status(exc) in (409, 412) and create_only:
                    raise PreconditionFailed(key) from None
                raise

    def _multipart(self, path: Path, args: dict[str, Any]) -> str:
        upload = self._client.create_multipart_upload(**args)
        upload_id = upload["UploadId"]
        base = {"Bucket": self._bucket, "Key": args["Key"], "UploadId": upload_id}
        parts: list[dict[str, Any]] = []
        try:
            with path.open("rb") as stream:
                number = 1
                while chunk := stream.read(self._options.part_size):
                    part = self._client.upload_part(Body=chunk, PartNumber=number, **base)
                    parts.append({"ETag": part["ETag"], "PartNumber": number})
                    number += 1
            done = self._client.complete_multipart_upload(MultipartUpload={"Parts": parts}, **base)
        except BaseException:
            with contextlib.suppress(Exception):  # the first error is the one to report
                self._client.abort_multipart_upload(**base)
            raise
        return str(done["ETag"])

    def delete(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start : start + _DELETE_BATCH]
            with self._errors("delete", batch[0]):
                response = self._client.delete_objects(
                    Bucket=self._bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise self._error(
                    "delete", first.get("Key", batch[0]), first.get("Code", ""), 403, ""
                )

    # --- errors -----------------------------------------------------------------------------

    def _errors(self, action: str, key: str) -> _Translate:
        return _Translate(self, action, key)

    def _error(self, action: str, key: str, code: str, status: int, detail: str) -> TargetError:
        where = f"{self._url} (endpoint {self.endpoint})"
        what = {"list": "list", "get": "read", "put": "write", "delete": "delete"}[action]
        if code in _CREDENTIAL_CODES:
            return TargetError(
                f"{where} refused the credentials ({code}) when corral tried to {what} {key}",
                path=self._url,
                hint=_CREDENTIALS_HINT,
            )
        if code == "NoSuchBucket":
            return TargetError(
                f"bucket {self._bucket!r} does not exist at {self.endpoint}",
                path=self._url,
                hint="create the bucket, or fix the bucket name in 'target' (s3://BUCKET/PREFIX) "
                "or the endpoint ('endpoint_url' / AWS_ENDPOINT_URL_S3)",
            )
        if code in ("AccessDenied", "AllAccessDisabled", "Forbidden") or status == 403:
            return TargetError(
                f"{where} denied permission to {what} {key} ({code or status})",
                path=self._url,
                hint=f"grant {_PERMISSION[action]} on the bucket to the credentials in use "
                "(AWS_ACCESS_KEY_ID / AWS_PROFILE), or use credentials that have it",
            )
        if status >= 500 or status == 429 or code in ("SlowDown", "Throttling", "RequestTimeout"):
            return TargetError(
                f"{where} kept failing to {what} {key} ({code or status}) after "
                f"{self._options.max_attempts} attempts with backoff",
                path=self._url,
                hint="the service is overloaded or failing: run again later (the next run "
                "resumes), or raise 's3.max_attempts'",
            )
        return TargetError(
            f"{where} answered {status} {code} to a request to {what} {key}{detail}; "
            "it may not be an S3 API endpoint",
            path=self._url,
            hint=_ENDPOINT_HINT,
        )


class _Translate:
    """A context manager turning botocore's exceptions into TargetError."""

    def __init__(self, store: Boto3Store, action: str, key: str) -> None:
        self.store, self.action, self.key = store, action, key

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if exc is None or isinstance(exc, TargetError | PreconditionFailed):
            return
        from botocore import exceptions as e  # noqa: PLC0415

        store = self.store
        if isinstance(exc, e.ClientError):
            raise store._error(self.action, self.key, _code(exc), _status(exc), "") from None
        if isinstance(exc, e.NoCredentialsError | e.PartialCredentialsError):
            raise TargetError(
                f"no usable AWS credentials for {store._url}: {exc}",
                path=store._url,
                hint=_CREDENTIALS_HINT,
            ) from None
        if isinstance(exc, e.ResponseParserError):
            raise TargetError(
                f"{store.endpoint} did not answer like an S3 service when corral tried to "
                f"{self.action} {self.key}",
                path=store._url,
                hint=_ENDPOINT_HINT,
            ) from None
        if isinstance(exc, e.EndpointConnectionError | e.ConnectionClosedError):
            raise TargetError(
                f"can't reach {store.endpoint} to {self.action} {self.key} after "
                f"{store._options.max_attempts} attempts: {exc}",
                path=store._url,
                hint=_ENDPOINT_HINT + "; or run again once the network is back (the next run "
                "resumes)",
            ) from None
        if isinstance(exc, e.BotoCoreError):
            raise TargetError(
                f"S3 request to {self.action} {self.key} failed after "
                f"{store._options.max_attempts} attempts: {exc}",
                path=store._url,
                hint="run again (the next run resumes), or raise 's3.max_attempts' / "
                "'s3.read_timeout'",
            ) from None


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: Any) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
