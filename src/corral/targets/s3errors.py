"""What an S3 failure means for the user: one :class:`~corral.errors.TargetError` per kind,
naming the setting to fix. Shared by both clients (``s3http.py`` and ``s3client.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from corral.errors import TargetError

__all__ = [
    "CREDENTIALS_HINT",
    "ENDPOINT_HINT",
    "RETRYABLE_CODES",
    "RETRYABLE_STATUS",
    "Where",
]

CREDENTIALS_HINT = (
    "check the credentials corral found: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
    "(or AWS_PROFILE / the 's3.profile' key, and ~/.aws/credentials)"
)
ENDPOINT_HINT = (
    "set 'endpoint_url' in [tool.corral] or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL to the "
    "S3 API endpoint of your service (e.g. https://<account>.r2.cloudflarestorage.com)"
)
CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "TokenRefreshRequired",
        "InvalidSecurity",
        "InvalidClientTokenId",
    }
)
_REGION_CODES = frozenset(
    {"PermanentRedirect", "AuthorizationHeaderMalformed", "IncorrectEndpoint", "Redirect"}
)
RETRYABLE_STATUS = frozenset({500, 502, 503, 504, 429})
RETRYABLE_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
    }
)
_PERMISSION = {
    "list": "s3:ListBucket",
    "get": "s3:GetObject",
    "put": "s3:PutObject",
    "delete": "s3:DeleteObject",
}
_VERB = {"list": "list", "get": "read", "put": "write", "delete": "delete"}


@dataclass(frozen=True, slots=True)
class Where:
    """The bucket and service a store talks to, for messages."""

    url: str  # s3://bucket/prefix
    bucket: str
    endpoint: str
    max_attempts: int

    def refused(self, action: str, key: str, code: str, status: int) -> TargetError:
        """The service answered ``status``/``code`` to ``action`` on ``key`` (for good)."""
        where = f"{self.url} (endpoint {self.endpoint})"
        what = _VERB[action]
        if code in CREDENTIAL_CODES:
            return TargetError(
                f"{where} refused the credentials ({code}) when corral tried to {what} {key}",
                path=self.url,
                hint=CREDENTIALS_HINT,
            )
        if code in _REGION_CODES or status == 301:
            return TargetError(
                f"{where} says bucket {self.bucket!r} is in another region ({code or status}) "
                f"when corral tried to {what} {key}",
                path=self.url,
                hint="set AWS_REGION (or AWS_DEFAULT_REGION, the profile's region, 's3.region') "
                "to the bucket's region, or fix 'endpoint_url' / AWS_ENDPOINT_URL_S3",
            )
        if code == "NoSuchBucket":
            return TargetError(
                f"bucket {self.bucket!r} does not exist at {self.endpoint}",
                path=self.url,
                hint="create the bucket, or fix the bucket name in 'target' (s3://BUCKET/PREFIX) "
                "or the endpoint ('endpoint_url' / AWS_ENDPOINT_URL_S3)",
            )
        if code in ("AccessDenied", "AllAccessDisabled", "Forbidden") or status == 403:
            return TargetError(
                f"{where} denied permission to {what} {key} ({code or status})",
                path=self.url,
                hint=f"grant {_PERMISSION[action]} on the bucket to the credentials in use "
                "(AWS_ACCESS_KEY_ID / AWS_PROFILE), or use credentials that have it",
            )
        if status in RETRYABLE_STATUS or code in RETRYABLE_CODES:
            return TargetError(
                f"{where} kept failing to {what} {key} ({code or status}) after "
                f"{self.max_attempts} attempts with backoff",
                path=self.url,
                hint="the service is overloaded or failing: run again later (the next run "
                "resumes), or raise 's3.max_attempts'",
            )
        return TargetError(
            f"{where} answered {status} {code} to a request to {what} {key}; "
            "it may not be an S3 API endpoint",
            path=self.url,
            hint=ENDPOINT_HINT,
        )

    def not_s3(self, action: str, key: str) -> TargetError:
        return TargetError(
            f"{self.endpoint} did not answer like an S3 service when corral tried to "
            f"{_VERB[action]} {key}",
            path=self.url,
            hint=ENDPOINT_HINT,
        )

    def unreachable(self, action: str, key: str, detail: str) -> TargetError:
        return TargetError(
            f"can't reach {self.endpoint} to {_VERB[action]} {key} after "
            f"{self.max_attempts} attempts: {detail}",
            path=self.url,
            hint=ENDPOINT_HINT + "; or run again once the network is back (the next run resumes)",
        )
