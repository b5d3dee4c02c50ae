"""Object storage over the S3 API (boto3). Every call runs in a thread: boto3 blocks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from domain.settings import Settings


class ObjectMissingError(Exception):
    pass


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    content_type: str | None


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


class ObjectStorage(Protocol):
    async def presign_post(self, key: str, *, content_type: str, max_bytes: int, expires_s: int) -> PresignedPost: ...
    async def presign_get(self, key: str, *, expires_s: int) -> str: ...
    async def head(self, key: str) -> ObjectInfo: ...
    async def read(self, key: str, *, max_bytes: int | None = None) -> bytes: ...
    async def write(self, key: str, data: bytes, *, content_type: str) -> None: ...


class S3Storage:
    def __init__(self, settings: Settings) -> None:
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
        # Presigned URLs are signed for the host the client will use, which may differ from ours.
        public = settings.s3_public_endpoint_url or settings.s3_endpoint_url
        self._signer = (
            self._client if public == settings.s3_endpoint_url else boto3.client("s3", endpoint_url=public, **common)
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

    async def presign_get(self, key: str, *, expires_s: int) -> str:
        url: str = await asyncio.to_thread(
            self._signer.generate_presigned_url,
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=expires_s,
        )
        return url

    async def head(self, key: str) -> ObjectInfo:
        try:
            meta = await asyncio.to_thread(self._client.head_object, Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_missing(exc):
                raise ObjectMissingError(key) from exc
            raise
        return ObjectInfo(size=int(meta["ContentLength"]), content_type=meta.get("ContentType"))

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

    async def write(self, key: str, data: bytes, *, content_type: str) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
        )


def _is_missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}
