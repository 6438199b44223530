"""The rate limiter's client behind a reverse proxy (``livecert serve --trusted-proxy CIDR``):
X-Forwarded-For is believed only from a trusted proxy, read from the right, and a malformed
one counts the proxy, with a log line, never a 500."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="livecert serve needs the serve extra (pip install 'livecert[serve]')")
pytest.importorskip("httpx", reason="the API tests need httpx (the serve-test extra)")

from fastapi.testclient import TestClient  # noqa: E402

from livecert.app.cli import main  # noqa: E402
from livecert.errors import InputError  # noqa: E402
from livecert.serve.app import create_app  # noqa: E402
from livecert.serve.config import ServeConfig  # noqa: E402
from livecert.serve.proxy import client_address, parse_networks  # noqa: E402
from tests.unit.test_serve import make_service  # noqa: E402

PROXIES = parse_networks(["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"])


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        # not a trusted proxy: the peer, whatever it claims
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),
        ("testclient", ["198.51.100.1"], "testclient"),
        # a trusted proxy: the rightmost address that is not one
        ("10.1.2.3", ["198.51.100.1"], "198.51.100.1"),
        ("10.1.2.3", ["6.6.6.6, 198.51.100.1, 10.9.9.9"], "198.51.100.1"),  # 6.6.6.6: forged by the client
        ("192.0.2.7", ["198.51.100.1", "10.9.9.9"], "198.51.100.1"),  # two headers are one list
        ("2001:db8::1", ["2001:db8::2, 2001:db8:ffff::9, 198.51.100.4"], "198.51.100.4"),
        ("10.1.2.3", ["[2001:db9::5]:4711"], "2001:db9::5"),
        ("10.1.2.3", ["198.51.100.1:5555"], "198.51.100.1"),
        ("::ffff:10.1.2.3", ["198.51.100.1"], "198.51.100.1"),  # an IPv4 proxy seen on a dual-stack socket
        ("10.1.2.3", ["::ffff:198.51.100.1"], "198.51.100.1"),
        # every hop a trusted proxy: the farthest one
        ("10.1.2.3", ["10.4.4.4, 10.5.5.5"], "10.4.4.4"),
        # no header: the proxy itself (its health checks)
        ("10.1.2.3", [], "10.1.2.3"),
        # malformed where it is read: the peer
        ("10.1.2.3", ["not-an-address"], "10.1.2.3"),
        ("10.1.2.3", ["198.51.100.1, "], "10.1.2.3"),
        ("10.1.2.3", ["198.51.100.1:port"], "10.1.2.3"),
        ("10.1.2.3", ["[2001:db9::5"], "10.1.2.3"),
        ("10.1.2.3", ["1.2.3.4" + ", 5.6.7.8" * 600], "10.1.2.3"),  # too long
        # malformed only left of the client (the client's own forgery): not read
        ("10.1.2.3", ["<script>, 198.51.100.1"], "198.51.100.1"),
    ],
)
def test_client_address(peer: str, header: list[str], client: str) -> None:
    assert client_address(peer, header, PROXIES) == client


def test_no_trusted_proxy_means_the_peer() -> None:
    assert client_address("10.1.2.3", ["198.51.100.1"], ()) == "10.1.2.3"


def test_bad_trusted_proxy_is_a_config_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        ServeConfig(trusted_proxies=("10.0.0.0/33",))
    assert err.value.code == "BAD_CONFIG" and "10.0.0.0/33" in str(err.value)
    with pytest.raises(InputError):
        ServeConfig(trusted_proxies="10.0.0.0/8")  # type: ignore[arg-type]
    assert ServeConfig(trusted_proxies=("10.0.0.1/8",)).proxy_networks == parse_networks(["10.0.0.0/8"])
    assert main(["serve", "--trusted-proxy", "proxy.local", "--data-dir", str(tmp_path / "d")]) != 0
    assert "proxy.local" in capsys.readouterr().err and not (tmp_path / "d").exists()


def test_rate_limit_counts_the_forwarded_client(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Behind a trusted proxy each forwarded client has its own allowance; a forged header from
    an untrusted peer changes nothing; a malformed one from the proxy counts the proxy."""
    config = ServeConfig(rate_per_minute=1.0, rate_burst=2, trusted_proxies=("10.0.0.0/8",))
    service = make_service(tmp_path, config=config)
    app = create_app(service)

    def statuses(peer: str, forwarded: str | None, n: int = 3) -> list[int]:
        headers = {} if forwarded is None else {"X-Forwarded-For": forwarded}
        with TestClient(app, client=(peer, 4000)) as c:
            return [c.post("/api/sessions", json={}, headers=headers).status_code for _ in range(n)]

    assert statuses("10.0.0.5", "198.51.100.1") == [201, 201, 429]
    assert statuses("10.0.0.6", "198.51.100.2") == [201, 201, 429]  # another client, another allowance
    assert statuses("10.0.0.7", "198.51.100.1", 1) == [429]  # the same client through another proxy
    # an untrusted peer cannot pick its key by forging the header
    assert statuses("203.0.113.9", "198.51.100.50") == [201, 201, 429]
    assert statuses("203.0.113.9", "198.51.100.51", 1) == [429]
    with caplog.at_level(logging.WARNING, logger="livecert.serve.proxy"):
        assert statuses("10.0.0.8", "garbage") == [201, 201, 429]  # counted against the proxy
    assert "malformed X-Forwarded-For" in caplog.text
