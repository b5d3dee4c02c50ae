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
    from procrastinate.exceptions import AppNotOpen

    from workers.runtime import app as worker_app
    from workers.runtime import resources

    async def run() -> None:
        try:
            await worker_app.run_worker_async(wait=False, install_signal_handlers=False, concurrency=1)
        except AppNotOpen:  # a test of the job queue in this process opened the same app and closed it after
            await worker_app.open_async()
            await worker_app.run_worker_async(wait=False, install_signal_handlers=False, concurrency=1)

    await worker_app.open_async()
    yield run
    await worker_app.close_async()
    await resources().close()
