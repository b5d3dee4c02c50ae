"""domain/adapters/signing.py makes the presigned GET URL botocore makes, byte for byte, for the same instant."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config

from domain.adapters.signing import QuerySigner

KEY_ID, SECRET = "JSC0123456789ABCDEF", "s3cr3t/with+odd=chars"


def botocore_url(endpoint: str, bucket: str, key: str, *, region: str, expires_s: int) -> str:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    url: str = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_s)
    return url


@pytest.mark.parametrize(
    ("endpoint", "bucket", "key", "region"),
    [
        ("http://127.0.0.1:46433", "jsc", "photos/5f0c/1b2d-thumb.jpg", "us-east-1"),
        ("https://files.jakarta.example", "jsc", "photos/a/b.jpg", "ap-southeast-3"),
        ("https://files.jakarta.example:8443", "jsc-photos", "exports/2026 laporan (final).csv", "us-east-1"),
        ("http://[::1]:9000", "jsc", "cctv/cam-01/snapshot~1.jpg", "us-east-1"),
        ("https://s3.jakarta.example/storage", "jsc", "photos/ü/ñ+é.jpg", "us-east-1"),
    ],
)
def test_the_url_is_botocores_for_the_same_instant(endpoint: str, bucket: str, key: str, region: str) -> None:
    theirs = botocore_url(endpoint, bucket, key, region=region, expires_s=900)
    at = datetime.strptime(parse_qs(urlsplit(theirs).query)["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    signer = QuerySigner(
        endpoint_url=endpoint, bucket=bucket, region=region, access_key_id=KEY_ID, secret_access_key=SECRET
    )

    assert signer.get_url(key, expires_s=900, now=at) == theirs
    # the day's signing key is kept: a second URL that day is still botocore's
    assert signer.get_url(key, expires_s=900, now=at) == theirs


def test_another_day_another_key_and_the_expiry_is_signed() -> None:
    signer = QuerySigner(
        endpoint_url="http://127.0.0.1:1",
        bucket="jsc",
        region="us-east-1",
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
    )
    monday = signer.get_url("k", expires_s=60, now=datetime(2026, 12, 7, 23, 59, 59, tzinfo=UTC))
    tuesday = signer.get_url("k", expires_s=60, now=datetime(2026, 12, 8, 0, 0, 0, tzinfo=UTC))
    longer = signer.get_url("k", expires_s=61, now=datetime(2026, 12, 8, 0, 0, 0, tzinfo=UTC))

    def signature(url: str) -> str:
        return parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]

    assert "%2F20261207%2F" in monday
    assert "%2F20261208%2F" in tuesday
    assert len({signature(monday), signature(tuesday), signature(longer)}) == 3


def test_an_endpoint_that_is_not_a_url_is_refused() -> None:
    with pytest.raises(ValueError, match="not an endpoint URL"):
        QuerySigner(endpoint_url="127.0.0.1:9000", bucket="jsc", region="r", access_key_id="a", secret_access_key="b")
