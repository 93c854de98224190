"""The standard AWS settings chain, read without botocore: credentials, region, endpoint.

What corral's own S3 client (``s3http.py``) needs, found where the AWS CLI and SDKs look:

- **credentials**: ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (/ ``AWS_SESSION_TOKEN``)
  unless a profile is named in the ``s3`` table; else the profile's static keys in
  ``~/.aws/credentials`` (``AWS_SHARED_CREDENTIALS_FILE``), then in ``~/.aws/config``
  (``AWS_CONFIG_FILE``). The profile is ``s3.profile``, ``AWS_PROFILE``,
  ``AWS_DEFAULT_PROFILE`` or ``default``.
- **region**: ``s3.region``, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile's
  ``region``, else ``us-east-1``.
- **endpoint**: ``endpoint_url`` in ``[tool.corral]``, ``AWS_ENDPOINT_URL_S3``,
  ``AWS_ENDPOINT_URL``, the profile's ``services`` section (``s3 = endpoint_url = …``) or
  ``endpoint_url``, else AWS S3 in the region.

Anything else — SSO, assumed roles, ``credential_process``, web identity, container or
instance-metadata credentials, FIPS or dual-stack endpoints — raises :class:`NeedsBotocore`,
and the caller uses botocore, which implements all of it (``corral[s3]``).
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from corral.errors import ConfigError
from corral.targets.location import S3Options

__all__ = ["Credentials", "NeedsBotocore", "Resolved", "resolve"]

#: Profile keys whose credentials only botocore can produce, and which it prefers to the
#: credentials file's static keys.
_BEFORE_FILES = (
    "role_arn",
    "source_profile",
    "credential_source",
    "web_identity_token_file",
    "login_session",
)
_TRUE = ("true", "1", "yes")
_IP = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\])$")
_DNS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


class NeedsBotocore(Exception):
    """These settings use a part of the AWS chain corral does not read itself."""


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None


@dataclass(frozen=True, slots=True)
class Resolved:
    """Where and as whom to send requests for one bucket."""

    credentials: Credentials
    region: str
    #: scheme://host[:port][/path] of the service, without the bucket.
    endpoint: str
    #: True when the endpoint is AWS S3's own (chosen from the region, not configured).
    aws: bool
    #: "path" (``/bucket/key``) or "virtual" (``bucket.host/key``).
    addressing: str
    #: Where the credentials came from, for messages: "environment" or "profile NAME".
    source: str
    #: A CA bundle to verify TLS with (``AWS_CA_BUNDLE`` or the profile's ``ca_bundle``).
    ca_bundle: str | None = None


def resolve(options: S3Options, bucket: str, environ: Mapping[str, str] | None = None) -> Resolved:
    """The settings for ``bucket``, or :class:`NeedsBotocore` saying what needs botocore."""
    env = os.environ if environ is None else environ
    for name in ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"):
        if env.get(name, "").lower() in _TRUE:
            raise NeedsBotocore(name)
    explicit = options.profile
    name = explicit or env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "default"
    config = _read(env.get("AWS_CONFIG_FILE") or "~/.aws/config")
    shared = _read(env.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials")
    heading = "default" if name == "default" else f"profile {name}"
    if name == "default" and not config.has_section(heading):
        heading = "profile default"
    profile, keys = _section(config, heading), _section(shared, name)
    if name != "default" and not config.has_section(heading) and not shared.has_section(name):
        raise NeedsBotocore(f"profile {name!r} not found")  # botocore's error says it best
    for key in ("use_fips_endpoint", "use_dualstack_endpoint"):
        if profile.get(key, "").lower() in _TRUE:
            raise NeedsBotocore(key)

    credentials, source = _credentials(env, explicit, name, profile, keys)
    region = (
        options.region
        or env.get("AWS_REGION")
        or env.get("AWS_DEFAULT_REGION")
        or profile.get("region")
        or "us-east-1"
    )
    endpoint = options.endpoint_url or _configured_endpoint(env, profile, config)
    aws = endpoint is None
    if endpoint is None:
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        endpoint = f"https://s3.{region}.{suffix}"
    endpoint = endpoint.rstrip("/")
    if not re.match(r"^https?://[^/]+", endpoint):
        raise ConfigError(
            f"the S3 endpoint {endpoint!r} is not an http:// or https:// URL",
            hint="fix 'endpoint_url' in [tool.corral], AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL",
            key="endpoint_url",
        )
    style = options.addressing_style
    if style == "auto":
        style = _nested(profile.get("s3", "")).get("addressing_style", "auto")
    if style not in ("path", "virtual"):
        host = urlsplit(endpoint).hostname or ""
        secure_dots = "." in bucket and endpoint.startswith("https:")
        virtual_ok = _DNS_BUCKET.match(bucket.replace(".", "-")) and not secure_dots
        style = "virtual" if virtual_ok and not _IP.match(host) and host != "localhost" else "path"
    return Resolved(
        credentials,
        region,
        endpoint,
        aws,
        style,
        source,
        env.get("AWS_CA_BUNDLE") or profile.get("ca_bundle") or None,
    )


def _credentials(
    env: Mapping[str, str],
    explicit: str | None,
    name: str,
    profile: Mapping[str, str],
    keys: Mapping[str, str],
) -> tuple[Credentials, str]:
    access, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if not explicit and (access or secret):
        if not (access and secret):
            missing = "AWS_SECRET_ACCESS_KEY" if access else "AWS_ACCESS_KEY_ID"
            present = "AWS_ACCESS_KEY_ID" if access else "AWS_SECRET_ACCESS_KEY"
            raise ConfigError(
                f"{present} is set but {missing} is not",
                hint=f"set {missing} as well, or unset {present} to use a profile",
                key=missing,
            )
        token = env.get("AWS_SESSION_TOKEN") or env.get("AWS_SECURITY_TOKEN") or None
        return Credentials(access, secret, token), "environment"
    # botocore's order: assumed roles, web identity and SSO before the credentials file,
    # credential_process after it, then the config file's keys.
    merged = {**profile, **keys}
    found = [k for k in _BEFORE_FILES if k in merged] + [k for k in merged if k[:4] == "sso_"]
    if found:
        raise NeedsBotocore(f"profile {name!r} uses {found[0]}")
    if env.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
        raise NeedsBotocore("AWS_WEB_IDENTITY_TOKEN_FILE")
    for where, section in (("credentials", keys), ("config", profile)):
        access, secret = section.get("aws_access_key_id"), section.get("aws_secret_access_key")
        if access and secret:
            token = section.get("aws_session_token") or section.get("aws_security_token")
            return Credentials(access, secret, token or None), f"profile {name} ({where} file)"
        if "credential_process" in merged:
            raise NeedsBotocore(f"profile {name!r} uses credential_process")
    # No static keys anywhere: container or instance-metadata credentials, or none at all;
    # botocore knows both, and says precisely what is missing.
    raise NeedsBotocore("no static credentials")


def _configured_endpoint(
    env: Mapping[str, str], profile: Mapping[str, str], config: configparser.RawConfigParser
) -> str | None:
    ignore = env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") or profile.get(
        "ignore_configured_endpoint_urls", ""
    )
    if ignore.lower() in _TRUE:
        return None
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        if env.get(name):
            return env[name]
    services = profile.get("services")
    if services:
        nested = _nested(_section(config, f"services {services}").get("s3", ""))
        if nested.get("endpoint_url"):
            return nested["endpoint_url"]
    return profile.get("endpoint_url") or None


def _read(path: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read(Path(path).expanduser(), encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"can't read the AWS configuration {path}: {exc}",
            hint="fix the file, or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE elsewhere",
            key="AWS_CONFIG_FILE",
        ) from None
    return parser


def _section(parser: configparser.RawConfigParser, name: str) -> dict[str, str]:
    if not parser.has_section(name):
        return {}
    return {k.strip(): v.strip() for k, v in parser.items(name)}


def _nested(value: str) -> dict[str, str]:
    """A nested setting (``s3 =`` then indented ``key = value`` lines) as a dict."""
    found: dict[str, str] = {}
    for line in value.splitlines():
        key, sep, item = line.partition("=")
        if sep:
            found[key.strip()] = item.strip()
    return found
