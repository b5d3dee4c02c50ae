"""`jsc api`, the process layout `make run`, the systemd unit and the soak start: what it hands uvicorn."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn

from cli import main as cli
from domain.settings import get_settings


def test_jsc_api_serves_the_app_in_its_worker_processes_with_the_keep_alive_of_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a keep-alive set longer than uvicorn's own (as behind a proxy, or the soak's clients)
    ran: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: ran.append((app, kwargs)))
    monkeypatch.setattr(cli, "configure_logging", lambda settings: None)
    monkeypatch.setenv("JSC_API_KEEP_ALIVE_S", "120")
    get_settings.cache_clear()
    try:
        # when
        assert cli.main(["api", "--port", "8123", "--workers", "2"]) == 0
    finally:
        get_settings.cache_clear()

    # then
    [(app, options)] = ran
    assert app == "api.main:serve"
    assert options["factory"] is True
    assert (options["port"], options["workers"], options["timeout_keep_alive"]) == (8123, 2, 120)
