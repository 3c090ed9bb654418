"""The API's listening socket, bound before anything else starts: a port already taken is one clear
error (and `--port 0` tells which free port it got)."""

from __future__ import annotations

import errno
import socket


class PortUnavailable(Exception):
    """The API's address cannot be bound (port taken, no permission, unknown host)."""

    def __init__(self, host: str, port: int, error: OSError) -> None:
        if error.errno == errno.EADDRINUSE:
            what = f"端口 {port} 已被占用 / port {port} on {host} is already in use"
        elif error.errno == errno.EACCES:
            what = f"无权使用端口 {port} / no permission to listen on port {port} (below 1024 needs root)"
        else:
            what = f"无法监听 {host}:{port} / cannot listen on {host}:{port} ({error.strerror or error})"
        super().__init__(f"{what}; 请换一个端口 / choose another port: --port 8081 (--port 0: any free port), "
                         f"or [api] port / HOTLINE_API_PORT")
        self.host = host
        self.port = port


def bind_api_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port (IPv6 when the host is an IPv6 address), listening, ready for uvicorn."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise PortUnavailable(host, port, OSError(e.errno, e.strerror)) from None
    family, kind, proto, _, address = info[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # what uvicorn does: restart after TIME_WAIT
        sock.bind(address)
        # Listening from here on: the URL is printed before uvicorn has started, and a browser (or a test)
        # that connects at once waits in the backlog instead of being refused. uvicorn listens again (same
        # backlog) and accepts what queued.
        sock.listen(2048)
        sock.set_inheritable(True)
    except OSError as e:
        sock.close()
        raise PortUnavailable(host, port, e) from None
    return sock


def bound_port(sock: socket.socket) -> int:
    port: int = sock.getsockname()[1]
    return port
