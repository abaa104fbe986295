"""A data center that is down in the worst way: it accepts every connection and never
answers (a hung load balancer). For the circuit breaker's tests and benchmark."""

from __future__ import annotations

import contextlib
import socket
import threading

__all__ = ["Silent"]


class Silent:
    """Listens on 127.0.0.1, accepts every connection, never answers; ``accepted`` holds
    the connections (kept open). ``close()`` ends it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4096)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, name="sandbox-silent", daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.accepted.append(self.sock.accept()[0])

    def close(self) -> None:
        """Stop listening and drop every connection."""
        self.sock.close()
        for conn in self.accepted:
            conn.close()
