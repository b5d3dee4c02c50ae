"""One settings class for every process (API, worker, CLI); environment variables prefixed ``JSC_``."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_JWT_SECRET = "dev-only-secret-change-me-please-0123456789"
# A browser's Origin header: scheme, host and an optional port, nothing after.
ORIGIN = re.compile(r"https?://[^/\s?#]+")
# Presigned URLs are bearer credentials: in production none lives longer than an hour. S3 signs for 7 days at most.
PRESIGNED_TTL_MAX_S = 3600
S3_PRESIGNED_TTL_MAX_S = 7 * 24 * 3600


# Per action and per who (the account, the client's address, the login name tried or signed up, the Open311 app),
# N in S seconds: N at once, then one more every S/N seconds (GCRA, domain/rate_limits.py). Per address limits are
# generous: mobile carriers put many phones behind one address.
DEFAULT_RATE_LIMITS: dict[str, tuple[int, int]] = {
    "createReport:user": (30, 3600),
    "createReport:ip": (300, 3600),
    "requestPhotoUpload:user": (100, 3600),
    "requestPhotoUpload:ip": (1000, 3600),
    "addComment:user": (30, 3600),
    "addComment:ip": (300, 3600),
    "logIn:ip": (30, 300),
    "logIn:login": (10, 900),
    # Each signUp hashes a password with argon2 at 64 MiB.
    "signUp:ip": (20, 3600),
    "signUp:login": (5, 3600),
    # An app refreshes once per access token (15 minutes) per session; a token is good once, so per address only.
    "refreshToken:ip": (120, 300),
    # Open311 POST files as the app's account for many citizens; per api_key and per address.
    "open311Post:app": (600, 3600),
    "open311Post:ip": (600, 3600),
}


# What a production deployment must set itself (deploy/jsc.env.example sets each; tests/unit/test_deploy.py checks
# that the template names every setting and sets these): the defaults of the rest are meant for production too.
PRODUCTION_MUST_SET = (
    "environment",
    "database_url",
    "s3_endpoint_url",
    "s3_region",
    "s3_access_key_id",
    "s3_secret_access_key",
    "s3_bucket",
    "jwt_secret",
    "jwt_issuer",
    "jwt_audience",
    "firebase_credentials_file",
    "trusted_proxies",
    "cors_allowed_origins",
)


def _outside_production(data: dict[str, Any]) -> bool:
    return bool(data.get("environment") != "production")


def _in_production(data: dict[str, Any]) -> bool:
    return not _outside_production(data)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JSC_", env_file=None, extra="ignore")

    environment: str = Field("development", description="development | test | production")

    database_url: str = Field(
        "postgresql+asyncpg://jsc@127.0.0.1:45432/jsc",
        validation_alias=AliasChoices("JSC_DATABASE_URL", "DATABASE_URL"),
        description="SQLAlchemy URL with the asyncpg driver; procrastinate derives its psycopg DSN from it",
    )
    database_pool_size: int = 10
    public_reads_pool_size: int = Field(10, description="connections for the public map, tiles and statistics")
    public_reads_timeout_ms: int = Field(10_000, description="statement timeout of a public read")
    read_replica_url: str | None = Field(
        None,
        description="streaming replica (SQLAlchemy URL) for public and auditor reads; unset: all on the primary",
    )
    read_replica_max_lag_s: float = Field(
        5.0, ge=0, description="replay lag beyond which the public reads go back to the primary"
    )
    read_replica_check_s: float = Field(
        2.0, gt=0, description="how often the replica's health and replay lag are checked (at most once a period)"
    )
    # Per process, like the pools it guards: with N API processes the lane, the public reads' connections and the
    # writers' all grow N-fold together, so what one process keeps free holds in each. Smaller than the public
    # reads pool (checked below): what skips the lane on those connections (a tile's version read for a 304 or a
    # kept tile, auditors' figures) must find one free while the lane is full.
    # Two numbers (api/admission.py): how many anonymous reads are admitted at once, and below how many of those
    # running Python a new one may start (one waiting on PostgreSQL does not count). 4 and 2 were chosen on
    # bench-map and the soak (docs/benchmarks.md, "the public lane counts reads on the CPU").
    public_lane_size: int = Field(
        4,
        ge=1,
        description="anonymous GraphQL queries and report-tile renders one API process admits at once; the rest"
        " wait their turn, so that a crowd on the public map leaves the database connections to citizens filing"
        " reports and to officers (api/admission.py); less than JSC_PUBLIC_READS_POOL_SIZE",
    )
    public_lane_cpu: int = Field(
        2,
        ge=1,
        description="an admitted anonymous read starts only while fewer than this many are running Python (one"
        " waiting on PostgreSQL does not count, one coming back from it never waits), so a crowd's newcomers stay"
        " off a busy event loop ahead of a citizen's report (api/admission.py); at most JSC_PUBLIC_LANE_SIZE",
    )
    public_lane_wait_s: float = Field(
        10.0, gt=0, description="how long an anonymous read waits for its turn before it is answered 503 OVERLOADED"
    )

    s3_endpoint_url: str | None = Field(None, description="None means AWS S3 itself")
    s3_public_endpoint_url: str | None = Field(
        None,
        description="endpoint written into presigned URLs, when clients reach S3 by another name",
    )
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_bucket: str = "jsc"
    s3_addressing_style: str = "path"

    firebase_credentials_file: Path | None = Field(
        None,
        description="service-account JSON; without it pushes go only to the in-app inbox",
    )
    fcm_endpoint: str | None = Field(
        None, description="replaces https://fcm.googleapis.com (a local stand-in for tests and benchmarks)"
    )
    push_batch_size: int = Field(500, description="notifications claimed by one delivery round")
    push_lease_s: float = Field(60.0, description="how long a claimed notification waits before another run retakes it")
    push_backoff_base_s: float = Field(5.0, description="first wait after a transient failure; doubles each time")
    push_backoff_max_s: float = Field(600.0, description="longest wait between two attempts")
    push_max_attempts: int = Field(20, description="attempts before a notification's push is given up (inbox keeps it)")

    jobs_keep_finished_hours: int = Field(
        72, description="finished jobs (succeeded, failed, cancelled, aborted) stay in the queue table this long"
    )

    idempotency_keep_days: int = Field(
        30,
        ge=1,
        description="how long a clientRequestId of the workflow, comment, support and follow actions is remembered "
        "(idempotency.sweep, hourly); a phone replaying an action older than this has it judged afresh",
    )

    jwt_secret: SecretStr = Field(SecretStr(DEV_JWT_SECRET), description="signs every new access token")
    jwt_previous_secrets: list[SecretStr] = Field(
        default_factory=list,
        description="secrets that signed access tokens before a rotation, as a JSON list: their tokens still verify"
        " until they expire, so that a new JSC_JWT_SECRET logs nobody out; drop them one access-token lifetime after"
        " every process has the new secret",
    )
    jwt_issuer: str = "https://jsc.jakarta.example/auth"
    jwt_audience: str = "jsc-api"
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 24 * 3600
    account_state_cache_s: float = Field(
        5.0,
        description="how long an API process trusts an account's role, unit and closure it read (a change it hears "
        "of through LISTEN drops it at once); 0: read on every request",
    )

    upload_max_bytes: int = 10 * 1024 * 1024
    upload_url_ttl_s: int = 600
    unclaimed_upload_grace_s: int = Field(
        3600,
        description="how long after its upload ticket expired a photo no report claimed is kept (the citizen may "
        "still be filing); then the sweep deletes it, EXIF and all",
    )
    uploads_expire_days: int = Field(
        2,
        description="lifecycle rule asking the object store to delete anything under uploads/ this many days "
        "after its upload, should the app's own deletions stop; 0: no rule",
    )
    download_url_ttl_s: int = 300
    photo_versions_keep_days: int = Field(
        30,
        ge=1,
        description="the photo bucket is versioned (jsc backup keep-photos); a replaced or deleted photo object's old"
        " version is kept this many days, how far back `jsc backup restore-photos` can go",
    )
    backup_pgbackrest_config: Path | None = Field(
        None, description="pgbackrest.conf of the cluster (None: pgBackRest's own /etc/pgbackrest/pgbackrest.conf)"
    )
    backup_stanza: str = Field("jsc", description="pgBackRest stanza of the cluster")
    backup_pg_data: Path | None = Field(
        None,
        description="the cluster's data directory: `jsc backup restore` stops and starts it with pg_ctl; None: the"
        " operator stops the service before and starts it after (systemctl)",
    )
    backup_pg_bin: Path = Field(Path("/usr/lib/postgresql/15/bin"), description="where pg_ctl is")
    backup_run_as: str | None = Field(
        None, description="the system user pgBackRest runs as (None: postgres when run as root, else the caller)"
    )
    photo_max_pixels: int = 100_000_000
    photo_max_side: int = 2048
    photo_thumb_side: int = 400
    max_photos_per_report: int = 5
    description_max_chars: int = 2000
    nearest_kelurahan_max_m: float = 500.0
    reference_cache_ttl_s: float = Field(
        60.0, description="how long a process keeps boundaries, units and categories before reloading them"
    )

    map_cache_entries: int = Field(
        512, description="public map answers each API process keeps until a report event hits their box; 0: none"
    )
    map_cache_ttl_s: float = 30.0
    # 8 MiB: about 3,500 tiles of a layer: over the Jakarta box a tile averages 2.0-2.3 KB (empty sea tiles too).
    tile_cache_bytes: int = Field(
        8 * 2**20,
        ge=0,
        description="bytes of rendered report and kelurahan tiles each API process keeps (each layer this much),"
        " served again until what they show changes (api/tile_cache.py); 0: none",
    )
    ready_timeout_s: float = Field(
        2.0, description="/readyz: each dependency (database, S3) that has not answered within this counts as down"
    )
    live_queue_size: int = Field(
        256, description="events a live subscriber may fall behind before its stream ends with RESYNC_REQUIRED", ge=1
    )
    api_port: int = 8000
    api_keep_alive_s: int = Field(
        5,
        ge=1,
        description="how long `jsc api` keeps an idle HTTP connection open (uvicorn's default 5); behind a proxy"
        " that reuses its connections to the API, set it above the proxy's idle timeout, or a request sent as the"
        " API closes the connection fails",
    )
    # The schema's self-description: on while developing, off by default in production (where they must stay off).
    graphiql: bool = Field(default_factory=_outside_production, description="the GraphiQL page at GET /graphql")
    graphql_introspection: bool = Field(default_factory=_outside_production, description="__schema and __type")
    graphql_field_suggestions: bool = Field(
        default_factory=_outside_production, description='"did you mean" in validation errors'
    )
    graphql_max_depth: int = 10
    graphql_max_aliases: int = 20
    graphql_max_tokens: int = 2000
    graphql_max_cost: int = Field(
        20_000,
        description="estimated fields an operation may resolve, lists counted at their page size (api/limits.py)",
    )
    graphql_max_batch: int = Field(
        10, description="operations in one batched HTTP request (a JSON list); 1: no batching"
    )
    # The operations the web apps were built with (api/trusted_documents.py): sha256 of the text -> the text.
    trusted_documents_path: Path = Field(
        PROJECT_ROOT / "api" / "static" / "trusted-documents.json",
        description="the manifest of trusted documents, written by the web build; missing: none",
    )
    trusted_documents_only: bool = Field(
        default_factory=_in_production,
        description="full query text runs only when the manifest holds it, or for staff; on in production",
    )

    jakarta_data_dir: Path = PROJECT_ROOT / "data" / "jakarta"

    rate_limits_enabled: bool = True
    test_cheap_passwords: bool = Field(
        False,
        description="test environment only (ignored elsewhere): argon2id at 1 MiB and 1 pass instead of 64 MiB and 3,"
        " so that the suite's thousands of sign-ups do not spend minutes hashing; log-in rehashes other costs",
    )
    rate_limits: dict[str, tuple[int, int]] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS),
        description="action:who -> (requests, seconds), as JSON in JSC_RATE_LIMITS; who is user, ip, login or app",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses or networks (CIDR) of the proxies in front of the API, as a JSON list; only from "
        "them is X-Forwarded-For believed (api/proxies.py). Empty: the client is whoever connects",
    )

    open311_api_keys: dict[str, str] = Field(
        default_factory=dict,
        description="Open311 POST: api_key -> e-mail of the citizen account that files for that app (JSON)",
    )
    cors_allowed_origins: list[str] = Field(
        default_factory=list,
        description="origins whose browser pages may call the API, tiles and Open311 (JSON list, e.g. "
        '["https://peta.jakarta.go.id"]); empty: none but the API\'s own pages',
    )

    ranking_min_reports: int = Field(10, description="assessed reports a unit needs in a period to be ranked")
    performance_parallel_queries: int = Field(
        2, description="queries one leaderboard is split into, run at once (about the database's cores)"
    )
    performance_cache_entries: int = Field(
        20_000,
        description="figures of one unit (or area) over one period each API process keeps while that unit's cases "
        "are unchanged; 0: none",
        ge=0,
    )
    export_url_ttl_s: int = Field(300, description="lifetime of an export's presigned download URL")

    cctv_before_s: float = Field(30.0, description="seconds of archive video before the report time")
    cctv_after_s: float = Field(30.0, description="seconds of archive video after the report time")
    cctv_segment_s: float = Field(10.0, description="length of the archive segments (jsc cctv simulate writes these)")
    cctv_archive_grace_s: float = Field(15.0, description="wait after the window for the NVR to write its segment")
    cctv_stream_record_s: float = Field(20.0, description="seconds recorded forward from a live stream")
    cctv_open_timeout_s: float = Field(10.0, description="a stream that does not answer within this is unavailable")
    cctv_read_timeout_s: float = Field(10.0, description="a stream that stops sending for this long is unavailable")
    cctv_max_cameras: int = Field(3, description="cameras attached to one report at most")
    cctv_max_attempts: int = Field(3, description="tries to get a camera's clip before it is recorded unavailable")
    cctv_detect_fps: float = Field(0.5, description="object detection samples per second of video (at most 2)")
    cctv_detector_model: Path = PROJECT_ROOT / "models" / "yolox_nano_coco.onnx"
    cctv_face_model: Path = PROJECT_ROOT / "models" / "face_detection_yunet_2026may.onnx"
    cctv_public_snapshots: bool = Field(
        False, description="the public may see face-blurred snapshots of cameras marked public_snapshots"
    )
    cctv_watch_enabled: bool = Field(True, description="active cameras are sampled continuously by the workers")
    cctv_watch_timeout_s: float = Field(5.0, description="a watched camera that does not answer within this is offline")
    cctv_watch_offline_samples: int = Field(3, ge=1, description="samples without media before a camera is offline")
    cctv_watch_stale_s: float = Field(60.0, description="a live stream whose newest segment is this old is offline")
    cctv_watch_keep_jobs_s: float = Field(600.0, description="finished sample jobs are deleted this long after")
    cctv_watch_min_motion: float = Field(
        0.002, description="share of the picture that must change since the last sample for the detector to run"
    )

    log_format: Literal["text", "json"] = Field(
        "text", description="text: one readable line a record; json: one JSON object a line, for a log pipeline"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="the root logger's level")
    otlp_endpoint: str | None = Field(
        None,
        description="base URL of an OpenTelemetry collector's OTLP/HTTP receiver (e.g. http://127.0.0.1:4318); "
        "traces go to its /v1/traces as protobuf. Unset: no tracing",
    )
    otlp_headers: dict[str, str] = Field(
        default_factory=dict, description="headers sent with each export (JSON), e.g. a tracing backend's API key"
    )
    otlp_timeout_s: float = Field(
        10.0, gt=0, description="an export the collector has not taken within this is dropped"
    )
    trace_sample_ratio: float = Field(
        0.1, ge=0.0, le=1.0, description="share of requests and jobs traced (decided at the root of each trace)"
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="bearer token a scrape of /metrics (API and worker) must send; unset: /metrics answers 404 and "
        "the worker serves none. In production at least 32 characters, and not the JWT secret",
    )
    worker_metrics_port: int = Field(
        0, ge=0, le=65535, description="port of `jsc worker`'s /metrics (with JSC_METRICS_TOKEN); 0: none"
    )
    worker_metrics_host: str = Field("127.0.0.1", description="address `jsc worker`'s /metrics listens on")
    worker_nice: int = Field(
        5,
        ge=0,
        le=19,
        description="the niceness `jsc worker` takes at start (at least; one started nicer stays so): on a machine"
        " shared with the API, its jobs (photo cleaning, clips, camera samples, pushes) wait for the CPU behind the"
        " people using the API; 0 leaves it as started",
    )
    metrics_cache_s: float = Field(
        5.0, ge=0, description="a scrape reuses the database's figures (queues, outbox, SLA) read this recently"
    )
    metrics_query_timeout_s: float = Field(
        2.0, gt=0, description="the database's figures not read within this are left out of the scrape"
    )
    metrics_disk_paths: list[Path] = Field(
        default_factory=list,
        description="folders whose file system's free and total bytes /metrics reports (JSON list), e.g. the "
        "database's and the object store's data folders on this machine",
    )

    @property
    def password_cost(self) -> tuple[int, int]:
        """argon2id's memory (KiB) and passes: RFC 9106's second choice, or a cheap one in the test environment."""
        if self.environment == "test" and self.test_cheap_passwords:
            return 1024, 1
        return 64 * 1024, 3

    @model_validator(mode="after")
    def production_is_locked_down(self) -> Settings:
        if self.environment == "production":
            secret = self.jwt_secret.get_secret_value()
            if secret == DEV_JWT_SECRET or len(secret) < 32:
                raise ValueError("JSC_JWT_SECRET must be set to at least 32 random characters in production")
            if self.metrics_token is not None:
                token = self.metrics_token.get_secret_value()
                if len(token) < 32 or token == secret:
                    raise ValueError(
                        "JSC_METRICS_TOKEN must be at least 32 random characters in production, not the JWT secret"
                    )
            for previous in self.jwt_previous_secrets:
                if previous.get_secret_value() == DEV_JWT_SECRET or len(previous.get_secret_value()) < 32:
                    raise ValueError("JSC_JWT_PREVIOUS_SECRETS: each must be at least 32 random characters")
            if self.graphiql or self.graphql_introspection or self.graphql_field_suggestions:
                raise ValueError("GraphiQL, introspection and field suggestions must be off in production")
        for origin in self.cors_allowed_origins:
            if origin == "*" and self.environment == "production":
                raise ValueError("JSC_CORS_ALLOWED_ORIGINS must name the origins in production, not *")
            if origin != "*" and not ORIGIN.fullmatch(origin):
                raise ValueError(f"JSC_CORS_ALLOWED_ORIGINS: {origin!r} is not an origin (scheme://host[:port])")
        if self.public_lane_size >= self.public_reads_pool_size:
            raise ValueError(
                "JSC_PUBLIC_LANE_SIZE must be less than JSC_PUBLIC_READS_POOL_SIZE: tile revalidations and auditors"
                " skip the lane and need public-read connections while its turns are all taken"
            )
        if self.public_lane_cpu > self.public_lane_size:
            raise ValueError("JSC_PUBLIC_LANE_CPU must be at most JSC_PUBLIC_LANE_SIZE: its turns are the admitted's")
        for key, (count, seconds) in self.rate_limits.items():
            if count < 1 or seconds < 1:
                raise ValueError(f"JSC_RATE_LIMITS: {key} needs at least 1 request in at least 1 second")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy)
            except ValueError as exc:
                raise ValueError(f"JSC_TRUSTED_PROXIES: {proxy!r} is not an address or a network (CIDR)") from exc
        for name in ("upload_url_ttl_s", "download_url_ttl_s", "export_url_ttl_s"):
            ttl = getattr(self, name)
            longest = PRESIGNED_TTL_MAX_S if self.environment == "production" else S3_PRESIGNED_TTL_MAX_S
            if not 1 <= ttl <= longest:
                raise ValueError(f"JSC_{name.upper()} must be between 1 and {longest} seconds")
        claim_window_s = self.upload_url_ttl_s + self.unclaimed_upload_grace_s
        if self.uploads_expire_days > 0 and claim_window_s >= self.uploads_expire_days * 86400:
            # Else the store's rule would delete an upload a citizen is still allowed to file.
            raise ValueError("JSC_UPLOADS_EXPIRE_DAYS must outlast the upload ticket and JSC_UNCLAIMED_UPLOAD_GRACE_S")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
