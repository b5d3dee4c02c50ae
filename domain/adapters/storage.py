"""Object storage over the S3 API (boto3). Every call runs in a thread: boto3 blocks. Presigned GET URLs are made
in the caller's thread where that needs no I/O (domain/adapters/signing.py)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from domain import log_redaction
from domain.adapters.signing import QuerySigner
from domain.settings import Settings

# S3's DeleteObjects takes at most this many keys a request.
DELETE_BATCH = 1000

# botocore logs at DEBUG what it signs: the access key id (Credential=), each request's and each presigned URL's
# signature, and a session token when there is one.
SIGNING = log_redaction.Redact(
    r"(Credential=)[^\s,'\"&]+",
    r"(Signature[=:]\s*)[0-9a-fA-F]+",
    r"(Security-Token['\"]?[:=]\s*b?['\"]?)[^\s,'\"&]+",
    flags=re.IGNORECASE,  # the canonical request has the header in lower case: x-amz-security-token:...
)

# and each response body it parses (STS's hold a secret key and a session token).
RESPONSE_BODIES = log_redaction.Redact(drop=lambda record: str(record.msg).startswith("Response body"))


class ObjectMissingError(Exception):
    pass


class StorageError(Exception):
    """The store answered, but refused or failed part of the request; the caller retries later."""


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class StoredObject:
    key: str
    last_modified: datetime


class ObjectStorage(Protocol):
    async def presign_post(self, key: str, *, content_type: str, max_bytes: int, expires_s: int) -> PresignedPost: ...
    async def presign_get(self, key: str, *, expires_s: int) -> str: ...
    def sign_get(self, key: str, *, expires_s: int) -> str | None:
        """presign_get's URL made at once in this thread, or None when this store cannot sign without I/O."""
        ...

    async def read(self, key: str, *, max_bytes: int | None = None) -> bytes: ...
    async def read_prefix(self, key: str, *, max_bytes: int) -> tuple[bytes, int]: ...
    async def write(self, key: str, data: bytes, *, content_type: str) -> None: ...
    async def list_keys(self, prefix: str, *, start_after: str | None = None, limit: int = 1000) -> list[str]: ...
    async def write_file(self, key: str, path: Path, *, content_type: str) -> None: ...
    async def read_file(self, key: str, path: Path) -> None: ...
    async def check(self) -> None: ...
    async def list_objects(
        self, prefix: str, *, start_after: str | None = None, limit: int = 1000
    ) -> list[StoredObject]: ...
    async def delete(self, keys: Sequence[str]) -> None: ...
    async def expire_prefix(self, prefix: str, *, days: int, rule_id: str) -> bool: ...


