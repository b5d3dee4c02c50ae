"""api/proxies.py: whose address a request is counted under, with and without trusted proxies (no server)."""

from __future__ import annotations

import pytest

from api.proxies import client_address, networks

PROXIES = networks(["10.0.0.0/8", "2001:db8:1::/48", "192.0.2.10"])


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        # The load balancer appended the address it saw; what the client wrote to its left is not believed.
        ("10.0.0.5", ["1.1.1.1, 203.0.113.7"], "203.0.113.7"),
        # Two trusted hops: the second proxy is skipped, the address the first one saw is the client.
        ("10.0.0.5", ["1.1.1.1, 203.0.113.7, 10.3.3.3"], "203.0.113.7"),
        # The same list in two headers, and an address with a port.
        ("192.0.2.10", ["1.1.1.1", "203.0.113.7:4711, 10.3.3.3"], "203.0.113.7"),
        ("2001:db8:1::9", ["[2001:db8:2::7]:4711"], "2001:db8:2::7"),
        # Nothing forwarded: the proxy is the client.
        ("10.0.0.5", [], "10.0.0.5"),
        # A trusted proxy that wrote something other than an address: the last hop known.
        ("10.0.0.5", ["203.0.113.7, unknown"], "10.0.0.5"),
        # Every hop trusted: the leftmost one.
        ("10.0.0.5", ["10.1.1.1, 10.2.2.2"], "10.1.1.1"),
    ],
)
def test_from_a_trusted_proxy_the_header_is_read_from_the_right(
    peer: str, forwarded_for: list[str], client: str
) -> None:
    # given the peer and the headers above

    # when
    found = client_address(peer, forwarded_for, PROXIES)

    # then
    assert found == client


@pytest.mark.parametrize("peer", ["127.0.0.1", "203.0.113.99", "10.0.0.5"])
def test_without_trusted_proxies_the_header_is_never_believed(peer: str) -> None:
    # given no trusted proxies, and a header claiming another address

    # when
    found = client_address(peer, ["198.51.100.1"], networks([]))

    # then
    assert found == peer


def test_a_peer_that_is_not_a_trusted_proxy_cannot_claim_an_address() -> None:
    # given: a local process, not among the trusted proxies, sending the header
    peer = "127.0.0.1"

    # when
    found = client_address(peer, ["198.51.100.1"], PROXIES)

    # then
    assert found == "127.0.0.1"
