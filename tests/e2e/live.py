"""A graphql-transport-ws subscriber for the end-to-end tests, and the signal that its subscription is registered.

graphql-transport-ws does not acknowledge a subscription, so a test cannot tell when the server starts
delivering to it. `Subscriber.registered` finds out: it sends canary events (a NOTIFY on the channel, in the form
the trigger gives them) until one arrives. The canaries that were still on their way are skipped later.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import websockets
from sqlalchemy import text

from domain.resources import Resources

WAIT_S = 10.0  # a failure guard: every wait below ends as soon as what it waits for arrives
CANARY_EVERY_S = 0.2  # how often a canary is sent until one arrives; any pace would do


async def notify(resources: Resources, channel: str, *payloads: dict[str, Any]) -> None:
    """NOTIFYs on `channel`, delivered together when their one transaction commits."""
    async with resources.unit_of_work() as session:
        for payload in payloads:
            await session.execute(
                text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": json.dumps(payload)}
            )


class Subscriber:
    """One subscription on its own connection: `messages` are what the server sent, less the canaries."""

    def __init__(self, socket: websockets.ClientConnection, field: str, id_of: Callable[[dict[str, Any]], str]) -> None:
        self.socket = socket
        self.field = field
        self.id_of = id_of
        self.canaries: set[str] = set()
        self._early: list[dict[str, Any]] = []

    @classmethod
    async def open(
        cls,
        host: str,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        field: str,
        id_of: Callable[[dict[str, Any]], str],
        token_in_init: bool = False,
    ) -> Subscriber:
        """`token_in_init`: the token goes in the connection_init payload, as a browser must send it."""
        header = {"Authorization": f"Bearer {token}"} if token else None
        socket = await websockets.connect(
            f"ws://{host.removeprefix('http://')}/graphql",
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            additional_headers=None if token_in_init else header,
        )
        await socket.send(json.dumps({"type": "connection_init", "payload": header if token_in_init else {}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})
        )
        return cls(socket, field, id_of)

    async def registered(self, resources: Resources, channel: str, canary: Callable[[str], dict[str, Any]]) -> None:
        """Returns once the server delivers to this subscription: `canary(id)` is an event it lets through."""
        async with asyncio.timeout(WAIT_S):
            while True:
                canary_id = str(uuid.uuid4())
                self.canaries.add(canary_id)
                await notify(resources, channel, canary(canary_id))
                try:
                    async with asyncio.timeout(CANARY_EVERY_S):
                        while True:
                            message = json.loads(await self.socket.recv())
                            if self._canary(message):
                                return
                            self._early.append(message)
                except TimeoutError:
                    continue

    def _canary(self, message: dict[str, Any]) -> bool:
        data = (message.get("payload") or {}).get("data") or {}
        event = data.get(self.field)
        return message["type"] == "next" and event is not None and self.id_of(event) in self.canaries

    async def message(self) -> dict[str, Any]:
        """The next message that is not a canary."""
        if self._early:
            return self._early.pop(0)
        async with asyncio.timeout(WAIT_S):
            while True:
                message: dict[str, Any] = json.loads(await self.socket.recv())
                if not self._canary(message):
                    return message

    async def events_until(self, wanted_id: str) -> list[dict[str, Any]]:
        """Every event received until one about `wanted_id` (which ends the list)."""
        seen: list[dict[str, Any]] = []
        while True:
            message = await self.message()
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            event: dict[str, Any] = message["payload"]["data"][self.field]
            seen.append(event)
            if self.id_of(event) == wanted_id:
                return seen

    async def close(self) -> None:
        await self.socket.close()
