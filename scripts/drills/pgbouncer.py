"""PgBouncer on a host, in transaction pooling mode, in front of the host's PostgreSQL.

Every game a worker plays holds a PostgreSQL connection from its first query to its
end (peewee opens one per thread; ``jobs.run_game`` closes it when the game ends), so
PostgreSQL sees one connection per running game: 10,000 games would need 10,000
backends, far past any sensible ``max_connections``. In transaction mode PgBouncer
lends a server connection to a client only for one transaction (peewee runs in
autocommit, so a statement outside ``atomic()`` is one), and a game that waits on a
model holds none. The capacity bench (``scripts/bench_capacity.py``) and
``tests/drills/test_pgbouncer.py`` run workers through it.

Transaction pooling shares server sessions between clients, so nothing may outlive a
transaction: no ``SET`` (only ``SET LOCAL``), no session advisory locks (the schema
upgrade takes ``pg_advisory_xact_lock``, released at commit), no ``LISTEN``, no
server-side prepared statements (psycopg2 interpolates parameters on the client). The
project uses none of these.
"""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2
from drills.netns import Host, HostPostgres, NetnsUnavailable, terminate, wait_port

PGBOUNCER = "pgbouncer"
PORT = 6432


def pgbouncer_missing() -> str | None:
    """Why PgBouncer cannot run here (for a test's skip, the bench's error), or None."""
    if shutil.which(PGBOUNCER) is None and not Path("/usr/sbin/pgbouncer").exists():
        return "pgbouncer is not installed (apt-get install pgbouncer)"
    return None


def _binary() -> str:
    return shutil.which(PGBOUNCER) or "/usr/sbin/pgbouncer"


class HostPgBouncer:
    """``pgbouncer`` on ``postgres``'s host, pooling its ``snakebench`` database with at
    most ``pool_size`` server connections for up to ``max_clients`` clients. Run as the
    ``postgres`` user (it refuses root); trust authentication, as the server has."""

    def __init__(
        self,
        postgres: HostPostgres,
        tmp: Path,
        *,
        pool_size: int = 20,
        max_clients: int = 2000,
        port: int = PORT,
    ) -> None:
        self.postgres = postgres
        self.host: Host = postgres.host
        self.port = port
        self.pool_size = pool_size
        self.max_clients = max_clients
        self.dir = tmp / "pgbouncer"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """What a worker's DATABASE_URL names instead of the server's."""
        return f"postgres://postgres@{self.host.address}:{self.port}/snakebench"

    def start(self) -> None:
        reason = pgbouncer_missing()
        if reason:
            raise NetnsUnavailable(reason)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "users.txt").write_text('"postgres" ""\n')
        server = f"host={self.host.address} port={self.postgres.port} dbname=snakebench"
        (self.dir / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"snakebench = {server}\n"
            "[pgbouncer]\n"
            f"listen_addr = {self.host.address}\n"
            f"listen_port = {self.port}\n"
            f"unix_socket_dir = {self.dir}\n"
            "auth_type = trust\n"
            f"auth_file = {self.dir / 'users.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pool_size}\n"
            f"max_client_conn = {self.max_clients}\n"
            "admin_users = postgres\n"
            "stats_users = postgres\n"
            "log_connections = 0\n"
            "log_disconnections = 0\n"
        )
        shutil.chown(self.dir, "postgres", "postgres")
        for path in self.dir.iterdir():
            shutil.chown(path, "postgres", "postgres")
        argv = ["runuser", "-u", "postgres", "--", _binary(), str(self.dir / "pgbouncer.ini")]
        self.process = self.host.popen(argv, log=self.dir / "pgbouncer.log")
        wait_port(self.host.address, self.port, 15, "pgbouncer")

    def pools(self) -> dict[str, int]:
        """``SHOW POOLS`` for the snakebench database, from the admin console:
        ``cl_active``/``cl_waiting`` (clients) and ``sv_active``/``sv_idle``/``sv_used``
        (server connections), among others."""
        rows = self._show("POOLS")
        found = [r for r in rows if r.get("database") == "snakebench"]
        if not found:
            return {}
        return _numbers(found[0])

    def stats(self) -> dict[str, int]:
        """``SHOW STATS`` for the snakebench database: totals since start
        (``total_xact_count``, ``total_xact_time`` in microseconds, ...)."""
        found = [r for r in self._show("STATS") if r.get("database") == "snakebench"]
        return _numbers(found[0]) if found else {}

    def _show(self, what: str) -> list[dict[str, Any]]:
        conn = psycopg2.connect(
            host=self.host.address, port=self.port, dbname="pgbouncer", user="postgres"
        )
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"SHOW {what}")
                names = [d[0] for d in cur.description or ()]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        finally:
            conn.close()

    def stop(self) -> None:
        terminate(self.process, 10)
        self.process = None


def _numbers(row: dict[str, Any]) -> dict[str, int]:
    """The numeric columns of an admin console row (SHOW STATS sends ``numeric``,
    which psycopg2 reads as Decimal)."""
    return {k: int(v) for k, v in row.items() if isinstance(v, int | Decimal)}