class S3Storage:
    def __init__(self, settings: Settings) -> None:
        log_redaction.install(SIGNING, "botocore.auth", "botocore.endpoint")
        log_redaction.install(RESPONSE_BODIES, "botocore.parsers")
        self.bucket = settings.s3_bucket
        secret = settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
        s3_options: Any = {"addressing_style": settings.s3_addressing_style}
        config = Config(
            signature_version="s3v4",
            s3=s3_options,
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
            max_pool_connections=50,
        )
        common: dict[str, Any] = {
            "region_name": settings.s3_region,
            "aws_access_key_id": settings.s3_access_key_id,
            "aws_secret_access_key": secret,
            "config": config,
        }
        self._client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url, **common)
        # The readiness probe's own client: one try, and a hung S3 frees the probe's thread a second after the probe
        # gave up on it, instead of holding one of the default executor's few threads through minutes of retries.
        probe_timeout_s = settings.ready_timeout_s + 1
        probe_config = config.merge(
            Config(
                retries={"max_attempts": 1, "mode": "standard"},
                connect_timeout=probe_timeout_s,
                read_timeout=probe_timeout_s,
                max_pool_connections=1,
            )
        )
        self._probe = boto3.client("s3", endpoint_url=settings.s3_endpoint_url, **{**common, "config": probe_config})
        # Presigned URLs are signed for the host the client will use, which may differ from ours.
        public = settings.s3_public_endpoint_url or settings.s3_endpoint_url
        self._signer = (
            self._client if public == settings.s3_endpoint_url else boto3.client("s3", endpoint_url=public, **common)
        )
        # The same URLs without boto3 where nothing needs asking (domain/adapters/signing.py).
        self._query_signer = (
            QuerySigner(
                endpoint_url=public,
                bucket=self.bucket,
                region=settings.s3_region,
                access_key_id=settings.s3_access_key_id,
                secret_access_key=secret,
            )
            if public and settings.s3_addressing_style == "path" and settings.s3_access_key_id and secret
            else None
        )

    async def presign_post(self, key: str, *, content_type: str, max_bytes: int, expires_s: int) -> PresignedPost:
        post = await asyncio.to_thread(
            self._signer.generate_presigned_post,
            self.bucket,
            key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", 1, max_bytes],
            ],
            ExpiresIn=expires_s,
        )
        return PresignedPost(url=post["url"], fields=dict(post["fields"]))

    def sign_get(self, key: str, *, expires_s: int) -> str | None:
        if self._query_signer is None:
            return None
        return self._query_signer.get_url(key, expires_s=expires_s)

    async def presign_get(self, key: str, *, expires_s: int) -> str:
        if (url := self.sign_get(key, expires_s=expires_s)) is not None:
            return url
        url = await asyncio.to_thread(
            self._signer.generate_presigned_url,
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=expires_s,
        )
        return url

    async def read(self, key: str, *, max_bytes: int | None = None) -> bytes:
        def fetch() -> bytes:
            if max_bytes:
                response = self._client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{max_bytes - 1}")
            else:
                response = self._client.get_object(Bucket=self.bucket, Key=key)
            body = response["Body"]
            try:
                return bytes(body.read())
            finally:
                body.close()

        try:
            return await asyncio.to_thread(fetch)
        except ClientError as exc:
            if _is_missing(exc):
                raise ObjectMissingError(key) from exc
            raise

    async def read_prefix(self, key: str, *, max_bytes: int) -> tuple[bytes, int]:
        """The first ``max_bytes`` bytes and the object's total size, in one request."""

        def fetch() -> tuple[bytes, int]:
            response = self._client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{max_bytes - 1}")
            body = response["Body"]
            try:
                data = bytes(body.read())
            finally:
                body.close()
            content_range = response.get("ContentRange") or ""
            total = content_range.rpartition("/")[2]
            return data, int(total) if total.isdigit() else len(data)

        try:
            return await asyncio.to_thread(fetch)
        except ClientError as exc:
            if _is_missing(exc):
                raise ObjectMissingError(key) from exc
            if _error_code(exc) == "InvalidRange":  # an empty object has no byte 0
                return b"", 0
            raise

    async def write(self, key: str, data: bytes, *, content_type: str) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
        )

    async def list_keys(self, prefix: str, *, start_after: str | None = None, limit: int = 1000) -> list[str]:
        """Up to ``limit`` keys under ``prefix`` after ``start_after``, in S3's order (UTF-8 binary)."""
        return [o.key for o in await self.list_objects(prefix, start_after=start_after, limit=limit)]

    async def list_objects(
        self, prefix: str, *, start_after: str | None = None, limit: int = 1000
    ) -> list[StoredObject]:
        """Up to ``limit`` objects under ``prefix`` after ``start_after``, in S3's order, with their write time."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        options: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if start_after is not None:
            options["StartAfter"] = start_after

        def fetch() -> list[StoredObject]:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                **options, PaginationConfig={"MaxItems": limit}
            )
            return [
                StoredObject(item["Key"], item["LastModified"]) for page in pages for item in page.get("Contents", [])
            ]

        return await asyncio.to_thread(fetch)

    async def delete(self, keys: Sequence[str]) -> None:
        """Deletes the objects; a key already gone counts as deleted, so calling it again is harmless.

        Returns only when every key is gone: a key the store could not delete raises StorageError."""

        def remove(batch: Sequence[str]) -> None:
            response = self._client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
            failed = [e for e in response.get("Errors", []) if e.get("Code") != "NoSuchKey"]
            if failed:
                raise StorageError(f"{len(failed)} of {len(batch)} objects not deleted, first: {failed[0]}")

        for start in range(0, len(keys), DELETE_BATCH):
            await asyncio.to_thread(remove, keys[start : start + DELETE_BATCH])

    async def expire_prefix(self, prefix: str, *, days: int, rule_id: str) -> bool:
        """Asks the store to delete objects under ``prefix`` ``days`` after they were written (a lifecycle rule
        named ``rule_id``, merged into the bucket's other rules). False when the store has no lifecycle rules."""
        rule: Any = {"ID": rule_id, "Filter": {"Prefix": prefix}, "Status": "Enabled", "Expiration": {"Days": days}}

        def apply() -> bool:
            try:
                rules = self._client.get_bucket_lifecycle_configuration(Bucket=self.bucket)["Rules"]
            except ClientError as exc:
                if _error_code(exc) == "NoSuchLifecycleConfiguration":
                    rules = []
                elif _unsupported(exc):
                    return False
                else:
                    raise
            others = [r for r in rules if r.get("ID") != rule_id]
            try:
                self._client.put_bucket_lifecycle_configuration(
                    Bucket=self.bucket, LifecycleConfiguration={"Rules": [*others, rule]}
                )
            except ClientError as exc:
                if _unsupported(exc):
                    return False
                raise
            return True

        return await asyncio.to_thread(apply)

    async def write_file(self, key: str, path: Path, *, content_type: str) -> None:
        """Uploads from disk, in parts for a big file, so a clip is never held in memory."""
        await asyncio.to_thread(
            self._client.upload_file, str(path), self.bucket, key, ExtraArgs={"ContentType": content_type}
        )

    async def read_file(self, key: str, path: Path) -> None:
        """Downloads to ``path``; boto3 writes a temporary file first, so ``path`` is never left half-written."""
        try:
            await asyncio.to_thread(self._client.download_file, self.bucket, key, str(path))
        except ClientError as exc:
            if _is_missing(exc):
                raise ObjectMissingError(key) from exc
            raise

    async def check(self) -> None:
        """Raises unless the bucket answers (HEAD bucket: reachable, credentials accepted, bucket there)."""
        await asyncio.to_thread(self._probe.head_bucket, Bucket=self.bucket)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _unsupported(exc: ClientError) -> bool:
    return _error_code(exc) in {"NotImplemented", "501", "MethodNotAllowed", "405"}


def _is_missing(exc: ClientError) -> bool:
    return _error_code(exc) in {"404", "NoSuchKey", "NotFound"}
