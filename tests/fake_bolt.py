"""A fake Bolt server for security tests: it answers the handshake, records the first
messages a client sends (HELLO and LOGON, which carries the credentials) and hangs up.
Tests ask it whether a password arrived."""

from __future__ import annotations

import socket
import threading


class FakeBolt:
    """Listen on ``host`` (a free port unless ``port``); ``received`` holds every byte sent."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(8)
        self.port = int(self.sock.getsockname()[1])
        self.received = b""
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(5)
                try:
                    self.received += conn.recv(20)           # magic + four version proposals
                    conn.sendall(bytes.fromhex("00000205"))  # "Bolt 5.2": HELLO, then LOGON with the credentials
                    conn.settimeout(1)
                    while chunk := conn.recv(65536):         # the client sends them without waiting
                        self.received += chunk
                except OSError:
                    pass

    def got(self, secret: str) -> bool:
        """Whether ``secret`` arrived in any message."""
        return secret.encode() in self.received

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> FakeBolt:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
