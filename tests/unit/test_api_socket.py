"""The API socket: listening as soon as it is bound (the URL is printed before uvicorn runs), and a
port that cannot be had is one clear error."""

from __future__ import annotations

import socket

import pytest

from hotline.runtime.api_socket import PortUnavailable, bind_api_socket, bound_port


def test_a_client_connecting_before_the_server_starts_is_queued_not_refused() -> None:
    sock = bind_api_socket("127.0.0.1", 0)
    try:
        port = bound_port(sock)
        assert port != 0
        # nobody accepts yet: the connection waits in the backlog (a refused one raises ConnectionRefusedError)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            conn, _ = sock.accept()  # what uvicorn does once it runs
            with conn:
                assert conn.recv(100).startswith(b"GET /healthz")
    finally:
        sock.close()


def test_a_port_in_use_names_the_port_and_the_fix() -> None:
    first = bind_api_socket("127.0.0.1", 0)
    try:
        port = bound_port(first)
        with pytest.raises(PortUnavailable) as caught:
            bind_api_socket("127.0.0.1", port)
        text = str(caught.value)
        assert f"端口 {port} 已被占用" in text and f"port {port} on 127.0.0.1 is already in use" in text
        assert "--port 0" in text
    finally:
        first.close()
