"""SigV4 signing against the worked examples of AWS's S3 documentation ("Signature
Calculations for the Authorization Header": GET Object, PUT Object, GET Bucket)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from corral.targets.awschain import Credentials
from corral.targets.sigv4 import EMPTY_SHA256, Unsigned, quote_path, quote_query, sign

EXAMPLE = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
WHEN = datetime(2013, 5, 24, tzinfo=UTC)
HOST = "examplebucket.s3.amazonaws.com"


def _signature(headers: dict[str, str]) -> str:
    return headers["authorization"].rpartition("Signature=")[2]


def test_get_object_example() -> None:
    request = Unsigned("GET", "/test.txt", "", {"host": HOST, "range": "bytes=0-9"}, EMPTY_SHA256)
    headers = sign(request, EXAMPLE, "us-east-1", WHEN)
    assert "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date," in headers["authorization"]
    assert _signature(headers) == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    assert headers["x-amz-date"] == "20130524T000000Z"


def test_put_object_example_with_an_encoded_key() -> None:
    body = b"Welcome to Amazon S3."
    request = Unsigned(
        "PUT",
        quote_path("/test$file.text"),
        "",
        {
            "host": HOST,
            "date": "Fri, 24 May 2013 00:00:00 GMT",
            "x-amz-storage-class": "REDUCED_REDUNDANCY",
        },
        hashlib.sha256(body).hexdigest(),
    )
    headers = sign(request, EXAMPLE, "us-east-1", WHEN)
    assert _signature(headers) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"


def test_list_bucket_example_with_a_sorted_query() -> None:
    query = quote_query([("prefix", "J"), ("max-keys", "2")])
    assert query == "max-keys=2&prefix=J"
    request = Unsigned("GET", "/", query, {"host": HOST}, EMPTY_SHA256)
    headers = sign(request, EXAMPLE, "us-east-1", WHEN)
    assert _signature(headers) == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"


def test_a_session_token_is_sent_and_signed() -> None:
    temporary = Credentials(EXAMPLE.access_key, EXAMPLE.secret_key, "TOKEN")
    root = Unsigned("GET", "/", "", {"host": HOST}, EMPTY_SHA256)
    headers = sign(root, temporary, "eu-west-1", WHEN)
    assert headers["x-amz-security-token"] == "TOKEN"
    assert "x-amz-security-token" in headers["authorization"]
    assert "/eu-west-1/s3/aws4_request" in headers["authorization"]
    assert _signature(headers) != _signature(sign(root, EXAMPLE, "eu-west-1", WHEN))


def test_keys_are_encoded_once_and_queries_strictly() -> None:
    assert quote_path("/b/css/a b+c~d.css") == "/b/css/a%20b%2Bc~d.css"
    assert quote_query([("prefix", "static/a b"), ("delete", "")]) == (
        "delete=&prefix=static%2Fa%20b"
    )
