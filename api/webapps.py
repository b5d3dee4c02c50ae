"""The installable web apps (/officer for staff, /app for citizens), built from web/ into api/static/<app>/.

Each app is one page (screens are addressed by the URL's hash), its content-hashed bundles, a service worker and
a web manifest. The page and the service worker are revalidated on every load (so a new version reaches phones
as soon as they are online); the hashed bundles never change and are cached for a year. A Content-Security-Policy
keeps the page to its own scripts and to the object store's presigned URLs for photos, clips and uploads.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from domain.settings import Settings

APPS = ("officer", "app")
HASHED = re.compile(r"-[A-Z0-9]{8}\.(js|css)$")
IMMUTABLE = "public, max-age=31536000, immutable"


def origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def content_security_policy(settings: Settings) -> str:
    """Scripts, styles and workers from the API itself; images, media and uploads also from the object store."""
    store = origin(settings.s3_public_endpoint_url or settings.s3_endpoint_url) or "https://*.amazonaws.com"
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
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
        if HASHED.search(path):
            response.headers["Cache-Control"] = IMMUTABLE
        else:
            response.headers["Cache-Control"] = "no-cache"
        if path in ("", ".", "index.html") or path.endswith(".html"):
            response.headers["Content-Security-Policy"] = self.policy
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Referrer-Policy"] = "no-referrer"
            response.headers["Permissions-Policy"] = "camera=(self), geolocation=(self), microphone=()"
        return response


def webapp_routes(static_dir: Path, settings: Settings) -> list[BaseRoute]:
    policy = content_security_policy(settings)
    routes: list[BaseRoute] = []
    for app in APPS:

        async def to_folder(_: Request, app: str = app) -> Response:
            # The service worker's scope is the app's folder; /officer (no slash) would stand outside it.
            return RedirectResponse(f"/{app}/", status_code=308)

        routes.append(Route(f"/{app}", to_folder, methods=["GET", "HEAD"]))
        routes.append(Mount(f"/{app}", AppFiles(static_dir / app, policy), name=app))
    return routes
