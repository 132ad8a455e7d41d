"""The address of the client behind any reverse proxies we trust.

``REMOTE_ADDR`` is the peer of the TCP connection: behind a reverse proxy, every
client shares the proxy's address, so per-address limits would lock out everyone at
once. ``X-Forwarded-For`` names the client, but anyone can send that header; only the
part a trusted proxy appended is believed. Proxies append the address they received
the request from, so the chain is read from the right, skipping trusted proxies, and
the first address that is not one is the client.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; compare them as IPv4.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


@functools.lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def client_address(peer: str, forwarded_for: str | None, proxies: Iterable[str]) -> str:
    """The client's address given the connection's ``peer``, the ``X-Forwarded-For``
    header and the trusted proxies (addresses or CIDR networks).

    Returns ``peer`` unchanged when the peer is not a trusted proxy (the header is then
    the client's own claim). Otherwise returns the right-most address of the header
    that is not a trusted proxy; the left-most one when all are proxies; and the last
    trusted hop when the header is missing or holds something that is not an address,
    since nothing to the left of it can be believed.
    """
    networks = _networks(tuple(proxies))
    hop = _address(peer)
    if hop is None or not networks:
        return peer

    def trusted(address: Address) -> bool:
        return any(address in network for network in networks)

    if not trusted(hop):
        return str(hop)
    for entry in reversed((forwarded_for or "").split(",")):
        previous = _address(entry)
        if previous is None:
            break
        hop = previous
        if not trusted(hop):
            break
    return str(hop)


def client_ip(request: HttpRequest) -> str:
    """The client address of ``request``, trusting ``HEEDED_TRUSTED_PROXIES``.

    Axes (``AXES_CLIENT_IP_CALLABLE``) and allauth's rate limits (the account
    adapter) both key on it, so the two agree on who a client is.
    """
    return client_address(
        request.META.get("REMOTE_ADDR", ""),
        request.META.get("HTTP_X_FORWARDED_FOR"),
        settings.HEEDED_TRUSTED_PROXIES,
    )
