from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from starlette.applications import Starlette

from api.app import create_app
from domain.settings import Settings
from tests.factories import Api, Citizen


@pytest.fixture(scope="session")
async def app(settings: Settings, database: None) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def api(app: Starlette) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test", timeout=30) as client:
        yield Api(client)


@pytest.fixture
async def citizen(api: Api) -> Citizen:
    return await api.sign_up()


@pytest.fixture(scope="session")
async def run_jobs(database: None) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Runs every queued job in this process with the real worker app, then returns."""
    from workers.runtime import app as worker_app
    from workers.runtime import resources

    async def run() -> None:
        # Opened each time (a no-op while it is open): a job-queue test in this process may have opened the same
        # app and closed it after.
        await worker_app.open_async()
        await worker_app.run_worker_async(wait=False, install_signal_handlers=False, concurrency=1)

    yield run
    await worker_app.close_async()
    await resources().close()
