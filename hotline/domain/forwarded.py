"""Who a request came from when reverse proxies stand in between: the `X-Forwarded-For` header counts only
when the connection comes from a proxy the desk configured (`[access] trusted_proxies`); anyone else could
write any address into it. The header is read from the right: each trusted proxy appended the address it
saw, and the first address that is not a trusted proxy is the client (entries left of it were written by
the client itself and prove nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

Network = IPv4Network | IPv6Network


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """'10.0.0.5', '10.1.0.0/16', '::1' -> networks; ValueError naming the value that is none."""
    out: list[Network] = []
    for value in values:
        try:
            out.append(ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"不是 IP 地址或网段 {value!r} / not an IP address or network: {value!r} "
                             "(e.g. \"127.0.0.1\" or \"10.1.0.0/16\")") from None
    return tuple(out)


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in trusted)


def client_of(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str | None:
    """The client's address: the peer's, unless the peer is a trusted proxy and the header names one."""
    if peer is None or not forwarded_for or not trusted or not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            try:
                return str(ip_address(hop.strip("[]")))
            except ValueError:  # garbage where an address should be: the last proxy is what we know
                return peer
    return hops[0] if hops else peer  # every hop a trusted proxy: the first one is the origin
