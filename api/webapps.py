"""The installable web apps (/officer for staff, /command for the command center's wall, /app for citizens),
built from web/ into api/static/<app>/.

Each app is one page holding its bundle and stylesheet (screens are addressed by the URL's hash), a service worker
and a web manifest, all revalidated on every load (ETag), so a new version reaches phones as soon as they are
online. A Content-Security-Policy keeps the page to exactly its own inline script and style (by the sha256 the
build wrote into web-build.json), same-origin code, and the object store's presigned URLs for photos, clips and
uploads.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from domain.settings import Settings

APPS = ("officer", "command", "app")


def origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def inline_hashes(static_dir: Path, app: str) -> dict[str, str]:
    """The CSP sources of the page's inline script and style, as the build recorded them (none before a build)."""
    try:
        built = json.loads((static_dir / "web-build.json").read_text())
        csp: dict[str, str] = built["apps"][app]["csp"]
    except (OSError, ValueError, KeyError):
        return {}
    return csp


def content_security_policy(settings: Settings, inline: dict[str, str]) -> str:
    """Scripts, styles and workers from the API itself (the page's own inline blocks by hash); images, media and
    uploads also from the object store."""
    store = origin(settings.s3_public_endpoint_url or settings.s3_endpoint_url) or "https://*.amazonaws.com"
    script = f" '{inline['script']}'" if "script" in inline else ""
    style = f" '{inline['style']}'" if "style" in inline else ""
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self'{script}",
            f"style-src 'self'{style}",
            "worker-src 'self'",
            "manifest-src 'self'",
            f"img-src 'self' data: blob: {store}",
            f"media-src 'self' blob: {store}",
            f"connect-src 'self' {store}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


class AppFiles(StaticFiles):
    """An app's folder, with the caching its files need and the page's security headers."""

    def __init__(self, directory: Path, policy: str) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)
        self.policy = policy

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        if path in ("", ".", "index.html") or path.endswith(".html"):
            response.headers["Content-Security-Policy"] = self.policy
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Referrer-Policy"] = "no-referrer"
            response.headers["Permissions-Policy"] = "camera=(self), geolocation=(self), microphone=()"
        return response


def webapp_routes(static_dir: Path, settings: Settings) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for app in APPS:
        policy = content_security_policy(settings, inline_hashes(static_dir, app))

        async def to_folder(_: Request, app: str = app) -> Response:
            # The service worker's scope is the app's folder; /officer (no slash) would stand outside it.
            return RedirectResponse(f"/{app}/", status_code=308)

        routes.append(Route(f"/{app}", to_folder, methods=["GET", "HEAD"]))
        # Compressed on the way out: on a slow 3G link the bundle's bytes are most of the first load.
        routes.append(Mount(f"/{app}", GZipMiddleware(AppFiles(static_dir / app, policy), minimum_size=512), name=app))
    return routes
