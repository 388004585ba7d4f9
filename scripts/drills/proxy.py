"""A TCP proxy that makes a path slow and lossy: the drills' stand-in for ``netem``,
which this machine's kernel lacks.

    python scripts/drills/proxy.py --route 127.0.0.1:6379=10.1.2.10:6379 \\
        --route 127.0.0.1:5432=10.1.2.10:5432 --delay-ms 100 --reset-rate 0.01 \\
        --stats /tmp/proxy.json

Each ``--route LISTEN=TARGET`` accepts connections on LISTEN and opens one to TARGET
for each. Two faults:

- **Delay.** Every chunk read from either side is written to the other ``delay``
  seconds after it was read; chunks keep their order and nothing caps the throughput
  (several chunks are in flight at once), so a request and its reply each take
  ``delay`` longer, as on a long link. The unit is the chunk one ``read`` returns, not
  the IP packet: a burst the kernel coalesced into one read is delayed once, so this is
  per-packet delay only approximately (close for the small request/reply exchanges of
  Redis and PostgreSQL; a large transfer pays the delay per read, not per segment).
- **Resets.** After reading a chunk, with probability ``reset_rate`` the proxy drops it
  and resets the connection on both sides (``SO_LINGER`` 0, then close: each peer gets
  an RST, as from a middlebox or a crashed NAT). A reset therefore always lands mid-
  exchange: a request lost, or its reply lost after the server acted on it.

Self-contained (standard library only) so any drill or benchmark can start it on a
host (``Host.popen``), or in-process on a thread (:meth:`Proxy.start_in_thread`).
``--stats FILE`` keeps a JSON summary there (connections, resets, bytes, chunks),
rewritten every half second and at exit (SIGTERM or SIGINT).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

Address = tuple[str, int]
STATS_EVERY = 0.5  # seconds between rewrites of the --stats file
READ_SIZE = 65536


@dataclass
class Stats:
    """What one route did so far."""

    connections: int = 0
    resets: int = 0
    chunks: int = 0
    bytes_up: int = 0  # client -> target
    bytes_down: int = 0  # target -> client
    refused: int = 0  # the target could not be reached: the client's connection closed


class _Reset(Exception):
    """This connection drew a reset."""


class Proxy:
    """One route: listen on ``listen``, forward each connection to ``target`` with
    ``delay`` seconds added to every chunk each way, and reset a connection with
    probability ``reset_rate`` per chunk read. ``seed`` makes the resets repeatable."""

    def __init__(
        self,
        listen: Address,
        target: Address,
        *,
        delay: float = 0.1,
        reset_rate: float = 0.0,
        seed: int | None = None,
    ) -> None:
        if delay < 0 or not 0 <= reset_rate <= 1:
            raise ValueError("delay must be >= 0 and reset_rate within [0, 1]")
        self.listen = listen
        self.target = target
        self.delay = delay
        self.reset_rate = reset_rate
        self.stats = Stats()
        self._rng = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one the OS chose when ``listen`` asked for 0)."""
        if self._server is None:
            raise RuntimeError("the proxy is not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, *self.listen, reuse_address=True)

    async def close(self) -> None:
        """Stop listening and drop every connection still open."""
        if self._server is not None:
            self._server.close()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    # --- on a thread of its own ----------------------------------------------------------

    def start_in_thread(self) -> int:
        """Run on a private event loop in a daemon thread; returns the port."""
        started = threading.Event()
        failed: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to the caller below
                failed.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.close())
            loop.close()

        self._thread = threading.Thread(target=run, name="drill-proxy", daemon=True)
        self._thread.start()
        started.wait()
        if failed:
            raise failed[0]
        return self.port

    def stop(self) -> None:
        """Stop a proxy started with :meth:`start_in_thread`."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    # --- one connection ------------------------------------------------------------------

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        try:
            target_r, target_w = await asyncio.open_connection(*self.target)
        except OSError:
            self.stats.refused += 1
            _reset(client_w)
            return
        ends = (client_w, target_w)
        pipes = [
            asyncio.ensure_future(self._pipe(client_r, target_w, up=True)),
            asyncio.ensure_future(self._pipe(target_r, client_w, up=False)),
        ]
        try:
            await asyncio.gather(*pipes)
        except _Reset:
            self.stats.resets += 1
            for end in ends:
                _reset(end)
        except OSError:  # one side went away abruptly: pass it on as abruptly
            for end in ends:
                _reset(end)
        finally:
            for pipe in pipes:
                pipe.cancel()
            for end in ends:
                end.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, up: bool
    ) -> None:
        """Copy one direction: each chunk written ``delay`` after it was read."""
        loop = asyncio.get_running_loop()
        due: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        sender = asyncio.ensure_future(self._send(due, writer))
        try:
            while True:
                chunk = await reader.read(READ_SIZE)
                if chunk and self.reset_rate and self._rng.random() < self.reset_rate:
                    raise _Reset()
                await due.put((loop.time() + self.delay, chunk))
                if not chunk:
                    break
                self.stats.chunks += 1
                if up:
                    self.stats.bytes_up += len(chunk)
                else:
                    self.stats.bytes_down += len(chunk)
            await sender
        finally:
            sender.cancel()

    @staticmethod
    async def _send(due: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        while True:
            when, chunk = await due.get()
            wait = when - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not chunk:  # end of stream: pass the half-close on
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(chunk)
            await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST rather than a FIN: linger on, timeout 0."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# --- the command line --------------------------------------------------------------------


def parse_address(text: str) -> Address:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


def parse_route(text: str) -> tuple[Address, Address]:
    listen, sep, target = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not LISTEN=TARGET")
    return parse_address(listen), parse_address(target)


def write_stats(path: Path, proxies: list[Proxy]) -> None:
    """The routes' stats, and their sum, as JSON (replaced atomically)."""
    routes = {f"{p.listen[0]}:{p.listen[1]}": asdict(p.stats) for p in proxies}
    total = {key: sum(r[key] for r in routes.values()) for key in asdict(Stats())}
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps({"total": total, "routes": routes, "at": time.time()}))
    tmp.replace(path)


async def serve(proxies: list[Proxy], stats: Path | None) -> None:
    for proxy in proxies:
        await proxy.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"proxy: {len(proxies)} routes listening", flush=True)
    while not stop.is_set():
        if stats is not None:
            write_stats(stats, proxies)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), STATS_EVERY)
    if stats is not None:
        write_stats(stats, proxies)
    for proxy in proxies:
        await proxy.close()  # (the first drops every route's connections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--route", type=parse_route, action="append", required=True,
                        help="LISTEN_HOST:PORT=TARGET_HOST:PORT (repeatable)")  # fmt: skip
    parser.add_argument("--delay-ms", type=float, default=100.0,
                        help="added to every chunk, each way")  # fmt: skip
    parser.add_argument("--reset-rate", type=float, default=0.0,
                        help="chance per chunk read of resetting its connection")  # fmt: skip
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--stats", type=Path, default=None, help="keep a JSON summary here")
    args = parser.parse_args(argv)
    if args.delay_ms < 0 or not 0 <= args.reset_rate <= 1:
        parser.error("--delay-ms must be >= 0 and --reset-rate within [0, 1]")
    proxies = [
        Proxy(
            listen,
            target,
            delay=args.delay_ms / 1000,
            reset_rate=args.reset_rate,
            seed=None if args.seed is None else args.seed + i,
        )
        for i, (listen, target) in enumerate(args.route)
    ]
    try:
        asyncio.run(serve(proxies, args.stats))
    except OSError as exc:
        print(f"proxy: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
