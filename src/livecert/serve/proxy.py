"""Who the client is behind a reverse proxy or load balancer (for the rate limiter).

A request's client is the socket's peer, unless the peer is a trusted proxy
(``livecert serve --trusted-proxy CIDR``): then it is the rightmost address of
``X-Forwarded-For`` that is not a trusted proxy.  Only the part of the header that trusted
proxies wrote is read: everything left of the first untrusted address came from the client
and may be forged.  A malformed entry there (the proxy passed on something it did not write)
counts the request against the peer, with a log line; never an error.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Sequence

from livecert.errors import ErrorCode, InputError

log = logging.getLogger(__name__)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Longest X-Forwarded-For read (characters); a longer one is malformed.
MAX_HEADER = 4096


def parse_networks(texts: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Networks from CIDR texts (``10.0.0.0/8``, ``2001:db8::/32``, or one address).

    Raises
    ------
    InputError
        ``BAD_CONFIG``: a text is not an address or a network (host bits set count as one).
    """
    out: list[IPNetwork] = []
    for text in texts:
        try:
            out.append(ipaddress.ip_network(str(text).strip(), strict=False))
        except ValueError:
            raise InputError(
                f"trusted proxy {text!r} is not an IP address or a CIDR network such as 10.0.0.0/8",
                code=ErrorCode.BAD_CONFIG,
            ) from None
    return tuple(out)


def _address(text: str) -> IPAddress | None:
    """An address from one X-Forwarded-For entry (``a.b.c.d``, ``a.b.c.d:port``, ``v6``,
    ``[v6]`` or ``[v6]:port``); None when it is none of these."""
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or (text[end + 1 :] and not (text[end + 1] == ":" and text[end + 2 :].isdigit())):
            return None
        text = text[1:end]
    elif text.count(":") == 1:  # IPv4 with a port
        host, _, port = text.partition(":")
        if not port.isdigit():
            return None
        text = host
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: IPAddress, proxies: Sequence[IPNetwork]) -> bool:
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return any(address in net or (mapped is not None and mapped in net) for net in proxies)


def client_address(peer: str, forwarded_for: Sequence[str], proxies: Sequence[IPNetwork]) -> str:
    """The client a request is counted against.

    Parameters
    ----------
    peer : str
        The socket peer's address.
    forwarded_for : sequence of str
        The request's ``X-Forwarded-For`` header values, in order (one entry per hop,
        comma-separated; several headers are one list).
    proxies : sequence of IPNetwork
        Trusted proxies; empty: the peer, always.

    Returns
    -------
    str
        The peer when it is not a trusted proxy, when no header came, or when the entry to
        read is malformed; else the rightmost forwarded address that is not a trusted proxy
        (the leftmost when every one is).
    """
    peer_address = _address(peer)
    if not proxies or peer_address is None or not _trusted(peer_address, proxies) or not forwarded_for:
        return peer
    header = ",".join(forwarded_for)
    if len(header) > MAX_HEADER:
        log.warning("X-Forwarded-For of %d characters from a trusted proxy; counting the proxy", len(header))
        return peer
    entries = header.split(",")
    found: IPAddress | None = None
    for entry in reversed(entries):
        address = _address(entry)
        if address is None:
            log.warning("malformed X-Forwarded-For entry %r from a trusted proxy; counting the proxy", entry[:64])
            return peer
        found = address
        if not _trusted(address, proxies):
            break
    assert found is not None  # split() gives at least one entry
    return str(found.ipv4_mapped or found) if isinstance(found, ipaddress.IPv6Address) else str(found)
