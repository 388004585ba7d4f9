"""Reliability drills: break one thing on purpose while a batch runs, then count
what was lost, duplicated or wrongly scored.

    python scripts/drill.py --list
    python scripts/drill.py worker-kill [--games 200 --workers 4 ...]

Each drill runs on a PRIVATE redis-server (free loopback port, nothing on disk) and
a temporary SQLite database (PostgreSQL drills: a fresh database on 127.0.0.1:5432,
dropped at the end), with workers started by the documented
``snakebench.queueing.WORKER_COMMAND`` and the offline fake LLM server. It prints
one summary row and exits 0 only when lost = duplicated = wrongly scored = 0 and no
other guarantee broke (the budget drill: money past a cap, or an answered provider
request missing from the spend ledger; each shows as a "!" note).

lost: batch games not completed (not completed or void, where faults make void
correct). duplicated: games with more than one participant row per slot, more than
one rating_changes row per (game, model), more than one replay file, or whose job
ran to completion more than once (``Job OK`` lines in the worker logs). wrongly
scored: completed games whose replay does not re-simulate
(``snakebench.engine.verify.verify_replay``) or disagrees with the stored result
or rounds, rated void games, and (provider-faults) a DB invalid-move total that
differs from the fake server's malformed count.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from drills.common import HEADER, DrillError, summary_row
from drills.netns import NetnsUnavailable
from drills.scenarios import DRILLS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("name", nargs="?", choices=sorted(DRILLS), help="the drill to run")
    parser.add_argument("--list", action="store_true", help="list the drills and exit")
    parser.add_argument("--games", type=int, help="games in the batch")
    parser.add_argument("--workers", type=int, help="worker processes")
    parser.add_argument("--max-rounds", type=int, help="rounds per game at most")
    parser.add_argument("--deadline", type=float, help="seconds the drill may take at most")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--kill-every", type=float, default=3.0, help="worker-kill, orphan-horse: seconds"
    )
    parser.add_argument("--outage", type=float, default=2.0, help="redis-restart: seconds down")
    parser.add_argument("--lag", type=float, default=3.0,
                        help="sentinel-failover: seconds the replica stops replicating "
                        "before the primary is SIGKILLed")  # fmt: skip
    parser.add_argument("--cut", action="store_true",
                        help="sentinel-failover: cut the primary's link instead of "
                        "SIGKILLing it")  # fmt: skip
    parser.add_argument("--rate", type=float, default=0.2, help="provider-faults: each fault")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres",
                        help="load, budget, provider-limits: the database")  # fmt: skip
    parser.add_argument("--cap", type=float, default=0.5, help="budget: USD per batch")
    parser.add_argument(
        "--thread-workers", type=int, default=4, help="budget, provider-limits: processes"
    )
    parser.add_argument("--threads", type=int, default=16, help="budget: games each")
    parser.add_argument("--horse-only", action="store_true",
                        help="budget: SIGKILL a horse but no whole worker (no 60-90 s wait "
                        "for its heartbeat)")  # fmt: skip
    parser.add_argument("--allow-db-restart", action="store_true",
                        help="db-restart: run even under CI=true")  # fmt: skip
    parser.add_argument("--limit-concurrency", type=int, default=8,
                        help="provider-limits: requests in flight")  # fmt: skip
    parser.add_argument("--limit-rpm", type=int, default=300,
                        help="provider-limits: requests per minute")  # fmt: skip
    parser.add_argument("--latency-ms", type=float, default=1500.0,
                        help="provider-limits: the fake provider's reply time")  # fmt: skip
    parser.add_argument("--baseline", action="store_true",
                        help="provider-limits: set no limits (what they prevent)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the drill's temp folder")
    args = parser.parse_args(argv)
    if not args.list and args.name is None:
        parser.error("name a drill, or --list")
    if args.name:
        for key, value in DRILLS[args.name][2].items():
            if getattr(args, key) is None:
                setattr(args, key, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for name, (_, about, defaults) in DRILLS.items():
            sizes = ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in defaults.items())
            print(f"{name:16} {about}  ({sizes})")
        return 0
    fn = DRILLS[args.name][0]
    started = time.monotonic()
    try:
        load, faults, result, extra = fn(args)
    except (DrillError, NetnsUnavailable) as exc:
        print(f"drill {args.name}: ERROR: {exc}", file=sys.stderr)
        return 2
    wall = time.monotonic() - started
    row, ok = summary_row(args.name, load, faults, result, wall)
    print(" | ".join([*HEADER, "verdict"]))
    print(row)
    for line in extra:
        print(line)
    for note in result.notes[:20]:
        print(f"  ! {note}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
