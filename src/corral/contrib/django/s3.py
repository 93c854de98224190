"""``CorralS3Storage``: ``collectstatic`` publishes to S3-compatible object storage.

Configured like django-storages' ``S3ManifestStaticStorage`` (same option names)::

    STORAGES = {"staticfiles": {
        "BACKEND": "corral.contrib.django.s3.CorralS3Storage",
        "OPTIONS": {"bucket_name": "my-bucket", "location": "static",
                    "custom_domain": "cdn.example.com",       # {% static %} URLs
                    "endpoint_url": None, "region_name": None,  # else the AWS chain
                    "keep": 2, "s3": {"concurrency": 16}},
    }}

``manage.py collectstatic`` builds the release in corral's private build directory (the
storage's file system ``location``) and publishes it to ``s3://BUCKET/LOCATION`` (see
``docs/object-storage.md``). ``{% static %}`` returns ``https://CUSTOM_DOMAIN/LOCATION/``
(or ``STATIC_URL``) plus the hashed name from ``staticfiles.json``, read once per process:
from the build directory on the machine that built it, else from the bucket.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from corral.contrib.django.storage import CorralStorage
from corral.errors import ConfigError

__all__ = ["CorralS3Storage"]

_S3_OPTIONS = (
    "bucket_name",
    "location",
    "custom_domain",
    "endpoint_url",
    "region_name",
    "url_protocol",
    "s3",
)


class CorralS3Storage(CorralStorage):
    """corral's pipeline, published to ``s3://bucket_name/location``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from django.conf import settings  # noqa: PLC0415

        from corral.targets.location import S3Location, build_dir  # noqa: PLC0415

        s3 = {k: kwargs.pop(k) for k in _S3_OPTIONS if k in kwargs}
        bucket = s3.get("bucket_name") or getattr(settings, "AWS_STORAGE_BUCKET_NAME", None)
        if not bucket:
            raise ConfigError(
                "CorralS3Storage needs a bucket",
                hint='set "bucket_name" in STORAGES["staticfiles"]["OPTIONS"]',
                key="bucket_name",
            )
        prefix = str(s3.get("location", getattr(settings, "AWS_LOCATION", "")) or "").strip("/")
        self.target = S3Location.parse(
            f"s3://{bucket}/{prefix}", origin='STORAGES["staticfiles"]["OPTIONS"]'
        )
        domain = s3.get("custom_domain") or getattr(settings, "AWS_S3_CUSTOM_DOMAIN", None)
        if domain and "base_url" not in kwargs:
            protocol = s3.get("url_protocol", "https:")
            path = f"{prefix}/" if prefix else ""
            kwargs["base_url"] = f"{protocol}//{domain}/{path}"
        kwargs["location"] = str(build_dir(self.target.url) / "root")
        options = dict(s3.get("s3") or {})
        if s3.get("region_name"):
            options["region"] = s3["region_name"]
        # Set before Django's __init__, which reads the manifest.
        self.remote_options: dict[str, Any] = {
            "target": self.target.url,
            "endpoint_url": s3.get("endpoint_url")
            or getattr(settings, "AWS_S3_ENDPOINT_URL", None),
            "s3": options,
        }
        super().__init__(*args, **kwargs)
        self.corral_options = {**self.corral_options, **self.remote_options}

    def read_manifest(self) -> str | None:
        """``staticfiles.json``: the local build's, else the bucket's (one GET)."""
        local = Path(self.path(self.manifest_name))
        if local.is_file():
            return local.read_text(encoding="utf-8")
        from corral.config import Config  # noqa: PLC0415
        from corral.targets.s3client import open_store  # noqa: PLC0415

        config = Config(root=Path(self.location), **self.remote_options)
        store = open_store(self.target, config.s3_options())
        try:
            fetched = store.get(self.target.key(self.manifest_name))
        finally:
            store.close()
        return fetched.body.decode("utf-8") if fetched is not None else None
