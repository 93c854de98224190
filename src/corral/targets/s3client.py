"""Which S3 client a publish uses, and :class:`~corral.targets.store.ObjectStore` over boto3.

:func:`open_store` picks corral's own client (``s3http.py``) when the settings are ones it
reads itself (``awschain.py``: static keys from the environment or a profile), and boto3
(the ``corral[s3]`` extra) for the rest of the AWS chain: SSO, roles, ``credential_process``,
container and instance credentials. With boto3, endpoint, region and credentials come
from botocore's chain, unless the ``endpoint_url`` key or the ``s3`` table says otherwise.
Retries (5xx, 429/SlowDown, timeouts, dropped connections) are botocore's "standard" mode:
exponential backoff with full jitter, up to ``s3.max_attempts`` attempts. Every failure
becomes a :class:`~corral.errors.TargetError` naming what to fix.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.errors import ConfigError, TargetError
from corral.targets.s3errors import CREDENTIALS_HINT, Where
from corral.targets.store import Fetched, Headers, Listed, ObjectStore, PreconditionFailed

if TYPE_CHECKING:
    from corral.targets.location import S3Location, S3Options

__all__ = ["Boto3Store", "open_botocore_store", "open_store"]

_DELETE_BATCH = 1000  # DeleteObjects' limit


def open_store(location: S3Location, options: S3Options) -> ObjectStore:
    """A store for ``location``: corral's own client (``s3http.py``) when it can read the
    settings itself, else botocore's; ``s3.client = "botocore"`` always picks botocore."""
    from corral.targets.awschain import NeedsBotocore, resolve  # noqa: PLC0415

    if options.client != "botocore":
        try:
            settings = resolve(options, location.bucket)
        except NeedsBotocore as why:
            reason: str | None = str(why)
        else:
            from corral.targets.s3http import HttpStore  # noqa: PLC0415

            return HttpStore(settings, location, options)
    else:
        reason = None
    return open_botocore_store(location, options, reason)


def open_botocore_store(
    location: S3Location, options: S3Options, reason: str | None = None
) -> Boto3Store:
    """A store over boto3, or a clear error when boto3 is not installed."""
    try:
        import boto3  # noqa: PLC0415 - optional, imported only when needed
        from botocore.config import Config as BotoConfig  # noqa: PLC0415
        from botocore.exceptions import BotoCoreError  # noqa: PLC0415
    except ImportError:
        why = f" ({reason})" if reason else " ('s3.client' is \"botocore\")"
        raise ConfigError(
            f"these AWS settings need boto3{why}, which is not installed; corral reads only "
            "static keys (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or a profile's keys in "
            "~/.aws/credentials) without it",
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
        self._where = Where(location.url, location.bucket, self.endpoint, options.max_attempts)

    @property
    def endpoint(self) -> str:
        return str(self._client.meta.endpoint_url)

    def close(self) -> None:
        self._client.close()

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
        return self._where.refused(action, key, code, status)


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
                hint=CREDENTIALS_HINT,
            ) from None
        if isinstance(exc, e.ResponseParserError):
            raise store._where.not_s3(self.action, self.key) from None
        if isinstance(exc, e.EndpointConnectionError | e.ConnectionClosedError):
            raise store._where.unreachable(self.action, self.key, str(exc)) from None
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
