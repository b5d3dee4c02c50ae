"""Who the client is: the address that connected, unless that is one of the proxies the operator named
(`JSC_TRUSTED_PROXIES`); then X-Forwarded-For says, read from the right, where each trusted hop appended the
address it saw, and the first address no trusted proxy owns is the client. Entries further left were written by
the client itself and are never believed. With no trusted proxies (the default) the header is ignored: otherwise
any process that can connect could claim any address and walk around every per-address limit.

uvicorn has its own reading of the header, on by default for 127.0.0.1, which would rewrite the address before
this sees it: the API is started with `--no-proxy-headers`, and this middleware decides instead.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(proxies: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p) for p in proxies)


def _address(entry: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An entry of X-Forwarded-For as an address: 203.0.113.7, 2001:db8::1, and with a port 203.0.113.7:4711 or
    [2001:db8::1]:4711 (some proxies write one). None for anything else."""
    value = entry.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else value
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    found = _address(address)
    return found is not None and any(found in net for net in trusted)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client's address, from the connecting ``peer`` and the X-Forwarded-For headers it sent (in order)."""
    if not is_trusted(peer, trusted):
        return peer
    client = peer
    for entry in reversed([e for header in forwarded_for for e in header.split(",")]):
        found = _address(entry)
        if found is None:
            # A trusted proxy wrote something that is not an address: the last hop known is the best there is.
            break
        client = str(found)
        if not any(found in net for net in trusted):
            break
    return client


class TrustedProxies:
    """Puts the client's address (client_address) into the scope, for HTTP and WebSocket alike, so that the rate
    limits and the logs see the same one; from a trusted proxy X-Forwarded-Proto sets the scheme too."""

    def __init__(self, app: ASGIApp, proxies: Iterable[str]) -> None:
        self.app = app
        self.trusted = networks(proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client") if scope["type"] in ("http", "websocket") else None
        if client and is_trusted(client[0], self.trusted):
            headers = scope["headers"]
            forwarded = [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-for"]
            address = client_address(client[0], forwarded, self.trusted)
            scope = {**scope, "client": (address, client[1] if address == client[0] else 0)}
            proto = next((v.decode("latin-1").strip() for k, v in headers if k == b"x-forwarded-proto"), "")
            if proto in ("http", "https"):
                scope["scheme"] = proto if scope["type"] == "http" else proto.replace("http", "ws")
        await self.app(scope, receive, send)
