"""The worker's process-wide objects, made on first use (importing a task module must stay cheap)."""

from __future__ import annotations

from functools import cache

from domain.resources import Resources
from domain.settings import get_settings
from workers.queue import create_queue_app

app = create_queue_app(get_settings())


@cache
def resources() -> Resources:
    return Resources.create(get_settings())
