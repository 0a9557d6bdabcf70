"""A loopback TCP listener relaying to PostgreSQL's Unix socket: the embedded server listens on a
socket only, and some behaviour (TCP_NODELAY) exists only over TCP, as with RDS Proxy.

The relay's own end sets TCP_NODELAY too, as a server does: otherwise its replies wait on Nagle's
algorithm behind the client's delayed ACK (~40 ms per round trip on Linux), and the benchmarks'
as-deployed figures measured the relay instead of the function."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        target.close()


@contextmanager
def tcp_relay(unix_socket_path: str) -> Iterator[int]:
    """Yield a 127.0.0.1 port whose connections are relayed to `unix_socket_path`."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(unix_socket_path)
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, target), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stopping.set()
        acceptor.join()
        listener.close()
