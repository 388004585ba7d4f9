"""From measured figures per round and per concurrent game to what ``games`` concurrent
games on ``machines`` worker machines need, and which part gives out first.

The arithmetic docs/SCALING.md explains, done by ``scripts/bench_capacity.py`` on its
own measurements so that a rerun refreshes every figure. Rates scale with rounds: at
the bench's model latency a game plays one round per 0.3667 s (the slower of two
300 ms + U(0, 100 ms) replies); a model k times slower divides every per-second figure
by k, and leaves connections and memory (held per running game) as they are.

The limits are stated assumptions, printed with the table: Redis runs commands on one
thread (1 core); a PgBouncer process is single-threaded too (1 core); PostgreSQL's
default ``max_connections`` is 100; a worker machine has this machine's cores; links
are 1 Gbit/s.
"""

from __future__ import annotations

import math
import os
import statistics
from dataclasses import dataclass, field

from snakebench.queueing import RESULT_TTL

MEAN_SLOWER_MOVE = (300.0 + 2 * 100.0 / 3) / 1000
PG_MAX_CONNECTIONS = 100  # PostgreSQL's default
LINK_MBIT = 1000.0


@dataclass
class Measured:
    """One window of scripts/bench_capacity.py: ``games`` running, workers reaching
    PostgreSQL ``pooler`` (direct or pgbouncer)."""

    pooler: str
    games: int
    processes: int
    seconds: float
    rounds: float
    ideal_rounds: float
    finished: int
    running: float
    redis_commands: int
    top_commands: dict[str, int]
    statements: int
    statement_kinds: dict[str, int]
    top_statements: list[tuple[int, str]]  # (calls, text) of the most called
    sql_writes: int
    rows_written: int
    commits: int
    bytes: dict[str, int]  # "<service>_in"/"<service>_out": bytes on the services host
    cpu: dict[str, float]  # CPU seconds in the window: workers, redis, postgres, pgbouncer
    idle_cpu: dict[str, float]  # cores each service used idle (subtracted from cpu)
    server_connections: list[int]
    client_connections: list[int]
    bouncer_xacts: int
    bouncer_xact_us: int
    pool_size: int
    worker_pss_kb: int
    redis_footprint: dict[str, list[int]]  # kind: [keys, bytes], at the window's end
    max_rounds: int = 100  # a game's rounds when no snake dies
    exec_ms: float = 0.0  # pg_stat_statements' total_exec_time over the window
    pool_waiting: list[int] = field(default_factory=list)  # clients PgBouncer queued

    @property
    def rate(self) -> float:
        return self.rounds / self.seconds

    @property
    def efficiency(self) -> float:
        """Rounds played against the ideal for the games that ran."""
        return self.rate * MEAN_SLOWER_MOVE / max(self.running, 1.0)

    def per_round(self, value: float) -> float:
        return value / max(self.rounds, 1.0)

    def per_game_s(self, value: float) -> float:
        """Per running game and second (the workers' thread slots can exceed N by a
        few: the running mean is what played)."""
        return value / self.seconds / max(self.running, 1.0)

    def per_game(self, value: float) -> float:
        """Per game of ``max_rounds`` rounds: ``value`` per round times those rounds.
        Counted per round, not over the games that ended in the window: those are the
        short ones (a snake died early), and past the CPU's limit there are few. A
        game's start and end statements are in the per-round figure in proportion to
        the games that started and ended in the window."""
        return self.per_round(value) * self.max_rounds

    def job_kb(self, kind: str) -> float:
        jobs, size = self.redis_footprint[kind]
        return size / 1024 / max(jobs, 1)

    def traffic(self, service: str) -> int:
        return self.bytes.get(f"{service}_in", 0) + self.bytes.get(f"{service}_out", 0)

    @property
    def redis_us_per_command(self) -> float:
        return self.cpu.get("redis", 0.0) / max(self.redis_commands, 1) * 1e6

    @property
    def pg_us_per_statement(self) -> float:
        return self.cpu.get("postgres", 0.0) / max(self.statements, 1) * 1e6

    def connections(self, samples: list[int]) -> str:
        return f"{statistics.mean(samples):.1f} / {max(samples)}" if samples else "-"

    @property
    def bouncer_line(self) -> str:
        if not self.bouncer_xacts:
            return "-"
        waiting = f"{statistics.mean(self.pool_waiting):.1f}" if self.pool_waiting else "-"
        return f"{self.pool_size} / {self.bouncer_xact_us / self.bouncer_xacts:,.0f} / {waiting}"


