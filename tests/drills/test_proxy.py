"""The drills' slow, lossy TCP proxy (scripts/drills/proxy.py) against a real echo
server on loopback: it forwards bytes intact both ways, it adds its delay to each
chunk each way, and it resets connections (an RST to both ends) at its rate."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from drills.proxy import Proxy

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "drills" / "proxy.py"


class Echo:
    """A threaded echo server; ``resets`` counts connections its peer reset."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.resets = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    def _echo(self, conn: socket.socket) -> None:
        with conn:
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
            except ConnectionResetError:
                self.resets += 1

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def echo() -> Iterator[Echo]:
    server = Echo()
    yield server
    server.close()


def through(echo: Echo, **options: float) -> tuple[Proxy, int]:
    proxy = Proxy(("127.0.0.1", 0), ("127.0.0.1", echo.port), **options)  # type: ignore[arg-type]
    return proxy, proxy.start_in_thread()


def exchange(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        received = bytearray()
        sender = threading.Thread(target=conn.sendall, args=(payload,))
        sender.start()
        while len(received) < len(payload):
            chunk = conn.recv(65536)
            if not chunk:
                break
            received += chunk
        sender.join()
    return bytes(received)


def test_bytes_arrive_intact_both_ways(echo: Echo) -> None:
    proxy, port = through(echo, delay=0.001)
    payload = os.urandom(3_000_000)
    try:
        assert exchange(port, payload) == payload
    finally:
        proxy.stop()
    assert proxy.stats.bytes_up == proxy.stats.bytes_down == len(payload)
    assert proxy.stats.resets == 0 and proxy.stats.connections == 1


def test_each_chunk_waits_its_delay_each_way(echo: Echo) -> None:
    proxy, port = through(echo, delay=0.1)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            for _ in range(3):
                started = time.monotonic()
                conn.sendall(b"ping")
                assert conn.recv(10) == b"ping"
                # Up and down: at least twice the delay (a lower bound holds under any load).
                assert time.monotonic() - started >= 0.2
    finally:
        proxy.stop()
    assert proxy.stats.chunks == 6


def test_a_reset_reaches_both_ends_as_an_rst(echo: Echo) -> None:
    proxy, port = through(echo, delay=0.0, reset_rate=1.0)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(b"lost")
            with pytest.raises(ConnectionResetError):
                conn.recv(10)
        deadline = time.monotonic() + 5
        while echo.resets == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        proxy.stop()
    assert proxy.stats.resets == 1
    assert echo.resets == 1


def test_resets_come_at_about_their_rate(echo: Echo) -> None:
    proxy, port = through(echo, delay=0.0, reset_rate=0.25, seed=7)
    survived = 0
    try:
        for _ in range(200):
            with contextlib.suppress(ConnectionResetError):
                survived += exchange(port, b"x") == b"x"
    finally:
        proxy.stop()
    # Each connection has two chunks (up, down) that may draw a reset: 0.75**2 survive.
    assert proxy.stats.resets == 200 - survived
    assert 0.4 < survived / 200 < 0.75


def test_command_line_routes_and_writes_its_stats(echo: Echo, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stats = tmp_path / "stats.json"
    route = f"127.0.0.1:{port}=127.0.0.1:{echo.port}"
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--route", route, "--delay-ms", "1", "--stats", str(stats)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and "listening" in proc.stdout.readline()
        assert exchange(port, b"hello") == b"hello"
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
    total = json.loads(stats.read_text())["total"]
    assert (total["connections"], total["bytes_up"], total["resets"]) == (1, 5, 0)


def test_a_bad_route_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--route", "nowhere"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "LISTEN=TARGET" in done.stderr and "Traceback" not in done.stderr
