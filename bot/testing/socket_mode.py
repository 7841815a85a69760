"""A loopback fake of Slack's Socket Mode end: a WebSocket server that hands out envelopes.

Slack's side of Socket Mode, as far as an app sees it: the app calls
``apps.connections.open`` with its app-level token (``FakeSlack`` answers with
``FakeSocketMode.url`` when ``fake.socket_mode_url`` is set), opens a WebSocket
to that URL, gets a ``hello``, then receives envelopes (``slash_commands``,
``interactive``, ``events_api``) and answers each with its ``envelope_id``::

    with FakeSocketMode() as socket_mode:
        fake.socket_mode_url = socket_mode.url
        ...                                     # start the app with SLACK_APP_TOKEN
        socket_mode.wait_connected()
        envelope_id = socket_mode.send("slash_commands", {...})
        ack = socket_mode.wait_ack(envelope_id)

Plain ``ws://`` on 127.0.0.1: slack_sdk's built-in client skips TLS on any port
but 443. Only what the protocol needs here is implemented: unfragmented text
frames, ping/pong and close.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import threading
import uuid
from typing import Any

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class FakeSocketMode:
    """Accepts the app's WebSocket connections; sends envelopes, records the answers."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(4)
        self._lock = threading.Condition()
        self._connections: list[socket.socket] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.received: list[dict[str, Any]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link/?ticket=fake-ticket"

    def __enter__(self) -> FakeSocketMode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.close()
            self._connections.clear()

    # -- driving the app ---------------------------------------------------------------

    def wait_connected(self, timeout: float = 30.0) -> None:
        with self._lock:
            if not self._lock.wait_for(lambda: self._connections, timeout):
                raise AssertionError("the app never opened its Socket Mode connection")

    def send(self, envelope_type: str, payload: dict[str, Any], **extra: Any) -> str:
        """Send one envelope on the newest connection; returns its envelope_id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": envelope_type != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
            **extra,
        }
        with self._lock:
            conn = self._connections[-1]
        conn.sendall(_frame(TEXT, json.dumps(envelope).encode()))
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The app's answer to an envelope (``{"envelope_id": ..., "payload": ...}``)."""
        with self._lock:
            if not self._lock.wait_for(lambda: envelope_id in self.acks, timeout):
                raise AssertionError(f"no ack for envelope {envelope_id}")
            return self.acks[envelope_id]

    # -- the server --------------------------------------------------------------------

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            if not _handshake(conn, reader):
                return
            hello = {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                "connection_info": {"app_id": "A0001"},
            }
            conn.sendall(_frame(TEXT, json.dumps(hello).encode()))
            with self._lock:
                self._connections.append(conn)
                self._lock.notify_all()
            while True:
                opcode, data = _read_frame(reader)
                if opcode == TEXT:
                    message = json.loads(data)
                    with self._lock:
                        self.received.append(message)
                        if "envelope_id" in message:
                            self.acks[message["envelope_id"]] = message
                        self._lock.notify_all()
                elif opcode == PING:
                    conn.sendall(_frame(PONG, data))
                elif opcode == CLOSE:
                    conn.sendall(_frame(CLOSE, data[:2]))
                    return
        except (OSError, ConnectionError, ValueError):
            return
        finally:
            with self._lock:
                if conn in self._connections:
                    self._connections.remove(conn)
            conn.close()


def _handshake(conn: socket.socket, reader: Any) -> bool:
    """Answer the HTTP Upgrade request with 101 Switching Protocols."""
    headers: dict[str, str] = {}
    request_line = reader.readline()
    if not request_line.startswith(b"GET "):
        return False
    while (line := reader.readline().strip()) != b"":
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    key = headers.get("sec-websocket-key", "")
    accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
    conn.sendall(
        (
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
        ).encode()
    )
    return True


def _frame(opcode: int, data: bytes) -> bytes:
    """One unmasked, unfragmented frame (servers never mask)."""
    size = len(data)
    if size < 126:
        head = bytes([0x80 | opcode, size])
    elif size < 65536:
        head = bytes([0x80 | opcode, 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 127]) + size.to_bytes(8, "big")
    return head + data


def _read_frame(reader: Any) -> tuple[int, bytes]:
    """(opcode, payload) of the next frame from the client (clients always mask)."""
    head = _exactly(reader, 2)
    opcode, size = head[0] & 0x0F, head[1] & 0x7F
    if size == 126:
        size = int.from_bytes(_exactly(reader, 2), "big")
    elif size == 127:
        size = int.from_bytes(_exactly(reader, 8), "big")
    mask = _exactly(reader, 4) if head[1] & 0x80 else b""
    data = _exactly(reader, size)
    if mask:
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return opcode, data


def _exactly(reader: Any, n: int) -> bytes:
    data = reader.read(n)
    if len(data) < n:
        raise ConnectionError("the client closed the connection")
    return data