@dataclass
class Plan:
    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str]


def project(
    results: list[Measured], *, games: int, machines: int, move_seconds: float = MEAN_SLOWER_MOVE
) -> Plan:
    """The needs of ``games`` concurrent games on ``machines`` machines, a round taking
    ``move_seconds`` (the slower of a round's two replies), from the representative
    measured column of each pooler."""
    direct = _representative(results, "direct")
    pooled = _representative(results, "pgbouncer")
    base = direct or pooled
    header = ["need", "per unit (measured)", f"x {games:,} games", "limit (assumed)", "used"]
    if base is None:
        return Plan("No measurements to project", header, [], [])
    rounds = games / move_seconds  # rounds/s of all the games
    cores = os.cpu_count() or 1
    per_round = base.per_round
    rows: list[tuple[str, str, float, str, float | None]] = []

    def need(name: str, unit: str, total: float, limit: str, cap: float | None) -> None:
        rows.append((name, unit, total, limit, total / cap if cap else None))

    need("rounds/s", f"{1 / move_seconds:.2f}/s a game", rounds, "", None)
    worker_cpu = per_round(base.cpu["workers"]) * rounds / machines
    need(
        "worker cores a machine",
        f"{per_round(base.cpu['workers']) * 1e3:.1f} ms/round",
        worker_cpu,
        f"{cores} cores",
        cores,
    )
    per_game, per_process = _memory(results)
    on_one = games / machines
    processes = math.ceil(on_one / (base.games / base.processes))  # as many games a process
    need(
        "worker MB a machine",
        f"{per_game:.1f} MB/game + {per_process:.0f}/process",
        per_game * on_one + per_process * processes,
        "",
        None,
    )
    commands = per_round(base.redis_commands) * rounds
    need("Redis commands/s", f"{per_round(base.redis_commands):.2f}/round", commands, "", None)
    redis_cores = base.redis_us_per_command * commands / 1e6
    need(
        "Redis cores",
        f"{base.redis_us_per_command:.1f} us/command",
        redis_cores,
        "1 core (one thread)",
        1.0,
    )
    live_kb = base.job_kb("live job")
    need("Redis MB, running jobs", f"{live_kb:.1f} KB/job", live_kb * games / 1024, "", None)
    ended = rounds / (base.rounds / max(base.finished, 1))  # games ending per second
    kept = base.job_kb("finished job") * ended * RESULT_TTL / 1024 / 1024
    need(
        "Redis GB, finished jobs kept",
        f"{base.job_kb('finished job'):.1f} KB/job, {RESULT_TTL / 3600:.0f} h",
        kept,
        "",
        None,
    )
    redis_mbit = per_round(base.traffic("redis")) * rounds * 8 / 1e6
    need(
        "Redis Mbit/s",
        f"{per_round(base.traffic('redis')):,.0f} B/round",
        redis_mbit,
        f"{LINK_MBIT:,.0f} Mbit/s link",
        LINK_MBIT,
    )
    statements = per_round(base.statements) * rounds
    for name, value in (
        ("SQL statements/s", base.statements),
        ("SQL rows written/s", base.rows_written),
        ("commits/s", base.commits),
    ):
        unit = f"{per_round(value):.2f}/round, {base.per_game(value):.0f}/game"
        need(name, unit, per_round(value) * rounds, "", None)
    need(
        "PostgreSQL cores",
        f"{base.pg_us_per_statement:.0f} us/statement",
        base.pg_us_per_statement * statements / 1e6,
        "",
        None,
    )
    pg_mbit = per_round(base.traffic("postgres")) * rounds * 8 / 1e6
    need(
        "PostgreSQL Mbit/s",
        f"{per_round(base.traffic('postgres')):,.0f} B/round",
        pg_mbit,
        f"{LINK_MBIT:,.0f} Mbit/s link",
        LINK_MBIT,
    )
    if direct is not None:
        held = statistics.mean(direct.server_connections) / max(direct.running, 1.0)
        need(
            "PG connections, direct",
            f"{held:.2f}/running game",
            held * games,
            f"max_connections {PG_MAX_CONNECTIONS}",
            PG_MAX_CONNECTIONS,
        )
    if pooled is not None and pooled.bouncer_xacts:
        xacts = pooled.per_round(pooled.bouncer_xacts) * rounds
        busy = xacts * pooled.bouncer_xact_us / pooled.bouncer_xacts / 1e6  # Little's law
        xact_us = pooled.bouncer_xact_us / pooled.bouncer_xacts
        need(
            "PG server conns, PgBouncer",
            f"{xact_us:,.0f} us/xact",
            busy,
            f"max_connections {PG_MAX_CONNECTIONS}",
            PG_MAX_CONNECTIONS,
        )
        bouncer_us = pooled.cpu.get("pgbouncer", 0.0) / pooled.bouncer_xacts * 1e6
        need(
            "PgBouncer cores",
            f"{bouncer_us:.0f} us/xact",
            bouncer_us * xacts / 1e6,
            "1 core (one thread)",
            1.0,
        )
    limited = sorted((r for r in rows if r[4] is not None), key=lambda r: -(r[4] or 0.0))
    notes = [
        f"from the {base.games}-game {base.pooler} column"
        + (
            f" and the {pooled.games}-game pgbouncer column"
            if pooled and base is not pooled
            else ""
        )
        + f"; {rounds:,.0f} rounds/s = {games:,} / {move_seconds:.4g} s a round (the bench's "
        f"models: {MEAN_SLOWER_MOVE:.4f} s; --plan-round-seconds plans slower ones)",
    ]
    if limited:
        order = ", ".join(f"{r[0]} {r[4]:.0%}" for r in limited)
        notes.append(f"against the assumed limits, in order: {order}")
    return Plan(
        f"{games:,} concurrent games on {machines} worker machines, {move_seconds:.4g} s a round",
        header,
        [
            [n, u, _fmt(t), lim, f"{use:.0%}" if use is not None else ""]
            for n, u, t, lim, use in rows
        ],
        notes,
    )


def _memory(results: list[Measured]) -> tuple[float, float]:
    """(MB per game, MB per process) of the workers' Pss: the slope and the fixed part
    between the fewest and the most games measured (with one game count, or two too
    close to tell apart, all of it counts per game)."""
    low = min(results, key=lambda m: m.running)
    high = max(results, key=lambda m: m.running)
    if high.running < 1.5 * low.running:
        return high.worker_pss_kb / 1024 / high.running, 0.0
    slope = (high.worker_pss_kb - low.worker_pss_kb) / 1024 / (high.running - low.running)
    fixed = (high.worker_pss_kb / 1024 - slope * high.running) / high.processes
    return slope, max(fixed, 0.0)


def _representative(results: list[Measured], pooler: str) -> Measured | None:
    """The most games measured at 50% of the ideal or more (past that the workers' CPU
    is the limit: games slow down, few end in the window), else the most efficient."""
    found = [m for m in results if m.pooler == pooler]
    if not found:
        return None
    steady = [m for m in found if m.efficiency >= 0.5]
    if steady:
        return max(steady, key=lambda m: m.games)
    return max(found, key=lambda m: m.efficiency)


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"
