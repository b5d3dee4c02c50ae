"""Presigned S3 GET URLs (AWS Signature Version 4, query string) made in this thread, without boto3.

Every photo a page shows carries short-lived URLs (the image, its thumbnail): `nearbyReports` with twenty
results signs twenty, a report page three. boto3's `generate_presigned_url` costs about 0.3 ms of CPU each
(its event hooks, endpoint rules, parameter validation and serialisers run for every URL) and ran in a thread
of its own, one hop each. A SigV4 query signature is a SHA-256 of a short canonical request and one HMAC with a
key derived once a day: tens of microseconds, in the caller's thread.

Only what is known without asking anyone is signed here: static credentials and an endpoint of our own with
path-style addressing (SeaweedFS, MinIO, any S3 reached as https://host/bucket/key). Anything else (AWS's own
endpoints with virtual-host addressing, credentials from an instance role that may need refreshing) stays with
boto3. `tests/unit/test_signing.py` holds the URLs to botocore's for the same instant; the storage tests fetch
them from the real SeaweedFS.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"


def _uri(value: str, safe: str = "-_.~") -> str:
    return quote(value, safe=safe)


class QuerySigner:
    def __init__(self, *, endpoint_url: str, bucket: str, region: str, access_key_id: str, secret_access_key: str):
        parts = urlsplit(endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an endpoint URL: {endpoint_url!r}")
        self._origin = f"{parts.scheme}://{parts.netloc}"
        # The Host header as the client will send it: without the scheme's default port.
        default_port = {"http": 80, "https": 443}[parts.scheme]
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
        self._host = host if parts.port in (None, default_port) else f"{host}:{parts.port}"
        self._prefix = parts.path.rstrip("/") + "/" + _uri(bucket) + "/"
        self._region = region
        self._access_key_id = access_key_id
        self._secret = secret_access_key
        self._keys: tuple[str, bytes] | None = None  # (the day, its signing key)

    def _signing_key(self, day: str) -> bytes:
        if self._keys is not None and self._keys[0] == day:
            return self._keys[1]
        key = ("AWS4" + self._secret).encode()
        for part in (day, self._region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        self._keys = (day, key)
        return key

    def get_url(self, key: str, *, expires_s: int, now: datetime | None = None) -> str:
        """A URL that GETs `key` from the bucket until `expires_s` seconds after `now` (default: this instant)."""
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        stamp, day = moment.strftime("%Y%m%dT%H%M%SZ"), moment.strftime("%Y%m%d")
        scope = f"{day}/{self._region}/s3/aws4_request"
        path = self._prefix + _uri(key, safe="/~")
        # Already in canonical order (sorted by name) and encoded as the canonical request wants them.
        query = (
            f"X-Amz-Algorithm={ALGORITHM}"
            f"&X-Amz-Credential={_uri(self._access_key_id)}%2F{_uri(scope)}"
            f"&X-Amz-Date={stamp}"
            f"&X-Amz-Expires={int(expires_s)}"
            "&X-Amz-SignedHeaders=host"
        )
        canonical = f"GET\n{path}\n{query}\nhost:{self._host}\n\nhost\nUNSIGNED-PAYLOAD"
        to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._signing_key(day), to_sign.encode(), hashlib.sha256).hexdigest()
        return f"{self._origin}{path}?{query}&X-Amz-Signature={signature}"
