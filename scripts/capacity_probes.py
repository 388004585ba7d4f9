"""What the capacity bench reads on the services host, before and after a window: the
work Redis and PostgreSQL (and PgBouncer) did for the games, counted where they serve.

- Redis: ``INFO commandstats`` (calls per command) after ``CONFIG RESETSTAT``,
  ``used_memory``;
- PostgreSQL: ``pg_stat_statements`` (calls per statement, preloaded by the bench's
  server) after ``pg_stat_statements_reset()``, ``pg_stat_database`` (rows written,
  commits), ``pg_stat_activity`` (connections held);
- bytes: nftables counters in the services host's namespace, per service port and
  direction, on every packet to or from another host (headers included: what a network
  card carries); the bench's own reads, from the bridge address, are left out.

Imported by ``scripts/bench_capacity.py`` (run as a script: this folder is on
``sys.path``).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import psycopg2
import redis
from drills.netns import Host, NetnsUnavailable

# Commands only the bench sends while measuring (the games' workers send none).
OWN_COMMANDS = {"info", "config"}
WRITES = ("INSERT", "UPDATE", "DELETE")
PORTS = {"redis": 6379, "postgres": 5432, "pgbouncer": 6432}


class PortBytes:
    """nftables byte counters on the services host: per service, in and out."""

    TABLE = "capacity"

    def __init__(self, host: Host, skip_address: str) -> None:
        self.host = host
        counters, rules_in, rules_out = [], [], []
        for name, port in PORTS.items():
            counters += [f"counter {name}_in {{}}", f"counter {name}_out {{}}"]
            rules_in.append(f'ip saddr != {skip_address} tcp dport {port} counter name "{name}_in"')
            rules_out.append(
                f'ip daddr != {skip_address} tcp sport {port} counter name "{name}_out"'
            )
        ruleset = (
            f"table inet {self.TABLE} {{\n  "
            + "\n  ".join(counters)
            + "\n  chain input { type filter hook input priority 0; policy accept;\n    "
            + "\n    ".join(rules_in)
            + "\n  }\n  chain output { type filter hook output priority 0; policy accept;\n    "
            + "\n    ".join(rules_out)
            + "\n  }\n}\n"
        )
        done = host.run(["nft", "-f", "-"], input=ruleset)
        if done.returncode != 0:
            raise NetnsUnavailable(f"nft counters on {host.name}: {done.stderr.strip()}")

    def read(self) -> dict[str, int]:
        """``{"redis_in": bytes, "redis_out": bytes, ...}`` since the last reset."""
        done = self.host.run(["nft", "-j", "list", "counters", "table", "inet", self.TABLE])
        if done.returncode != 0:
            raise NetnsUnavailable(f"nft list counters: {done.stderr.strip()}")
        found = {}
        for item in json.loads(done.stdout)["nftables"]:
            if "counter" in item:
                found[item["counter"]["name"]] = int(item["counter"]["bytes"])
        return found

    def reset(self) -> None:
        self.host.run(["nft", "reset", "counters", "table", "inet", self.TABLE])


def redis_commands(conn: redis.Redis, own: Counter[str]) -> Counter[str]:
    """Calls per command since the last ``CONFIG RESETSTAT``, less the bench's own:
    ``OWN_COMMANDS`` and the ``own`` calls it counted (its ZCARDs of the registries)."""
    stats: dict[str, Any] = conn.info("commandstats")
    calls: Counter[str] = Counter()
    for key, value in stats.items():
        name = key.removeprefix("cmdstat_")
        if name.split("|")[0] not in OWN_COMMANDS:
            calls[name] = int(value["calls"])
    calls.subtract(own)
    return +calls


def redis_footprint(conn: redis.Redis, finished: set[str]) -> dict[str, list[int]]:
    """``{kind: [count, bytes]}`` of everything Redis holds (MEMORY USAGE of each key):
    ``finished job`` (the job hash and result stream of a job in ``finished``, kept for
    RESULT_TTL), ``live job`` (any other job's: queued or running), counted in jobs;
    ``other`` (queues, registries, live boards, workers, spend counters), in keys."""
    keys = [k.decode() for k in conn.scan_iter(count=1000)]
    pipe = conn.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key)
    sizes: Counter[str] = Counter()
    jobs: dict[str, set[str]] = {"finished job": set(), "live job": set(), "other": set()}
    for key, size in zip(keys, pipe.execute(), strict=True):
        job = key.split(":", 2)[2] if key.startswith(("rq:job:", "rq:results:")) else None
        kind = "other" if job is None else "finished job" if job in finished else "live job"
        jobs[kind].add(job or key)
        sizes[kind] += int(size or 0)
    return {kind: [len(ids), sizes[kind]] for kind, ids in jobs.items()}


@dataclass
class PgCounts:
    """PostgreSQL's counters for the snakebench database at one moment."""

    statements: Counter[str]  # calls by first keyword (SELECT, INSERT, BEGIN, ...)
    rows_written: int  # tuples inserted + updated + deleted
    commits: int
    exec_ms: float  # the statements' execution time in the server, summed


class PgProbe:
    """Reads the host's PostgreSQL from the ``postgres`` database (so its own queries
    never count against ``snakebench``'s)."""

    def __init__(self, address: str, port: int = 5432) -> None:
        self.conn = psycopg2.connect(host=address, port=port, dbname="postgres", user="postgres")
        self.conn.autocommit = True
        self._sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def _sql(self, query: str) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(query)
            return list(cur.fetchall()) if cur.description else []

    def reset(self) -> None:
        self._sql("SELECT pg_stat_statements_reset()")

    def counts(self) -> PgCounts:
        by_kind = self._sql(
            "SELECT upper(split_part(ltrim(s.query), ' ', 1)), sum(s.calls)::bigint, "
            "sum(s.total_exec_time) "
            "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
            "WHERE d.datname = 'snakebench' GROUP BY 1"
        )
        [(written, commits)] = self._sql(
            "SELECT tup_inserted + tup_updated + tup_deleted, xact_commit "
            "FROM pg_stat_database WHERE datname = 'snakebench'"
        )
        kinds = Counter({k: int(v) for k, v, _ in by_kind})
        exec_ms = sum(float(ms) for _, _, ms in by_kind)
        return PgCounts(kinds, int(written), int(commits), exec_ms)

    def top(self, n: int = 8) -> list[tuple[int, str]]:
        """The ``n`` statements called most since the reset: (calls, text)."""
        rows = self._sql(
            "SELECT s.calls, left(regexp_replace(s.query, '\\s+', ' ', 'g'), 120) "
            "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
            f"WHERE d.datname = 'snakebench' ORDER BY s.calls DESC LIMIT {int(n)}"
        )
        return [(int(calls), str(text)) for calls, text in rows]

    def connections(self) -> int:
        """Client connections to the snakebench database open now (any state)."""
        [(count,)] = self._sql(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = 'snakebench' AND backend_type = 'client backend'"
        )
        return int(count)

    def close(self) -> None:
        self.conn.close()


def writes(statements: Counter[str]) -> int:
    return sum(statements[k] for k in WRITES)
