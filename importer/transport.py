"""The HTTP transport under the HubSpot client: an overall deadline per request, and a proxy only
where the token is safe from it.

httpx's timeouts count per read, so a server that trickles its answer a byte at a time never
trips them.  Here every socket read, write and connect of a request gets at most what is left of
the request's deadline (:func:`deadline`, per thread: one request runs in one thread), so no
request outlives it however the bytes arrive.

Proxies: httpx would take ``HTTP_PROXY`` from the environment and hand a plain-http request,
``Authorization`` header included, to the proxy in clear text.  So the client never reads the
environment itself; the config names at most one proxy (``proxy``, or ``HTTPS_PROXY`` /
``ALL_PROXY``), and it is used only for https to a host that is not this machine, where the
token travels inside the TLS tunnel the proxy cannot open.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from .config import is_loopback

_local = threading.local()
#: How long an idle connection is kept (httpx's default is 5 s).  Sending at the limit goes in bursts
#: a rate-limit window apart (HubSpot's is 10 s): kept longer than that, the connections one burst
#: opened carry the next one, which would otherwise pay for new connections (and TLS) every window.
KEEPALIVE_S = 30.0


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every network operation of this thread inside the block ends by ``seconds`` from now."""
    previous = getattr(_local, "until", None)
    _local.until = time.monotonic() + seconds
    try:
        yield
    finally:
        _local.until = previous


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """The timeout for one operation: the given one, shortened to what the deadline leaves."""
    until = getattr(_local, "until", None)
    if until is None:
        return timeout
    left = until - time.monotonic()
    if left <= 0:
        raise error("the request took longer than its overall deadline (request_timeout_s)")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, left, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, _left(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's own transport whose sockets honour :func:`deadline`.

    httpx offers no hook for the network layer, so the pool's backend (an httpcore attribute) is
    wrapped; ``tests/test_transport.py`` fails loudly should a new httpx version move it.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pool = self._pool
        pool._network_backend = _Backend(pool._network_backend)


def build(
    base_url: str,
    *,
    proxy: str | None,
    connections: int,
) -> httpx.HTTPTransport:
    """The transport for ``base_url``: https is verified (honouring ``SSL_CERT_FILE``), plain http
    (only ever this machine) skips the CA store; ``proxy`` only for https beyond this machine."""
    url = httpx.URL(base_url)
    secure = url.scheme == "https"
    use_proxy = proxy if secure and not is_loopback(url.host) else None
    return DeadlineTransport(
        verify=secure,
        trust_env=secure,
        proxy=use_proxy,
        limits=httpx.Limits(
            max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=KEEPALIVE_S
        ),
    )
