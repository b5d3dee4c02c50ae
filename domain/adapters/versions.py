"""The photo bucket's own versioning, for backups: switched on with a lifecycle for old versions, listed, and
versions brought back (domain/backups.py decides which). Blocking boto3 calls: for the command line, not the API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from domain.backups import ObjectVersion, RestoreStep, Step
from domain.settings import Settings

NONCURRENT_RULE = "jsc-noncurrent-versions-expire"


class BucketVersions:
    def __init__(self, settings: Settings, *, bucket: str | None = None) -> None:
        secret = settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
        self.bucket = bucket or settings.s3_bucket
        s3_options: Any = {"addressing_style": settings.s3_addressing_style}
        self._client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=secret,
            config=Config(
                signature_version="s3v4",
                s3=s3_options,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )

    def keep_versions(self, *, noncurrent_days: int) -> None:
        """Versioning on, and a lifecycle rule deleting versions ``noncurrent_days`` after they were replaced
        (merged into the bucket's other rules, such as the one on uploads/)."""
        self._client.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})
        try:
            rules = self._client.get_bucket_lifecycle_configuration(Bucket=self.bucket)["Rules"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration":
                raise
            rules = []
        others = [rule for rule in rules if rule.get("ID") != NONCURRENT_RULE]
        rule: Any = {
            "ID": NONCURRENT_RULE,
            "Filter": {"Prefix": ""},
            "Status": "Enabled",
            "NoncurrentVersionExpiration": {"NoncurrentDays": noncurrent_days},
        }
        self._client.put_bucket_lifecycle_configuration(
            Bucket=self.bucket, LifecycleConfiguration={"Rules": [*others, rule]}
        )

    def versioning(self) -> str:
        """Enabled, Suspended, or Off (never switched on)."""
        return str(self._client.get_bucket_versioning(Bucket=self.bucket).get("Status", "Off"))

    def versions(self, prefix: str = "") -> Iterator[ObjectVersion]:
        for page in self._client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix):
            for v in page.get("Versions", []):
                yield ObjectVersion(v["Key"], v["VersionId"], v["LastModified"], v["IsLatest"])
            for m in page.get("DeleteMarkers", []):
                yield ObjectVersion(m["Key"], m["VersionId"], m["LastModified"], m["IsLatest"], deleted=True)

    def apply(self, step: RestoreStep) -> None:
        if step.step is Step.DELETE:
            self._client.delete_object(Bucket=self.bucket, Key=step.key)
            return
        assert step.version_id is not None
        self._client.copy_object(
            Bucket=self.bucket,
            Key=step.key,
            CopySource={"Bucket": self.bucket, "Key": step.key, "VersionId": step.version_id},
        )
